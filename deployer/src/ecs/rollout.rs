//! Following one deployment, by its id, to its end.
//!
//! The "services stable" waiter only asks whether the service has settled,
//! and a service that the circuit breaker rolled back settles too: the
//! waiter reports success for a failed deploy. This follows the deployment
//! that the update started and reads its own rollout state, against a real
//! deadline, showing progress as it goes: running against desired, the
//! service events since the deployment started, and why tasks of the new
//! revision stopped.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_ecs::types::{
    Deployment, DeploymentRolloutState, Service, ServiceDeployment,
    ServiceDeploymentRollbackMonitorsStatus, ServiceDeploymentStatus, Task,
};
use aws_smithy_types::DateTime;
use tokio::time::Instant;

use super::api::{EcsApi, TaskFilter};
use super::revision;
use crate::progress::Progress;

/// ECS's status of the deployment a service is moving to.
pub const PRIMARY: &str = "PRIMARY";

/// How a followed deployment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// The rollout completed: every desired task runs the revision.
    Completed,
    /// The service wants no tasks, so nothing ran the revision.
    NothingToRun,
    /// ECS gave up on the rollout (the circuit breaker, a CloudWatch alarm,
    /// a lifecycle hook), with its reason.
    Failed { reason: String },
    /// The deadline passed first.
    TimedOut { last_state: String },
    /// Another deployment, of another revision, took over.
    Superseded {
        deployment: String,
        revision: String,
    },
}

/// What following found.
#[derive(Debug, Clone)]
pub(crate) struct Followed {
    /// How it ended.
    pub end: End,
    /// Why tasks of the revision stopped, one line per task.
    pub stopped: Vec<String>,
    /// Side lookups that failed (after retries). They never decide the
    /// outcome.
    pub warnings: Vec<String>,
}

/// The deployment to follow.
#[derive(Debug, Clone)]
pub(crate) struct Watch<'a> {
    pub cluster: &'a str,
    pub service: &'a str,
    /// The deployment's id (`ecs-svc/...`), from the UpdateService answer.
    pub deployment_id: String,
    /// When ECS created it: service events from then on are shown, and the
    /// service deployment created then is this deployment's.
    pub since: Option<DateTime>,
    /// The revision it rolls out.
    pub revision: String,
    /// The revision ECS's circuit breaker would roll back to. A deployment
    /// back to it replacing ours, once ours was seen, means ours failed.
    /// `None` when the deployment followed is itself the way back (a
    /// rollback): its service deployment is then the one it rolls back
    /// within, and ROLLBACK_SUCCESSFUL is its success.
    pub fallback: Option<String>,
    pub deadline: Instant,
    pub poll: Duration,
}

/// The deployment `update` started for `revision`: the PRIMARY one on it.
pub(crate) fn started_deployment<'s>(
    update: &'s Service,
    revision: &str,
) -> Option<&'s Deployment> {
    update.deployments().iter().find(|d| {
        d.status() == Some(PRIMARY)
            && d.task_definition()
                .is_some_and(|td| revision::same(td, revision))
    })
}

/// The deployment the service is moving to.
pub(crate) fn primary(service: &Service) -> Option<&Deployment> {
    service
        .deployments()
        .iter()
        .find(|d| d.status() == Some(PRIMARY))
}

/// One look at the service.
#[derive(Debug)]
enum Step {
    Done(End),
    /// Under way; `state` says where, for the progress line.
    Waiting {
        state: String,
        failed_tasks: i32,
    },
}

impl Step {
    fn waiting(d: &Deployment) -> Step {
        Step::Waiting {
            state: describe(d),
            failed_tasks: d.failed_tasks(),
        }
    }
}

/// What one follow has learnt so far, across looks.
#[derive(Debug, Default)]
struct Evidence {
    /// Whether a DescribeServices answer has listed our deployment. Until
    /// one does, every answer is a stale read (the ECS API is eventually
    /// consistent after UpdateService) and proves nothing.
    seen: bool,
    /// Whether the service deployments API answers here; `None` until
    /// asked. Where it does not (moto, older partitions), DescribeServices
    /// decides.
    service_deployments: Option<bool>,
}

/// Follows `watch` until it ends or its deadline passes.
pub(crate) async fn follow(
    ecs: &impl EcsApi,
    mut watch: Watch<'_>,
    progress: &Progress,
) -> anyhow::Result<Followed> {
    let mut seen = Seen::default();
    let mut last_state = String::from("no answer from ECS yet");
    let deadline = watch.deadline;
    let outcome = tokio::time::timeout_at(
        deadline,
        poll_until_done(ecs, &mut watch, progress, &mut seen, &mut last_state),
    )
    .await;
    let end = match outcome {
        Ok(end) => end?,
        Err(_elapsed) => End::TimedOut { last_state },
    };
    if matches!(end, End::Failed { .. } | End::TimedOut { .. }) {
        // One last look, so that the report names why tasks stopped even
        // when they stopped between two polls. It must not hide the outcome.
        stopped_tasks(ecs, &watch, progress, &mut seen).await;
    }
    Ok(Followed {
        end,
        stopped: seen.stopped,
        warnings: seen.warnings,
    })
}

async fn poll_until_done(
    ecs: &impl EcsApi,
    watch: &mut Watch<'_>,
    progress: &Progress,
    seen: &mut Seen,
    last_state: &mut String,
) -> anyhow::Result<End> {
    let mut evidence = Evidence::default();
    loop {
        let service = ecs
            .service(watch.cluster, watch.service)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "service {} disappeared from {} during the rollout",
                    watch.service,
                    watch.cluster
                )
            })?;
        show_new_events(&service, watch.since, progress, seen);
        let mut step = assess(&service, watch, &mut evidence);
        if let Some(decided) =
            from_service_deployments(ecs, watch, &service, &mut evidence, progress, seen).await
        {
            // Where the service deployments API answers for this
            // deployment, it is the authority for the outcome.
            step = decided;
        }
        match step {
            Step::Done(end) => return Ok(end),
            Step::Waiting {
                state,
                failed_tasks,
            } => {
                if failed_tasks > seen.failed_tasks {
                    seen.failed_tasks = failed_tasks;
                    stopped_tasks(ecs, watch, progress, seen).await;
                }
                *last_state = state;
                let left = watch.deadline.saturating_duration_since(Instant::now());
                progress.update(format!(
                    "{}, {} left",
                    last_state,
                    humantime::format_duration(Duration::from_secs(left.as_secs()))
                ));
            }
        }
        tokio::time::sleep(watch.poll).await;
    }
}

/// The service deployment ECS created for `watch`'s deployment: the first
/// one created at or after it (ECS creates one per UpdateService that
/// starts a deployment; a rollback stays within the same one).
pub(crate) fn ours(
    deployments: &[ServiceDeployment],
    since: Option<DateTime>,
) -> Option<&ServiceDeployment> {
    let since = since.map(|t| t.as_secs_f64() - CREATED_AT_SLACK_SECONDS);
    deployments
        .iter()
        .filter(|sd| match (since, sd.created_at()) {
            (Some(since), Some(at)) => at.as_secs_f64() >= since,
            _ => false,
        })
        .min_by(|a, b| {
            let at = |sd: &ServiceDeployment| sd.created_at().map_or(0.0, |t| t.as_secs_f64());
            at(a).total_cmp(&at(b))
        })
}

/// The service deployment and the deployment of DescribeServices are
/// created by the same UpdateService; their creation times may differ by
/// this much.
const CREATED_AT_SLACK_SECONDS: f64 = 1.0;

/// Where the service deployments API says our deployment stands; `None`
/// when the API does not answer here, or does not list it yet.
async fn from_service_deployments(
    ecs: &impl EcsApi,
    watch: &Watch<'_>,
    service: &Service,
    evidence: &mut Evidence,
    progress: &Progress,
    seen: &mut Seen,
) -> Option<Step> {
    if evidence.service_deployments == Some(false) {
        return None;
    }
    let answer = ecs
        .service_deployments(watch.cluster, watch.service, watch.since)
        .await;
    let listed = match answer {
        Ok(Some(listed)) => listed,
        Ok(None) => {
            tracing::debug!(
                "the service deployments API does not answer here; following DescribeServices"
            );
            evidence.service_deployments = Some(false);
            return None;
        }
        Err(err) => {
            let line = format!(
                "cannot read the service deployments ({err:#}); following DescribeServices instead"
            );
            progress.println(format!("warning: {line}"));
            seen.warnings.push(line);
            evidence.service_deployments = Some(false);
            return None;
        }
    };
    evidence.service_deployments = Some(true);
    let sd = ours(&listed, watch.since)?;
    Some(service_deployment_step(
        sd,
        service,
        watch.fallback.is_none(),
    ))
}

/// The step one service deployment stands at. Statuses as ECS documents
/// them for ListServiceDeployments / DescribeServiceDeployments.
/// `rollback`: the deployment followed is the way back, so the ROLLBACK_*
/// statuses are its own progress.
fn service_deployment_step(sd: &ServiceDeployment, service: &Service, rollback: bool) -> Step {
    let reason = sd_reason(sd);
    match sd.status() {
        Some(ServiceDeploymentStatus::RollbackSuccessful) if rollback => {
            if service.desired_count() == 0 {
                Step::Done(End::NothingToRun)
            } else {
                Step::Done(End::Completed)
            }
        }
        Some(ServiceDeploymentStatus::RollbackFailed) if rollback => Step::Done(End::Failed {
            reason: format!("ECS's rollback failed: {reason}"),
        }),
        Some(
            ServiceDeploymentStatus::RollbackRequested
            | ServiceDeploymentStatus::RollbackInProgress,
        ) if rollback => Step::Waiting {
            state: format!(
                "ECS is rolling back (service deployment {})",
                sd.status().map_or("?", |s| s.as_str())
            ),
            failed_tasks: 0,
        },
        Some(ServiceDeploymentStatus::Successful) => {
            if service.desired_count() == 0 {
                Step::Done(End::NothingToRun)
            } else {
                Step::Done(End::Completed)
            }
        }
        Some(
            ServiceDeploymentStatus::RollbackRequested
            | ServiceDeploymentStatus::RollbackInProgress
            | ServiceDeploymentStatus::RollbackSuccessful
            | ServiceDeploymentStatus::RollbackFailed,
        ) => Step::Done(End::Failed {
            reason: format!(
                "ECS is rolling it back (service deployment {}): {reason}",
                sd.status().map_or("?", |s| s.as_str())
            ),
        }),
        Some(ServiceDeploymentStatus::Stopped) => Step::Done(End::Superseded {
            deployment: sd.service_deployment_arn().unwrap_or("?").to_owned(),
            revision: format!("none: the service deployment was STOPPED ({reason})"),
        }),
        status => {
            let stage = sd
                .lifecycle_stage()
                .map(|s| format!(", stage {}", s.as_str()))
                .unwrap_or_default();
            let strategy = sd
                .deployment_configuration()
                .and_then(|c| c.strategy())
                .map(|s| format!("{} ", s.as_str()))
                .unwrap_or_default();
            let target = sd.target_service_revision();
            Step::Waiting {
                state: format!(
                    "{strategy}service deployment {}{stage}: {}/{} running, {} pending",
                    status.map_or("?", |s| s.as_str()),
                    target.map_or(0, |t| t.running_task_count()),
                    target.map_or(0, |t| t.requested_task_count()),
                    target.map_or(0, |t| t.pending_task_count()),
                ),
                failed_tasks: sd
                    .deployment_circuit_breaker()
                    .map_or(0, |c| c.failure_count()),
            }
        }
    }
}

/// Why a service deployment is where it is: the alarms that triggered,
/// else ECS's rollback reason, else its status reason.
fn sd_reason(sd: &ServiceDeployment) -> String {
    if let Some(alarms) = sd.alarms() {
        let triggered = alarms.triggered_alarm_names();
        if alarms.status() == Some(&ServiceDeploymentRollbackMonitorsStatus::Triggered)
            || !triggered.is_empty()
        {
            let names = if triggered.is_empty() {
                "(not named)".to_owned()
            } else {
                triggered.join(", ")
            };
            return format!("CloudWatch alarm {names} triggered");
        }
    }
    sd.rollback()
        .and_then(|r| r.reason())
        .or(sd.status_reason())
        .unwrap_or("no reason given")
        .trim_end_matches('.')
        .to_owned()
}

/// Where the deployment stands, from one DescribeServices answer. Only
/// positive evidence concludes anything: the deployment's own FAILED
/// rollout state, a service event that names it as failed or rolled back,
/// or the deployment seen and later gone with a deployment back on the
/// fallback revision in its place.
fn assess(service: &Service, watch: &mut Watch<'_>, evidence: &mut Evidence) -> Step {
    let step = assess_deployments(service, watch, evidence);
    if matches!(step, Step::Waiting { .. }) {
        // A rollout that looks under way may have been given up already:
        // ECS says so in the service's events.
        if let Some(reason) = failure_event(service, watch) {
            return Step::Done(End::Failed { reason });
        }
    }
    step
}

fn assess_deployments(service: &Service, watch: &mut Watch<'_>, evidence: &mut Evidence) -> Step {
    let deployments = service.deployments();
    let ours = deployments
        .iter()
        .find(|d| d.id() == Some(watch.deployment_id.as_str()));
    let Some(d) = ours else {
        // A deployment created after ours cannot be an old view: only a
        // stale read that shows nothing newer proves nothing.
        let newer = primary(service).is_some_and(|p| match (watch.since, p.created_at()) {
            (Some(since), Some(at)) => at.as_secs_f64() > since.as_secs_f64(),
            _ => false,
        });
        if !evidence.seen && !newer {
            // A stale read: ECS has not caught up with the UpdateService yet.
            return Step::Waiting {
                state: format!(
                    "waiting for ECS to list deployment {} (reads lag behind an update)",
                    watch.deployment_id
                ),
                failed_tasks: 0,
            };
        }
        return gone(service, watch);
    };
    evidence.seen = true;
    if d.rollout_state() == Some(&DeploymentRolloutState::Failed) {
        let reason = d
            .rollout_state_reason()
            .unwrap_or("ECS marked the deployment FAILED")
            .to_owned();
        return Step::Done(End::Failed { reason });
    }
    if d.status() == Some(PRIMARY) {
        if service.desired_count() == 0 {
            return Step::Done(End::NothingToRun);
        }
        let completed = match d.rollout_state() {
            Some(DeploymentRolloutState::Completed) => true,
            // Without a rollout state (a service behind a Classic Load
            // Balancer), the rollout is over when only this deployment
            // is left and it runs every desired task.
            None => deployments.len() == 1 && d.running_count() >= d.desired_count(),
            Some(_) => false,
        };
        return if completed {
            Step::Done(End::Completed)
        } else {
            Step::waiting(d)
        };
    }
    // Ours is listed but no longer PRIMARY: another deployment took over.
    match primary(service) {
        None => Step::waiting(d),
        Some(p) => replaced_by(p, watch),
    }
}

/// Ours was seen and is gone now.
fn gone(service: &Service, watch: &mut Watch<'_>) -> Step {
    let Some(primary) = primary(service) else {
        return Step::Waiting {
            state: format!(
                "deployment {} is no longer listed and none is PRIMARY",
                watch.deployment_id
            ),
            failed_tasks: 0,
        };
    };
    let primary_revision = primary.task_definition().unwrap_or_default();
    let back = watch
        .fallback
        .as_deref()
        .is_some_and(|f| revision::same(primary_revision, f))
        && !revision::same(primary_revision, &watch.revision);
    if back {
        return Step::Done(End::Failed {
            reason: format!(
                "ECS replaced deployment {} with {} back on {} (circuit breaker rollback)",
                watch.deployment_id,
                primary.id().unwrap_or("?"),
                revision::name(primary_revision)
            ),
        });
    }
    replaced_by(primary, watch)
}

/// Another deployment is PRIMARY instead of ours.
fn replaced_by(primary: &Deployment, watch: &mut Watch<'_>) -> Step {
    let primary_revision = primary.task_definition().unwrap_or_default();
    if revision::same(primary_revision, &watch.revision) {
        // A new deployment of the same revision (a forced redeploy):
        // follow that one instead.
        watch.deployment_id = primary.id().unwrap_or_default().to_owned();
        return Step::waiting(primary);
    }
    Step::Done(End::Superseded {
        deployment: primary.id().unwrap_or("?").to_owned(),
        revision: revision::name(primary_revision),
    })
}

/// A service event since the deployment started that names it as failed
/// or being rolled back, as ECS writes them.
fn failure_event(service: &Service, watch: &Watch<'_>) -> Option<String> {
    service
        .events()
        .iter()
        .filter(|e| match (watch.since, e.created_at()) {
            (Some(since), Some(at)) => at.as_secs_f64() >= since.as_secs_f64(),
            _ => true,
        })
        .filter_map(|e| e.message())
        .find(|m| {
            m.contains(&watch.deployment_id)
                && (m.contains("deployment failed") || m.contains("rolling back"))
        })
        .map(str::to_owned)
}

/// `ecs-svc/1 (svc:7): 1/2 running, 1 pending, IN_PROGRESS`
fn describe(d: &Deployment) -> String {
    format!(
        "{} ({}): {}/{} running, {} pending, {}",
        d.id().unwrap_or("?"),
        revision::name(d.task_definition().unwrap_or("?")),
        d.running_count(),
        d.desired_count(),
        d.pending_count(),
        d.rollout_state().map_or("no rollout state", |s| s.as_str())
    )
}

/// What has been shown already.
#[derive(Debug, Default)]
struct Seen {
    events: HashSet<String>,
    tasks: HashSet<String>,
    failed_tasks: i32,
    stopped: Vec<String>,
    warnings: Vec<String>,
}

/// Shows the service events since the deployment started, oldest first,
/// each once.
fn show_new_events(
    service: &Service,
    since: Option<DateTime>,
    progress: &Progress,
    seen: &mut Seen,
) {
    let mut events: Vec<_> = service
        .events()
        .iter()
        .filter(|e| match (since, e.created_at()) {
            (Some(since), Some(at)) => at.as_secs_f64() >= since.as_secs_f64(),
            _ => true,
        })
        .collect();
    events.reverse(); // ECS lists the newest first
    for event in events {
        let id = event.id().unwrap_or_default().to_owned();
        if seen.events.insert(id) {
            progress.println(format!("event: {}", event.message().unwrap_or_default()));
        }
    }
}

/// How many times a side lookup is tried before it becomes a warning.
const SIDE_LOOKUP_ATTEMPTS: usize = 3;

/// Shows why tasks of the revision stopped, each task once. A lookup that
/// keeps failing is a warning: it never decides the outcome.
async fn stopped_tasks(ecs: &impl EcsApi, watch: &Watch<'_>, progress: &Progress, seen: &mut Seen) {
    let filter = TaskFilter::StoppedOf {
        service: watch.service,
    };
    let mut last_error = None;
    for _ in 0..SIDE_LOOKUP_ATTEMPTS {
        match ecs.tasks(watch.cluster, filter).await {
            Ok(tasks) => {
                show_stopped(tasks, watch, progress, seen);
                return;
            }
            Err(err) => last_error = Some(err),
        }
    }
    if let Some(err) = last_error {
        let line = format!("cannot list the stopped tasks: {err:#}");
        if !seen.warnings.contains(&line) {
            progress.println(format!("warning: {line}"));
            seen.warnings.push(line);
        }
    }
}

fn show_stopped(tasks: Vec<Task>, watch: &Watch<'_>, progress: &Progress, seen: &mut Seen) {
    for task in tasks {
        let ours = task
            .task_definition_arn()
            .is_some_and(|td| revision::same(td, &watch.revision));
        let arn = task.task_arn().unwrap_or_default().to_owned();
        if ours && seen.tasks.insert(arn) {
            let line = stopped_reason(&task);
            progress.println(format!("stopped: {line}"));
            seen.stopped.push(line);
        }
    }
}

/// `task 1a2b: Essential container in task exited (service-b: exit 1,
/// CannotPullContainerError: ...)`
pub(crate) fn stopped_reason(task: &Task) -> String {
    let id = task
        .task_arn()
        .and_then(|a| a.rsplit('/').next())
        .unwrap_or("?");
    let mut line = format!(
        "task {id}: {}",
        task.stopped_reason().unwrap_or("stopped without a reason")
    );
    let containers: Vec<String> = task
        .containers()
        .iter()
        .filter(|c| c.exit_code().is_some_and(|code| code != 0) || c.reason().is_some())
        .map(|c| {
            let mut s = c.name().unwrap_or("?").to_owned();
            if let Some(code) = c.exit_code() {
                s.push_str(&format!(": exit {code}"));
            }
            if let Some(reason) = c.reason() {
                s.push_str(&format!(": {reason}"));
            }
            s
        })
        .collect();
    if !containers.is_empty() {
        line.push_str(&format!(" ({})", containers.join("; ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(id: &str, status: &str, td: &str, state: DeploymentRolloutState) -> Deployment {
        Deployment::builder()
            .id(id)
            .status(status)
            .task_definition(td)
            .desired_count(2)
            .rollout_state(state)
            .build()
    }

    fn in_progress(id: &str, status: &str, td: &str) -> Deployment {
        deployment(id, status, td, DeploymentRolloutState::InProgress)
    }

    fn service(deployments: Vec<Deployment>) -> Service {
        Service::builder()
            .desired_count(2)
            .set_deployments(Some(deployments))
            .build()
    }

    fn watch() -> Watch<'static> {
        Watch {
            cluster: "C",
            service: "S",
            deployment_id: "ecs-svc/new".into(),
            since: None,
            revision: "svc:7".into(),
            fallback: Some("svc:6".into()),
            deadline: Instant::now(),
            poll: Duration::from_secs(1),
        }
    }

    /// One look, once an earlier look listed our deployment.
    fn seen_before(svc: &Service, w: &mut Watch<'_>) -> Step {
        let mut evidence = Evidence {
            seen: true,
            ..Evidence::default()
        };
        assess(svc, w, &mut evidence)
    }

    #[test]
    fn a_read_that_does_not_list_the_deployment_yet_proves_nothing() {
        // Right after UpdateService, ECS may still answer the old view: the
        // old deployment PRIMARY, ours not listed. That is no rollback.
        let svc = service(vec![deployment(
            "ecs-svc/old",
            PRIMARY,
            "svc:6",
            DeploymentRolloutState::Completed,
        )]);
        let mut evidence = Evidence::default();
        match assess(&svc, &mut watch(), &mut evidence) {
            Step::Waiting { state, .. } => assert!(state.contains("reads lag"), "{state}"),
            other => panic!("a stale read must not conclude: {other:?}"),
        }
        // Once it was listed, the same answer is evidence.
        assert!(matches!(
            seen_before(&svc, &mut watch()),
            Step::Done(End::Failed { .. })
        ));
    }

    #[test]
    fn an_event_naming_the_deployment_as_failed_is_evidence() {
        let mut svc = service(vec![in_progress("ecs-svc/new", PRIMARY, "svc:7")]);
        svc.events = Some(vec![aws_sdk_ecs::types::ServiceEvent::builder()
            .id("e1")
            .message("(service S) (deployment ecs-svc/new) deployment failed: alarm(s) triggered.")
            .build()]);
        match assess(&svc, &mut watch(), &mut Evidence::default()) {
            Step::Done(End::Failed { reason }) => {
                assert!(reason.contains("ecs-svc/new"), "{reason}")
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn service_deployment_statuses_decide() {
        use aws_sdk_ecs::types::{ServiceDeploymentAlarms, ServiceDeploymentLifecycleStage};
        let svc = service(vec![in_progress("ecs-svc/new", PRIMARY, "svc:7")]);
        let sd = |status: ServiceDeploymentStatus| {
            ServiceDeployment::builder()
                .service_deployment_arn("arn:sd/1")
                .status(status)
                .status_reason("the circuit breaker tripped.")
                .lifecycle_stage(ServiceDeploymentLifecycleStage::BakeTime)
                .build()
        };
        assert!(matches!(
            service_deployment_step(&sd(ServiceDeploymentStatus::Successful), &svc, false),
            Step::Done(End::Completed)
        ));
        match service_deployment_step(&sd(ServiceDeploymentStatus::InProgress), &svc, false) {
            Step::Waiting { state, .. } => assert!(state.contains("BAKE_TIME"), "{state}"),
            other => panic!("{other:?}"),
        }
        match service_deployment_step(
            &sd(ServiceDeploymentStatus::RollbackInProgress),
            &svc,
            false,
        ) {
            Step::Done(End::Failed { reason }) => {
                assert!(reason.contains("circuit breaker tripped"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        let mut alarmed = sd(ServiceDeploymentStatus::RollbackSuccessful);
        alarmed.alarms = Some(
            ServiceDeploymentAlarms::builder()
                .status(ServiceDeploymentRollbackMonitorsStatus::Triggered)
                .triggered_alarm_names("service-b-5xx")
                .build(),
        );
        match service_deployment_step(&alarmed, &svc, false) {
            Step::Done(End::Failed { reason }) => {
                assert!(reason.contains("alarm service-b-5xx triggered"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            service_deployment_step(&sd(ServiceDeploymentStatus::Stopped), &svc, false),
            Step::Done(End::Superseded { .. })
        ));
        // Following the way back, the ROLLBACK_* statuses are its progress.
        assert!(matches!(
            service_deployment_step(&sd(ServiceDeploymentStatus::RollbackInProgress), &svc, true),
            Step::Waiting { .. }
        ));
        assert!(matches!(
            service_deployment_step(&sd(ServiceDeploymentStatus::RollbackSuccessful), &svc, true),
            Step::Done(End::Completed)
        ));
    }

    #[test]
    fn a_vanished_deployment_replaced_by_one_back_on_the_fallback_failed() {
        let svc = service(vec![in_progress("ecs-svc/back", PRIMARY, "svc:6")]);
        match seen_before(&svc, &mut watch()) {
            Step::Done(End::Failed { reason }) => {
                assert!(reason.contains("circuit breaker rollback"), "{reason}")
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_vanished_deployment_replaced_by_another_revision_was_superseded() {
        let svc = service(vec![in_progress("ecs-svc/other", PRIMARY, "svc:9")]);
        let mut w = watch();
        w.fallback = None;
        assert!(matches!(
            seen_before(&svc, &mut w),
            Step::Done(End::Superseded { .. })
        ));
        // A deployment back to the fallback while ours is still listed (not
        // FAILED) is someone else's deploy, not the circuit breaker.
        let svc = service(vec![
            in_progress("ecs-svc/other", PRIMARY, "svc:6"),
            in_progress("ecs-svc/new", "ACTIVE", "svc:7"),
        ]);
        assert!(matches!(
            seen_before(&svc, &mut watch()),
            Step::Done(End::Superseded { .. })
        ));
    }

    #[test]
    fn a_forced_redeploy_of_the_same_revision_is_followed_instead() {
        let svc = service(vec![
            in_progress("ecs-svc/forced", PRIMARY, "svc:7"),
            in_progress("ecs-svc/new", "ACTIVE", "svc:7"),
        ]);
        let mut w = watch();
        assert!(matches!(seen_before(&svc, &mut w), Step::Waiting { .. }));
        assert_eq!(w.deployment_id, "ecs-svc/forced");
    }

    #[test]
    fn without_a_rollout_state_completion_is_read_from_the_counts() {
        let mut d = in_progress("ecs-svc/new", PRIMARY, "svc:7");
        d.rollout_state = None;
        d.running_count = 1;
        assert!(matches!(
            seen_before(&service(vec![d.clone()]), &mut watch()),
            Step::Waiting { .. }
        ));
        d.running_count = 2;
        assert!(matches!(
            seen_before(&service(vec![d]), &mut watch()),
            Step::Done(End::Completed)
        ));
    }
}
