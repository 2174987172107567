//! A local fleet: the containers one gateway routes to, found by their
//! Docker labels. The fleet, its containers and the label contract are the
//! gateway's ([`local_gateway::fleet`], [`local_gateway::labels`]); here is
//! what the container controller adds: which fleet a command means, the
//! labels and names of the containers it creates, and the hint that names
//! other fleets.
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
pub use local_gateway::fleet::{Fleet, FleetContainer, BIND};
use local_gateway::labels;

use crate::exit::Failure;

/// The variable that names the gateway's address, for every command.
pub const GATEWAY_VAR: &str = "DEPLOYER_GATEWAY";
/// The gateway's address when `DEPLOYER_GATEWAY` is unset.
pub const DEFAULT_GATEWAY: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

/// The fleet `DEPLOYER_GATEWAY` names, or the default one.
pub fn from_env() -> Result<Fleet, Failure> {
    match std::env::var(GATEWAY_VAR) {
        Ok(value) if !value.trim().is_empty() => parse_gateway(&value).map(Fleet::new),
        _ => Ok(Fleet::new(DEFAULT_GATEWAY)),
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

/// The name of the `index`th container of `app`'s `revision` in `fleet`,
/// such as `service-b-8080-r2-1`: unique per fleet, and readable in
/// `docker ps`.
pub fn container_name(fleet: &Fleet, app: &str, revision: u32, index: usize) -> String {
    let gateway = fleet.gateway();
    let place = match gateway.ip() {
        ip if ip == BIND => gateway.port().to_string(),
        ip => format!(
            "{}-{}",
            ip.to_string().replace([':', '.'], "-"),
            gateway.port()
        ),
    };
    format!("{app}-{place}-r{revision}-{index}")
}

/// The labels a new container of the fleet carries: the gateway's label
/// contract.
pub fn labels(
    fleet: &Fleet,
    app: &str,
    port: u16,
    version: &str,
    revision: u32,
) -> HashMap<String, String> {
    HashMap::from([
        (labels::FLEET.to_owned(), fleet.label()),
        (labels::APP.to_owned(), app.to_owned()),
        (labels::PORT.to_owned(), port.to_string()),
        (labels::VERSION.to_owned(), version.to_owned()),
        (labels::REVISION.to_owned(), revision.to_string()),
    ])
}

/// Every container of `fleet`, stopped ones included, sorted by app,
/// revision and name (see [`local_gateway::fleet::list`]).
pub async fn list(docker: &Docker, fleet: &Fleet) -> anyhow::Result<Vec<FleetContainer>> {
    Ok(local_gateway::fleet::list(docker, fleet).await?)
}

/// The fleets other than `fleet` that have containers on this engine, for
/// messages that help a person who forgot `DEPLOYER_GATEWAY`.
pub async fn other_fleets(docker: &Docker, fleet: &Fleet) -> anyhow::Result<Vec<String>> {
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&HashMap::from([("label", vec![labels::FLEET])]))
        .build();
    let summaries = docker
        .list_containers(Some(options))
        .await
        .context("cannot list the engine's containers")?;
    let mut fleets: Vec<String> = summaries
        .iter()
        .filter_map(|s| s.labels.as_ref()?.get(labels::FLEET).cloned())
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
    use crate::local::testing::summary;

    #[test]
    fn the_labels_written_read_back_through_the_gateway_into_the_container() {
        let fleet = Fleet::new(DEFAULT_GATEWAY);
        let written = labels(&fleet, "service-b", 41000, "v1", 3);
        let mut keys: Vec<&str> = written.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut contract = local_gateway::labels::ALL.to_vec();
        contract.sort_unstable();
        assert_eq!(keys, contract, "every key of the contract, and no other");
        let pairs: Vec<(&str, &str)> = written
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let c = FleetContainer::from_summary(&summary(&pairs)).expect("reads");
        assert_eq!(
            (c.app.as_str(), c.port, c.version.as_str(), c.revision),
            ("service-b", 41000, "v1", 3)
        );
        // How a container reads (name, state, address) is the gateway's
        // own test; here, that what deployer writes is what it reads.
        assert_eq!(
            fleet.filter()["label"],
            vec![format!("ecs-pipeline.fleet={}", written[labels::FLEET])],
            "discovery's filter selects what the controller wrote"
        );
    }

    #[test]
    fn names_follow_the_gateway_address() {
        let fleet = Fleet::new("127.0.0.1:9090".parse().expect("addr"));
        assert_eq!(
            container_name(&fleet, "service-a", 2, 1),
            "service-a-9090-r2-1"
        );
        let other = Fleet::new("127.0.0.2:9090".parse().expect("addr"));
        assert_eq!(container_name(&other, "a", 1, 1), "a-127-0-0-2-9090-r1-1");
        let err = parse_gateway("localhost").expect_err("not an address");
        assert!(
            err.message.starts_with("DEPLOYER_GATEWAY=localhost"),
            "{}",
            err.message
        );
    }
}
