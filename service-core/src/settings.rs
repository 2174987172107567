//! Everything a service process is configured with: the app's JSON (the copy
//! compiled into the binary, or `APP_CONFIG`) and its environment.

use std::path::{Path, PathBuf};

use app_config::{AppConfig, ConfigError, EnvError, RuntimeEnv};

/// The app JSON compiled into a binary with `include_str!`.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedConfig {
    /// The file it came from, relative to the repository root; named in
    /// error messages.
    pub file: &'static str,
    /// Its text.
    pub json: &'static str,
}

/// A configuration the process cannot start with. Every message names the
/// variable, or the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The app JSON is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An environment variable has a value that cannot be used.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// The JSON is valid on its own but its routes cannot be served.
    #[error("{}: field `{field}`: {reason}", file.display())]
    Routes {
        /// The JSON file.
        file: PathBuf,
        /// The field's JSON path.
        field: String,
        /// Why.
        reason: String,
    },
}

/// The app JSON and the environment, both validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the JSON came from, for messages.
    pub file: PathBuf,
    /// The app's description.
    pub app: AppConfig,
    /// What the environment says.
    pub env: RuntimeEnv,
}

impl Settings {
    /// Reads `APP_CONFIG` (or the embedded JSON) and the environment.
    pub fn load(embedded: EmbeddedConfig) -> Result<Settings, SettingsError> {
        let (file, app) = match app_config::config_override() {
            Some(path) => {
                let app = app_config::load(&path)?;
                (path, app)
            }
            None => {
                let file = Path::new(embedded.file);
                (file.to_owned(), app_config::parse(file, embedded.json)?)
            }
        };
        let env = RuntimeEnv::from_env(&app)?;
        Ok(Settings { file, app, env })
    }
}
