//! Putting a service back on a known revision: after a failed or timed-out
//! deploy, and for `deployer rollback`.

use std::time::Duration;

use anyhow::Context;
use aws_sdk_ecs::types::Deployment;
use aws_smithy_types::DateTime;
use tokio::time::Instant;

use super::api::EcsApi;
use super::history::{self, History};
use super::preflight;
use super::revision;
use super::rollout::{self, End, Followed, Watch};
use crate::apps::ResolvedApp;
use crate::exit::Failure;
use crate::progress::Progress;
use crate::report::{AppReport, Outcome};

/// How long to wait for a rollout, and how often to look.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    pub timeout: Duration,
    pub poll: Duration,
}

/// A rollout back to a revision that ended.
#[derive(Debug)]
pub(crate) struct Restored {
    pub deployment_id: String,
    pub followed: Followed,
}

impl Restored {
    /// Whether the service is on the revision now.
    pub fn succeeded(&self) -> bool {
        matches!(self.followed.end, End::Completed | End::NothingToRun)
    }

    /// Why it did not succeed.
    pub fn failure(&self) -> String {
        match &self.followed.end {
            End::Completed | End::NothingToRun => String::new(),
            End::Failed { reason } => format!("deployment {} failed: {reason}", self.deployment_id),
            End::TimedOut { last_state } => format!("timed out at {last_state}"),
            End::Superseded {
                deployment,
                revision,
            } => {
                format!("deployment {deployment} of {revision} took over")
            }
        }
    }
}

/// Puts the service on `target` (ARN or `family:revision`) and follows that
/// rollout. When ECS is already moving the service there (its circuit
/// breaker rolled back), that deployment is followed instead of starting
/// another one.
pub(crate) async fn put_back(
    ecs: &impl EcsApi,
    cluster: &str,
    service: &str,
    target: &str,
    after: Option<DateTime>,
    pace: Pace,
    progress: &Progress,
) -> anyhow::Result<Restored> {
    let deadline = Instant::now() + pace.timeout;
    let now = ecs
        .service(cluster, service)
        .await?
        .with_context(|| format!("service {service} disappeared from {cluster}"))?;
    let deployment = match rollout::primary(&now) {
        // Only a deployment back created after the one being undone is
        // ECS going back: a stale read still shows the old deployment on
        // the target, and that is no evidence of anything.
        Some(d)
            if d.task_definition()
                .is_some_and(|td| revision::same(td, target))
                && created_after(d, after) =>
        {
            progress.println(format!(
                "ECS is already going back to {} (deployment {})",
                revision::name(target),
                d.id().unwrap_or("?")
            ));
            d.clone()
        }
        _ => {
            progress.println(format!("rolling back to {}", revision::name(target)));
            let updated = ecs.update_service(cluster, service, target).await?;
            rollout::started_deployment(&updated, target)
                .cloned()
                .with_context(|| {
                    format!(
                        "ECS started no deployment of {} on service {service}",
                        revision::name(target)
                    )
                })?
        }
    };
    let deployment_id = deployment.id().unwrap_or_default().to_owned();
    let watch = Watch {
        cluster,
        service,
        deployment_id: deployment_id.clone(),
        since: deployment.created_at().copied(),
        revision: target.to_owned(),
        fallback: None,
        deadline,
        poll: pace.poll,
    };
    let followed = rollout::follow(ecs, watch, progress).await?;
    Ok(Restored {
        deployment_id,
        followed,
    })
}

/// Whether `d` was created after `after` (any deployment, without one).
fn created_after(d: &Deployment, after: Option<DateTime>) -> bool {
    match (after, d.created_at()) {
        (None, _) => true,
        (Some(after), Some(at)) => at.as_secs_f64() > after.as_secs_f64(),
        (Some(_), None) => false,
    }
}

/// Writes the rollback record on the service. Failing to is reported but
/// not fatal: the running command knows its target anyway, only a later
/// `deployer rollback` without `--revision` would miss it.
pub(crate) async fn record(
    ecs: &impl EcsApi,
    service_arn: Option<&str>,
    history: &History,
    progress: &Progress,
) {
    let Some(arn) = service_arn else {
        progress.println("cannot record the rollback target: the service has no ARN");
        return;
    };
    if let Err(err) = ecs
        .tag_service(arn, history::TAG_KEY, &history.tag_value())
        .await
    {
        progress.println(format!(
            "warning: cannot record the rollback target on the service (tag {}): {err:#}",
            history::TAG_KEY
        ));
    }
}

/// `deployer rollback <app> [--revision N]` for one app.
pub(crate) async fn rollback(
    ecs: &impl EcsApi,
    target: &ResolvedApp,
    revision_number: Option<i32>,
    pace: Pace,
    report: &mut AppReport,
) -> anyhow::Result<()> {
    let progress = Progress::spinner(format!("{} rollback", target.name()));
    let service = preflight::service(ecs, target).await?;
    let running = rollout::primary(&service)
        .and_then(|d| d.task_definition())
        .or(service.task_definition())
        .map(str::to_owned)
        .with_context(|| format!("service {} has no task definition", target.service))?;
    report.previous_revision = Some(revision::name(&running));
    let history = History::of(&service);
    let (goal, rest) = match revision_number {
        Some(n) => {
            let goal = format!("{}:{n}", revision::family(&running));
            let rest = history.without_top(&goal);
            (goal, rest)
        }
        None => history.target(&running).ok_or_else(|| {
            Failure::preflight(format!(
                "service `{}` has no recorded revision to go back to (tag {} is empty or missing); \
                 pass --revision N",
                target.service,
                history::TAG_KEY
            ))
        })?,
    };
    let Some((td, _)) = ecs.task_definition(&goal).await? else {
        return Err(Failure::bad_input(format!(
            "--revision: task definition {goal} does not exist"
        ))
        .into());
    };
    if td.status().map(|s| s.as_str()) != Some("ACTIVE") {
        return Err(Failure::preflight(format!(
            "{goal} is deregistered (INACTIVE); ECS cannot put a service on it. Pick another with --revision"
        ))
        .into());
    }
    let goal_arn = td.task_definition_arn().unwrap_or(&goal).to_owned();
    report.new_revision = Some(revision::name(&goal_arn));
    let settled_there = revision::same(&running, &goal_arn) && preflight::settled(&service).is_ok();
    if settled_there {
        report.end(
            Outcome::NoChange,
            format!("service {} already runs {goal}", target.service),
        );
        return Ok(());
    }
    let restored = put_back(
        ecs,
        &target.cluster,
        &target.service,
        &goal_arn,
        None,
        pace,
        &progress,
    )
    .await?;
    report.deployment_id = Some(restored.deployment_id.clone());
    if !restored.succeeded() {
        progress.finish(format!("rollback to {goal} failed"));
        report.end(Outcome::RollbackFailed,
            format!(
                "the rollback to {goal} failed: {}; the service needs attention (`deployer status {}`)",
                restored.failure(),
                target.name()
            ),
        );
        return Ok(());
    }
    if rest != history {
        record(ecs, service.service_arn(), &rest, &progress).await;
    }
    report.rolled_back_to = Some(revision::name(&goal_arn));
    progress.finish(format!("back on {goal}"));
    let message = format!("rolled back from {} to {goal}", revision::name(&running));
    report.end(Outcome::Completed, message);
    Ok(())
}
