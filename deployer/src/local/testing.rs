//! What the local target's unit tests share: the gateway crate's fixtures
//! (the shipped app files, the fleet's containers as the engine lists them)
//! and the apps as the local target resolves them.

pub use local_gateway::testing::{config_dir, container, shipped, summary};

use crate::apps::ResolvedApp;

/// The shipped app, resolved as the local target resolves it.
pub fn target(app: &str) -> ResolvedApp {
    let config = shipped(app);
    ResolvedApp {
        cluster: config.deploy.cluster.clone(),
        service: config.service_name().to_owned(),
        environment: super::LOCAL_ENVIRONMENT.to_owned(),
        config_file: app_config::app_file(&config_dir(), app),
        config,
    }
}
