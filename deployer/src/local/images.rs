//! The images the local fleet runs: `<repository>:<tag>` in the local engine,
//! built through the image module when they are missing (or always, for
//! `up` without `--no-build`). Nothing is pushed: the engine that builds is
//! the engine that runs.

use std::path::Path;

use anyhow::Context;
use bollard::Docker;

use crate::apps::ResolvedApp;
use crate::exit::Failure;

/// When to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// Build every time (`deployer up`).
    Always,
    /// Use the image when the engine has it (`deployer <app> --target local`).
    IfMissing,
    /// Never; a missing image is a preflight failure (`up --no-build`).
    Never,
}

/// The tag to run: `--tag`, or the git short SHA of the build context.
pub fn tag(given: Option<&str>, context: &Path) -> anyhow::Result<String> {
    match given {
        Some(tag) if !tag.trim().is_empty() => Ok(tag.to_owned()),
        _ => crate::image::default_tag(context)
            .context("no --tag given, and the default tag (the git short SHA) is unavailable"),
    }
}

/// The name a local build of `target` at `tag` carries.
pub use crate::image::local_name;

/// Whether the engine has `image`.
pub async fn exists(docker: &Docker, image: &str) -> anyhow::Result<bool> {
    match docker.inspect_image(image).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(err) => Err(anyhow::Error::new(err).context(format!("cannot look up image {image}"))),
    }
}

/// The image of `target` at `tag`, built as `build` says.
pub async fn ensure(
    docker: &Docker,
    target: &ResolvedApp,
    tag: &str,
    context: &Path,
    build: Build,
) -> anyhow::Result<String> {
    let name = local_name(target, tag);
    let present = match build {
        Build::Always => false,
        Build::IfMissing | Build::Never => exists(docker, &name).await?,
    };
    if present {
        return Ok(name);
    }
    if build == Build::Never {
        return Err(Failure::preflight(format!(
            "image {name} is not in the local engine: build it (drop --no-build) or pick another --tag"
        ))
        .into());
    }
    crate::image::build_local(target, tag, context)
        .await
        .with_context(|| format!("cannot build {name}"))
}

/// An image given as it is (`--image`): it must be in the local engine.
pub async fn given(docker: &Docker, image: &str) -> anyhow::Result<String> {
    if exists(docker, image).await? {
        Ok(image.to_owned())
    } else {
        Err(Failure::preflight(format!(
            "--image {image} is not in the local engine (the local target never pulls)"
        ))
        .into())
    }
}
