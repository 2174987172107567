//! Builds an image through the Docker engine's build endpoint (bollard),
//! streaming the context and showing the build's steps and output.
//!
//! The engine's classic builder is used: it needs no session with the
//! client, works on every engine version the project meets (20.10 on the
//! CI agents), and honours `networkmode`, which a build behind a host-only
//! network needs.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::sync::Semaphore;

use super::context::BuildContext;
use crate::exit::{Code, Failure};
use crate::progress::Progress;

/// Network mode for `RUN` steps (`host`, `none`, ...). Unset: the engine's
/// default network, or `host` on an engine that has no bridge network
/// (one started with `--bridge=none`), where the default would leave `RUN`
/// steps with no network at all.
pub const NETWORK_VAR: &str = "DEPLOYER_BUILD_NETWORK";

/// `DEPLOYER_BUILD_ARG_<NAME>=value` passes the build argument `NAME`.
pub const BUILD_ARG_PREFIX: &str = "DEPLOYER_BUILD_ARG_";

/// Lines of a failing step's output quoted in the error.
const TAIL_LINES: usize = 20;

/// One build at a time per process: builds are CPU-bound, and several apps
/// deployed in parallel would otherwise compile side by side.
static BUILD_SLOT: Semaphore = Semaphore::const_new(1);

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildSpec<'a> {
    /// App name, for messages.
    pub app: &'a str,
    /// The build context directory.
    pub context: &'a Path,
    /// The Dockerfile, relative to the context.
    pub dockerfile: &'a str,
    /// Where the Dockerfile path came from (file and field), for errors.
    pub dockerfile_origin: String,
    /// The name the image is tagged with (`name:tag`).
    pub image: &'a str,
    /// Image labels.
    pub labels: HashMap<String, String>,
    /// The CPU architecture to build for (the app's `cpu_architecture`).
    pub platform: app_config::CpuArchitecture,
}

/// `host` when the engine has no `bridge` network, else the engine's own
/// default.
async fn default_network(docker: &Docker) -> Option<String> {
    match docker.inspect_network("bridge", None).await {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {
            tracing::info!("the engine has no bridge network: building with the host network");
            Some("host".to_owned())
        }
        _ => None,
    }
}

/// Builds `spec` and returns the image id.
pub async fn build(docker: &Docker, spec: &BuildSpec<'_>) -> anyhow::Result<String> {
    let context = BuildContext::open(spec.context, spec.dockerfile, &spec.dockerfile_origin)?;
    let dockerfile_text = std::fs::read_to_string(context.dockerfile_path()).map_err(|err| {
        Failure::bad_input(format!(
            "{}: cannot read {}: {err}",
            spec.dockerfile_origin,
            context.dockerfile_path().display()
        ))
    })?;
    let build_args = build_args(&dockerfile_text, std::env::vars());
    let network = match std::env::var(NETWORK_VAR).ok().filter(|v| !v.is_empty()) {
        Some(network) => Some(network),
        None => default_network(docker).await,
    };

    let mut options = BuildImageOptionsBuilder::new()
        .dockerfile(context.dockerfile())
        .t(spec.image)
        .rm(true)
        .forcerm(true)
        .buildargs(&build_args)
        .labels(&spec.labels)
        .platform(spec.platform.platform())
        .version(BuilderVersion::BuilderV1);
    if let Some(network) = &network {
        options = options.networkmode(network);
    }

    let progress = Progress::spinner(format!("{} build", spec.app));
    let _slot = BUILD_SLOT
        .acquire()
        .await
        .map_err(|err| anyhow::anyhow!("build queue closed: {err}"))?;
    progress.println(format!(
        "building {} for {} from {} in {} (network {}, build args: {})",
        spec.image,
        spec.platform.platform(),
        context.dockerfile(),
        spec.context.display(),
        network.as_deref().unwrap_or("default"),
        if build_args.is_empty() {
            "none".to_owned()
        } else {
            let mut names: Vec<&str> = build_args.keys().map(String::as_str).collect();
            names.sort_unstable();
            names.join(", ")
        }
    ));

    let (body, writer) = context.stream();
    let mut events =
        docker.build_image(options.build(), None, Some(bollard::body_try_stream(body)));
    let mut log = BuildLog::default();
    let mut failure = None;
    while let Some(event) = events.next().await {
        match event {
            Ok(info) => {
                for line in log.push(info.stream.as_deref().unwrap_or_default()) {
                    show(&progress, &log, &line);
                }
                if let Some(status) = info.status {
                    progress.update(status);
                }
            }
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
    }
    drop(events);
    if let Some(line) = log.finish() {
        show(&progress, &log, &line);
    }
    let sent = writer.await;

    if let Some(err) = failure {
        progress.finish("failed");
        // A context that could not be read shows up at the engine as a
        // truncated upload; the reader's own error says what went wrong.
        if let Ok(Err(read_err)) = sent {
            return Err(Failure::new(
                Code::Backend,
                format!("cannot send the build context of {}: {read_err}", spec.app),
            )
            .into());
        }
        return Err(build_failure(spec.app, &log, err).into());
    }
    let stats = sent
        .map_err(|err| anyhow::anyhow!("the build context writer stopped: {err}"))?
        .map_err(|err| {
            Failure::new(
                Code::Backend,
                format!("cannot send the build context of {}: {err}", spec.app),
            )
        })?;
    let image = docker
        .inspect_image(spec.image)
        .await
        .map_err(|err| anyhow::Error::new(err).context(format!("cannot inspect {}", spec.image)))?;
    if let Err(err) = super::platform::check_built(
        spec.app,
        spec.image,
        spec.platform,
        image.os.as_deref(),
        image.architecture.as_deref(),
    ) {
        progress.finish("failed");
        return Err(err.into());
    }
    let id = image.id.unwrap_or_default();
    progress.finish(format!(
        "built {} ({}) from a context of {} entries, {}",
        spec.image,
        short_id(&id),
        stats.entries,
        indicatif::HumanBytes(stats.bytes)
    ));
    Ok(id)
}

/// Steps stay on screen; everything else is the spinner's current line.
fn show(progress: &Progress, log: &BuildLog, line: &str) {
    if log.step.as_deref() == Some(line) {
        progress.println(line);
    } else {
        progress.update(line);
    }
}

/// The error for a failed build: the failing step, the engine's message,
/// and the step's last lines of output.
fn build_failure(app: &str, log: &BuildLog, err: bollard::errors::Error) -> Failure {
    let reason = super::engine_message(err);
    let at = log
        .step
        .as_deref()
        .map(|step| format!(" at {step}"))
        .unwrap_or_default();
    let mut message = format!("docker build of {app} failed{at}: {}", reason.trim());
    if !log.tail.is_empty() {
        message.push_str("\nlast output of that step:");
        for line in &log.tail {
            message.push_str("\n  ");
            message.push_str(line);
        }
    }
    Failure::new(Code::Backend, message)
}

/// The first 12 hex digits of an image id.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

/// The classic builder's output, reassembled into lines: the current step
/// (`Step 3/7 : RUN ...`) and that step's last lines of output.
#[derive(Debug, Default)]
struct BuildLog {
    partial: String,
    step: Option<String>,
    tail: VecDeque<String>,
}

impl BuildLog {
    /// Adds a chunk of output; returns the lines it completed.
    fn push(&mut self, chunk: &str) -> Vec<String> {
        self.partial.push_str(chunk);
        let mut lines = Vec::new();
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            if let Some(line) = self.record(&line) {
                lines.push(line);
            }
        }
        lines
    }

    /// Whatever is left without a final newline.
    fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.partial);
        self.record(&rest)
    }

    fn record(&mut self, line: &str) -> Option<String> {
        // The engine colours a step's stderr; logs and errors want text.
        let line = console::strip_ansi_codes(line);
        let line = line.trim_end();
        if line.trim().is_empty() {
            return None;
        }
        if line.starts_with("Step ") && line.contains(" : ") {
            self.step = Some(line.to_owned());
            self.tail.clear();
        } else if !is_builder_chatter(line) {
            if self.tail.len() == TAIL_LINES {
                self.tail.pop_front();
            }
            self.tail.push_back(line.to_owned());
        }
        Some(line.to_owned())
    }
}

/// The builder's own bookkeeping lines, which say nothing about why a step
/// failed.
fn is_builder_chatter(line: &str) -> bool {
    line.starts_with(" ---> ")
        || line.starts_with("Removing intermediate container ")
        || line.starts_with("Successfully built ")
        || line.starts_with("Successfully tagged ")
}

/// The build arguments for a Dockerfile, from the environment `env`:
///
/// * `DEPLOYER_BUILD_ARG_<NAME>=value` passes `NAME=value`, for any `NAME`;
/// * an argument declared before the first `FROM` (the base images, such as
///   `RUST_IMAGE` and `RUNTIME_IMAGE`) takes the value of the environment
///   variable of the same name, when that is set.
///
/// Arguments declared inside a stage are not read from plain variables:
/// a common name such as `PORT` or `APP` in a CI environment must not
/// silently change what is built.
pub fn build_args(
    dockerfile: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> HashMap<String, String> {
    let base_args = base_image_args(dockerfile);
    let mut explicit = HashMap::new();
    let mut from_names = HashMap::new();
    for (name, value) in env {
        if let Some(arg) = name.strip_prefix(BUILD_ARG_PREFIX) {
            if !arg.is_empty() {
                explicit.insert(arg.to_owned(), value);
            }
        } else if base_args.contains(&name) {
            from_names.insert(name, value);
        }
    }
    from_names.extend(explicit);
    from_names
}

/// The names of the arguments a Dockerfile declares before its first
/// `FROM` (`ARG NAME` or `ARG NAME=default`).
fn base_image_args(dockerfile: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in dockerfile.lines() {
        let line = line.trim_start();
        let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if keyword.eq_ignore_ascii_case("FROM") {
            break;
        }
        if keyword.eq_ignore_ascii_case("ARG") {
            names.extend(
                rest.split_whitespace()
                    .filter_map(|declaration| declaration.split('=').next())
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const DOCKERFILE: &str = "\
# syntax=docker/dockerfile:1
ARG RUST_IMAGE=rust:1.95-bookworm
arg RUNTIME_IMAGE EXTRA=x
FROM ${RUST_IMAGE} AS build
ARG APP=service-a
ARG PORT=5000
";

    #[test]
    fn base_image_args_come_from_same_named_variables() {
        let args = build_args(
            DOCKERFILE,
            env(&[
                ("RUST_IMAGE", "rust:local"),
                ("EXTRA", "y"),
                ("HOME", "/root"),
            ]),
        );
        assert_eq!(args.len(), 2, "{args:?}");
        assert_eq!(args["RUST_IMAGE"], "rust:local");
        assert_eq!(args["EXTRA"], "y");
    }

    #[test]
    fn stage_args_come_only_from_the_prefixed_variables() {
        let args = build_args(
            DOCKERFILE,
            env(&[
                ("PORT", "8080"),
                ("APP", "something-else"),
                ("DEPLOYER_BUILD_ARG_APP", "service-b"),
                ("DEPLOYER_BUILD_ARG_RUST_IMAGE", "rust:explicit"),
                ("RUST_IMAGE", "rust:implicit"),
                ("DEPLOYER_BUILD_ARG_", "ignored"),
            ]),
        );
        assert_eq!(args.len(), 2, "{args:?}");
        assert_eq!(args["APP"], "service-b");
        assert_eq!(
            args["RUST_IMAGE"], "rust:explicit",
            "the explicit form wins"
        );
    }

    #[test]
    fn the_log_tracks_the_step_and_its_output() {
        let mut log = BuildLog::default();
        let mut lines = log.push("Step 1/2 : FROM debian:bookworm-slim");
        lines.extend(log.push(
            "\n ---> 447ca8f06924\nStep 2/2 : RUN make\n ---> Running in 1f\n\x1b[91merror: bo",
        ));
        lines.extend(log.push("om\n\x1b[0mRemoving intermediate container 1f\n"));
        assert_eq!(
            lines,
            [
                "Step 1/2 : FROM debian:bookworm-slim",
                " ---> 447ca8f06924",
                "Step 2/2 : RUN make",
                " ---> Running in 1f",
                "error: boom",
                "Removing intermediate container 1f",
            ]
        );
        assert_eq!(log.step.as_deref(), Some("Step 2/2 : RUN make"));
        assert_eq!(log.tail, ["error: boom"]);

        let failure = build_failure(
            "service-a",
            &log,
            bollard::errors::Error::DockerStreamError {
                error: "The command '/bin/sh -c make' returned a non-zero code: 2".into(),
            },
        );
        assert_eq!(failure.code, Code::Backend);
        assert!(failure.message.starts_with(
            "docker build of service-a failed at Step 2/2 : RUN make: The command '/bin/sh -c make' returned a non-zero code: 2"
        ), "{}", failure.message);
        assert!(
            failure.message.ends_with("\n  error: boom"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn the_tail_keeps_the_last_lines_only() {
        let mut log = BuildLog::default();
        log.push("Step 1/1 : RUN x\n");
        for i in 0..50 {
            log.push(&format!("line {i}\n"));
        }
        assert_eq!(log.tail.len(), TAIL_LINES);
        assert_eq!(log.tail.back().map(String::as_str), Some("line 49"));
    }

    #[test]
    fn short_ids_drop_the_algorithm() {
        assert_eq!(short_id("sha256:0123456789abcdef0123"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }
}
