//! service-a's real binary: routes, configuration errors, logs, shutdown.

test_harness::service_binary_tests!("service-a", env!("CARGO_BIN_EXE_service-a"));

/// Once for the workspace: it takes the whole drain deadline.
#[test]
fn a_stalled_client_is_cut_at_the_drain_deadline() {
    test_harness::app_checks::a_stalled_client_is_cut_at_the_drain_deadline(BIN, APP);
}
