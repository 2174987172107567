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
mod matcher;
mod rules;
mod runtime;
mod validate;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

pub use app::{
    defaults, Alarms, AppConfig, Capacity, CpuArchitecture, Deploy, HealthCheck, LaunchType,
    Microservice, Replicas, Scaling, RESERVED_ENV,
};
pub use error::{ConfigError, EnvError, Problem};
pub use matcher::Matcher;
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
///
/// Three passes, so that one rejection lists everything wrong: the JSON
/// Schema (types, names, ranges, lengths, patterns), then the typed parse
/// (which also parses the [`Matcher`]), then the rules across fields in
/// `validate.rs`. A value the schema rejected and the typed parse cannot
/// take is set aside for the last pass, so that the rules across fields
/// still run on the rest.
pub fn parse(file: &Path, text: &str) -> Result<AppConfig, ConfigError> {
    let parse_error = |path: String, reason: String| ConfigError::Parse {
        file: file.to_owned(),
        problem: Problem::new(path, reason),
    };
    let de = &mut serde_json::Deserializer::from_str(text);
    let first: Result<AppConfig, _> = serde_path_to_error::deserialize(de);
    let mut doc: Value = match serde_json::from_str(text) {
        Ok(doc) => doc,
        Err(err) => return Err(parse_error(".".to_owned(), err.to_string())),
    };
    let mut problems = schema_problems(&doc);
    let mut set_aside = Vec::new();
    let first = first.map_err(|err| (err.path().to_string(), err.into_inner().to_string()));
    // The parse of the text names line and column; the schema's message
    // for the same field gives way to it when the file cannot be read.
    let first_error = first.as_ref().err().cloned();
    let mut attempt = first;
    let cfg = loop {
        match attempt {
            Ok(cfg) => break cfg,
            Err((path, reason)) => {
                let flagged = problems.iter().any(|p| p.path == path);
                if !flagged || set_aside.len() >= 16 || !remove(&mut doc, &path) {
                    if problems.is_empty() {
                        return Err(parse_error(path, reason));
                    }
                    if let Some((path, reason)) = first_error {
                        if let Some(at) = problems.iter().position(|p| p.path == path) {
                            problems.retain(|p| p.path != path);
                            problems.insert(at, Problem::new(path, reason));
                        }
                    }
                    return Err(ConfigError::Invalid {
                        file: file.to_owned(),
                        problems,
                    });
                }
                set_aside.push(path);
                attempt = serde_path_to_error::deserialize(&doc)
                    .map_err(|err| (err.path().to_string(), err.into_inner().to_string()));
            }
        }
    };
    problems.extend(
        validate::app(&cfg)
            .into_iter()
            .filter(|p| !set_aside.contains(&p.path)),
    );
    if problems.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigError::Invalid {
            file: file.to_owned(),
            problems,
        })
    }
}

/// Everything in `doc` the app schema rejects, each with its field's path
/// in the form the other passes use (`microservices[1].path_patterns[0]`).
fn schema_problems(doc: &Value) -> Vec<Problem> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    let validator = match VALIDATOR
        .get_or_init(|| jsonschema::validator_for(&schema()).map_err(|err| err.to_string()))
    {
        Ok(validator) => validator,
        Err(err) => {
            return vec![Problem::new(
                ".",
                format!("the app schema does not compile: {err}"),
            )]
        }
    };
    validator
        .iter_errors(doc)
        .map(|err| {
            let mut path = field_path(doc, err.instance_path());
            let reason = match err.kind() {
                jsonschema::error::ValidationErrorKind::Pattern { pattern } => {
                    match rules::hint(pattern) {
                        Some(hint) => format!("{} {hint}", quoted(err.instance())),
                        None => err.to_string(),
                    }
                }
                jsonschema::error::ValidationErrorKind::PropertyNames { error } => {
                    if let Value::String(name) = error.instance().as_ref() {
                        path = join(&path, name);
                    }
                    match error.kind() {
                        jsonschema::error::ValidationErrorKind::Pattern { pattern } => {
                            rules::hint(pattern).map_or_else(|| error.to_string(), str::to_owned)
                        }
                        _ => error.to_string(),
                    }
                }
                _ => err.to_string(),
            };
            Problem::new(path, reason)
        })
        .collect()
}

/// A string value in backquotes, anything else as JSON.
fn quoted(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        other => other.to_string(),
    }
}

fn join(path: &str, field: &str) -> String {
    if path == "." {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// `/microservices/1/name` as `microservices[1].name`, reading `doc` to
/// tell array indices from object keys; `.` for the whole document.
fn field_path(doc: &Value, location: &jsonschema::paths::Location) -> String {
    let mut path = ".".to_owned();
    let mut at = Some(doc);
    for segment in location {
        let segment = segment.to_string();
        match at {
            Some(Value::Array(items)) => {
                at = segment.parse::<usize>().ok().and_then(|i| items.get(i));
                if path == "." {
                    path.clear();
                }
                path.push_str(&format!("[{segment}]"));
            }
            Some(value) => {
                at = value.get(&segment);
                path = join(&path, &segment);
            }
            None => path = join(&path, &segment),
        }
    }
    path
}

/// Removes the member at `path` (as [`field_path`] writes it) from `doc`.
/// Only object members go; `false` when there is none to remove.
fn remove(doc: &mut Value, path: &str) -> bool {
    let Some((parent, key)) = path.rsplit_once('.').or(Some(("", path))) else {
        return false;
    };
    if key.is_empty() || key.contains('[') || path == "." {
        return false;
    }
    let mut at = doc;
    for part in parent.split('.').filter(|p| !p.is_empty()) {
        let (name, indices) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        let Some(next) = at.get_mut(name) else {
            return false;
        };
        at = next;
        for index in indices.split(['[', ']']).filter(|i| !i.is_empty()) {
            let Some(next) = index.parse::<usize>().ok().and_then(|i| at.get_mut(i)) else {
                return false;
            };
            at = next;
        }
    }
    at.as_object_mut().is_some_and(|o| o.remove(key).is_some())
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
