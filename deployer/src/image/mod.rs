//! Images: build through the Docker engine (bollard), tag, push to ECR or to
//! an overriding registry, and check that an image exists.

use std::path::Path;
use std::time::Instant;

use aws_config::SdkConfig;

use crate::apps::AppTarget;
use crate::cli::{GlobalArgs, ImageArgs, ImageSource};
use crate::report::Report;

pub mod reference;

use reference::ImageRef;

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

/// Whether `uri` exists in its registry. ECR images are looked up with
/// `DescribeImages`; images elsewhere through the Docker engine's
/// distribution endpoint, which applies the engine's registry settings.
pub async fn exists(uri: &str, aws: &SdkConfig) -> anyhow::Result<bool> {
    let image = ImageRef::parse(uri, "image")?;
    if image.ecr().is_some() {
        return ecr_image_exists(&image, aws).await;
    }
    let docker = crate::docker::connect().await?;
    match docker.inspect_registry_image(uri, None).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError { status_code, .. })
            if status_code == 404 || status_code == 401 || status_code == 403 =>
        {
            Ok(false)
        }
        Err(err) => Err(anyhow::Error::new(err).context(format!("cannot look up {uri}"))),
    }
}

async fn ecr_image_exists(image: &ImageRef, aws: &SdkConfig) -> anyhow::Result<bool> {
    use aws_sdk_ecr::types::ImageIdentifier;
    let reference = &image.reference;
    let id = match (reference.digest(), reference.tag()) {
        (Some(digest), _) => ImageIdentifier::builder().image_digest(digest).build(),
        (None, tag) => ImageIdentifier::builder()
            .image_tag(tag.unwrap_or("latest"))
            .build(),
    };
    let ecr = aws_sdk_ecr::Client::new(aws);
    let result = ecr
        .describe_images()
        .repository_name(reference.repository())
        .image_ids(id)
        .send()
        .await;
    match result {
        Ok(out) => Ok(!out.image_details().is_empty()),
        Err(err) => match err.as_service_error() {
            Some(e)
                if e.is_image_not_found_exception() || e.is_repository_not_found_exception() =>
            {
                Ok(false)
            }
            _ => Err(anyhow::Error::new(err)
                .context(format!("ECR DescribeImages for {} failed", image.text))),
        },
    }
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
