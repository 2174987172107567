//! What the local target's unit tests share: the shipped app files, and
//! the fleet's containers as the engine lists them.

use app_config::AppConfig;

use super::fleet::FleetContainer;
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

/// A running container `id` of `app` on `port`: revision 1, image
/// `<app>:v1`, named `<app>-<id>`. Tests change what they need with
/// struct update syntax.
pub fn container(id: &str, app: &str, port: u16) -> FleetContainer {
    FleetContainer {
        id: id.into(),
        name: format!("{app}-{id}"),
        app: app.into(),
        port,
        version: "v1".into(),
        revision: 1,
        image: format!("{app}:v1"),
        state: "running".into(),
    }
}
