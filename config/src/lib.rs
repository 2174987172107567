//! The single description of each app, and the environment its process
//! runs with.
//!
//! * [`AppConfig`] is `config/<app>.json`, validated by [`load`]: a bad file
//!   is rejected with its name, the field's JSON path and the reason.
//! * [`RuntimeEnv`] is what a service process reads from its environment
//!   (variable names in [`vars`]); a bad value names its variable.
//!
//! The JSON Schema beside the files (`config/service.schema.json`) is
//! generated from these types by [`schema`], and a test keeps it in step.

mod app;
mod error;
mod runtime;
mod validate;

use std::path::{Path, PathBuf};

pub use app::{
    defaults, Alarms, AppConfig, Capacity, CpuArchitecture, Deploy, HealthCheck, LaunchType,
    Microservice, Replicas, Scaling, RESERVED_ENV,
};
pub use error::{ConfigError, EnvError, Problem};
pub use runtime::{config_override, LogFormat, RuntimeEnv};

/// Names of the environment variables a service reads.
pub mod vars {
    /// The app's name.
    pub const APP_NAME: &str = "APP_NAME";
    /// `EC2` or `FARGATE`.
    pub const APP_LAUNCH_TYPE: &str = "APP_LAUNCH_TYPE";
    /// The environment (`production`, `staging`, `local`, ...).
    pub const APP_ENV: &str = "APP_ENV";
    /// The port to listen on.
    pub const APP_PORT: &str = "APP_PORT";
    /// The version (image tag).
    pub const APP_VERSION: &str = "APP_VERSION";
    /// The address to listen on.
    pub const APP_BIND: &str = "APP_BIND";
    /// `json`, `text` or `auto`.
    pub const LOG_FORMAT: &str = "LOG_FORMAT";
    /// A JSON file to read instead of the copy compiled into the binary.
    pub const APP_CONFIG: &str = "APP_CONFIG";
}

/// File name of the JSON Schema inside the config directory.
pub const SCHEMA_FILE: &str = "service.schema.json";

/// The directory that holds the app files, relative to the repository root.
pub const DEFAULT_DIR: &str = "config";

/// Parses and validates one app's JSON. `file` is only used in messages.
pub fn parse(file: &Path, text: &str) -> Result<AppConfig, ConfigError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let cfg: AppConfig = serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        ConfigError::Parse {
            file: file.to_owned(),
            problem: Problem::new(path, err.into_inner().to_string()),
        }
    })?;
    let problems = validate::app(&cfg);
    if problems.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigError::Invalid {
            file: file.to_owned(),
            problems,
        })
    }
}

/// Reads, parses and validates one app's JSON file.
pub fn load(file: &Path) -> Result<AppConfig, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
        file: file.to_owned(),
        source,
    })?;
    parse(file, &text)
}

/// The file that describes `app` inside `dir`.
pub fn app_file(dir: &Path, app: &str) -> PathBuf {
    dir.join(format!("{app}.json"))
}

/// Loads `app` from `dir`, with a helpful error when there is no such app.
pub fn load_app(dir: &Path, app: &str) -> Result<AppConfig, ConfigError> {
    let file = app_file(dir, app);
    if !file.is_file() {
        let known = app_files(dir)
            .unwrap_or_default()
            .iter()
            .filter_map(|f| f.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
            .collect::<Vec<_>>();
        return Err(ConfigError::UnknownApp {
            app: app.to_owned(),
            file,
            known: if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            },
        });
    }
    let cfg = load(&file)?;
    if cfg.app != app {
        return Err(ConfigError::Invalid {
            file,
            problems: vec![Problem::new(
                "app",
                format!("is `{}` but the file is named after `{app}`", cfg.app),
            )],
        });
    }
    Ok(cfg)
}

/// Every app file in `dir` (`*.json`, not the schema), sorted by name.
pub fn app_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::Read {
        file: dir.to_owned(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| ConfigError::Read {
                file: dir.to_owned(),
                source,
            })?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".json") && name != SCHEMA_FILE && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Loads every app in `dir` and checks them against each other: one ALB
/// routes them all, so rule priorities and path patterns must not clash.
pub fn load_fleet(dir: &Path) -> Result<Vec<AppConfig>, ConfigError> {
    let files = app_files(dir)?;
    let mut apps = Vec::with_capacity(files.len());
    for file in &files {
        apps.push(load(file)?);
    }
    let named: Vec<(String, &AppConfig)> = files
        .iter()
        .map(|f| f.display().to_string())
        .zip(apps.iter())
        .collect();
    let clashes = validate::fleet(named.iter().map(|(f, c)| (f.as_str(), *c)));
    if let Some((file, _)) = clashes.first() {
        let file = file.clone();
        let problems = clashes
            .into_iter()
            .filter(|(f, _)| *f == file)
            .map(|(_, p)| p)
            .collect();
        return Err(ConfigError::Invalid {
            file: PathBuf::from(file),
            problems,
        });
    }
    Ok(apps)
}

/// The JSON Schema of an app file, generated from [`AppConfig`].
pub fn schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(AppConfig);
    schema.insert(
        "$id".into(),
        "https://ecs-pipeline.invalid/config/service.schema.json".into(),
    );
    schema.insert("title".into(), "ecs-pipeline app description".into());
    schema.to_value()
}

/// The schema as the committed file holds it: pretty JSON plus a newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}
