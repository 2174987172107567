//! Which apps a command acts on, and where: the app's JSON plus the
//! overrides from flags and environment.

use std::path::PathBuf;

use app_config::AppConfig;

use crate::cli::GlobalArgs;
use crate::exit::Failure;

/// One app, resolved: its description and the ECS names it deploys to.
#[derive(Debug, Clone)]
pub struct ResolvedApp {
    /// The app's JSON.
    pub config: AppConfig,
    /// The file it came from.
    pub config_file: PathBuf,
    /// ECS cluster: `--cluster`, `ECS_CLUSTER`, or the JSON's.
    pub cluster: String,
    /// ECS service: `--service-name`, `ECS_SERVICE`, or the JSON's.
    pub service: String,
    /// The environment the app runs as (`APP_ENV`).
    pub environment: String,
}

impl ResolvedApp {
    /// App name.
    pub fn name(&self) -> &str {
        &self.config.app
    }
}

/// Resolves `names` (every app in the config directory when empty).
/// Flags that only make sense for one app are refused for several.
pub fn resolve(
    global: &GlobalArgs,
    names: &[String],
    default_environment: &str,
) -> Result<Vec<ResolvedApp>, Failure> {
    let names: Vec<String> = if names.is_empty() {
        app_config::app_files(&global.config_dir)?
            .iter()
            .filter_map(|f| f.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
            .collect()
    } else {
        names.to_vec()
    };
    if names.is_empty() {
        return Err(Failure::bad_input(format!(
            "no apps: {} holds no <app>.json",
            global.config_dir.display()
        )));
    }
    let single_only = [
        ("--config", global.config.is_some()),
        ("--service-name", global.service_name.is_some()),
    ];
    if names.len() > 1 {
        if let Some((flag, _)) = single_only.iter().find(|(_, set)| *set) {
            return Err(Failure::bad_input(format!(
                "{flag} applies to one app, but {} were given ({})",
                names.len(),
                names.join(", ")
            )));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut targets = Vec::with_capacity(names.len());
    for name in names {
        if !seen.insert(name.clone()) {
            return Err(Failure::bad_input(format!("app `{name}` is listed twice")));
        }
        let (config, config_file) = match &global.config {
            Some(file) => (app_config::load(file)?, file.clone()),
            None => (
                app_config::load_app(&global.config_dir, &name)?,
                app_config::app_file(&global.config_dir, &name),
            ),
        };
        if config.app != name {
            return Err(Failure::bad_input(format!(
                "{}: field `app`: is `{}`, but the command names `{name}`",
                config_file.display(),
                config.app
            )));
        }
        targets.push(ResolvedApp {
            cluster: global
                .cluster
                .clone()
                .unwrap_or_else(|| config.deploy.cluster.clone()),
            service: global
                .service_name
                .clone()
                .unwrap_or_else(|| config.service_name().to_owned()),
            environment: global
                .environment
                .clone()
                .unwrap_or_else(|| default_environment.to_owned()),
            config,
            config_file,
        });
    }
    Ok(targets)
}
