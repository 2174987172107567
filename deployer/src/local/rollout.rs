//! `deployer <app> --target local`: the deploy cycle against a running
//! fleet, with the gateway playing the ALB and this process playing ECS.
//!
//! 1. build the image (unless the engine has it);
//! 2. start the new revision's containers; the gateway registers them
//!    through their labels;
//! 3. wait until the gateway reports every one healthy;
//! 4. deregister the old targets: traffic now goes to the new ones only;
//! 5. wait until the gateway reports them drained (nothing in flight, or
//!    the deregistration delay over);
//! 6. stop and remove them.
//!
//! A revision that does not get healthy within `--timeout`, or whose
//! container dies, is rolled back: its targets are deregistered, its
//! containers removed, and the old ones, which never stopped serving, stay.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bollard::Docker;
use local_gateway::api::{TargetState, TargetStatus};
use local_gateway::client::AdminClient;

use super::container;
use super::error::Error;
use super::fleet::{self, Fleet, FleetContainer};
use super::images::{self, Build};
use crate::apps::ResolvedApp;
use crate::cli::{DeployArgs, GlobalArgs};
use crate::progress::Progress;
use crate::report::{AppReport, Details, Outcome, Report};

/// How long past its deregistration delay a target may take to be
/// reported drained before it is stopped anyway.
const DRAIN_SLACK: Duration = Duration::from_secs(10);

/// `deployer deploy --target local`.
pub async fn deploy(
    global: &GlobalArgs,
    args: &DeployArgs,
    started: Instant,
) -> anyhow::Result<Report> {
    let (targets, fleet, docker) = super::open(global, &args.apps).await?;
    let admin = AdminClient::new(fleet);
    if args.image.registry.is_some() {
        tracing::info!("--registry does not apply to the local target: nothing is pushed");
    }
    let context = Context {
        docker: &docker,
        fleet: &fleet,
        admin: &admin,
        args,
    };
    let deploys = targets.iter().map(|target| deploy_app(&context, target));
    let reports = futures_util::future::join_all(deploys).await;
    Ok(Report::new("deploy", reports, started.elapsed()))
}

/// What every app's deploy shares.
struct Context<'a> {
    docker: &'a Docker,
    fleet: &'a Fleet,
    admin: &'a AdminClient,
    args: &'a DeployArgs,
}

/// Deploys one app and reports how it ended.
async fn deploy_app(context: &Context<'_>, target: &ResolvedApp) -> AppReport {
    let started = Instant::now();
    let mut report = super::report(target.name());
    let result = run(context, target, &mut report)
        .await
        .map(|(outcome, message)| report.end(outcome, message));
    report.finished(result, started)
}

/// The revision name shown for a local revision, in the ECS form
/// `family:revision`.
fn revision_name(target: &ResolvedApp, revision: u32) -> String {
    format!("{}:{revision}", target.config.family())
}

async fn run(
    context: &Context<'_>,
    target: &ResolvedApp,
    report: &mut AppReport,
) -> anyhow::Result<(Outcome, String)> {
    let Context {
        docker,
        fleet,
        admin,
        args,
    } = *context;
    let app = target.name();
    let progress = Progress::spinner(app);

    // Preflight: the fleet runs this app and its gateway answers.
    let old: Vec<FleetContainer> = fleet::list(docker, fleet)
        .await?
        .into_iter()
        .filter(|c| c.app == app)
        .collect();
    let Some(current) = old.iter().map(|c| c.revision).max() else {
        let others = fleet::other_fleets(docker, fleet).await?;
        return Err(crate::exit::Failure::preflight(format!(
            "{app} does not run in the local fleet at {}: start it with `deployer up`{}",
            fleet.label(),
            fleet::other_fleets_hint(&others)
        ))
        .into());
    };
    admin
        .view()
        .await
        .map_err(|err| crate::exit::Failure::preflight(err.to_string()))?;
    let current_version = old
        .iter()
        .find(|c| c.revision == current)
        .map(|c| c.version.clone())
        .unwrap_or_default();
    report.previous_revision = Some(revision_name(target, current));

    // 1. The image.
    let (image, version) = match &args.image.image {
        Some(image) => {
            let image = images::given(docker, image).await?;
            let version = crate::taskdef::version_of(&image).to_owned();
            (image, version)
        }
        None => {
            let tag = images::tag(args.image.tag.as_deref(), &args.context)?;
            progress.update(format!("image {}", images::local_name(target, &tag)));
            let image =
                images::ensure(docker, target, &tag, &args.context, Build::IfMissing).await?;
            (image, tag)
        }
    };
    report.image = Some(image.clone());
    let revision = current + 1;
    let new_name = revision_name(target, revision);
    report.new_revision = Some(new_name.clone());

    if args.dry_run {
        let taskdef = crate::taskdef::baseline(target, &image, &version)?;
        let placement = container::Placement {
            name: fleet::container_name(fleet, app, revision, 1),
            port: 0,
            revision,
        };
        let body = container::create_body(&taskdef, target, fleet, &placement)?;
        report.details = Some(Details::Container(Box::new(body)));
        return Ok((
            Outcome::DryRun,
            format!("would replace {} ({current_version}) with {new_name} ({version}); APP_PORT is picked per container", revision_name(target, current)),
        ));
    }

    // 2. The new containers.
    let desired = target.config.replicas.desired;
    progress.update(format!(
        "starting {desired} containers of {new_name} ({image})"
    ));
    let new = container::start_revision(docker, fleet, target, &image, &version, revision, desired)
        .await?;

    // 3. Healthy, or rolled back.
    let deadline = Instant::now() + args.timeout;
    if let Err(cause) =
        wait_healthy(docker, admin, &new, deadline, args.poll_interval, &progress).await
    {
        progress.update(format!("rolling back: {cause}"));
        retire(
            admin,
            docker,
            &new,
            deadline_for_drain(target),
            args.poll_interval,
            Stop::Kill,
        )
        .await;
        report.rolled_back_to = report.previous_revision.clone();
        let message = format!(
            "{new_name} ({version}) was rolled back: {cause}; its containers were removed and {} ({current_version}) is still serving",
            revision_name(target, current)
        );
        progress.finish(message.clone());
        return Ok((Outcome::Failed, message));
    }

    // 4-6. Shift traffic, drain, stop.
    progress.update(format!(
        "{new_name} healthy; draining {} old containers",
        old.len()
    ));
    retire(
        admin,
        docker,
        &old,
        deadline_for_drain(target),
        args.poll_interval,
        Stop::Graceful,
    )
    .await;
    let message = format!(
        "{new_name} ({version}) serves; {} ({current_version}) drained and stopped",
        revision_name(target, current)
    );
    progress.finish(message.clone());
    Ok((Outcome::Completed, message))
}

/// How long draining may take: the app's deregistration delay, plus slack.
fn deadline_for_drain(target: &ResolvedApp) -> Duration {
    Duration::from_secs(u64::from(target.config.deploy.deregistration_delay_seconds)) + DRAIN_SLACK
}

/// Waits until the gateway reports every container of `new` healthy.
/// `Err` names the cause: a container that died, or the targets that were
/// not healthy by `deadline` and why.
async fn wait_healthy(
    docker: &Docker,
    admin: &AdminClient,
    new: &[FleetContainer],
    deadline: Instant,
    poll: Duration,
    progress: &Progress,
) -> Result<(), Error> {
    let ids: HashSet<&str> = new.iter().map(|c| c.id.as_str()).collect();
    let mut last_seen: Vec<TargetStatus> = Vec::new();
    // Off a terminal every update is a log line: say each thing once.
    let mut said = String::new();
    let mut say = |message: String| {
        if message != said {
            progress.update(message.clone());
            said = message;
        }
    };
    loop {
        for container in new {
            match container::exit_cause(docker, container).await {
                Ok(Some(cause)) => return Err(Error::ContainerDied(cause)),
                Ok(None) => {}
                Err(err) => return Err(Error::ContainerDied(format!("{err:#}"))),
            }
        }
        match admin.view().await {
            Ok(view) => {
                last_seen = view
                    .targets
                    .into_iter()
                    .filter(|t| ids.contains(t.id.as_str()))
                    .collect();
                let healthy = last_seen
                    .iter()
                    .filter(|t| t.state == TargetState::Healthy)
                    .count();
                if healthy == new.len() {
                    return Ok(());
                }
                say(format!("{healthy}/{} new targets healthy", new.len()));
            }
            Err(reason) => say(format!("waiting for the gateway: {reason}")),
        }
        if Instant::now() >= deadline {
            return Err(Error::NotHealthy(not_healthy_cause(new, &last_seen)));
        }
        tokio::time::sleep(poll.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Why the new targets are not healthy, in one sentence.
fn not_healthy_cause(new: &[FleetContainer], seen: &[TargetStatus]) -> String {
    let details: Vec<String> = new
        .iter()
        .map(|c| match seen.iter().find(|t| t.id == c.id) {
            Some(t) => format!(
                "{} {} is {}{}",
                c.name,
                c.address(),
                t.state.as_str(),
                t.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
            None => format!(
                "{} {} was never registered by the gateway",
                c.name,
                c.address()
            ),
        })
        .collect();
    format!(
        "the new targets did not pass their health checks within --timeout: {}",
        details.join("; ")
    )
}

/// How drained containers end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// SIGTERM, then SIGKILL after the stop timeout: a revision that served.
    Graceful,
    /// SIGKILL: a revision being rolled back, which is not trusted to stop
    /// by itself (one that never listened may well ignore SIGTERM) and has
    /// nothing in flight once drained.
    Kill,
}

/// Takes `containers` out of service the way ECS does: deregister them,
/// wait until the gateway reports them drained, stop and remove them. A
/// gateway that cannot be asked gets the full delay instead.
async fn retire(
    admin: &AdminClient,
    docker: &Docker,
    containers: &[FleetContainer],
    longest: Duration,
    poll: Duration,
    stop: Stop,
) {
    let deadline = Instant::now() + longest;
    let mut pending: HashSet<String> = containers.iter().map(|c| c.id.clone()).collect();
    for container in containers {
        if let Err(reason) = admin.deregister(&container.id).await {
            // A target the gateway never registered has nothing to drain.
            tracing::debug!(container = %container.name, %reason, "deregistration refused");
        }
    }
    while !pending.is_empty() && Instant::now() < deadline {
        match admin.view().await {
            Ok(view) => {
                let busy: HashSet<String> = view
                    .targets
                    .iter()
                    .filter(|t| t.state == TargetState::Draining)
                    .map(|t| t.id.clone())
                    .collect();
                pending.retain(|id| busy.contains(id));
            }
            Err(reason) => tracing::warn!(%reason, "cannot see the drain; waiting for the delay"),
        }
        if !pending.is_empty() {
            tokio::time::sleep(poll).await;
        }
    }
    if !pending.is_empty() {
        tracing::warn!(
            count = pending.len(),
            "targets still draining after the delay; stopping them"
        );
    }
    match stop {
        Stop::Graceful => container::stop_and_remove(docker, containers).await,
        Stop::Kill => container::remove(docker, containers).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_names_each_target_and_its_reason() {
        let container = |id: &str, port| FleetContainer {
            name: format!("b-{id}"),
            version: "bad".into(),
            revision: 2,
            image: "service-b:bad".into(),
            ..crate::local::testing::container(id, "service-b", port)
        };
        let seen = vec![TargetStatus {
            state: TargetState::Unhealthy,
            reason: Some("/finance/health: Connection refused (os error 111)".into()),
            ..TargetStatus::unknown(&container("1", 4001), "")
        }];
        let cause = not_healthy_cause(&[container("1", 4001), container("2", 4002)], &seen);
        assert_eq!(
            cause,
            "the new targets did not pass their health checks within --timeout: \
             b-1 127.0.0.1:4001 is unhealthy (/finance/health: Connection refused (os error 111)); \
             b-2 127.0.0.1:4002 was never registered by the gateway"
        );
    }
}
