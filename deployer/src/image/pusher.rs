//! Pushes a locally built image through the Docker engine (bollard), with
//! layer-by-layer progress, and returns the digest the registry stored it under.

use bollard::query_parameters::{PushImageOptionsBuilder, TagImageOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;
use indicatif::HumanBytes;

use super::registry::Destination;
use crate::exit::{Code, Failure};
use crate::progress::Progress;

/// What a push produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `repository:tag`.
    pub tagged: String,
    /// `repository@sha256:...`: what a deploy should pin.
    pub pinned: String,
    /// `sha256:...`.
    pub digest: String,
}

/// Tags the local image `local` as `destination:tag` and pushes it.
/// `build_hint` tells the user how to build `local` if it is missing.
pub async fn push(
    docker: &Docker,
    app: &str,
    local: &str,
    destination: &Destination,
    tag: &str,
    build_hint: &str,
) -> anyhow::Result<Pushed> {
    match docker.inspect_image(local).await {
        Ok(_) => {}
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {
            return Err(Failure::preflight(format!(
                "image {local} is not in the Docker engine (DOCKER_HOST): build it first with `{build_hint}`"
            ))
            .into())
        }
        Err(err) => {
            return Err(anyhow::Error::new(err).context(format!("cannot inspect the image {local}")))
        }
    }
    let repository = &destination.repository;
    let tagged = format!("{repository}:{tag}");
    docker
        .tag_image(
            local,
            Some(
                TagImageOptionsBuilder::new()
                    .repo(repository)
                    .tag(tag)
                    .build(),
            ),
        )
        .await
        .map_err(|err| {
            anyhow::Error::new(err).context(format!("cannot tag {local} as {tagged}"))
        })?;

    let progress = Progress::spinner(format!("{app} push"));
    progress.println(format!(
        "pushing {tagged} ({})",
        if destination.credentials.is_some() {
            "with registry credentials"
        } else {
            "anonymously"
        }
    ));
    let mut events = docker.push_image(
        repository,
        Some(PushImageOptionsBuilder::new().tag(tag).build()),
        destination.credentials.clone(),
    );
    let mut layers = LayerCount::default();
    let mut digest = None;
    while let Some(event) = events.next().await {
        let info = match event {
            Ok(info) => info,
            Err(err) => {
                progress.finish("failed");
                return Err(push_failure(&tagged, destination.host(), tag, err).into());
            }
        };
        let status = info.status.unwrap_or_default();
        if let Some(found) = digest_of(&status) {
            digest = Some(found.to_owned());
        }
        if status.is_empty() {
            continue;
        }
        let changed = layers.record(&status);
        let bytes = info
            .progress_detail
            .filter(|d| d.total.is_some_and(|t| t > 0))
            .map(|d| {
                format!(
                    " {}/{}",
                    HumanBytes(d.current.unwrap_or(0).max(0).unsigned_abs()),
                    HumanBytes(d.total.unwrap_or(0).max(0).unsigned_abs())
                )
            })
            .unwrap_or_default();
        let line = format!(
            "layers {}/{} done: {status}{bytes}",
            layers.done, layers.total
        );
        // Layer state changes stay in the log; byte counts only move the
        // spinner.
        if changed {
            progress.println(&line);
        } else {
            progress.update(line);
        }
    }
    let digest = digest.ok_or_else(|| {
        Failure::new(
            Code::Backend,
            format!("the push of {tagged} ended without the registry's digest"),
        )
    })?;
    let pinned = format!("{repository}@{digest}");
    progress.finish(format!("pushed {tagged} as {digest}"));
    Ok(Pushed {
        tagged,
        pinned,
        digest,
    })
}

/// The digest in the engine's closing status line,
/// `<tag>: digest: sha256:<hex> size: <n>`.
fn digest_of(status: &str) -> Option<&str> {
    let rest = status.split_once("digest: ")?.1;
    let digest = rest.split_whitespace().next()?;
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(digest)
}

/// Layer counts from the engine's push events. The API's push events do
/// not say which layer they are about, but every layer is announced once
/// (`Preparing`) and finishes once (`Pushed`, `Layer already exists` or
/// `Mounted from ...`).
#[derive(Debug, Default)]
struct LayerCount {
    total: usize,
    done: usize,
}

impl LayerCount {
    /// Counts `status`; whether a layer started or finished.
    fn record(&mut self, status: &str) -> bool {
        if status == "Preparing" {
            self.total += 1;
            true
        } else if status == "Pushed"
            || status == "Layer already exists"
            || status.starts_with("Mounted from")
        {
            self.done += 1;
            true
        } else {
            !status.starts_with("Pushing") && !status.starts_with("Waiting")
        }
    }
}

/// A push error, with what to do about it.
fn push_failure(tagged: &str, host: &str, tag: &str, err: bollard::errors::Error) -> Failure {
    let reason = super::engine_message(err);
    let lower = reason.to_ascii_lowercase();
    let advice = if (lower.contains("already exists") && lower.contains("immutable"))
        || lower.contains("tag invalid")
    {
        format!(
            "tag {tag} already exists in the repository and its tags are immutable: \
             push a new tag (commit the change, or pass a different --tag)"
        )
    } else if [
        "unauthorized",
        "authentication required",
        "denied",
        "no basic auth",
    ]
    .iter()
    .any(|s| lower.contains(s))
    {
        format!(
            "{host} refused the credentials: for ECR check that the AWS identity may push \
             (ecr:InitiateLayerUpload, ecr:PutImage, ...); for --registry run `docker login {host}`"
        )
    } else if lower.contains("name unknown") || lower.contains("does not exist") {
        format!("the repository does not exist in {host}: create it first (infra/ creates one per app in ECR)")
    } else if [
        "connection refused",
        "no such host",
        "i/o timeout",
        "server gave http response",
    ]
    .iter()
    .any(|s| lower.contains(s))
    {
        format!("the Docker engine cannot reach the registry {host}: check the address and that it is up")
    } else {
        "see the registry's message above".to_owned()
    };
    Failure::new(
        Code::Backend,
        format!("push of {tagged} failed: {}: {advice}", reason.trim()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "4f1e0c6a3b2d4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6";

    #[test]
    fn the_digest_comes_from_the_closing_status() {
        let status = format!("abc1234: digest: sha256:{HEX} size: 528");
        assert_eq!(digest_of(&status), Some(format!("sha256:{HEX}").as_str()));
        assert_eq!(digest_of("Pushed"), None);
        assert_eq!(digest_of("x: digest: sha256:abc size: 1"), None);
    }

    #[test]
    fn layers_are_counted_from_their_statuses() {
        let mut layers = LayerCount::default();
        assert!(layers.record("The push refers to repository [127.0.0.1:5050/app]"));
        assert!(layers.record("Preparing"));
        assert!(layers.record("Preparing"));
        assert!(!layers.record("Waiting"));
        assert!(!layers.record("Pushing"));
        assert!(layers.record("Layer already exists"));
        assert!(layers.record("Pushed"));
        assert_eq!((layers.done, layers.total), (2, 2));
    }

    fn failure(message: &str) -> String {
        push_failure(
            "127.0.0.1:5050/app:t1",
            "127.0.0.1:5050",
            "t1",
            bollard::errors::Error::DockerStreamError {
                error: message.to_owned(),
            },
        )
        .message
    }

    #[test]
    fn push_errors_say_what_to_do() {
        assert!(failure("unauthorized: authentication required")
            .contains("docker login 127.0.0.1:5050"));
        assert!(
            failure("denied: User: arn:aws:iam::1:user/x is not authorized")
                .contains("ecr:PutImage")
        );
        assert!(
            failure("name unknown: The repository with name 'x' does not exist")
                .contains("create it")
        );
        assert!(failure(
            "tag invalid: The image tag 't1' already exists in the 'app' repository and cannot be overwritten because the repository is immutable."
        )
        .contains("push a new tag"));
        assert!(failure(
            "Get \"http://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused"
        )
        .contains("cannot reach the registry 127.0.0.1:5050"));
        let other = failure("something else");
        assert!(
            other.starts_with("push of 127.0.0.1:5050/app:t1 failed: something else"),
            "{other}"
        );
    }
}
