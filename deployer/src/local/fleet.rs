//! A local fleet: the containers one gateway routes to, found by their
//! Docker labels.
//!
//! A fleet is named after the address of its gateway (`127.0.0.1:8080` by
//! default), because that address is what a person already passes around:
//! `deployer up --gateway` (or `DEPLOYER_GATEWAY`) picks it, and every other
//! command reads `DEPLOYER_GATEWAY`. Two fleets on two addresses never see
//! each other's containers, which is also what keeps parallel tests apart.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::Context;
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;

use super::error::Error;
use crate::exit::Failure;

/// The fleet a container belongs to: its gateway's address.
pub const LABEL_FLEET: &str = "ecs-pipeline.fleet";
/// The app the container runs.
pub const LABEL_APP: &str = "ecs-pipeline.app";
/// The port the app listens on, on 127.0.0.1.
pub const LABEL_PORT: &str = "ecs-pipeline.port";
/// The version (image tag) the container runs.
pub const LABEL_VERSION: &str = "ecs-pipeline.version";
/// The local revision: 1 for `up`, one more for every deploy.
pub const LABEL_REVISION: &str = "ecs-pipeline.revision";

/// The variable that names the gateway's address, for every command.
pub const GATEWAY_VAR: &str = "DEPLOYER_GATEWAY";
/// The gateway's address when `DEPLOYER_GATEWAY` is unset.
pub const DEFAULT_GATEWAY: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

/// Every container binds here: the engine has no bridge network, so
/// containers share the host's, and nothing should be reachable from
/// outside the machine.
pub const BIND: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// One fleet, named by its gateway's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fleet {
    gateway: SocketAddr,
}

impl Fleet {
    /// The fleet behind the gateway at `gateway`.
    pub fn new(gateway: SocketAddr) -> Self {
        Fleet { gateway }
    }

    /// The fleet `DEPLOYER_GATEWAY` names, or the default one.
    pub fn from_env() -> Result<Self, Failure> {
        match std::env::var(GATEWAY_VAR) {
            Ok(value) if !value.trim().is_empty() => parse_gateway(&value).map(Fleet::new),
            _ => Ok(Fleet::new(DEFAULT_GATEWAY)),
        }
    }

    /// The gateway's address.
    pub fn gateway(&self) -> SocketAddr {
        self.gateway
    }

    /// The value of the fleet label.
    pub fn label(&self) -> String {
        self.gateway.to_string()
    }

    /// A container filter that selects this fleet's containers.
    pub fn filter(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([(
            "label".to_owned(),
            vec![format!("{LABEL_FLEET}={}", self.label())],
        )])
    }

    /// The name of the `index`th container of `app`'s `revision`, such as
    /// `service-b-8080-r2-1`: unique per fleet, and readable in `docker ps`.
    pub fn container_name(&self, app: &str, revision: u32, index: usize) -> String {
        let place = match self.gateway.ip() {
            ip if ip == BIND => self.gateway.port().to_string(),
            ip => format!(
                "{}-{}",
                ip.to_string().replace([':', '.'], "-"),
                self.gateway.port()
            ),
        };
        format!("{app}-{place}-r{revision}-{index}")
    }
}

/// Parses a gateway address, naming the variable in the error.
pub fn parse_gateway(value: &str) -> Result<SocketAddr, Failure> {
    value.trim().parse().map_err(|_| {
        Failure::bad_input(format!(
            "{GATEWAY_VAR}={value}: not an address such as 127.0.0.1:8080"
        ))
    })
}

/// One container of the fleet, as its labels describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetContainer {
    /// The container id.
    pub id: String,
    /// The container name, without Docker's leading `/`.
    pub name: String,
    /// The app it runs.
    pub app: String,
    /// The port the app listens on, on 127.0.0.1.
    pub port: u16,
    /// The version (image tag).
    pub version: String,
    /// The local revision.
    pub revision: u32,
    /// The image it was created from.
    pub image: String,
    /// Docker's state: `running`, `exited`, ...
    pub state: String,
}

impl FleetContainer {
    /// Where the app answers.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::new(BIND, self.port)
    }

    /// Whether the container's process runs.
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }

    /// Reads a container from its summary; `Err` says which label is wrong.
    fn from_summary(summary: &bollard::models::ContainerSummary) -> Result<Self, Error> {
        let empty = HashMap::new();
        let labels = summary.labels.as_ref().unwrap_or(&empty);
        let label = |key: &str| {
            labels
                .get(key)
                .cloned()
                .ok_or_else(|| Error::MissingLabel(key.to_owned()))
        };
        let bad = |key: &str, value: String, expected| Error::BadLabel {
            key: key.to_owned(),
            value,
            expected,
        };
        let number = |key: &str| -> Result<u32, Error> {
            let value = label(key)?;
            value.parse().map_err(|_| bad(key, value, "a number"))
        };
        let port = number(LABEL_PORT)?;
        let port = u16::try_from(port).map_err(|_| bad(LABEL_PORT, port.to_string(), "a port"))?;
        Ok(FleetContainer {
            id: summary.id.clone().ok_or(Error::NoContainerId)?,
            name: summary
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_owned())
                .unwrap_or_default(),
            app: label(LABEL_APP)?,
            port,
            version: label(LABEL_VERSION)?,
            revision: number(LABEL_REVISION)?,
            image: summary.image.clone().unwrap_or_default(),
            state: summary
                .state
                .map(|s| s.to_string())
                .unwrap_or_else(|| "unknown".to_owned()),
        })
    }
}

/// The labels a new container of the fleet carries.
pub fn labels(
    fleet: &Fleet,
    app: &str,
    port: u16,
    version: &str,
    revision: u32,
) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_FLEET.to_owned(), fleet.label()),
        (LABEL_APP.to_owned(), app.to_owned()),
        (LABEL_PORT.to_owned(), port.to_string()),
        (LABEL_VERSION.to_owned(), version.to_owned()),
        (LABEL_REVISION.to_owned(), revision.to_string()),
    ])
}

/// Every container of `fleet`, stopped ones included, sorted by app,
/// revision and name. A container whose labels are damaged is skipped with
/// a warning rather than failing the whole listing.
pub async fn list(docker: &Docker, fleet: &Fleet) -> anyhow::Result<Vec<FleetContainer>> {
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&fleet.filter())
        .build();
    let summaries = docker
        .list_containers(Some(options))
        .await
        .with_context(|| {
            format!(
                "cannot list the containers of the fleet at {}",
                fleet.label()
            )
        })?;
    let mut containers: Vec<FleetContainer> = summaries
        .iter()
        .filter_map(|s| match FleetContainer::from_summary(s) {
            Ok(c) => Some(c),
            Err(reason) => {
                tracing::warn!(id = ?s.id, %reason, "skipping a fleet container");
                None
            }
        })
        .collect();
    containers.sort_by(|a, b| (&a.app, a.revision, &a.name).cmp(&(&b.app, b.revision, &b.name)));
    Ok(containers)
}

/// The fleets other than `fleet` that have containers on this engine, for
/// messages that help a person who forgot `DEPLOYER_GATEWAY`.
pub async fn other_fleets(docker: &Docker, fleet: &Fleet) -> anyhow::Result<Vec<String>> {
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&HashMap::from([("label", vec![LABEL_FLEET])]))
        .build();
    let summaries = docker
        .list_containers(Some(options))
        .await
        .context("cannot list the engine's containers")?;
    let mut fleets: Vec<String> = summaries
        .iter()
        .filter_map(|s| s.labels.as_ref()?.get(LABEL_FLEET).cloned())
        .filter(|f| *f != fleet.label())
        .collect();
    fleets.sort();
    fleets.dedup();
    Ok(fleets)
}

/// A hint naming the other fleets, or nothing when there are none.
pub fn other_fleets_hint(others: &[String]) -> String {
    if others.is_empty() {
        String::new()
    } else {
        format!(
            "; fleets on other gateways: {} (set {GATEWAY_VAR} to pick one)",
            others.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};

    fn summary(labels: &[(&str, &str)]) -> ContainerSummary {
        ContainerSummary {
            id: Some("abc".into()),
            names: Some(vec!["/service-b-8080-r1-1".into()]),
            image: Some("service-b:v1".into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            state: Some(ContainerSummaryStateEnum::RUNNING),
            ..Default::default()
        }
    }

    #[test]
    fn labels_read_back_into_the_container_they_describe() {
        let fleet = Fleet::new(DEFAULT_GATEWAY);
        let written = labels(&fleet, "service-b", 41000, "v1", 3);
        let pairs: Vec<(&str, &str)> = written
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let c = FleetContainer::from_summary(&summary(&pairs)).expect("reads");
        assert_eq!(
            (c.app.as_str(), c.port, c.version.as_str(), c.revision),
            ("service-b", 41000, "v1", 3)
        );
        assert_eq!(c.name, "service-b-8080-r1-1");
        assert!(c.is_running());
        assert_eq!(c.address().to_string(), "127.0.0.1:41000");
    }

    #[test]
    fn a_damaged_label_is_named() {
        let err = FleetContainer::from_summary(&summary(&[
            (LABEL_APP, "service-b"),
            (LABEL_PORT, "http"),
            (LABEL_VERSION, "v1"),
            (LABEL_REVISION, "1"),
        ]))
        .expect_err("bad port")
        .to_string();
        assert!(err.contains("ecs-pipeline.port=http"), "{err}");
        let err = FleetContainer::from_summary(&summary(&[(LABEL_APP, "service-b")]))
            .expect_err("missing port")
            .to_string();
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn names_and_filters_follow_the_gateway_address() {
        let fleet = Fleet::new("127.0.0.1:9090".parse().expect("addr"));
        assert_eq!(
            fleet.container_name("service-a", 2, 1),
            "service-a-9090-r2-1"
        );
        assert_eq!(
            fleet.filter()["label"],
            vec!["ecs-pipeline.fleet=127.0.0.1:9090".to_owned()]
        );
        let other = Fleet::new("127.0.0.2:9090".parse().expect("addr"));
        assert_eq!(other.container_name("a", 1, 1), "a-127-0-0-2-9090-r1-1");
        let err = parse_gateway("localhost").expect_err("not an address");
        assert!(
            err.message.starts_with("DEPLOYER_GATEWAY=localhost"),
            "{}",
            err.message
        );
    }
}
