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
use super::TARGET;
use crate::cli::{GlobalArgs, Output, StatusArgs};
use crate::report::{AppReport, Outcome, Report};

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
    if global.output == Output::Text {
        println!("{gateway_note}");
        print!("{}", table::render(&configs, &statuses));
    }

    let others = if containers.is_empty() {
        fleet::other_fleets(&docker, &fleet).await?
    } else {
        Vec::new()
    };
    let reports = table::summarise(&configs, &statuses)
        .into_iter()
        .map(|summary| {
            let mut report = AppReport::new(&summary.app, TARGET, Outcome::Completed);
            let details = details(&configs, &summary, &containers, &statuses, &fleet);
            report.image = details.image.clone();
            report.details = serde_json::to_value(&details).ok();
            if summary.revisions.is_empty() {
                report.with_outcome(
                    Outcome::PreflightFailed,
                    format!(
                        "{} does not run in the local fleet at {}: start it with `deployer up`{}",
                        summary.app,
                        fleet.label(),
                        fleet::other_fleets_hint(&others)
                    ),
                )
            } else {
                report.with_outcome(
                    Outcome::Completed,
                    format!("{}; {gateway_note}", summary.line()),
                )
            }
        })
        .collect();
    Ok(Report::new("status", reports, started.elapsed()))
}

/// One app's status in the JSON result, with the fields `deployer status`
/// reports on ECS where the two mean the same thing.
#[derive(Debug, Serialize)]
struct AppStatus {
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
}

/// The targets of the app's target group, counted as on ECS.
#[derive(Debug, Serialize)]
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
    }
}
