//! Images: build through the Docker engine, tag, push to ECR or a registry.

use std::time::Instant;

use crate::cli::{GlobalArgs, ImageArgs};
use crate::report::Report;

/// `deployer build`.
pub async fn build(_g: &GlobalArgs, _a: &ImageArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("build: not implemented yet")
}

/// `deployer push`.
pub async fn push(_g: &GlobalArgs, _a: &ImageArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("push: not implemented yet")
}
