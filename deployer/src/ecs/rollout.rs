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

use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState, Service, Task};
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
    /// ECS gave up on the rollout (the circuit breaker), with its reason.
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
}

/// The deployment to follow.
#[derive(Debug, Clone)]
pub(crate) struct Watch<'a> {
    pub cluster: &'a str,
    pub service: &'a str,
    /// The deployment's id (`ecs-svc/...`).
    pub deployment_id: String,
    /// When ECS created it: service events from then on are shown.
    pub since: Option<DateTime>,
    /// The revision it rolls out.
    pub revision: String,
    /// The revision ECS's circuit breaker would roll back to. A deployment
    /// back to it replacing ours means ours failed.
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
    Waiting { deployment: Box<Deployment> },
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
        // when they stopped between two polls. A failure here must not hide
        // the outcome.
        if let Err(err) = stopped_tasks(ecs, &watch, progress, &mut seen).await {
            tracing::warn!("cannot list the stopped tasks: {err:#}");
        }
    }
    Ok(Followed {
        end,
        stopped: seen.stopped,
    })
}

async fn poll_until_done(
    ecs: &impl EcsApi,
    watch: &mut Watch<'_>,
    progress: &Progress,
    seen: &mut Seen,
    last_state: &mut String,
) -> anyhow::Result<End> {
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
        match assess(&service, watch) {
            Step::Done(end) => return Ok(end),
            Step::Waiting { deployment } => {
                let failed = deployment.failed_tasks();
                if failed > seen.failed_tasks {
                    seen.failed_tasks = failed;
                    stopped_tasks(ecs, watch, progress, seen).await?;
                }
                *last_state = describe(&deployment);
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

/// Where the deployment stands, from one DescribeServices answer.
fn assess(service: &Service, watch: &mut Watch<'_>) -> Step {
    let deployments = service.deployments();
    let ours = deployments
        .iter()
        .find(|d| d.id() == Some(watch.deployment_id.as_str()));
    if let Some(d) = ours {
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
                Step::Waiting {
                    deployment: Box::new(d.clone()),
                }
            };
        }
    }
    // Ours is no longer the PRIMARY deployment, or gone.
    let Some(primary) = primary(service) else {
        return match ours {
            Some(d) => Step::Waiting {
                deployment: Box::new(d.clone()),
            },
            None => Step::Done(End::Failed {
                reason: format!(
                    "deployment {} disappeared and no other took its place",
                    watch.deployment_id
                ),
            }),
        };
    };
    let primary_revision = primary.task_definition().unwrap_or_default();
    if revision::same(primary_revision, &watch.revision) {
        // A new deployment of the same revision (a forced redeploy):
        // follow that one instead.
        watch.deployment_id = primary.id().unwrap_or_default().to_owned();
        return Step::Waiting {
            deployment: Box::new(primary.clone()),
        };
    }
    let rolled_back = ours.is_none()
        && watch
            .fallback
            .as_deref()
            .is_some_and(|f| revision::same(primary_revision, f));
    if rolled_back {
        return Step::Done(End::Failed {
            reason: format!(
                "ECS replaced deployment {} with {} back on {} (circuit breaker rollback)",
                watch.deployment_id,
                primary.id().unwrap_or("?"),
                revision::name(primary_revision)
            ),
        });
    }
    Step::Done(End::Superseded {
        deployment: primary.id().unwrap_or("?").to_owned(),
        revision: revision::name(primary_revision),
    })
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

/// Shows why tasks of the revision stopped, each task once.
async fn stopped_tasks(
    ecs: &impl EcsApi,
    watch: &Watch<'_>,
    progress: &Progress,
    seen: &mut Seen,
) -> anyhow::Result<()> {
    let tasks = ecs
        .tasks(
            watch.cluster,
            TaskFilter::StoppedOf {
                service: watch.service,
            },
        )
        .await?;
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
    Ok(())
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

    #[test]
    fn a_vanished_deployment_replaced_by_one_back_on_the_fallback_failed() {
        let svc = service(vec![in_progress("ecs-svc/back", PRIMARY, "svc:6")]);
        match assess(&svc, &mut watch()) {
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
            assess(&svc, &mut w),
            Step::Done(End::Superseded { .. })
        ));
        // A deployment back to the fallback while ours is still listed (not
        // FAILED) is someone else's deploy, not the circuit breaker.
        let svc = service(vec![
            in_progress("ecs-svc/other", PRIMARY, "svc:6"),
            in_progress("ecs-svc/new", "ACTIVE", "svc:7"),
        ]);
        assert!(matches!(
            assess(&svc, &mut watch()),
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
        assert!(matches!(assess(&svc, &mut w), Step::Waiting { .. }));
        assert_eq!(w.deployment_id, "ecs-svc/forced");
    }

    #[test]
    fn without_a_rollout_state_completion_is_read_from_the_counts() {
        let mut d = in_progress("ecs-svc/new", PRIMARY, "svc:7");
        d.rollout_state = None;
        d.running_count = 1;
        assert!(matches!(
            assess(&service(vec![d.clone()]), &mut watch()),
            Step::Waiting { .. }
        ));
        d.running_count = 2;
        assert!(matches!(
            assess(&service(vec![d]), &mut watch()),
            Step::Done(End::Completed)
        ));
    }
}
