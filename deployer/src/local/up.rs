//! `deployer up` and `deployer down`.
//!
//! `up` is the local ECS service and ALB in one process: it builds the
//! images, starts each app's `replicas.desired` containers from the task
//! definition, and runs the gateway until Ctrl-C or SIGTERM, when it stops
//! taking connections, lets the requests in flight finish, and stops and
//! removes every container of its fleet (the ones a deploy started too).
//! `down` removes whatever a `up` that died left behind.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bollard::Docker;
use local_gateway::gateway::{self, Gateway};
use local_gateway::rules::Rules;
use local_gateway::targets::TargetGroups;
use local_gateway::{discovery, http};
use service_core::shutdown::Signals;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::fleet::{self, Fleet};
use super::images::{self, Build};
use super::{container, live, LOCAL_ENVIRONMENT};
use crate::apps::{self, ResolvedApp};
use crate::cli::{DownArgs, GlobalArgs, UpArgs};
use crate::exit::Failure;
use crate::progress::Progress;
use crate::report::{Outcome, Report};

/// How long the gateway waits for requests in flight when it stops.
const GRACEFUL_SHUTDOWN: Duration = Duration::from_secs(15);

/// `deployer up`.
pub async fn up(global: &GlobalArgs, args: &UpArgs, started: Instant) -> anyhow::Result<Report> {
    let targets = apps::resolve(global, &args.apps, LOCAL_ENVIRONMENT)?;
    let configs: Vec<app_config::AppConfig> = targets.iter().map(|t| t.config.clone()).collect();
    let rules = Rules::new(&configs).map_err(|err| Failure::bad_input(err.to_string()))?;
    let tag = images::tag(args.tag.as_deref(), &args.context)?;
    let docker = crate::docker::connect().await?;
    // Signals are caught from here on, so that a Ctrl-C while containers
    // start still ends in a clean stop.
    let stop_signal = shutdown_signal()?;

    // The address is taken first: a second `up` on it stops here, before
    // it could touch the first one's containers.
    let listener = TcpListener::bind(args.gateway).await.map_err(|err| {
        Failure::preflight(format!(
            "the gateway cannot listen on {}: {err} (another `deployer up`? pick another --gateway)",
            args.gateway
        ))
    })?;
    let address = listener
        .local_addr()
        .context("the gateway's listener has no address")?;
    let fleet = Fleet::new(address);

    let mut images = Vec::with_capacity(targets.len());
    let build = if args.no_build {
        Build::Never
    } else {
        Build::Always
    };
    for target in &targets {
        let progress = Progress::spinner(format!("{} image", target.name()));
        progress.update(format!("{}:{tag}", target.name()));
        let image = images::ensure(&docker, target, &tag, &args.context, build).await?;
        progress.finish(format!("{image} ready"));
        images.push(image);
    }

    let leftovers = fleet::list(&docker, &fleet).await?;
    if !leftovers.is_empty() {
        tracing::warn!(
            count = leftovers.len(),
            fleet = %fleet.label(),
            "removing containers an earlier `deployer up` left"
        );
        container::remove(&docker, &leftovers).await;
    }

    let registry = Arc::new(TargetGroups::new(&configs));
    let stop = CancellationToken::new();
    let gateway = Arc::new(Gateway {
        fleet: fleet.label(),
        port: address.port(),
        rules,
        registry: Arc::clone(&registry),
        client: http::client(true),
    });
    let banner = banner(&fleet, &gateway.rules);
    let server = tokio::spawn(gateway::serve(
        listener,
        gateway,
        stop.clone().cancelled_owned(),
    ));
    let watcher = tokio::spawn(discovery::run(
        docker.clone(),
        fleet,
        Arc::clone(&registry),
        http::client(false),
        stop.clone(),
    ));

    let started_fleet = start_fleet(&docker, &fleet, &targets, &images, &tag).await;
    if let Err(err) = started_fleet {
        shut_down(&docker, &fleet, &stop, server, watcher).await;
        return Err(err);
    }

    live::show_until(&configs, &registry, &banner, stop_signal).await;
    tracing::info!(fleet = %fleet.label(), "stopping the fleet");
    let removed = shut_down(&docker, &fleet, &stop, server, watcher).await;

    let reports = targets
        .iter()
        .map(|t| {
            let count = removed.iter().filter(|c| c.app == t.name()).count();
            let mut report = super::report(t.name());
            report.end(
                Outcome::Completed,
                format!("stopped; {count} containers removed"),
            );
            report.duration_seconds = started.elapsed().as_secs_f64();
            report
        })
        .collect();
    Ok(Report::new("up", reports, started.elapsed()))
}

/// Starts revision 1 of every app.
async fn start_fleet(
    docker: &Docker,
    fleet: &Fleet,
    targets: &[ResolvedApp],
    images: &[String],
    tag: &str,
) -> anyhow::Result<()> {
    for (target, image) in targets.iter().zip(images) {
        let desired = target.config.replicas.desired;
        let progress = Progress::spinner(target.name());
        progress.update(format!("starting {desired} containers of {image}"));
        let started =
            container::start_revision(docker, fleet, target, image, tag, 1, desired).await?;
        let names: Vec<&str> = started.iter().map(|c| c.name.as_str()).collect();
        progress.finish(format!("started {}", names.join(", ")));
    }
    Ok(())
}

/// Stops the gateway (letting requests in flight finish) and discovery,
/// then stops and removes every container of the fleet. Returns them.
async fn shut_down(
    docker: &Docker,
    fleet: &Fleet,
    stop: &CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    watcher: tokio::task::JoinHandle<()>,
) -> Vec<fleet::FleetContainer> {
    stop.cancel();
    match tokio::time::timeout(GRACEFUL_SHUTDOWN, server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(err))) => tracing::warn!(error = %err, "the gateway failed"),
        Ok(Err(err)) => tracing::warn!(error = %err, "the gateway task failed"),
        Err(_) => {
            tracing::warn!("requests still in flight after {GRACEFUL_SHUTDOWN:?}; stopping anyway")
        }
    }
    if let Err(err) = watcher.await {
        tracing::warn!(error = %err, "the discovery task failed");
    }
    match fleet::list(docker, fleet).await {
        Ok(containers) => {
            container::stop_and_remove(docker, &containers).await;
            containers
        }
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "cannot list the fleet to stop it; run `deployer down`");
            Vec::new()
        }
    }
}

/// Completes on the first Ctrl-C (SIGINT) or SIGTERM. The handlers are
/// installed now, not when the future is first polled.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    let mut signals = Signals::register().context("cannot catch SIGINT and SIGTERM")?;
    Ok(async move {
        signals.recv().await;
    })
}

/// What `up` says first: where the gateway is and what it routes.
fn banner(fleet: &Fleet, rules: &Rules) -> String {
    let mut text = format!(
        "gateway on http://{} (Ctrl-C stops the fleet); listener rules:",
        fleet.gateway()
    );
    for rule in rules.describe() {
        text.push_str("\n  ");
        text.push_str(&rule);
    }
    text.push_str("\n  otherwise: fixed response 404");
    text
}

/// `deployer down`: stops and removes the containers of the fleet that
/// `DEPLOYER_GATEWAY` names.
pub async fn down(
    _global: &GlobalArgs,
    _args: &DownArgs,
    started: Instant,
) -> anyhow::Result<Report> {
    let fleet = fleet::from_env()?;
    let docker = crate::docker::connect().await?;
    let containers = fleet::list(&docker, &fleet).await?;
    if containers.is_empty() {
        let others = fleet::other_fleets(&docker, &fleet).await?;
        let mut report = super::report("");
        report.end(
            Outcome::NoChange,
            format!(
                "no containers of the fleet at {}{}",
                fleet.label(),
                fleet::other_fleets_hint(&others)
            ),
        );
        return Ok(Report::new("down", vec![report], started.elapsed()));
    }
    let progress = Progress::spinner("down");
    progress.update(format!("stopping {} containers", containers.len()));
    container::stop_and_remove(&docker, &containers).await;
    progress.finish("done");

    let mut apps: Vec<&str> = containers.iter().map(|c| c.app.as_str()).collect();
    apps.dedup();
    let reports = apps
        .into_iter()
        .map(|app| {
            let names: Vec<&str> = containers
                .iter()
                .filter(|c| c.app == app)
                .map(|c| c.name.as_str())
                .collect();
            let mut report = super::report(app);
            report.end(Outcome::Completed, format!("removed {}", names.join(", ")));
            report
        })
        .collect();
    Ok(Report::new("down", reports, started.elapsed()))
}
