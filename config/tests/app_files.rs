//! The shipped app files, the schema beside them, and the errors a bad file
//! gets.

use std::path::{Path, PathBuf};

use app_config::{ConfigError, LaunchType};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

fn shipped(app: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(app_config::app_file(&dir(), app)).expect("shipped file");
    serde_json::from_str(&text).expect("shipped file is JSON")
}

/// Parses `value` as if it were the file `bad.json`, expecting a rejection.
fn rejection(value: serde_json::Value) -> String {
    let text = serde_json::to_string_pretty(&value).expect("serialise");
    match app_config::parse(Path::new("config/bad.json"), &text) {
        Ok(cfg) => panic!("accepted a bad file: {cfg:?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn shipped_apps_load_with_their_launch_types_and_ports() {
    let a = app_config::load_app(&dir(), "service-a").expect("service-a loads");
    assert_eq!((a.port, a.launch_type), (5000, LaunchType::Ec2));
    let names: Vec<_> = a.microservices.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["medical", "security"]);

    let b = app_config::load_app(&dir(), "service-b").expect("service-b loads");
    assert_eq!((b.port, b.launch_type), (5001, LaunchType::Fargate));
    let names: Vec<_> = b.microservices.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["finance", "payment"]);

    let fleet = app_config::load_fleet(&dir()).expect("fleet loads");
    assert_eq!(fleet.len(), 2);
}

#[test]
fn committed_schema_is_the_generated_one() {
    let committed =
        std::fs::read_to_string(dir().join(app_config::SCHEMA_FILE)).expect("schema file");
    assert!(
        committed == app_config::schema_text(),
        "config/{} is stale: run `cargo run -p app-config --example write-schema`",
        app_config::SCHEMA_FILE
    );
}

#[test]
fn shipped_files_satisfy_the_schema_and_bad_ones_do_not() {
    let validator = jsonschema::validator_for(&app_config::schema()).expect("schema compiles");
    for app in ["service-a", "service-b"] {
        let doc = shipped(app);
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{app}: {errors:?}");
    }
    let mut bad = shipped("service-a");
    bad["replicas"]["desired"] = "two".into();
    assert!(!validator.is_valid(&bad));
    let mut bad = shipped("service-a");
    bad["launch_type"] = "LAMBDA".into();
    assert!(!validator.is_valid(&bad));
}

#[test]
fn health_check_defaults_apply_when_fields_are_absent() {
    let mut doc = shipped("service-b");
    doc.as_object_mut().expect("object").remove("health_check");
    doc.as_object_mut().expect("object").remove("scaling");
    let cfg = app_config::parse(Path::new("b.json"), &doc.to_string()).expect("valid without them");
    assert_eq!(cfg.health_check_path(), "/finance/health");
    assert_eq!(
        cfg.health_check.healthy_threshold,
        app_config::defaults::healthy_threshold()
    );
    assert_eq!(
        cfg.health_check.interval_seconds,
        app_config::defaults::health_interval()
    );
    assert_eq!(cfg.health_check.matcher, "200");
    assert_eq!(cfg.scaling.cpu_target, 75.0);
    assert_eq!(cfg.scaling.memory_target, 75.0);
    assert!(cfg.health_check.matches(200));
    assert!(!cfg.health_check.matches(503));
}

#[test]
fn a_wrong_type_names_the_file_and_field() {
    let mut doc = shipped("service-a");
    doc["port"] = "abc".into();
    let msg = rejection(doc);
    assert!(msg.contains("config/bad.json"), "{msg}");
    assert!(msg.contains("`port`"), "{msg}");
}

#[test]
fn a_nested_error_gives_the_json_path() {
    let mut doc = shipped("service-a");
    doc["microservices"][1]["path_patterns"][0] = 7.into();
    let msg = rejection(doc);
    assert!(msg.contains("microservices[1].path_patterns[0]"), "{msg}");

    let mut doc = shipped("service-a");
    doc["microservices"][1]["path_patterns"][0] = "security".into();
    let msg = rejection(doc);
    assert!(msg.contains("microservices[1].path_patterns[0]"), "{msg}");
    assert!(msg.contains("must start with `/`"), "{msg}");
}

#[test]
fn a_misspelt_field_is_rejected_by_name() {
    let mut doc = shipped("service-a");
    doc["helth_check"] = serde_json::json!({});
    let msg = rejection(doc);
    assert!(msg.contains("helth_check"), "{msg}");
}

#[test]
fn a_missing_field_is_named() {
    let mut doc = shipped("service-a");
    doc.as_object_mut().expect("object").remove("replicas");
    let msg = rejection(doc);
    assert!(msg.contains("replicas"), "{msg}");
}

#[test]
fn rule_violations_are_all_reported_with_their_paths() {
    let mut doc = shipped("service-b");
    doc["replicas"] = serde_json::json!({"desired": 9, "min": 5, "max": 3});
    doc["scaling"]["cpu_target"] = 150.into();
    doc["memory"] = 4096.into();
    doc["health_check"]["matcher"] = "abc".into();
    doc["environment"]["APP_VERSION"] = "x".into();
    let msg = rejection(doc);
    for needle in [
        "`replicas.min`",
        "`replicas.desired`",
        "`scaling.cpu_target`",
        "`memory`",
        "`health_check.matcher`",
        "`environment.APP_VERSION`",
    ] {
        assert!(msg.contains(needle), "{needle} missing from: {msg}");
    }
}

#[test]
fn a_clash_between_apps_is_caught() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = shipped("service-a");
    let mut b = shipped("service-b");
    b["microservices"][0]["priority"] = a["microservices"][0]["priority"].clone();
    b["microservices"][1]["path_patterns"][0] = "/medical".into();
    std::fs::write(tmp.path().join("service-a.json"), a.to_string()).expect("write");
    std::fs::write(tmp.path().join("service-b.json"), b.to_string()).expect("write");
    let err = app_config::load_fleet(tmp.path()).expect_err("clash must be caught");
    let msg = err.to_string();
    assert!(msg.contains("service-b.json"), "{msg}");
    assert!(msg.contains("microservices[0].priority"), "{msg}");
    assert!(msg.contains("microservices[1].path_patterns[0]"), "{msg}");
}

#[test]
fn an_unknown_app_lists_the_known_ones() {
    let err = app_config::load_app(&dir(), "service-z").expect_err("no such app");
    assert!(matches!(err, ConfigError::UnknownApp { .. }));
    let msg = err.to_string();
    assert!(msg.contains("service-z.json"), "{msg}");
    assert!(msg.contains("service-a, service-b"), "{msg}");
}

#[test]
fn a_file_that_is_not_json_names_line_and_column() {
    let err = app_config::parse(Path::new("x.json"), "{ \"app\": ").expect_err("truncated");
    let msg = err.to_string();
    assert!(msg.starts_with("x.json: "), "{msg}");
    assert!(msg.contains("line 1"), "{msg}");
}

#[test]
fn container_environment_adds_what_every_deploy_sets() {
    let cfg = app_config::load_app(&dir(), "service-b").expect("loads");
    let env = cfg.container_environment("staging", "abc1234");
    assert_eq!(env["APP_NAME"], "service-b");
    assert_eq!(env["APP_LAUNCH_TYPE"], "FARGATE");
    assert_eq!(env["APP_ENV"], "staging");
    assert_eq!(env["APP_PORT"], "5001");
    assert_eq!(env["APP_VERSION"], "abc1234");
    assert_eq!(env["RUST_LOG"], "info");
}

#[test]
fn alarm_defaults_apply_and_bad_alarm_values_are_named() {
    let doc = shipped("service-a");
    assert!(
        doc.get("alarms").is_none(),
        "the shipped JSON leaves alarms to their defaults"
    );
    let cfg = app_config::parse(Path::new("a.json"), &doc.to_string()).expect("valid");
    assert_eq!(cfg.alarms, app_config::Alarms::default());
    assert!(cfg.alarms.enabled && cfg.alarms.rollback);
    assert_eq!(cfg.alarms.period_seconds, 60);
    assert_eq!(cfg.alarms.error_rate_percent, 5.0);
    assert_eq!(cfg.alarms.latency_p99_ms, 1000);

    let mut doc = shipped("service-a");
    doc["alarms"] = serde_json::json!({"latency_p99_ms": 250, "rollback": false});
    let cfg = app_config::parse(Path::new("a.json"), &doc.to_string()).expect("valid");
    assert_eq!(
        (cfg.alarms.latency_p99_ms, cfg.alarms.rollback),
        (250, false)
    );
    assert_eq!(
        cfg.alarms.evaluation_periods, 3,
        "the rest keep their defaults"
    );

    let mut doc = shipped("service-a");
    doc["alarms"] = serde_json::json!({
        "period_seconds": 45,
        "evaluation_periods": 0,
        "error_rate_percent": 0,
        "cpu_percent": 120,
        "latency_p99_ms": 0
    });
    let msg = rejection(doc);
    for needle in [
        "field `alarms.period_seconds`: 45 is not 10, 30 or a multiple of 60",
        "`alarms.evaluation_periods`",
        "`alarms.error_rate_percent`",
        "`alarms.cpu_percent`",
        "`alarms.latency_p99_ms`",
    ] {
        assert!(msg.contains(needle), "{needle} missing from: {msg}");
    }
}

#[test]
fn schema_rules_name_the_file_field_and_reason() {
    let mut doc = shipped("service-a");
    doc["port"] = 0.into();
    doc["app"] = "Service_A".into();
    doc["microservices"][0]["priority"] = 60000.into();
    doc["microservices"][1]["path_patterns"][0] = "/a#b".into();
    doc["health_check"]["matcher"] = "abc".into();
    doc["environment"]["1BAD"] = "x".into();
    doc["replicas"] = serde_json::json!({"desired": 9, "min": 5, "max": 3});
    let msg = rejection(doc);
    for needle in [
        "config/bad.json: ",
        "field `port`: 0 is less than the minimum of 1",
        "field `app`: `Service_A` must be 1-255 lowercase letters, digits or `-`",
        "field `microservices[0].priority`: 60000 is greater than the maximum of 50000",
        "field `microservices[1].path_patterns[0]`: `/a#b` must start with `/`",
        "field `health_check.matcher`: `abc` is not an ALB matcher",
        "field `environment.1BAD`: is not a valid variable name",
        "field `replicas.min`: 5 is above replicas.max (3)",
    ] {
        assert!(msg.contains(needle), "{needle} missing from: {msg}");
    }
}

#[test]
fn a_backwards_matcher_range_is_named() {
    let mut doc = shipped("service-a");
    doc["health_check"]["matcher"] = "299-200".into();
    let msg = rejection(doc);
    assert!(
        msg.contains("field `health_check.matcher`: range `299-200` is backwards"),
        "{msg}"
    );
}

#[test]
fn a_wrong_type_keeps_line_and_column_beside_the_other_problems() {
    let mut doc = shipped("service-a");
    doc["port"] = "abc".into();
    doc["microservices"][0]["priority"] = 0.into();
    let msg = rejection(doc);
    assert!(
        msg.contains("field `port`: invalid type: string \"abc\", expected u16 at line"),
        "{msg}"
    );
    assert!(
        msg.contains("field `microservices[0].priority`: 0 is less than the minimum of 1"),
        "{msg}"
    );
}
