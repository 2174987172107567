//! `deployer logs --target local`: the real binary merges the local
//! fleet's containers of one app, in the same formats as on ECS.

mod local_support;

use std::time::Duration;

use local_support::{wait_for, TestFleet, V1};
use serde_json::Value;

/// `deployer logs service-a --target local --since 10m` and `extra`.
fn logs(fleet: &TestFleet, extra: &[&str]) -> std::process::Output {
    let base = ["logs", "service-a", "--target", "local", "--since", "10m"];
    fleet.run(&[&base[..], extra].concat())
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn logs_merges_the_fleet_containers_of_one_app() {
    if test_harness::docker_host().is_none() {
        return;
    }
    let fleet = TestFleet::new();
    let _up = fleet.up(&["service-a"], V1);
    fleet.wait_healthy(&["service-a"], 2, Duration::from_secs(90));
    let marker = "/medical/logs-marker-7f3a";
    let _ = fleet.get(marker);

    // The access log line reaches the container's output a moment later.
    let mut lines: Vec<Value> = Vec::new();
    let found = wait_for(Duration::from_secs(30), || {
        let out = logs(&fleet, &["--output", "json"]);
        if !out.status.success() {
            return false;
        }
        lines = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect();
        lines.iter().any(|l| l.to_string().contains(marker))
    });
    assert!(found, "no line mentions {marker}: {lines:#?}");
    // Both containers' start-up lines, as the apps wrote them.
    let listening: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "listening")
        .collect();
    assert_eq!(listening.len(), 2, "{lines:#?}");
    assert!(
        listening.iter().all(|l| l["version"] == V1),
        "{listening:#?}"
    );

    // Text mode names each container; --task keeps one.
    let names: Vec<String> = fleet
        .containers()
        .iter()
        .filter(|c| c.starts_with("service-a-"))
        .filter_map(|c| c.split_whitespace().next().map(str::to_owned))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let out = logs(&fleet, &[]);
    let text = stdout(&out);
    for name in &names {
        assert!(
            text.lines()
                .any(|l| l.contains(&format!(" {name} listening"))),
            "{name}:\n{text}"
        );
    }
    let out = logs(&fleet, &["--task", &names[0]]);
    let text = stdout(&out);
    assert!(!text.is_empty());
    assert!(
        text.lines()
            .all(|l| l.contains(&names[0]) && !l.contains(&names[1])),
        "{text}"
    );

    // --filter keeps the lines with every term.
    let out = logs(
        &fleet,
        &["--output", "json", "--filter", "logs-marker-7f3a"],
    );
    let filtered: Vec<&str> = std::str::from_utf8(&out.stdout)
        .expect("utf-8")
        .lines()
        .collect();
    assert!(
        !filtered.is_empty() && filtered.iter().all(|l| l.contains("logs-marker-7f3a")),
        "{filtered:#?}"
    );

    // An unknown container is bad input, naming the ones there are.
    let out = fleet.run(&["logs", "service-a", "--target", "local", "--task", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&names[0]));
}
