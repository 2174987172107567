//! A diff between two task definitions that shows what a person changed,
//! not what ECS filled in.
//!
//! Both sides are RegisterTaskDefinition request bodies (see
//! [`super::render::request_json`]). Before comparing, each is normalised:
//! the values ECS sets by default when a field is left out are removed, and
//! lists whose order means nothing are sorted.

use serde_json::{Map, Value};
use similar::TextDiff;

/// Values ECS fills in when a container definition leaves them out.
const CONTAINER_DEFAULTS: [(&str, DefaultValue); 2] = [
    ("cpu", DefaultValue::Int(0)),
    ("essential", DefaultValue::Bool(true)),
];

/// Values ECS fills in at the task level.
const TASK_DEFAULTS: [(&str, DefaultValue); 2] = [
    ("networkMode", DefaultValue::Str("bridge")),
    ("enableFaultInjection", DefaultValue::Bool(false)),
];

#[derive(Debug, Clone, Copy)]
enum DefaultValue {
    Int(i64),
    Bool(bool),
    Str(&'static str),
}

impl DefaultValue {
    fn matches(self, value: &Value) -> bool {
        match self {
            DefaultValue::Int(n) => value.as_i64() == Some(n),
            DefaultValue::Bool(b) => value.as_bool() == Some(b),
            DefaultValue::Str(s) => value.as_str() == Some(s),
        }
    }
}

/// `body` without server-side defaults, empty values, and meaningless
/// order.
pub fn normalise(body: &Value) -> Value {
    let mut body = body.clone();
    drop_empty(&mut body);
    let Some(task) = body.as_object_mut() else {
        return body;
    };
    drop_defaults(task, &TASK_DEFAULTS);
    // In awsvpc and host mode the host port is the container port whether
    // or not it was given.
    let host_port_is_container_port = matches!(
        task.get("networkMode").and_then(Value::as_str),
        Some("awsvpc" | "host")
    );
    sort_by(task.get_mut("tags"), "key");
    sort_strings(task.get_mut("requiresCompatibilities"));
    if let Some(Value::Array(containers)) = task.get_mut("containerDefinitions") {
        for container in containers.iter_mut().filter_map(Value::as_object_mut) {
            drop_defaults(container, &CONTAINER_DEFAULTS);
            sort_by(container.get_mut("environment"), "name");
            sort_by(container.get_mut("secrets"), "name");
            if let Some(Value::Array(ports)) = container.get_mut("portMappings") {
                for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                    normalise_port(port, host_port_is_container_port);
                }
            }
        }
        containers.sort_by(|a, b| text(a, "name").cmp(text(b, "name")));
    }
    body
}

fn normalise_port(port: &mut Map<String, Value>, host_port_is_container_port: bool) {
    if port.get("protocol").and_then(Value::as_str) == Some("tcp") {
        port.remove("protocol");
    }
    let host = port.get("hostPort").and_then(Value::as_i64);
    let container = port.get("containerPort").and_then(Value::as_i64);
    let filled_in = match host {
        Some(0) => !host_port_is_container_port,
        Some(h) => host_port_is_container_port && Some(h) == container,
        None => false,
    };
    if filled_in {
        port.remove("hostPort");
    }
}

fn drop_defaults(object: &mut Map<String, Value>, defaults: &[(&str, DefaultValue)]) {
    for (key, default) in defaults {
        if object.get(*key).is_some_and(|v| default.matches(v)) {
            object.remove(*key);
        }
    }
}

/// Removes nulls, empty lists and empty objects, recursively.
fn drop_empty(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(drop_empty);
            map.retain(|_, v| !is_empty(v));
        }
        Value::Array(items) => {
            items.iter_mut().for_each(drop_empty);
            items.retain(|v| !is_empty(v));
        }
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn sort_by(list: Option<&mut Value>, key: &str) {
    if let Some(Value::Array(items)) = list {
        items.sort_by(|a, b| text(a, key).cmp(text(b, key)));
    }
}

fn sort_strings(list: Option<&mut Value>) {
    if let Some(Value::Array(items)) = list {
        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
}

/// Pretty JSON, the form people read and diffs compare.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()) + "\n"
}

/// A unified diff from `old` to `new` after normalising both; `None` when
/// they are the same.
pub fn unified(old_label: &str, old: &Value, new_label: &str, new: &Value) -> Option<String> {
    let (old, new) = (pretty(&normalise(old)), pretty(&normalise(new)));
    if old == new {
        return None;
    }
    Some(
        TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(3)
            .header(old_label, new_label)
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn registered() -> Value {
        json!({
            "family": "service-b",
            "networkMode": "awsvpc",
            "containerDefinitions": [{
                "name": "service-b",
                "image": "repo/service-b:v1",
                "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
                "portMappings": [{"containerPort": 5001}]
            }],
            "tags": [{"key": "z", "value": "1"}, {"key": "a", "value": "2"}]
        })
    }

    /// The same definition as ECS describes it back: defaults filled in,
    /// lists in another order.
    fn described() -> Value {
        json!({
            "family": "service-b",
            "networkMode": "awsvpc",
            "enableFaultInjection": false,
            "volumes": [],
            "placementConstraints": [],
            "containerDefinitions": [{
                "name": "service-b",
                "image": "repo/service-b:v1",
                "cpu": 0,
                "essential": true,
                "mountPoints": [],
                "volumesFrom": [],
                "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "portMappings": [{"containerPort": 5001, "hostPort": 5001, "protocol": "tcp"}]
            }],
            "tags": [{"key": "a", "value": "2"}, {"key": "z", "value": "1"}]
        })
    }

    #[test]
    fn server_side_defaults_are_not_differences() {
        assert_eq!(
            unified("running", &described(), "rendered", &registered()),
            None
        );
    }

    #[test]
    fn real_changes_are() {
        let mut new = registered();
        new["containerDefinitions"][0]["image"] = json!("repo/service-b:v2");
        new["containerDefinitions"][0]["cpu"] = json!(128);
        let diff = unified("running", &described(), "rendered", &new).expect("differs");
        assert!(
            diff.contains("-      \"image\": \"repo/service-b:v1\""),
            "{diff}"
        );
        assert!(
            diff.contains("+      \"image\": \"repo/service-b:v2\""),
            "{diff}"
        );
        assert!(diff.contains("+      \"cpu\": 128"), "{diff}");
        assert!(diff.starts_with("--- running\n+++ rendered\n"), "{diff}");
    }

    #[test]
    fn a_static_host_port_in_bridge_mode_is_kept() {
        let mut bridge = registered();
        bridge["networkMode"] = json!("bridge");
        bridge["containerDefinitions"][0]["portMappings"][0]["hostPort"] = json!(5001);
        let n = normalise(&bridge);
        assert_eq!(
            n["containerDefinitions"][0]["portMappings"][0]["hostPort"],
            5001
        );
        assert!(n.get("networkMode").is_none(), "bridge is the default");
        bridge["containerDefinitions"][0]["portMappings"][0]["hostPort"] = json!(0);
        let n = normalise(&bridge);
        assert!(n["containerDefinitions"][0]["portMappings"][0]
            .get("hostPort")
            .is_none());
    }

    #[test]
    fn a_removed_secret_is_a_difference() {
        let mut old = registered();
        old["containerDefinitions"][0]["secrets"] = json!([{"name": "DB", "valueFrom": "arn"}]);
        assert!(unified("running", &old, "rendered", &registered()).is_some());
    }
}
