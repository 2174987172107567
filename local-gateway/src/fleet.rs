//! A local fleet: the containers one gateway routes to, found by their
//! Docker labels (see [`crate::labels`]).
//!
//! A fleet is named after the address of its gateway (`127.0.0.1:8080`, for
//! example): two fleets on two addresses never see each other's containers.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;

use crate::error::Error;
use crate::labels;

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
            vec![format!("{}={}", labels::FLEET, self.label())],
        )])
    }
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

    /// Reads a container from the engine's summary of it; `Err` says which
    /// label is wrong.
    pub fn from_summary(summary: &bollard::models::ContainerSummary) -> Result<Self, Error> {
        let empty = HashMap::new();
        let found = summary.labels.as_ref().unwrap_or(&empty);
        let label = |key: &str| {
            found
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
        let port = number(labels::PORT)?;
        let port =
            u16::try_from(port).map_err(|_| bad(labels::PORT, port.to_string(), "a port"))?;
        Ok(FleetContainer {
            id: summary.id.clone().ok_or(Error::NoContainerId)?,
            name: summary
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_owned())
                .unwrap_or_default(),
            app: label(labels::APP)?,
            port,
            version: label(labels::VERSION)?,
            revision: number(labels::REVISION)?,
            image: summary.image.clone().unwrap_or_default(),
            state: summary
                .state
                .map(|s| s.to_string())
                .unwrap_or_else(|| "unknown".to_owned()),
        })
    }
}

/// Every container of `fleet`, stopped ones included, sorted by app,
/// revision and name. A container whose labels are damaged is skipped with
/// a warning rather than failing the whole listing.
pub async fn list(docker: &Docker, fleet: &Fleet) -> Result<Vec<FleetContainer>, Error> {
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&fleet.filter())
        .build();
    let summaries = docker
        .list_containers(Some(options))
        .await
        .map_err(|source| Error::ListFleet {
            fleet: fleet.label(),
            source,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::summary;

    #[test]
    fn labels_read_into_the_container_they_describe() {
        let c = FleetContainer::from_summary(&summary(&[
            (labels::FLEET, "127.0.0.1:8080"),
            (labels::APP, "service-b"),
            (labels::PORT, "41000"),
            (labels::VERSION, "v1"),
            (labels::REVISION, "3"),
        ]))
        .expect("reads");
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
            (labels::APP, "service-b"),
            (labels::PORT, "http"),
            (labels::VERSION, "v1"),
            (labels::REVISION, "1"),
        ]))
        .expect_err("bad port")
        .to_string();
        assert!(err.contains("ecs-pipeline.port=http"), "{err}");
        let err = FleetContainer::from_summary(&summary(&[(labels::APP, "service-b")]))
            .expect_err("missing port")
            .to_string();
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn the_filter_follows_the_gateway_address() {
        let fleet = Fleet::new("127.0.0.1:9090".parse().expect("addr"));
        assert_eq!(
            fleet.filter()["label"],
            vec!["ecs-pipeline.fleet=127.0.0.1:9090".to_owned()]
        );
    }
}
