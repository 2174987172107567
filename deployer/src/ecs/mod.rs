//! ECS: render, register, roll out, follow, roll back, prune.

use std::time::Instant;

use crate::cli::{
    DeployArgs, DiffArgs, GlobalArgs, PruneArgs, RenderArgs, RollbackArgs, StatusArgs,
};
use crate::report::Report;

/// `deployer deploy` on ECS.
pub async fn deploy(_g: &GlobalArgs, _a: &DeployArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("deploy: not implemented yet")
}

/// `deployer render`.
pub async fn render(_g: &GlobalArgs, _a: &RenderArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("render: not implemented yet")
}

/// `deployer diff`.
pub async fn diff(_g: &GlobalArgs, _a: &DiffArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("diff: not implemented yet")
}

/// `deployer status` on ECS.
pub async fn status(_g: &GlobalArgs, _a: &StatusArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("status: not implemented yet")
}

/// `deployer rollback`.
pub async fn rollback(_g: &GlobalArgs, _a: &RollbackArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("rollback: not implemented yet")
}

/// `deployer prune`.
pub async fn prune(_g: &GlobalArgs, _a: &PruneArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("prune: not implemented yet")
}
