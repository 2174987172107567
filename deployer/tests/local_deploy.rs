//! `deployer <app> --target local` on the real Docker engine, under a
//! steady load through the gateway: a good revision replaces the old one
//! with no failed request, and a revision that never gets healthy is
//! rolled back with no failed request either.

mod local_support;

use std::time::Duration;

use local_support::{Load, TestFleet, NEVER_HEALTHY, V1, V2};

/// Workers of the load: enough to keep requests in flight at every moment
/// of the rollout on a two-core machine.
const WORKERS: usize = 4;

fn start_service_b(fleet: &TestFleet) -> test_harness::ChildGuard {
    let up = fleet.up(&["service-b"], V1);
    fleet.wait_healthy(&["service-b"], 2, Duration::from_secs(90));
    up
}

/// `deployer service-b --target local --tag <tag>` under a steady load
/// through the gateway; returns the command's output and the load's result.
fn deploy_under_load(
    fleet: &TestFleet,
    tag: &str,
    timeout: &str,
) -> (std::process::Output, local_support::LoadResult) {
    let load = Load::start(&fleet.url(), &["/finance", "/payment"], WORKERS);
    std::thread::sleep(Duration::from_secs(1));
    let out = fleet.run(&[
        "service-b",
        "--target",
        "local",
        "--tag",
        tag,
        "--timeout",
        timeout,
        "--poll-interval",
        "250ms",
        "--output",
        "json",
    ]);
    std::thread::sleep(Duration::from_secs(1));
    (out, load.stop())
}

/// The fleet runs exactly the desired two containers of one revision.
fn assert_only_revision(fleet: &TestFleet, revision: u32, version: &str) {
    let containers = fleet.containers();
    let suffix = format!(" {revision} {version} running");
    assert!(
        containers.len() == 2 && containers.iter().all(|c| c.ends_with(&suffix)),
        "expected two running containers of revision {revision} ({version}): {containers:?}"
    );
}

fn assert_no_failures(load: &local_support::LoadResult) {
    eprintln!(
        "load: {} answered, {} failed, versions {:?}",
        load.ok,
        load.failures.len(),
        load.versions
    );
    assert!(
        load.failures.is_empty(),
        "{} of {} requests failed, the first ones: {:#?}",
        load.failures.len(),
        load.ok + load.failures.len(),
        &load.failures[..load.failures.len().min(10)]
    );
    assert!(load.ok >= 200, "too little load to mean anything: {load:?}");
}

#[test]
fn a_deploy_under_load_fails_no_request_and_serves_the_new_version() {
    if test_harness::docker_host().is_none() {
        return;
    }
    let fleet = TestFleet::new();
    let _up = start_service_b(&fleet);

    let (out, load) = deploy_under_load(&fleet, V2, "90s");

    assert_eq!(out.status.code(), Some(0), "the deploy failed");
    let report = local_support::report(&out);
    let app = &report["apps"][0];
    assert_eq!(app["outcome"], "completed", "{app}");
    assert_eq!(app["previous_revision"], "service-b:1");
    assert_eq!(app["new_revision"], "service-b:2");
    assert_eq!(app["image"], format!("service-b:{V2}"));

    assert_no_failures(&load);
    // The load ran across the switch: it saw both versions.
    assert!(
        load.versions.get(V1).is_some_and(|n| *n > 0)
            && load.versions.get(V2).is_some_and(|n| *n > 0),
        "the load did not span the rollout: {:?}",
        load.versions
    );

    for path in ["/finance", "/payment", "/finance"] {
        assert_eq!(fleet.get_json(path)["version"], V2, "{path}");
    }
    // The old revision's containers are gone; the new one's run.
    assert_only_revision(&fleet, 2, V2);
}

#[test]
fn a_revision_that_never_gets_healthy_is_rolled_back_without_a_failed_request() {
    if test_harness::docker_host().is_none() {
        return;
    }
    let fleet = TestFleet::new();
    let _up = start_service_b(&fleet);

    let (out, load) = deploy_under_load(&fleet, NEVER_HEALTHY, "15s");

    assert_eq!(out.status.code(), Some(4), "a rolled-back deploy exits 4");
    let report = local_support::report(&out);
    let app = &report["apps"][0];
    assert_eq!(app["outcome"], "failed", "{app}");
    assert_eq!(app["rolled_back_to"], "service-b:1");
    let message = app["message"].as_str().unwrap_or("");
    for needle in [
        "service-b:2 (lt-never-healthy) was rolled back",
        "did not pass their health checks within --timeout",
        "/finance/health: Connection refused",
        "service-b:1 (lt-v1) is still serving",
    ] {
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }

    assert_no_failures(&load);
    assert_eq!(load.versions.keys().collect::<Vec<_>>(), vec![V1]);
    assert_eq!(fleet.get_json("/finance")["version"], V1);
    // The new revision's containers are gone.
    assert_only_revision(&fleet, 1, V1);
}

#[test]
fn a_deploy_without_a_fleet_is_a_preflight_failure() {
    if test_harness::docker_host().is_none() {
        return;
    }
    let fleet = TestFleet::new();
    let out = fleet.run(&[
        "service-b",
        "--target",
        "local",
        "--tag",
        V2,
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let report = local_support::report(&out);
    let message = report["apps"][0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains(&format!(
            "service-b does not run in the local fleet at {}",
            fleet.gateway
        )),
        "{message}"
    );
    assert!(message.contains("deployer up"), "{message}");
}
