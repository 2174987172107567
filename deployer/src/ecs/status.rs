//! `deployer status`: what each app's service runs and how its rollouts
//! and targets are doing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aws_sdk_ecs::types::{Deployment, Service};
use serde::Serialize;

use super::api::EcsApi;
use super::history::History;
use super::preflight;
use super::revision;
use super::rollout;
use crate::apps::ResolvedApp;

/// One app's status.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub cluster: String,
    pub service: String,
    /// The revision of the PRIMARY deployment.
    pub revision: Option<String>,
    /// The app container's image in that revision.
    pub image: Option<String>,
    pub running: i32,
    pub desired: i32,
    pub pending: i32,
    pub deployments: Vec<DeploymentStatus>,
    /// Where `deployer rollback` would go, newest first.
    pub rollback_history: Vec<String>,
    /// One entry per target group of the service's load balancers.
    pub target_groups: Vec<TargetGroupHealth>,
}

/// `status`'s details in the result: the status, and the app's alarms or
/// why they could not be read (alarms that cannot be read leave the rest of
/// the status standing).
#[derive(Debug, Clone, Serialize)]
pub struct StatusDetails {
    #[serde(flatten)]
    pub status: Status,
    #[serde(serialize_with = "crate::alarms::serialize")]
    pub alarms: Result<Vec<crate::alarms::AlarmState>, String>,
}

impl StatusDetails {
    /// The full text, for people.
    pub fn text(&self, app: &str) -> String {
        self.status.text(app) + &crate::alarms::text(&self.alarms)
    }
}

/// One deployment.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentStatus {
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    pub status: String,
    pub revision: String,
    /// IN_PROGRESS, COMPLETED or FAILED (absent without a circuit breaker
    /// behind a Classic Load Balancer).
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    pub running: i32,
    pub desired: i32,
    pub pending: i32,
    pub failed_tasks: i32,
}

/// The targets of one target group.
#[derive(Debug, Clone, Serialize)]
pub struct TargetGroupHealth {
    pub target_group_arn: String,
    /// Targets per state (`healthy`, `unhealthy`, `draining`...).
    pub states: BTreeMap<String, usize>,
    /// Why targets are not healthy, one line per target.
    pub problems: Vec<String>,
}

fn deployment_status(d: &Deployment) -> DeploymentStatus {
    DeploymentStatus {
        id: d.id().unwrap_or_default().to_owned(),
        status: d.status().unwrap_or_default().to_owned(),
        revision: revision::name(d.task_definition().unwrap_or_default()),
        rollout_state: d.rollout_state().map(|s| s.as_str().to_owned()),
        rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
        running: d.running_count(),
        desired: d.desired_count(),
        pending: d.pending_count(),
        failed_tasks: d.failed_tasks(),
    }
}

/// Reads one app's status.
pub(crate) async fn status(ecs: &impl EcsApi, target: &ResolvedApp) -> anyhow::Result<Status> {
    let service: Service = preflight::service(ecs, target).await?;
    let revision = rollout::primary(&service)
        .and_then(|d| d.task_definition())
        .or(service.task_definition())
        .map(str::to_owned);
    let image = match &revision {
        Some(rev) => ecs.task_definition(rev).await?.and_then(|(td, _)| {
            td.container_definitions()
                .iter()
                .find(|c| c.name() == Some(target.config.container_name()))
                .and_then(|c| c.image().map(str::to_owned))
        }),
        None => None,
    };
    let mut target_groups = Vec::new();
    for lb in service.load_balancers() {
        let Some(arn) = lb.target_group_arn() else {
            continue;
        };
        let mut states = BTreeMap::new();
        let mut problems = Vec::new();
        for t in ecs.target_health(arn).await? {
            let health = t.target_health();
            let state = health
                .and_then(|h| h.state())
                .map_or("unknown", |s| s.as_str())
                .to_owned();
            if state != "healthy" {
                let id = t
                    .target()
                    .map(|t| format!("{}:{}", t.id().unwrap_or("?"), t.port().unwrap_or_default()))
                    .unwrap_or_default();
                let why = health
                    .and_then(|h| h.description().or(h.reason().map(|r| r.as_str())))
                    .unwrap_or("no reason given");
                problems.push(format!("{id} {state}: {why}"));
            }
            *states.entry(state).or_insert(0) += 1;
        }
        target_groups.push(TargetGroupHealth {
            target_group_arn: arn.to_owned(),
            states,
            problems,
        });
    }
    Ok(Status {
        cluster: target.cluster.clone(),
        service: target.service.clone(),
        revision: revision.as_deref().map(revision::name),
        image,
        running: service.running_count(),
        desired: service.desired_count(),
        pending: service.pending_count(),
        deployments: service
            .deployments()
            .iter()
            .map(deployment_status)
            .collect(),
        rollback_history: History::of(&service).entries().to_vec(),
        target_groups,
    })
}

impl Status {
    /// The one-line summary.
    pub fn headline(&self) -> String {
        let state = self
            .deployments
            .iter()
            .find(|d| d.status == rollout::PRIMARY)
            .and_then(|d| d.rollout_state.clone())
            .unwrap_or_else(|| "no rollout state".to_owned());
        format!(
            "{} {}/{} running, {}",
            self.revision.as_deref().unwrap_or("no revision"),
            self.running,
            self.desired,
            state
        )
    }

    /// The full text, for people.
    pub fn text(&self, app: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{app}  (service {} in cluster {})",
            self.service, self.cluster
        );
        let _ = writeln!(
            out,
            "  revision   {}",
            self.revision.as_deref().unwrap_or("-")
        );
        let _ = writeln!(out, "  image      {}", self.image.as_deref().unwrap_or("-"));
        let _ = writeln!(
            out,
            "  tasks      {}/{} running, {} pending",
            self.running, self.desired, self.pending
        );
        for d in &self.deployments {
            let _ = writeln!(
                out,
                "  deployment {} {} {} {}/{} running, {} failed, {}{}",
                d.id,
                d.status,
                d.revision,
                d.running,
                d.desired,
                d.failed_tasks,
                d.rollout_state.as_deref().unwrap_or("-"),
                d.rollout_state_reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
        }
        let history = if self.rollback_history.is_empty() {
            "none recorded".to_owned()
        } else {
            self.rollback_history.join(", ")
        };
        let _ = writeln!(out, "  rollback   {history}");
        for tg in &self.target_groups {
            let states: Vec<String> = tg.states.iter().map(|(s, n)| format!("{n} {s}")).collect();
            let name = tg
                .target_group_arn
                .rsplit(':')
                .next()
                .unwrap_or(&tg.target_group_arn);
            let _ = writeln!(
                out,
                "  targets    {name}: {}",
                if states.is_empty() {
                    "none".to_owned()
                } else {
                    states.join(", ")
                }
            );
            for p in &tg.problems {
                let _ = writeln!(out, "             {p}");
            }
        }
        out
    }
}
