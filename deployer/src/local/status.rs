//! `deployer status --target local`: what ECS and the ALB would say about
//! the fleet. Revisions and counts come from the engine, target health from
//! the gateway; when the gateway does not answer, health is `unknown` and
//! the report says why.

use std::collections::BTreeMap;
use std::time::Instant;

use local_gateway::api::{TargetState, TargetStatus};
use local_gateway::client::AdminClient;
use serde::Serialize;

use super::fleet;
use super::table;

use crate::cli::{GlobalArgs, StatusArgs};
use crate::report::{Details, Outcome, Report};

/// `deployer status --target local`.
pub async fn status(
    global: &GlobalArgs,
    args: &StatusArgs,
    started: Instant,
) -> anyhow::Result<Report> {
    let (targets, fleet, docker) = super::open(global, &args.apps).await?;
    let configs: Vec<app_config::AppConfig> = targets.iter().map(|t| t.config.clone()).collect();
    let containers: Vec<fleet::FleetContainer> = fleet::list(&docker, &fleet)
        .await?
        .into_iter()
        .filter(|c| configs.iter().any(|app| app.app == c.app))
        .collect();

    let (gateway_note, statuses) = match AdminClient::new(fleet).view().await {
        Ok(view) => {
            let statuses: Vec<TargetStatus> = containers
                .iter()
                .map(|c| match view.targets.iter().find(|t| t.id == c.id) {
                    Some(status) => status.clone(),
                    None => TargetStatus::unknown(c, "not registered by the gateway"),
                })
                .collect();
            (format!("gateway on http://{}", fleet.gateway()), statuses)
        }
        Err(reason) => {
            let statuses = containers
                .iter()
                .map(|c| TargetStatus::unknown(c, "the gateway does not answer"))
                .collect();
            (reason.to_string(), statuses)
        }
    };
    let others = if containers.is_empty() {
        fleet::other_fleets(&docker, &fleet).await?
    } else {
        Vec::new()
    };
    let reports = table::summarise(&configs, &statuses)
        .into_iter()
        .map(|summary| {
            let mut report = super::report(&summary.app);
            let details = details(
                &configs,
                &summary,
                &containers,
                &statuses,
                &fleet,
                &gateway_note,
            );
            report.image = details.image.clone();
            let (outcome, message) = if summary.revisions.is_empty() {
                (
                    Outcome::PreflightFailed,
                    format!(
                        "{} does not run in the local fleet at {}: start it with `deployer up`{}",
                        summary.app,
                        fleet.label(),
                        fleet::other_fleets_hint(&others)
                    ),
                )
            } else {
                (
                    Outcome::Completed,
                    format!("{}; {gateway_note}", summary.line()),
                )
            };
            report.end(outcome, message);
            report.details = Some(Details::LocalStatus(details));
            report
        })
        .collect();
    Ok(Report::new("status", reports, started.elapsed()))
}

/// One app's status in the JSON result, with the fields `deployer status`
/// reports on ECS where the two mean the same thing.
#[derive(Debug, Clone, Serialize)]
pub struct AppStatus {
    /// The fleet (its gateway's address), where ECS names the cluster.
    fleet: String,
    /// The newest revision, as `family:revision`.
    revision: Option<String>,
    /// That revision's image.
    image: Option<String>,
    running: usize,
    desired: u32,
    /// One entry: the app's target group on the gateway.
    target_groups: Vec<TargetGroupHealth>,
    /// Every target.
    targets: Vec<TargetStatus>,
    /// The app's counts, for the table.
    #[serde(skip)]
    summary: table::AppSummary,
    /// Where the gateway is, or why it does not answer.
    #[serde(skip)]
    gateway_note: String,
}

/// The apps' statuses as a person reads them: the gateway, then the table.
pub fn text(apps: &[&AppStatus]) -> String {
    let gateway = apps
        .first()
        .map(|a| a.gateway_note.as_str())
        .unwrap_or_default();
    let summaries: Vec<table::AppSummary> = apps.iter().map(|a| a.summary.clone()).collect();
    let targets: Vec<TargetStatus> = apps
        .iter()
        .flat_map(|a| a.targets.iter().cloned())
        .collect();
    format!(
        "{gateway}\n{}",
        table::render_summaries(&summaries, &targets)
    )
}

/// The targets of the app's target group, counted as on ECS.
#[derive(Debug, Clone, Serialize)]
struct TargetGroupHealth {
    /// Targets per state (`healthy`, `unhealthy`, `draining`...).
    states: BTreeMap<String, usize>,
    /// Why targets are not healthy, one line per target.
    problems: Vec<String>,
}

fn details(
    configs: &[app_config::AppConfig],
    summary: &table::AppSummary,
    containers: &[fleet::FleetContainer],
    statuses: &[TargetStatus],
    fleet: &fleet::Fleet,
    gateway_note: &str,
) -> AppStatus {
    let newest = containers
        .iter()
        .filter(|c| c.app == summary.app)
        .max_by_key(|c| c.revision);
    let family = configs
        .iter()
        .find(|c| c.app == summary.app)
        .map_or(summary.app.as_str(), |c| c.family());
    let targets: Vec<TargetStatus> = statuses
        .iter()
        .filter(|t| t.app == summary.app)
        .cloned()
        .collect();
    let mut states = BTreeMap::new();
    let mut problems = Vec::new();
    for t in &targets {
        *states.entry(t.state.as_str().to_owned()).or_insert(0) += 1;
        if t.state != TargetState::Healthy {
            problems.push(format!(
                "{} {}: {}",
                t.address,
                t.state.as_str(),
                t.reason.as_deref().unwrap_or("no reason given")
            ));
        }
    }
    AppStatus {
        fleet: fleet.label(),
        revision: newest.map(|c| format!("{family}:{}", c.revision)),
        image: newest.map(|c| c.image.clone()),
        running: summary.running,
        desired: summary.desired,
        target_groups: vec![TargetGroupHealth { states, problems }],
        targets,
        summary: summary.clone(),
        gateway_note: gateway_note.to_owned(),
    }
}
