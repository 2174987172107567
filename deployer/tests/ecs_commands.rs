//! `render`, `diff`, `status` and a dry run of both apps, with the real
//! binary against moto (behind the rollout proxy, see `ecs_deploy.rs`).

mod ecs_support;

use ecs_support::{json_of, rich_task_definition, Script, World};

/// Both apps' services, on their rich task definitions, in cluster `C`.
fn both_apps() -> Option<(World, String)> {
    let w = World::start(Script::default())?;
    for (app, port) in [("service-a", 5000), ("service-b", 5001)] {
        let v1 = w.image(app, "v1");
        let (mut td, tags) = rich_task_definition(app, port, &v1);
        if app == "service-a" {
            // service-a runs on EC2, in bridge mode.
            td.network_mode = Some(aws_sdk_ecs::types::NetworkMode::Bridge);
            td.requires_compatibilities = Some(vec![aws_sdk_ecs::types::Compatibility::Ec2]);
        }
        let arn = w.register(&td, &tags);
        w.service(app, &arn, 2);
    }
    let v2 = w.image("service-b", "v2");
    Some((w, v2))
}

#[test]
fn render_prints_the_request_with_every_field() {
    let Some((w, image)) = both_apps() else {
        return;
    };
    let out = w.deployer(&["render", "service-b", "--image", &image]);
    assert_eq!(out.status.code(), Some(0));
    let td: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is the task definition");
    assert_eq!(td["family"], "service-b");
    assert_eq!(td["containerDefinitions"][0]["image"], image.as_str());
    assert_eq!(
        td["containerDefinitions"][0]["secrets"][0]["name"],
        "DB_PASSWORD"
    );
    assert_eq!(td["containerDefinitions"][1]["name"], "envoy");
    assert_eq!(td["ephemeralStorage"]["sizeInGiB"], 40);
    // team, cost-centre and ManagedBy=deployer.
    assert_eq!(td["tags"].as_array().map(Vec::len), Some(3));
    for dropped in [
        "taskDefinitionArn",
        "revision",
        "status",
        "compatibilities",
        "requiresAttributes",
        "registeredAt",
    ] {
        assert!(
            td.get(dropped).is_none(),
            "{dropped} is not a register field"
        );
    }
    for op in ["RegisterTaskDefinition", "UpdateService"] {
        assert_eq!(w.proxy.calls_of(op), 0);
    }
}

#[test]
fn diff_ignores_server_defaults_and_reports_real_changes() {
    let Some((w, image)) = both_apps() else {
        return;
    };
    let out = w.deployer(&["diff", "service-b", "--image", &image, "--exit-code"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "differences give 1 with --exit-code"
    );
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(
        diff.contains(&format!("+      \"image\": \"{image}\"")),
        "{diff}"
    );
    assert!(
        !diff.contains("\"cpu\": 0"),
        "server defaults are not differences:\n{diff}"
    );

    let out = w.deployer(&["diff", "service-b", "--image", &image]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "without --exit-code a diff is not a failure"
    );

    // Deploy, then the same image again: no differences.
    let out = w.deployer(&["service-b", "--image", &image, "--poll-interval", "100ms"]);
    assert_eq!(out.status.code(), Some(0));
    let out = w.deployer(&["diff", "service-b", "--image", &image, "--exit-code"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no differences after the deploy"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = w.deployer(&["service-b", "--image", &image, "--output", "json"]);
    assert_eq!(json_of(&out)["outcome"], "no_change");
    assert_eq!(w.proxy.calls_of("RegisterTaskDefinition"), 1);
}

#[test]
fn a_dry_run_of_both_apps_changes_nothing_and_reports_once() {
    let Some((w, _)) = both_apps() else {
        return;
    };
    let out = w.deployer(&[
        "service-a",
        "service-b",
        "--dry-run",
        "--tag",
        "v9",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let report = json_of(&out);
    assert_eq!(report["command"], "deploy");
    let apps = report["apps"].as_array().expect("apps");
    assert_eq!(apps.len(), 2);
    for (app, name) in apps.iter().zip(["service-a", "service-b"]) {
        assert_eq!(app["app"], name);
        assert_eq!(app["outcome"], "dry_run");
        let rendered = &app["details"]["task_definition"];
        let image = format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:v9");
        assert_eq!(rendered["containerDefinitions"][0]["image"], image.as_str());
        assert!(app["details"]["diff"]
            .as_str()
            .is_some_and(|d| d.contains(":v9")));
    }
    // service-a is EC2 / bridge: a dynamic host port.
    let a = &apps[0]["details"]["task_definition"];
    assert_eq!(a["networkMode"], "bridge");
    assert_eq!(
        a["containerDefinitions"][0]["portMappings"][0]["hostPort"],
        0
    );
    for op in [
        "RegisterTaskDefinition",
        "UpdateService",
        "TagResource",
        "DeregisterTaskDefinition",
    ] {
        assert_eq!(w.proxy.calls_of(op), 0, "{op}");
    }
}

#[test]
fn status_shows_each_app() {
    let Some((w, _)) = both_apps() else {
        return;
    };
    let out = w.deployer(&["status", "service-a", "service-b", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let report = json_of(&out);
    for (app, name) in report["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .zip(["service-a", "service-b"])
    {
        let d = &app["details"];
        assert_eq!(d["revision"], format!("{name}:1"));
        assert_eq!(
            d["image"],
            format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:v1")
        );
        assert_eq!(
            (d["running"].as_i64(), d["desired"].as_i64()),
            (Some(2), Some(2))
        );
        assert_eq!(d["deployments"][0]["rollout_state"], "COMPLETED");
    }
    let out = w.deployer(&["status", "service-b"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("revision   service-b:1"), "{text}");
    assert!(text.contains("2/2 running"), "{text}");
}
