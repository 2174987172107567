//! The fleet as a person reads it: per app, the revision and version that
//! run, running against desired and how many targets are healthy, then one
//! row per target. `deployer up` redraws it live; `deployer status --target
//! local` prints it once.

use std::collections::BTreeSet;

use app_config::AppConfig;
use comfy_table::{presets, Table};
use local_gateway::api::{TargetState, TargetStatus};

/// One app's counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSummary {
    /// The app.
    pub app: String,
    /// `replicas.desired` from the JSON.
    pub desired: u32,
    /// Containers whose process runs.
    pub running: usize,
    /// Targets that get traffic.
    pub healthy: usize,
    /// The (revision, version) pairs present, oldest first.
    pub revisions: Vec<(u32, String)>,
}

impl AppSummary {
    /// `service-b: revision 2 (v2), 2/2 running, 2 healthy`.
    pub fn line(&self) -> String {
        let revisions = if self.revisions.is_empty() {
            "no containers".to_owned()
        } else {
            let list: Vec<String> = self
                .revisions
                .iter()
                .map(|(rev, version)| format!("{rev} ({version})"))
                .collect();
            let word = if list.len() == 1 {
                "revision"
            } else {
                "revisions"
            };
            format!("{word} {}", list.join(", "))
        };
        format!(
            "{}: {revisions}, {}/{} running, {} healthy",
            self.app, self.running, self.desired, self.healthy
        )
    }

    /// Whether every desired target runs and is healthy.
    pub fn is_steady(&self) -> bool {
        self.running == self.desired as usize && self.healthy == self.desired as usize
    }
}

/// Per-app counts of `targets`, one per app in `apps`, in their order.
pub fn summarise(apps: &[AppConfig], targets: &[TargetStatus]) -> Vec<AppSummary> {
    apps.iter()
        .map(|app| {
            let mine: Vec<&TargetStatus> = targets.iter().filter(|t| t.app == app.app).collect();
            let revisions: BTreeSet<(u32, String)> = mine
                .iter()
                .map(|t| (t.revision, t.version.clone()))
                .collect();
            AppSummary {
                app: app.app.clone(),
                desired: app.replicas.desired,
                running: mine
                    .iter()
                    .filter(|t| t.container_state == "running")
                    .count(),
                healthy: mine
                    .iter()
                    .filter(|t| t.state == TargetState::Healthy)
                    .count(),
                revisions: revisions.into_iter().collect(),
            }
        })
        .collect()
}

/// The whole table: the app lines, then the target rows.
pub fn render(apps: &[AppConfig], targets: &[TargetStatus]) -> String {
    render_summaries(&summarise(apps, targets), targets)
}

/// The table from counts made earlier.
pub fn render_summaries(summaries: &[AppSummary], targets: &[TargetStatus]) -> String {
    let mut out = String::new();
    for summary in summaries {
        out.push_str(&summary.line());
        out.push('\n');
    }
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_header(vec![
        "APP",
        "REV",
        "VERSION",
        "TARGET",
        "CONTAINER",
        "STATE",
        "HEALTH",
        "DETAIL",
    ]);
    for t in targets {
        table.add_row(vec![
            t.app.clone(),
            t.revision.to_string(),
            t.version.clone(),
            t.address.to_string(),
            t.name.clone(),
            t.container_state.clone(),
            t.state.as_str().to_owned(),
            t.reason.clone().unwrap_or_default(),
        ]);
    }
    // Two spaces between columns, none at the edges.
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    for line in table.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::testing::shipped;

    fn target(name: &str, rev: u32, state: TargetState, container_state: &str) -> TargetStatus {
        TargetStatus {
            id: name.into(),
            name: name.into(),
            app: "service-b".into(),
            address: "127.0.0.1:4100".parse().expect("addr"),
            version: format!("v{rev}"),
            revision: rev,
            container_state: container_state.into(),
            state,
            reason: (state != TargetState::Healthy).then(|| "refused".to_owned()),
            in_flight: 0,
        }
    }

    fn apps() -> Vec<AppConfig> {
        vec![shipped("service-a"), shipped("service-b")]
    }

    #[test]
    fn counts_follow_the_targets() {
        let targets = vec![
            target("b1", 1, TargetState::Draining, "running"),
            target("b2", 2, TargetState::Healthy, "running"),
            target("b3", 2, TargetState::Unhealthy, "exited"),
        ];
        let summaries = summarise(&apps(), &targets);
        assert_eq!(
            summaries[0].line(),
            "service-a: no containers, 0/2 running, 0 healthy"
        );
        assert_eq!(
            summaries[1].line(),
            "service-b: revisions 1 (v1), 2 (v2), 2/2 running, 1 healthy"
        );
        assert!(!summaries[1].is_steady());
    }

    #[test]
    fn the_table_lines_up_its_columns() {
        let targets = vec![
            target("service-b-8080-r1-1", 1, TargetState::Healthy, "running"),
            target("b2", 1, TargetState::Unhealthy, "exited"),
        ];
        let table = render(&apps(), &targets);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5, "{table}");
        assert!(
            lines[2].starts_with("APP        REV  VERSION  TARGET"),
            "{table}"
        );
        let health_column = lines[2].find("HEALTH").expect("header");
        assert_eq!(&lines[3][health_column..health_column + 7], "healthy");
        assert!(lines[4].ends_with("unhealthy  refused"), "{table}");
    }
}
