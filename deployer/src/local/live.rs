//! The live view of `deployer up`: the fleet table redrawn in place on a
//! terminal, and below the fold of it one line per target that registered,
//! changed health or left. Off a terminal (CI logs, tests) the same lines
//! and the per-app counts become log lines, written when they change.
//!
//! On a terminal this view is the only writer, so the table never gets
//! torn by log lines: the latest changes are drawn under the table, inside
//! the same redraw. The gateway's own per-target logs are at debug level.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use app_config::AppConfig;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use local_gateway::api::TargetStatus;
use local_gateway::targets::TargetGroups;

use super::table;

/// How often the view is refreshed.
const REFRESH: Duration = Duration::from_millis(500);

/// How many recent changes a terminal shows under the table.
const RECENT: usize = 8;

/// Where the view goes.
enum Sink {
    /// Redrawn in place, with the latest changes under the table.
    Terminal {
        bar: ProgressBar,
        recent: VecDeque<String>,
        since: Instant,
    },
    /// One log line per change.
    Log,
}

impl Sink {
    fn new() -> Self {
        if !std::io::stderr().is_terminal() {
            return Sink::Log;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{msg}") {
            bar.set_style(style);
        }
        Sink::Terminal {
            bar,
            recent: VecDeque::with_capacity(RECENT),
            since: Instant::now(),
        }
    }

    /// Records something that happened.
    fn event(&mut self, text: String) {
        match self {
            Sink::Terminal { recent, since, .. } => {
                if recent.len() == RECENT {
                    recent.pop_front();
                }
                recent.push_back(format!(
                    "{:>6}  {text}",
                    format!("+{}s", since.elapsed().as_secs())
                ));
            }
            Sink::Log => tracing::info!(target: "fleet", "{text}"),
        }
    }
}

/// Shows the fleet until `until` completes. `banner` heads the view.
pub async fn show_until(
    apps: &[AppConfig],
    registry: &TargetGroups,
    banner: &str,
    until: impl Future<Output = ()>,
) {
    let mut sink = Sink::new();
    if let Sink::Terminal { bar, .. } = &sink {
        bar.println(banner);
    } else {
        tracing::info!(target: "fleet", "{banner}");
    }
    let mut previous: BTreeMap<String, TargetStatus> = BTreeMap::new();
    let mut previous_counts: Vec<String> = Vec::new();
    let mut ready = false;
    let mut ticks = tokio::time::interval(REFRESH);
    tokio::pin!(until);
    loop {
        // When it is time to stop, the view is brought up to date once more,
        // so that no change goes unreported.
        let stopping = tokio::select! {
            () = &mut until => true,
            _ = ticks.tick() => false,
        };
        let targets = registry.snapshot(Instant::now());
        let current: BTreeMap<String, TargetStatus> =
            targets.iter().map(|t| (t.id.clone(), t.clone())).collect();
        for change in changes(&previous, &current) {
            sink.event(change);
        }
        previous = current;

        let summaries = table::summarise(apps, &targets);
        if !ready && summaries.iter().all(table::AppSummary::is_steady) {
            ready = true;
            sink.event("fleet ready: every desired target is healthy".to_owned());
        }
        let counts: Vec<String> = summaries.iter().map(table::AppSummary::line).collect();
        match &sink {
            Sink::Terminal { bar, recent, .. } => {
                let mut view = format!("\n{}", table::render(apps, &targets));
                if !recent.is_empty() {
                    view.push_str("\nrecent:\n");
                    for line in recent {
                        view.push_str(line);
                        view.push('\n');
                    }
                }
                bar.set_message(view);
            }
            Sink::Log if counts != previous_counts => {
                for line in &counts {
                    tracing::info!(target: "fleet", "{line}");
                }
            }
            Sink::Log => {}
        }
        previous_counts = counts;
        if stopping {
            break;
        }
    }
    if let Sink::Terminal { bar, .. } = &sink {
        bar.finish_and_clear();
    }
}

/// One line per target that appeared, changed state or left.
fn changes(
    before: &BTreeMap<String, TargetStatus>,
    after: &BTreeMap<String, TargetStatus>,
) -> Vec<String> {
    let describe = |t: &TargetStatus| format!("{} {} ({})", t.name, t.address, t.version);
    let mut lines = Vec::new();
    for (id, now) in after {
        match before.get(id) {
            None => lines.push(format!("{}: registered", describe(now))),
            Some(then) if then.state != now.state => {
                let reason = now
                    .reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                lines.push(format!(
                    "{}: {} -> {}{reason}",
                    describe(now),
                    then.state.as_str(),
                    now.state.as_str()
                ));
            }
            Some(_) => {}
        }
    }
    for (id, then) in before {
        if !after.contains_key(id) {
            lines.push(format!(
                "{}: deregistered (container removed)",
                describe(then)
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use local_gateway::api::TargetState;

    fn status(id: &str, state: TargetState) -> (String, TargetStatus) {
        (
            id.to_owned(),
            TargetStatus {
                id: id.into(),
                name: format!("b-{id}"),
                app: "service-b".into(),
                address: "127.0.0.1:4000".parse().expect("addr"),
                version: "v1".into(),
                revision: 1,
                container_state: "running".into(),
                state,
                reason: (state == TargetState::Unhealthy).then(|| "refused".to_owned()),
                in_flight: 0,
            },
        )
    }

    #[test]
    fn every_change_gets_one_line() {
        let before = BTreeMap::from([
            status("1", TargetState::Healthy),
            status("2", TargetState::Initial),
            status("3", TargetState::Healthy),
        ]);
        let after = BTreeMap::from([
            status("1", TargetState::Unhealthy),
            status("2", TargetState::Initial),
            status("4", TargetState::Initial),
        ]);
        assert_eq!(
            changes(&before, &after),
            vec![
                "b-1 127.0.0.1:4000 (v1): healthy -> unhealthy: refused",
                "b-4 127.0.0.1:4000 (v1): registered",
                "b-3 127.0.0.1:4000 (v1): deregistered (container removed)",
            ]
        );
    }
}
