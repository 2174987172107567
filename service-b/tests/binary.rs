//! service-b's real binary: routes, configuration errors, logs, shutdown.

test_harness::service_binary_tests!("service-b", env!("CARGO_BIN_EXE_service-b"));
