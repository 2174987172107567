//! Fixtures for tests of the gateway and of its users (with the `testing`
//! feature): the shipped app files, and the fleet's containers as the
//! engine lists them.

use std::collections::HashMap;

use app_config::AppConfig;
use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};

use crate::fleet::FleetContainer;

/// The repository's `config/` directory.
pub fn config_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config")
}

/// `config/<app>.json` as shipped.
pub fn shipped(app: &str) -> AppConfig {
    app_config::load_app(&config_dir(), app).expect("shipped config loads")
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

/// The engine's summary of a running container `abc` named
/// `service-b-8080-r1-1`, with `labels`.
pub fn summary(labels: &[(&str, &str)]) -> ContainerSummary {
    ContainerSummary {
        id: Some("abc".into()),
        names: Some(vec!["/service-b-8080-r1-1".into()]),
        image: Some("service-b:v1".into()),
        labels: Some(
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        ),
        state: Some(ContainerSummaryStateEnum::RUNNING),
        ..Default::default()
    }
}
