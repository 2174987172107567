//! The local target: the fleet on the local Docker engine behind a gateway
//! that applies the load balancer's rules.

use std::time::Instant;

use crate::cli::{DeployArgs, DownArgs, GlobalArgs, StatusArgs, UpArgs};
use crate::report::Report;

/// `deployer up`.
pub async fn up(_g: &GlobalArgs, _a: &UpArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("up: not implemented yet")
}

/// `deployer down`.
pub async fn down(_g: &GlobalArgs, _a: &DownArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("down: not implemented yet")
}

/// `deployer deploy --target local`.
pub async fn deploy(_g: &GlobalArgs, _a: &DeployArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("local deploy: not implemented yet")
}

/// `deployer status --target local`.
pub async fn status(_g: &GlobalArgs, _a: &StatusArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("local status: not implemented yet")
}
