//! Images: build through the Docker engine (bollard), tag, push to ECR or to
//! an overriding registry, and check that an image exists.

use std::path::Path;
use std::time::Instant;

use aws_config::SdkConfig;

use crate::apps::AppTarget;
use crate::cli::{GlobalArgs, ImageArgs, ImageSource};
use crate::report::Report;

/// `deployer build`.
pub async fn build(_g: &GlobalArgs, _a: &ImageArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("build: not implemented yet")
}

/// `deployer push`.
pub async fn push(_g: &GlobalArgs, _a: &ImageArgs, _t: Instant) -> anyhow::Result<Report> {
    anyhow::bail!("push: not implemented yet")
}

/// The image a deploy rolls out: `source.image` as given, or else the app's
/// image built from `context`, tagged (`source.tag` or the git short SHA)
/// and pushed to the app's repository (ECR, or `source.registry`).
/// Returns the full image URI.
pub async fn publish(
    _target: &AppTarget,
    _source: &ImageSource,
    _context: &Path,
    _aws: &SdkConfig,
) -> anyhow::Result<String> {
    anyhow::bail!("image publishing: not implemented yet")
}

/// Whether `uri` exists in its registry (ECR, or a registry v2 API).
pub async fn exists(_uri: &str, _aws: &SdkConfig) -> anyhow::Result<bool> {
    anyhow::bail!("image lookup: not implemented yet")
}

/// Builds the app's image for the local engine only, tagged `<app>:<tag>`,
/// and returns that name.
pub async fn build_local(
    _target: &AppTarget,
    _tag: &str,
    _context: &Path,
) -> anyhow::Result<String> {
    anyhow::bail!("local image build: not implemented yet")
}

/// The default tag: the git short SHA of the tree at `context`.
pub fn default_tag(_context: &Path) -> anyhow::Result<String> {
    anyhow::bail!("default tag: not implemented yet")
}
