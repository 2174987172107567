//! The service's environment variables: defaults from the JSON, and errors
//! that name the variable.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;

use app_config::{AppConfig, LaunchType, LogFormat, RuntimeEnv};

fn app() -> AppConfig {
    app_config::load_app(Path::new(env!("CARGO_MANIFEST_DIR")), "service-a").expect("loads")
}

fn read(vars: &[(&str, &str)]) -> Result<RuntimeEnv, app_config::EnvError> {
    let map: HashMap<String, OsString> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), OsString::from(*v)))
        .collect();
    RuntimeEnv::from_lookup(&app(), |name| map.get(name).cloned())
}

#[test]
fn unset_variables_fall_back_to_the_json() {
    let env = read(&[]).expect("defaults");
    assert_eq!(env.app_name, "service-a");
    assert_eq!(env.port, 5000);
    assert_eq!(env.launch_type, LaunchType::Ec2);
    assert_eq!(env.environment, "local");
    assert_eq!(env.version, "dev");
    assert_eq!(env.log_format, LogFormat::Auto);
}

#[test]
fn set_variables_win() {
    let env = read(&[
        ("APP_NAME", "svc"),
        ("APP_PORT", "8081"),
        ("APP_LAUNCH_TYPE", "fargate"),
        ("APP_ENV", "production"),
        ("APP_VERSION", "1a2b3c4"),
        ("APP_BIND", "127.0.0.1"),
        ("LOG_FORMAT", "json"),
    ])
    .expect("valid");
    assert_eq!(env.app_name, "svc");
    assert_eq!(env.port, 8081);
    assert_eq!(env.launch_type, LaunchType::Fargate);
    assert_eq!(env.environment, "production");
    assert_eq!(env.version, "1a2b3c4");
    assert_eq!(env.bind.to_string(), "127.0.0.1");
    assert_eq!(env.log_format, LogFormat::Json);
}

#[test]
fn each_bad_value_names_its_variable() {
    for (var, value) in [
        ("APP_PORT", "abc"),
        ("APP_PORT", "0"),
        ("APP_PORT", "70000"),
        ("APP_LAUNCH_TYPE", "LAMBDA"),
        ("APP_BIND", "localhost:80"),
        ("LOG_FORMAT", "xml"),
        ("APP_ENV", ""),
        ("APP_VERSION", " "),
    ] {
        let err = read(&[(var, value)]).expect_err(var);
        assert_eq!(err.var, var);
        let msg = err.to_string();
        assert!(msg.contains(var), "{msg}");
    }
}
