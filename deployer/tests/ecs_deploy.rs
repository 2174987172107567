//! The real `deployer` binary against moto: the whole cycle (register,
//! update, follow, roll back, prune) and a task definition that comes
//! through intact.
//!
//! moto starts no deployment on UpdateService and runs no task, so each test
//! puts the rollout proxy of `ecs_support/proxy.rs` between deployer and
//! moto: it forwards every call and plays ECS's part in the rollout
//! according to the test's script (complete, fail with the circuit
//! breaker's rollback, never finish). Everything else is moto's.

mod ecs_support;

use ecs_support::{json_of, rich_task_definition, Behaviour, Script, World, CLUSTER};

const SERVICE: &str = "S";

/// A world with service `S` on `service-b:1` (the rich task definition),
/// and the image `v2` pushed. Returns it with the image URI.
fn with_service(script: Script) -> Option<(World, String)> {
    let world = World::start(script)?;
    let v1 = world.image("service-b", "v1");
    let (td, tags) = rich_task_definition("service-b", 5001, &v1);
    let arn = world.register(&td, &tags);
    world.service(SERVICE, &arn, 2);
    let v2 = world.image("service-b", "v2");
    Some((world, v2))
}

/// `deployer service-b --image IMAGE --service-name S --poll-interval
/// 100ms` and `extra`.
fn deploy(w: &World, image: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["service-b", "--image", image, "--service-name", SERVICE];
    args.extend(["--poll-interval", "100ms"]);
    args.extend(extra);
    w.deployer(&args)
}

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `out` exited with `expected` and its stderr says `needle`.
fn exits(out: &std::process::Output, expected: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(code(out), Some(expected), "{err}");
    assert!(err.contains(needle), "`{needle}` is not in:\n{err}");
}

/// The "done when" of the issue: `deployer service-b --image <uri> --cluster
/// C --service-name S` exits 0, and the new revision carries the new image
/// and every other field of the old one.
#[test]
fn deploy_completes_and_the_new_revision_keeps_every_field() {
    let Some((w, image)) = with_service(Script::default()) else {
        return;
    };
    let result_file = w.dir.path().join("result.json");
    let out = deploy(
        &w,
        &image,
        &["--result-file", result_file.to_str().expect("utf-8 path")],
    );
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));

    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&result_file).expect("result file"))
            .expect("JSON result");
    let app = &result["apps"][0];
    assert_eq!(result["outcome"], "completed");
    assert_eq!(app["previous_revision"], "service-b:1");
    assert_eq!(app["new_revision"], "service-b:2");
    assert_eq!(app["image"], image.as_str());
    assert!(app["deployment_id"]
        .as_str()
        .is_some_and(|d| d.starts_with("ecs-svc/")));
    assert!(app["duration_seconds"].as_f64().is_some());

    let (old, old_tags) = w.describe("service-b:1");
    let (new, new_tags) = w.describe("service-b:2");
    assert_eq!(new_tags, old_tags, "tags");
    assert_eq!(new.volumes, old.volumes, "volumes");
    assert_eq!(
        new.ephemeral_storage, old.ephemeral_storage,
        "ephemeral storage"
    );
    assert_eq!(
        new.runtime_platform, old.runtime_platform,
        "runtime platform"
    );
    assert_eq!(new.task_role_arn, old.task_role_arn, "task role");
    assert_eq!(
        new.execution_role_arn, old.execution_role_arn,
        "execution role"
    );
    assert_eq!((new.cpu(), new.memory()), (Some("256"), Some("512")));
    let (containers, old_containers) = (new.container_definitions(), old.container_definitions());
    assert_eq!(containers.len(), 2, "the sidecar is still there");
    assert_eq!(containers[1], old_containers[1], "the sidecar is untouched");
    let app = &containers[0];
    assert_eq!(app.image(), Some(image.as_str()));
    let env: Vec<(&str, &str)> = app
        .environment()
        .iter()
        .map(|kv| {
            (
                kv.name().unwrap_or_default(),
                kv.value().unwrap_or_default(),
            )
        })
        .collect();
    assert!(env.contains(&("APP_VERSION", "v2")), "{env:?}");
    assert!(
        env.contains(&("APP_ENV", "staging")),
        "the running APP_ENV is kept: {env:?}"
    );
    // What the app's JSON sets aside, the container is the old one:
    // secrets, health check, labels, logs, mounts.
    let unset_by_json = |c: &aws_sdk_ecs::types::ContainerDefinition| {
        let mut c = c.clone();
        (c.image, c.environment, c.port_mappings) = (None, None, None);
        c
    };
    assert_eq!(unset_by_json(app), unset_by_json(&old_containers[0]));
    assert!(app.secrets().iter().any(|s| s.name() == "DB_PASSWORD"));

    assert_eq!(w.running(SERVICE), "service-b:2");
    let recorded = w
        .service_tags(SERVICE)
        .into_iter()
        .find(|t| t.key() == Some("deployer:rollback-history"))
        .and_then(|t| t.value().map(str::to_owned));
    assert_eq!(
        recorded.as_deref(),
        Some("service-b:1"),
        "the rollback target is recorded"
    );
    assert_eq!(w.proxy.calls_of("UpdateService"), 1);
}

#[test]
fn a_failed_rollout_is_rolled_back_and_exits_4_naming_the_cause() {
    let script = Script::default().with(2, Behaviour::FailsAndRollsBack { after: 2 });
    let Some((w, image)) = with_service(script) else {
        return;
    };
    let out = deploy(&w, &image, &["--output", "json"]);
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    let result = json_of(&out);
    let app = &result["apps"][0];
    assert_eq!(app["outcome"], "failed");
    assert_eq!(app["rolled_back_to"], "service-b:1");
    let message = app["message"].as_str().unwrap_or_default();
    assert!(message.contains("circuit breaker"), "{message}");
    assert!(
        message.contains("Essential container in task exited"),
        "{message}"
    );
    assert!(message.contains("Rolled back to service-b:1"), "{message}");
    assert_eq!(w.running(SERVICE), "service-b:1");
    // ECS went back by itself; deployer followed that rollout.
    assert_eq!(w.proxy.calls_of("UpdateService"), 1);
    assert!(
        stderr(&out).contains("rolling back to service-b:1")
            || stderr(&out).contains("going back to service-b:1")
    );
    assert_eq!(
        w.active("service-b"),
        [1, 2],
        "nothing is pruned after a failure"
    );
}

#[test]
fn a_rollout_that_never_finishes_times_out_is_rolled_back_and_exits_5() {
    let script = Script::default().with(2, Behaviour::Hangs);
    let Some((w, image)) = with_service(script) else {
        return;
    };
    let started = std::time::Instant::now();
    let out = deploy(&w, &image, &["--timeout", "2s", "--output", "json"]);
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let app = &json_of(&out)["apps"][0];
    assert_eq!(app["outcome"], "timeout");
    assert!(app["message"]
        .as_str()
        .unwrap_or_default()
        .contains("did not complete within 2s"));
    // deployer put it back itself: a second UpdateService, to revision 1.
    assert_eq!(w.proxy.calls_of("UpdateService"), 2);
    assert_eq!(w.running(SERVICE), "service-b:1");
}

/// Right after UpdateService, ECS may still answer the old view: the old
/// deployment PRIMARY and the new one not listed. That is no rollback.
#[test]
fn a_stale_first_read_is_not_taken_for_a_rollback() {
    let Some((w, image)) = with_service(Script::default().lagging(3)) else {
        return;
    };
    let out = deploy(&w, &image, &["--output", "json"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let app = &json_of(&out)["apps"][0];
    assert_eq!(app["outcome"], "completed", "{app}");
    assert_eq!(w.proxy.calls_of("UpdateService"), 1);
    assert_eq!(w.running(SERVICE), "service-b:2");
}

/// Where the service deployments API answers, it decides; the same failure
/// without it is read from DescribeServices (the other tests).
#[test]
fn the_service_deployments_api_decides_where_it_answers() {
    let script = Script::default()
        .with(2, Behaviour::FailsAndRollsBack { after: 2 })
        .with_service_deployments();
    let Some((w, image)) = with_service(script) else {
        return;
    };
    let out = deploy(&w, &image, &["--output", "json"]);
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    let app = &json_of(&out)["apps"][0];
    let message = app["message"].as_str().unwrap_or_default();
    assert!(message.contains("ROLLBACK_IN_PROGRESS"), "{message}");
    assert_eq!(app["rolled_back_to"], "service-b:1");
    assert!(w.proxy.calls_of("ListServiceDeployments") > 0);
    assert_eq!(w.proxy.calls_of("UpdateService"), 1, "ECS went back itself");
    assert_eq!(w.running(SERVICE), "service-b:1");
}

/// A deployment that an alarm rolls back ends with an outcome naming the
/// alarm, with the service deployments API and without it.
#[test]
fn an_alarm_rollback_names_the_alarm() {
    for api in [true, false] {
        let mut script = Script::default().with(
            2,
            Behaviour::AlarmRollsBack {
                after: 2,
                alarm: "service-b-5xx",
            },
        );
        if api {
            script = script.with_service_deployments();
        }
        let Some((w, image)) = with_service(script) else {
            return;
        };
        let out = deploy(&w, &image, &["--output", "json"]);
        assert_eq!(code(&out), Some(4), "{}", stderr(&out));
        let app = &json_of(&out)["apps"][0];
        assert_eq!(app["outcome"], "failed");
        let message = app["message"].as_str().unwrap_or_default();
        assert!(message.contains("service-b-5xx"), "api {api}: {message}");
        assert_eq!(w.running(SERVICE), "service-b:1");
    }
}

/// A BLUE_GREEN deployment is followed through its bake to the end.
#[test]
fn a_blue_green_deployment_is_followed_through_its_bake() {
    let script = Script::default()
        .with(2, Behaviour::Bakes { after: 2, bake: 3 })
        .with_service_deployments()
        .native("BLUE_GREEN", 0);
    let Some((w, image)) = with_service(script) else {
        return;
    };
    let out = deploy(&w, &image, &["--output", "json"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(json_of(&out)["apps"][0]["outcome"], "completed");
    assert_eq!(w.proxy.calls_of("StopServiceDeployment"), 0);
    assert_eq!(w.running(SERVICE), "service-b:2");
}

/// A BLUE_GREEN deployment still baking at the deadline is rolled back
/// within itself (StopServiceDeployment), not with a second update.
#[test]
fn a_blue_green_deployment_at_its_deadline_is_rolled_back_within_itself() {
    let script = Script::default()
        .with(
            2,
            Behaviour::Bakes {
                after: 1,
                bake: 1_000_000,
            },
        )
        .with_service_deployments()
        .native("BLUE_GREEN", 1);
    let Some((w, image)) = with_service(script) else {
        return;
    };
    let out = deploy(&w, &image, &["--timeout", "2", "--output", "json"]);
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    let app = &json_of(&out)["apps"][0];
    let message = app["message"].as_str().unwrap_or_default();
    assert!(message.contains("BAKE_TIME"), "says the stage: {message}");
    assert_eq!(app["rolled_back_to"], "service-b:1");
    assert!(
        app["warnings"]
            .to_string()
            .contains("shorter than the BLUE_GREEN bake time"),
        "{app}"
    );
    assert_eq!(w.proxy.calls_of("StopServiceDeployment"), 1);
    assert_eq!(w.proxy.calls_of("UpdateService"), 1);
    assert_eq!(w.running(SERVICE), "service-b:1");
}

/// A rerun of the same deploy while its rollout is still under way (the
/// first job was killed) is busy, not "no change".
#[test]
fn a_second_deploy_during_the_rollout_is_refused() {
    let Some((w, image)) = with_service(Script::default().with(2, Behaviour::Hangs)) else {
        return;
    };
    let first = deploy_in_background(&w, &image, &[]);
    wait_for(&w, "the first deploy's update", &|| {
        w.proxy.calls_of("UpdateService") > 0
    });
    let out = deploy(&w, &image, &[]);
    exits(&out, 3, "in the middle of a rollout");
    assert_eq!(
        w.proxy.calls_of("UpdateService"),
        1,
        "the second changed nothing"
    );
    drop(first);
}

/// SIGTERM mid-rollout (a Jenkins abort): deployer stops following, puts
/// the service back on the previous revision, writes the result and exits 9.
#[test]
fn sigterm_mid_rollout_rolls_back_and_writes_the_result() {
    let script = Script::default().with(2, Behaviour::Hangs);
    let Some((w, deployer, result)) = terminated_mid_rollout(script) else {
        return;
    };
    let app = interrupted(&w, deployer, &result, 60);
    assert_eq!(app["rolled_back_to"], "service-b:1", "{app}");
    assert_eq!(w.proxy.calls_of("UpdateService"), 2, "the rollback update");
    assert_eq!(w.running(SERVICE), "service-b:1");
}

/// `deployer service-b --image IMAGE` on the proxy, in the background and
/// polling fast, sent SIGTERM once the update went out and the rollout is
/// being followed. Returns the world, the deployer and its result file.
fn terminated_mid_rollout(
    script: Script,
) -> Option<(World, test_harness::ChildGuard, std::path::PathBuf)> {
    let (w, image) = with_service(script)?;
    let result = w.dir.path().join("result.json");
    let result_arg = result.display().to_string();
    let deployer = deploy_in_background(&w, &image, &["--result-file", &result_arg]);
    wait_for(&w, "the rollout", &|| {
        w.proxy.calls_of("UpdateService") == 1 && w.proxy.calls_of("DescribeServices") >= 4
    });
    deployer.signal("TERM");
    Some((w, deployer, result))
}

/// `deployer service-b --image IMAGE ARGS` on the proxy, in the background,
/// polling fast.
fn deploy_in_background(w: &World, image: &str, args: &[&str]) -> test_harness::ChildGuard {
    let mut all = vec![
        "service-b",
        "--image",
        image,
        "--service-name",
        SERVICE,
        "--poll-interval",
        "100ms",
    ];
    all.extend_from_slice(args);
    w.spawn_deployer(&all)
}

/// Waits (a minute at most) until `done`, which reads the proxy's calls.
fn wait_for(w: &World, what: &str, done: &dyn Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never came: {:?}",
            w.proxy.calls()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Waits `seconds` at most for an interrupted deployer to exit with code 9,
/// and returns the app's entry of the result file, outcome `interrupted`.
fn interrupted(
    w: &World,
    mut deployer: test_harness::ChildGuard,
    result: &std::path::Path,
    seconds: u64,
) -> serde_json::Value {
    let status = deployer
        .wait_timeout(std::time::Duration::from_secs(seconds))
        .expect("deployer exits after the signal");
    let log = std::fs::read_to_string(w.dir.path().join("deployer.stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(9), "{log}");
    let text = std::fs::read_to_string(result).expect("the result file is written");
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON result");
    let app = json["apps"][0].clone();
    assert_eq!(app["outcome"], "interrupted", "{json}");
    app
}

/// A second signal while the rollback is under way: deployer exits at once,
/// and the result says what is still in flight.
#[test]
fn a_second_sigterm_exits_at_once_saying_what_is_in_flight() {
    // Neither the rollout nor the way back ever finishes.
    let script = Script::default()
        .with(2, Behaviour::Hangs)
        .with(1, Behaviour::Hangs);
    let Some((w, deployer, result)) = terminated_mid_rollout(script) else {
        return;
    };
    // The update back to revision 1 went out, and it is being followed.
    let followed = w.proxy.calls_of("DescribeServices");
    wait_for(&w, "the rollback", &|| {
        w.proxy.calls_of("UpdateService") == 2 && w.proxy.calls_of("DescribeServices") > followed
    });
    deployer.signal("TERM");
    let app = interrupted(&w, deployer, &result, 30);
    let message = app["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("still in flight on ECS") && message.contains("service-b:1"),
        "says the rollback to 1 is in flight: {message}"
    );
    assert_eq!(
        w.proxy.calls_of("UpdateService"),
        2,
        "nothing more was changed"
    );
}

/// Register, update, follow, prune; then `rollback` and `prune` on their own.
#[test]
fn the_whole_cycle_prunes_only_what_nothing_uses() {
    // A stray task still runs revision 2.
    let script = Script::default().stray_task(CLUSTER, "service-b:2");
    let Some((w, image)) = with_service(script) else {
        return;
    };
    // Revisions 2 to 5: registered by earlier pipelines, never deployed.
    let (td, tags) = w.describe("service-b:1");
    for _ in 2..=5 {
        w.register(&td, &tags);
    }
    let out = deploy(&w, &image, &["--keep", "2", "--output", "json"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let app = &json_of(&out)["apps"][0];
    assert_eq!(app["new_revision"], "service-b:6");
    // Kept: 6 and 5 (the two newest), 1 (the rollback target), 2 (running).
    assert_eq!(
        app["pruned"],
        serde_json::json!(["service-b:4", "service-b:3"])
    );
    assert_eq!(w.active("service-b"), [1, 2, 5, 6]);

    // `rollback` without --revision goes where the deploy recorded.
    let out = w.deployer(&[
        "rollback",
        "service-b",
        "--service-name",
        SERVICE,
        "--poll-interval",
        "100ms",
        "--output",
        "json",
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(json_of(&out)["apps"][0]["rolled_back_to"], "service-b:1");
    assert_eq!(w.running(SERVICE), "service-b:1");

    // Nothing recorded any more: a second rollback needs --revision.
    let out = w.deployer(&["rollback", "service-b", "--service-name", SERVICE]);
    exits(&out, 3, "pass --revision N");

    // prune --keep 1: 6 is the newest, 1 runs, 2 has a stray task.
    let prune = [
        "prune",
        "service-b",
        "--service-name",
        SERVICE,
        "--keep",
        "1",
    ];
    let out = w.deployer(&[&prune[..], &["--dry-run"]].concat());
    exits(&out, 0, "would deregister service-b:5");
    assert_eq!(
        w.active("service-b"),
        [1, 2, 5, 6],
        "a dry run changes nothing"
    );
    let out = w.deployer(&prune);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(w.active("service-b"), [1, 2, 6]);
}

/// Families are shared: a staging cluster runs an older revision of the
/// same family under another service name. Prune in `C` must spare it.
#[test]
fn prune_spares_a_revision_another_cluster_runs() {
    let Some((w, image)) = with_service(Script::default()) else {
        return;
    };
    let (td, tags) = w.describe("service-b:1");
    for _ in 2..=4 {
        w.register(&td, &tags);
    }
    w.runtime.block_on(async {
        w.ecs
            .create_cluster()
            .cluster_name("staging")
            .send()
            .await
            .expect("create the staging cluster");
        w.ecs
            .create_service()
            .cluster("staging")
            .service_name("service-b-staging")
            .task_definition("service-b:2")
            .desired_count(1)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .send()
            .await
            .expect("create the staging service");
    });
    let out = deploy(&w, &image, &["--keep", "1", "--output", "json"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let app = &json_of(&out)["apps"][0];
    assert_eq!(app["new_revision"], "service-b:5");
    // Kept: 5 (the newest), 1 (the rollback target), 2 (staging runs it).
    assert_eq!(
        app["pruned"],
        serde_json::json!(["service-b:4", "service-b:3"]),
        "{app}"
    );
    assert_eq!(w.active("service-b"), [1, 2, 5]);
}

#[test]
fn preflight_failures_exit_3_and_change_nothing() {
    let Some((w, image)) = with_service(Script::default()) else {
        return;
    };
    let missing = image.replace(":v2", ":never-pushed");
    let out = w.deployer(&["service-b", "--image", &missing, "--service-name", SERVICE]);
    exits(&out, 3, "does not exist in its repository");

    let out = w.deployer(&["service-b", "--image", &image, "--service-name", "nope"]);
    exits(&out, 3, "service `nope` does not exist in cluster `C`");

    let out = w.deployer_in(
        "nowhere",
        &["service-b", "--image", &image, "--service-name", SERVICE],
    );
    exits(&out, 3, "cluster `nowhere` does not exist");

    for op in [
        "RegisterTaskDefinition",
        "UpdateService",
        "TagResource",
        "DeregisterTaskDefinition",
    ] {
        assert_eq!(
            w.proxy.calls_of(op),
            0,
            "{op} was called: {:?}",
            w.proxy.calls()
        );
    }
    assert_eq!(w.active("service-b"), [1]);
}

#[test]
fn bad_input_exits_2_naming_what_is_wrong() {
    let Some((w, image)) = with_service(Script::default()) else {
        return;
    };
    let out = w.deployer(&["service-z", "--image", &image]);
    exits(&out, 2, "service-z");
    let out = w.deployer(&["service-a", "service-b", "--image", &image]);
    exits(&out, 2, "--image names one image");
    let out = w.deployer(&[
        "service-b",
        "--image",
        "NOT AN IMAGE",
        "--service-name",
        SERVICE,
    ]);
    exits(&out, 2, "--image NOT AN IMAGE");
}
