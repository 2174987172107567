//! `deployer up` and `deployer down` on the real Docker engine: the real
//! binary starts the fleet and its gateway on a free port, and everything
//! is checked through that gateway, as a person with curl would.

mod local_support;

use std::time::{Duration, Instant};

use local_support::{docker, TestFleet, INTERVAL, MICROSERVICES, UNHEALTHY_THRESHOLD, V1};

#[test]
fn up_routes_by_the_rules_takes_dead_targets_out_and_stops_cleanly() {
    if test_harness::docker_host().is_none() {
        return;
    }
    let fleet = TestFleet::new();
    let mut up = fleet.up(&[], V1);
    fleet.wait_healthy(&["service-a", "service-b"], 2, Duration::from_secs(90));

    // Every microservice and its health path answer through the gateway,
    // from the app the rules send them to.
    for (microservice, app) in MICROSERVICES {
        let info = fleet.get_json(&format!("/{microservice}"));
        assert_eq!(info["app"], app, "/{microservice}: {info}");
        assert_eq!(info["microservice"], microservice, "{info}");
        assert_eq!(info["version"], V1, "{info}");
        let health = fleet.get_json(&format!("/{microservice}/health"));
        assert_eq!(health["status"], "ok", "{health}");
    }

    // A path no rule matches gets the listener's fixed response.
    for path in ["/nope", "/", "/financex", "/Medical"] {
        let (status, content_type, body) = fleet.get(path);
        assert_eq!(
            (status, body.as_str()),
            (404, "Not found: no service answers this path."),
            "{path}"
        );
        assert!(content_type.starts_with("text/plain"), "{content_type}");
    }

    // Round robin over the two healthy service-b targets.
    let targets = fleet.targets();
    let mut b_ports: Vec<u64> = targets
        .iter()
        .filter(|t| t["app"] == "service-b")
        .filter_map(|t| t["address"].as_str()?.rsplit_once(':')?.1.parse().ok())
        .collect();
    b_ports.sort_unstable();
    let mut answered: Vec<u64> = (0..6)
        .map(|_| fleet.get_json("/finance")["port"].as_u64().expect("port"))
        .collect();
    answered.sort_unstable();
    answered.dedup();
    assert_eq!(answered, b_ports, "both targets answer in turn");

    // status shows the same fleet.
    let out = fleet.run(&["status", "--target", "local", "--output", "json"]);
    assert!(out.status.success(), "status failed");
    let report = local_support::report(&out);
    for app in report["apps"].as_array().expect("apps") {
        let message = app["message"].as_str().unwrap_or("");
        assert!(
            message.contains("revision 1 (lt-v1), 2/2 running, 2 healthy"),
            "{message}"
        );
        let details = &app["details"];
        assert_eq!(
            details["revision"],
            format!("{}:1", app["app"].as_str().unwrap_or(""))
        );
        assert_eq!(
            (details["running"].as_u64(), details["desired"].as_u64()),
            (Some(2), Some(2))
        );
        assert_eq!(
            details["target_groups"][0]["states"]["healthy"], 2,
            "{details}"
        );
    }

    // A stopped container stays registered but fails its checks, and leaves
    // rotation after the unhealthy threshold: not at once, and not never.
    let victim = targets
        .iter()
        .find(|t| t["app"] == "service-b")
        .expect("a service-b target");
    let victim_id = victim["id"].as_str().expect("id").to_owned();
    let survivor = b_ports
        .iter()
        .copied()
        .find(|p| {
            !victim["address"]
                .as_str()
                .unwrap_or("")
                .ends_with(&format!(":{p}"))
        })
        .expect("the other target");
    let stopped_at = Instant::now();
    docker(&["stop", "-t", "5", &victim_id]);
    let state_of_victim = || {
        fleet
            .targets()
            .iter()
            .find(|t| t["id"] == victim_id.as_str())
            .map(|t| t["state"].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(
        state_of_victim().as_deref(),
        Some("healthy"),
        "one failed check is not enough"
    );
    let limit = INTERVAL * (UNHEALTHY_THRESHOLD + 1) + Duration::from_secs(5);
    assert!(
        local_support::wait_for(limit, || state_of_victim().as_deref() == Some("unhealthy")),
        "the stopped target is still in rotation after {limit:?}: {:#?}",
        fleet.targets()
    );
    let took = stopped_at.elapsed();
    assert!(
        took >= INTERVAL * (UNHEALTHY_THRESHOLD - 1),
        "left rotation after {took:?}, before the threshold could be reached"
    );
    for _ in 0..6 {
        assert_eq!(fleet.get_json("/finance")["port"].as_u64(), Some(survivor));
    }
    let rows = fleet.targets();
    let victim_row = rows
        .iter()
        .find(|t| t["id"] == victim_id.as_str())
        .expect("still registered");
    assert_eq!(victim_row["container_state"], "exited");
    let reason = victim_row["reason"].as_str().unwrap_or("");
    assert!(reason.starts_with("/finance/health: "), "{reason}");

    // Ctrl-C (SIGINT) stops the gateway and removes every container.
    up.signal("INT");
    let status = up.wait_timeout(Duration::from_secs(60)).expect("up exits");
    assert!(
        status.success(),
        "up exited with {status}:\n{}",
        fleet.up_log()
    );
    assert_eq!(
        fleet.containers(),
        Vec::<String>::new(),
        "containers left behind"
    );
    let log = fleet.up_log();
    assert!(log.contains("fleet ready"), "{log}");
    assert!(log.contains("healthy -> unhealthy"), "{log}");
}

#[test]
fn down_removes_what_a_killed_up_left() {
    if test_harness::docker_host().is_none() {
        return;
    }
    let fleet = TestFleet::new();
    let mut up = fleet.up(&["service-b"], V1);
    assert!(
        local_support::wait_for(Duration::from_secs(60), || fleet.containers().len() == 2),
        "up did not start 2 containers: {:?}\n{}",
        fleet.containers(),
        fleet.up_log()
    );
    // A SIGKILL gives `up` no chance to clean up.
    up.signal("KILL");
    up.wait_timeout(Duration::from_secs(10)).expect("up dies");
    assert_eq!(fleet.containers().len(), 2);

    let out = fleet.run(&["down", "--output", "json"]);
    assert!(out.status.success());
    let report = local_support::report(&out);
    assert_eq!(report["apps"][0]["app"], "service-b");
    assert_eq!(report["apps"][0]["outcome"], "completed");
    assert_eq!(fleet.containers(), Vec::<String>::new());

    let again = fleet.run(&["down", "--output", "json"]);
    assert!(again.status.success());
    assert_eq!(local_support::report(&again)["outcome"], "no_change");
}

#[test]
fn a_second_up_on_a_taken_address_changes_nothing() {
    if test_harness::docker_host().is_none() {
        return;
    }
    let fleet = TestFleet::new();
    let _taken = std::net::TcpListener::bind(&fleet.gateway).expect("take the port");
    let out = fleet.run(&["up", "--no-build", "--tag", V1, "--output", "json"]);
    assert_eq!(out.status.code(), Some(3), "preflight failure");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    assert_eq!(fleet.containers(), Vec::<String>::new());
}
