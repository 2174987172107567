//! Images: build through the Docker engine (bollard), tag, push to ECR or to
//! an overriding registry, and check that an image exists.
//!
//! * [`context`] sends the build context, honouring `.dockerignore`.
//! * [`builder`] runs the build and reports the failing step.
//! * [`tag`] picks the default tag from git.
//! * [`registry`] resolves where to push and with which credentials.
//! * [`pusher`] pushes with per-layer progress and returns the digest.
//!
//! A locally built image is named `<repository>:<tag>` (the app's ECR
//! repository name, by default the app name), so that `deployer build` and
//! `deployer push` can run as separate pipeline stages: push finds what
//! build made by that name.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use aws_config::SdkConfig;
use bollard::Docker;

use crate::apps::ResolvedApp;
use crate::cli::{GlobalArgs, ImageArgs, ImageSource};
use crate::exit::Failure;
use crate::report::{AppReport, Outcome, Report};

pub mod builder;
pub mod context;
pub mod platform;
pub mod pusher;
pub mod reference;
pub mod registry;
pub mod tag;

use reference::ImageRef;
use registry::Registry;

/// Images do not depend on the environment an app runs as; app resolution
/// asks for a default all the same.
const NO_ENVIRONMENT: &str = "";

/// `deployer build`: builds each app's image as `<repository>:<tag>`.
/// Stops at the first app that fails; the error names it.
pub async fn build(g: &GlobalArgs, a: &ImageArgs, started: Instant) -> anyhow::Result<Report> {
    let subjects = subjects(g, a)?;
    let tag = resolve_tag(a.tag.as_deref(), &a.context)?;
    let existing = already_in_registry(g, a, &subjects, &tag).await?;
    let docker = crate::docker::connect().await?;
    let mut reports = Vec::with_capacity(subjects.len());
    for subject in &subjects {
        let app_started = Instant::now();
        if let Some(uri) = existing.get(&subject.name) {
            reports.push(skipped(g, subject, uri, "build", app_started));
            continue;
        }
        let (local, id) = build_app(&docker, subject, &tag, &a.context).await?;
        let message = format!("built {local} (image {})", builder::short_id(&id));
        reports.push(app_report(g, subject, local, message, app_started));
    }
    Ok(Report::new("build", reports, started.elapsed()))
}

/// `deployer push`: pushes each app's `<repository>:<tag>` to its ECR
/// repository, or to `--registry`. The report's image is the pushed image
/// pinned by digest (`<repository>@sha256:...`).
pub async fn push(g: &GlobalArgs, a: &ImageArgs, started: Instant) -> anyhow::Result<Report> {
    let subjects = subjects(g, a)?;
    let tag = resolve_tag(a.tag.as_deref(), &a.context)?;
    // The AWS configuration is loaded only when ECR is the destination.
    let aws;
    let registry = match &a.registry {
        Some(host) => Registry::Other(host),
        None => {
            aws = crate::aws::load(g).await;
            Registry::Ecr(&aws)
        }
    };
    // Every destination is checked before anything is pushed.
    let mut destinations = Vec::with_capacity(subjects.len());
    for subject in &subjects {
        destinations.push(registry.destination(&subject.repository).await?);
    }
    let existing = already_in_registry(g, a, &subjects, &tag).await?;
    let docker = crate::docker::connect().await?;
    let mut reports = Vec::with_capacity(subjects.len());
    for (subject, destination) in subjects.iter().zip(&destinations) {
        let app_started = Instant::now();
        if let Some(uri) = existing.get(&subject.name) {
            reports.push(skipped(g, subject, uri, "push", app_started));
            continue;
        }
        let pushed = push_built(&docker, subject, &tag, destination).await?;
        let message = format!("pushed {} as {}", pushed.tagged, pushed.digest);
        reports.push(app_report(g, subject, pushed.pinned, message, app_started));
    }
    Ok(Report::new("push", reports, started.elapsed()))
}

/// What `build` and `push` act on: an app's image, described by its JSON,
/// or an image that is not an app, named by `--repository` and
/// `--dockerfile` (deployer's own image).
#[derive(Debug, Clone)]
pub struct Subject {
    /// The app name, or the repository name; the report's `app`.
    pub name: String,
    /// Repository name, in ECR or under `--registry`.
    pub repository: String,
    /// The Dockerfile, relative to the build context.
    pub dockerfile: String,
    /// Where the Dockerfile path came from, for errors.
    pub dockerfile_origin: String,
    /// ECS cluster and service, for an app; empty otherwise.
    pub cluster: String,
    pub service: String,
    /// The CPU architecture the image is built for.
    pub platform: app_config::CpuArchitecture,
}

impl Subject {
    /// An app's image.
    pub fn app(target: &ResolvedApp) -> Self {
        Subject {
            name: target.name().to_owned(),
            repository: target.config.repository().to_owned(),
            dockerfile: target.config.deploy.dockerfile.clone(),
            dockerfile_origin: format!(
                "{}: field `deploy.dockerfile`",
                target.config_file.display()
            ),
            cluster: target.cluster.clone(),
            service: target.service.clone(),
            platform: target.config.cpu_architecture,
        }
    }

    /// The image `--repository NAME --dockerfile FILE` names.
    pub fn named(repository: &str, dockerfile: &str) -> Result<Self, Failure> {
        if !repository_name_is_valid(repository) {
            return Err(Failure::bad_input(format!(
                "--repository `{repository}`: not a repository name (lower-case letters, \
                 digits, `.`, `_`, `-` and `/`, without a registry host or tag; \
                 `--registry` names the host)"
            )));
        }
        if dockerfile.trim().is_empty() {
            return Err(Failure::bad_input("--dockerfile: is empty"));
        }
        Ok(Subject {
            name: repository.to_owned(),
            repository: repository.to_owned(),
            dockerfile: dockerfile.to_owned(),
            dockerfile_origin: "--dockerfile".to_owned(),
            cluster: String::new(),
            service: String::new(),
            // No app JSON says otherwise: the default architecture, that of
            // the agents' nodes (X86_64), which run deployer's own image.
            platform: app_config::CpuArchitecture::default(),
        })
    }
}

/// Whether `name` fits ECR's repository name pattern: 2 to 256 characters,
/// `/`-separated components of lower-case letters and digits joined by
/// single `.`, `_` or `-`.
fn repository_name_is_valid(name: &str) -> bool {
    let component_ok = |c: &str| {
        let bytes = c.as_bytes();
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let sep = |b: &u8| matches!(b, b'.' | b'_' | b'-');
        !bytes.is_empty()
            && bytes.first().is_some_and(alnum)
            && bytes.last().is_some_and(alnum)
            && bytes.iter().all(|b| alnum(b) || sep(b))
            && !bytes.windows(2).any(|w| sep(&w[0]) && sep(&w[1]))
    };
    (2..=256).contains(&name.len()) && name.split('/').all(component_ok)
}

/// The apps `a` names, or the image its `--repository` names.
fn subjects(g: &GlobalArgs, a: &ImageArgs) -> anyhow::Result<Vec<Subject>> {
    match (&a.repository, &a.dockerfile) {
        (Some(repository), Some(dockerfile)) => Ok(vec![Subject::named(repository, dockerfile)?]),
        (None, None) => Ok(crate::apps::resolve(g, &a.apps, NO_ENVIRONMENT)?
            .iter()
            .map(Subject::app)
            .collect()),
        (Some(_), None) => Err(Failure::bad_input("--repository needs --dockerfile").into()),
        (None, Some(_)) => Err(Failure::bad_input("--dockerfile needs --repository").into()),
    }
}

/// With `--skip-existing`: the apps whose `<registry>/<repository>:<tag>`
/// the registry already holds, by app name, with that URI. Empty without
/// the flag. An ECR registry is asked with `DescribeImages`, another one
/// through the engine (see [`exists`]).
async fn already_in_registry(
    g: &GlobalArgs,
    a: &ImageArgs,
    subjects: &[Subject],
    tag: &str,
) -> anyhow::Result<HashMap<String, String>> {
    let mut found = HashMap::new();
    if !a.skip_existing {
        return Ok(found);
    }
    let aws = crate::aws::load(g).await;
    let registry = match &a.registry {
        Some(host) => Registry::Other(host),
        None => Registry::Ecr(&aws),
    };
    for subject in subjects {
        let destination = registry.destination(&subject.repository).await?;
        let uri = format!("{}:{tag}", destination.repository);
        if exists(&uri, &aws).await? {
            found.insert(subject.name.clone(), uri);
        }
    }
    Ok(found)
}

/// The report of an app that `--skip-existing` left alone.
fn skipped(
    g: &GlobalArgs,
    subject: &Subject,
    uri: &str,
    command: &str,
    started: Instant,
) -> AppReport {
    let message = format!("{uri} is already in the registry; {command} skipped (--skip-existing)");
    tracing::info!(
        app = subject.name,
        image = uri,
        "already in the registry, {command} skipped"
    );
    let mut report = app_report(g, subject, uri.to_owned(), String::new(), started);
    report.end(Outcome::NoChange, message);
    report
}

/// The image a deploy rolls out: `source.image` as given, or else the app's
/// image built from `context`, tagged (`source.tag` or the git short SHA)
/// and pushed to the app's repository (ECR, or `source.registry`).
/// Returns the full image URI by tag (`<registry>/<repository>:<tag>`).
pub async fn publish(
    target: &ResolvedApp,
    source: &ImageSource,
    context: &Path,
    aws: &SdkConfig,
) -> anyhow::Result<String> {
    if let Some(image) = &source.image {
        ImageRef::parse(image, "--image")?;
        return Ok(image.clone());
    }
    let tag = resolve_tag(source.tag.as_deref(), context)?;
    let registry = match &source.registry {
        Some(host) => Registry::Other(host),
        None => Registry::Ecr(aws),
    };
    // Where the image goes is checked before the build, which is the long
    // part: a missing repository should not cost a build.
    let subject = Subject::app(target);
    let destination = registry.destination(&subject.repository).await?;
    let docker = crate::docker::connect().await?;
    build_app(&docker, &subject, &tag, context).await?;
    let pushed = push_built(&docker, &subject, &tag, &destination).await?;
    // The deploy names the tag, not the digest: ECS resolves a tag to its
    // digest when it starts the deployment, the repositories are immutable,
    // and the tag is what the app reports as its version (`APP_VERSION`).
    // `deployer push` still reports the digest for those who pin by it.
    tracing::info!(app = target.name(), image = %pushed.pinned, "pushed");
    Ok(pushed.tagged)
}

/// Whether `uri` exists in its registry. ECR images are looked up with
/// `DescribeImages`; images elsewhere through the Docker engine's
/// distribution endpoint, which applies the engine's registry settings.
pub async fn exists(uri: &str, aws: &SdkConfig) -> anyhow::Result<bool> {
    let image = ImageRef::parse(uri, "image")?;
    if let Some(registry) = image.ecr() {
        return ecr_image_exists(&image, &registry, aws).await;
    }
    let docker = crate::docker::connect().await?;
    match docker.inspect_registry_image(uri, None).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        // Not allowed is not "not found": say which, so that nobody pushes
        // an image that is already there.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 403,
            message,
        }) => Err(Failure::preflight(format!(
            "not allowed to read {uri} (HTTP 403: {message}): check the registry's permissions \
             for the engine's login"
        ))
        .into()),
        // Registries answer 401 both for a missing repository and for one
        // the engine may not read without logging in.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 401,
            message,
        }) => Err(Failure::preflight(format!(
            "cannot read {uri} without logging in (HTTP 401: {message}): it does not exist, or the \
             engine must `docker login` to its registry first"
        ))
        .into()),
        Err(err) => Err(anyhow::Error::new(err).context(format!("cannot look up {uri}"))),
    }
}

/// Looks the image up in the registry its URI names: that account
/// (`registryId`) and that region, whatever the default ones are.
async fn ecr_image_exists(
    image: &ImageRef,
    registry: &reference::EcrRegistry,
    aws: &SdkConfig,
) -> anyhow::Result<bool> {
    use aws_sdk_ecr::types::ImageIdentifier;
    let reference = &image.reference;
    let id = match (reference.digest(), reference.tag()) {
        (Some(digest), _) => ImageIdentifier::builder().image_digest(digest).build(),
        (None, tag) => ImageIdentifier::builder()
            .image_tag(tag.unwrap_or("latest"))
            .build(),
    };
    let config = aws_sdk_ecr::config::Builder::from(aws)
        .region(aws_sdk_ecr::config::Region::new(registry.region.clone()))
        .build();
    let ecr = aws_sdk_ecr::Client::from_conf(config);
    let result = ecr
        .describe_images()
        .registry_id(&registry.account)
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

/// Builds the app's image for the local engine only, tagged
/// `<repository>:<tag>` (the repository defaults to the app name), and
/// returns that name.
pub async fn build_local(
    target: &ResolvedApp,
    tag: &str,
    context: &Path,
) -> anyhow::Result<String> {
    let tag = resolve_tag(Some(tag), context)?;
    let docker = crate::docker::connect().await?;
    let (local, _) = build_app(&docker, &Subject::app(target), &tag, context).await?;
    Ok(local)
}

/// The default tag: the git short SHA of the tree at `context`, with a
/// `-dirty-<content hash>` suffix when the tree has uncommitted changes
/// (see [`tag`]).
pub fn default_tag(context: &Path) -> anyhow::Result<String> {
    Ok(tag::default_tag(context)?)
}

/// `explicit` when given and valid, else the default tag.
fn resolve_tag(explicit: Option<&str>, context: &Path) -> anyhow::Result<String> {
    let Some(tag) = explicit else {
        return default_tag(context);
    };
    let parsed = ImageRef::parse(&format!("image:{tag}"), "--tag").ok();
    if parsed.is_none_or(|p| p.reference.tag() != Some(tag)) {
        return Err(Failure::bad_input(format!(
            "--tag `{tag}`: not an image tag (letters, digits, `_`, `.` and `-`, at most 128)"
        ))
        .into());
    }
    Ok(tag.to_owned())
}

/// The local name of an app's image.
pub fn local_name(target: &ResolvedApp, tag: &str) -> String {
    format!("{}:{tag}", target.config.repository())
}

/// The local name of a subject's image: `<repository>:<tag>`.
fn subject_local_name(subject: &Subject, tag: &str) -> String {
    format!("{}:{tag}", subject.repository)
}

/// Builds `target`'s image as its local name; returns the name and the
/// image id.
async fn build_app(
    docker: &Docker,
    subject: &Subject,
    tag: &str,
    context: &Path,
) -> anyhow::Result<(String, String)> {
    let local = subject_local_name(subject, tag);
    let mut labels = HashMap::from([
        (
            "org.opencontainers.image.title".to_owned(),
            subject.name.clone(),
        ),
        (
            "org.opencontainers.image.version".to_owned(),
            tag.to_owned(),
        ),
    ]);
    if let Some(revision) = tag::head_revision(context) {
        labels.insert("org.opencontainers.image.revision".to_owned(), revision);
    }
    let spec = builder::BuildSpec {
        app: &subject.name,
        context,
        dockerfile: &subject.dockerfile,
        dockerfile_origin: subject.dockerfile_origin.clone(),
        image: &local,
        labels,
        platform: subject.platform,
    };
    let id = builder::build(docker, &spec).await?;
    Ok((local, id))
}

/// Pushes `target`'s local image for `tag` to `destination`.
async fn push_built(
    docker: &Docker,
    subject: &Subject,
    tag: &str,
    destination: &registry::Destination,
) -> anyhow::Result<pusher::Pushed> {
    let local = subject_local_name(subject, tag);
    let what = if subject.dockerfile_origin == "--dockerfile" {
        format!(
            "--repository {} --dockerfile {}",
            subject.repository, subject.dockerfile
        )
    } else {
        subject.name.clone()
    };
    let hint = format!("deployer build {what} --tag {tag}");
    pusher::push(docker, &subject.name, &local, destination, tag, &hint).await
}

/// What the engine said went wrong, without bollard's wrapping: the
/// message in a build or push stream, or the body of an error answer.
fn engine_message(err: bollard::errors::Error) -> String {
    match err {
        bollard::errors::Error::DockerStreamError { error } => error,
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message,
        } => format!("the engine answered {status_code}: {message}"),
        other => other.to_string(),
    }
}

/// One app's line in a build or push report.
fn app_report(
    g: &GlobalArgs,
    subject: &Subject,
    image: String,
    message: String,
    started: Instant,
) -> AppReport {
    let mut report = AppReport::new(&subject.name, g.target.name());
    report.end(Outcome::Completed, message);
    report.cluster = subject.cluster.clone();
    report.service = subject.service.clone();
    report.image = Some(image);
    report.duration_seconds = started.elapsed().as_secs_f64();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_ecr_rules() {
        for ok in ["deployer", "ci/deployer", "a-b.c_d/e2"] {
            assert!(repository_name_is_valid(ok), "{ok}");
        }
        for bad in [
            "d",
            "Deployer",
            "host:5000/deployer",
            "deployer:tag",
            "-deployer",
            "deployer/",
            "a//b",
            "a--b",
        ] {
            assert!(!repository_name_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn a_named_image_names_the_flag_in_its_errors() {
        let err = Subject::named("Bad:Name", "Dockerfile.deployer").expect_err("refused");
        assert!(err.to_string().contains("--repository"), "{err}");
        let err = Subject::named("deployer", " ").expect_err("refused");
        assert!(err.to_string().contains("--dockerfile"), "{err}");
        let subject = Subject::named("deployer", "Dockerfile.deployer").expect("valid");
        assert_eq!(subject.dockerfile_origin, "--dockerfile");
        assert_eq!(subject_local_name(&subject, "abc"), "deployer:abc");
    }
}
