//! The runtime environment of a service process: who it is, where it runs,
//! which port it listens on and which version it is. ECS sets these through
//! the task definition (see [`crate::AppConfig::container_environment`]);
//! on a laptop they fall back to the app's JSON.

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::app::{AppConfig, LaunchType};
use crate::error::EnvError;
use crate::vars;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, for CloudWatch Logs Insights.
    Json,
    /// Readable, coloured text.
    Text,
    /// Text on a terminal, JSON otherwise.
    Auto,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(LogFormat::Json),
            "text" => Ok(LogFormat::Text),
            "auto" | "" => Ok(LogFormat::Auto),
            _ => Err("expected json, text or auto".into()),
        }
    }
}

/// Everything a service process takes from its environment.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeEnv {
    /// `APP_NAME`: the app's name, reported by every route.
    pub app_name: String,
    /// `APP_LAUNCH_TYPE`: `EC2` or `FARGATE`.
    pub launch_type: LaunchType,
    /// `APP_ENV`: the environment, such as `production` or `local`.
    pub environment: String,
    /// `APP_PORT`: the port to listen on.
    pub port: u16,
    /// `APP_VERSION`: the image tag this process was built as.
    pub version: String,
    /// `APP_BIND`: the address to listen on.
    pub bind: IpAddr,
    /// `LOG_FORMAT`: `json`, `text` or `auto`.
    pub log_format: LogFormat,
}

impl RuntimeEnv {
    /// Reads the process environment. Unset variables take their value from
    /// the app's JSON or a documented default.
    pub fn from_env(app: &AppConfig) -> Result<Self, EnvError> {
        Self::from_lookup(app, |name| std::env::var_os(name))
    }

    /// Reads variables through `lookup`, so that tests need not touch the
    /// process environment.
    pub fn from_lookup(
        app: &AppConfig,
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Self, EnvError> {
        let get = |var: &'static str| -> Result<Option<String>, EnvError> {
            match lookup(var) {
                None => Ok(None),
                Some(raw) => match raw.into_string() {
                    Ok(s) => Ok(Some(s)),
                    Err(raw) => Err(EnvError {
                        var,
                        value: raw.to_string_lossy().into_owned(),
                        reason: "is not valid UTF-8".into(),
                    }),
                },
            }
        };
        let parse =
            |var: &'static str, value: String, reason: String| EnvError { var, value, reason };

        // A set-but-blank name, environment or version is a mistake in the
        // task definition, not a request for the default.
        let text = |var: &'static str, default: String| -> Result<String, EnvError> {
            match get(var)? {
                Some(v) if v.trim().is_empty() => Err(parse(var, v, "must not be empty".into())),
                Some(v) => Ok(v),
                None => Ok(default),
            }
        };
        let app_name = text(vars::APP_NAME, app.app.clone())?;
        let launch_type = match get(vars::APP_LAUNCH_TYPE)? {
            Some(v) => v.parse().map_err(|e| parse(vars::APP_LAUNCH_TYPE, v, e))?,
            None => app.launch_type,
        };
        let environment = text(vars::APP_ENV, "local".to_owned())?;
        let port = match get(vars::APP_PORT)? {
            Some(v) => match v.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => {
                    return Err(parse(
                        vars::APP_PORT,
                        v,
                        "must be a port number between 1 and 65535".into(),
                    ))
                }
            },
            None => app.port,
        };
        let version = text(vars::APP_VERSION, "dev".to_owned())?;
        let bind = match get(vars::APP_BIND)? {
            Some(v) => v
                .parse()
                .map_err(|_| parse(vars::APP_BIND, v, "must be an IP address".into()))?,
            None => IpAddr::from([0, 0, 0, 0]),
        };
        let log_format = match get(vars::LOG_FORMAT)? {
            Some(v) => v.parse().map_err(|e| parse(vars::LOG_FORMAT, v, e))?,
            None => LogFormat::Auto,
        };
        Ok(RuntimeEnv {
            app_name,
            launch_type,
            environment,
            port,
            version,
            bind,
            log_format,
        })
    }
}

/// Where a service reads its JSON from: `APP_CONFIG` when set, else the copy
/// compiled into the binary.
pub fn config_override() -> Option<PathBuf> {
    std::env::var_os(vars::APP_CONFIG).map(PathBuf::from)
}
