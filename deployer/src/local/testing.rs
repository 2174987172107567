//! What the local target's unit tests share: the shipped app files.

use app_config::AppConfig;

use crate::apps::ResolvedApp;

/// `config/<app>.json` as shipped.
pub fn shipped(app: &str) -> AppConfig {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    app_config::load_app(&dir, app).expect("shipped config loads")
}

/// The shipped app, resolved as the local target resolves it.
pub fn target(app: &str) -> ResolvedApp {
    let config = shipped(app);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    ResolvedApp {
        cluster: config.deploy.cluster.clone(),
        service: config.service_name().to_owned(),
        environment: super::LOCAL_ENVIRONMENT.to_owned(),
        config_file: app_config::app_file(&dir, app),
        config,
    }
}
