//! `deployer status --target local`: what ECS and the ALB would say about
//! the fleet. Revisions and counts come from the engine, target health from
//! the gateway; when the gateway does not answer, health is `unknown` and
//! the report says why.

use std::time::Instant;

use super::admin::AdminClient;
use super::fleet;
use super::table;
use super::targets::TargetStatus;
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
    let configs: Vec<config::AppConfig> = targets.iter().map(|t| t.config.clone()).collect();
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
            (reason, statuses)
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
            report.image = containers
                .iter()
                .filter(|c| c.app == summary.app)
                .max_by_key(|c| c.revision)
                .map(|c| c.image.clone());
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
