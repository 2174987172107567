//! The local target: the fleet's containers of the app (`docker logs` with
//! timestamps), merged in time order. `--task` picks one container by name
//! or ID prefix; `--filter` keeps the lines that contain every one of its
//! terms (the plain-terms part of a CloudWatch filter pattern).

use anyhow::Context;
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use super::{sort, LogEvent, Query};
use crate::apps::ResolvedApp;
use crate::exit::Failure;
use crate::local::fleet::{self, Fleet};

pub struct LocalLogs {
    docker: Docker,
    fleet: Fleet,
}

impl LocalLogs {
    pub async fn connect() -> anyhow::Result<Self> {
        let fleet = fleet::from_env()?;
        let docker = crate::docker::connect().await?;
        Ok(LocalLogs { docker, fleet })
    }

    pub fn describe(&self) -> String {
        format!("the local fleet at {}", self.fleet.label())
    }

    /// Every line of the app's containers since the query's start, oldest
    /// first.
    pub async fn fetch(
        &self,
        target: &ResolvedApp,
        query: &Query,
    ) -> anyhow::Result<Vec<LogEvent>> {
        let containers: Vec<_> = fleet::list(&self.docker, &self.fleet)
            .await?
            .into_iter()
            .filter(|c| c.app == target.name())
            .collect();
        let picked: Vec<_> =
            match &query.task {
                None => containers,
                Some(task) => {
                    let picked: Vec<_> = containers
                        .iter()
                        .filter(|c| &c.name == task || c.id.starts_with(task.as_str()))
                        .cloned()
                        .collect();
                    if picked.is_empty() {
                        let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
                        return Err(Failure::bad_input(format!(
                        "--task {task}: no container of {} in {} has that name or ID (it has: {})",
                        target.name(),
                        self.describe(),
                        if names.is_empty() { "none".to_owned() } else { names.join(", ") }
                    ))
                        .into());
                    }
                    picked
                }
            };
        let terms: Vec<String> = query
            .filter
            .as_deref()
            .map(|f| {
                f.split_whitespace()
                    .map(|t| t.trim_matches('"').to_owned())
                    .collect()
            })
            .unwrap_or_default();
        // Docker's `since` is in whole seconds; the finer cut is made here.
        let since = i32::try_from(query.start_ms.div_euclid(1000)).unwrap_or(0);
        let mut events = Vec::new();
        for container in picked {
            let options = LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .timestamps(true)
                .since(since)
                .build();
            let mut stream = std::pin::pin!(self.docker.logs(&container.id, Some(options)));
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                let chunk =
                    chunk.with_context(|| format!("cannot read the logs of {}", container.name))?;
                match chunk {
                    LogOutput::StdOut { message }
                    | LogOutput::StdErr { message }
                    | LogOutput::Console { message } => {
                        text.push_str(&String::from_utf8_lossy(&message));
                    }
                    LogOutput::StdIn { .. } => {}
                }
            }
            for line in text.lines() {
                let Some((stamp, message)) = line.split_once(' ') else {
                    continue;
                };
                let Ok(time) = humantime::parse_rfc3339(stamp) else {
                    continue;
                };
                let timestamp_ms = time
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                    .unwrap_or(0);
                if timestamp_ms < query.start_ms
                    || !terms.iter().all(|t| message.contains(t.as_str()))
                {
                    continue;
                }
                events.push(LogEvent {
                    timestamp_ms,
                    source: container.name.clone(),
                    message: message.to_owned(),
                });
            }
        }
        sort(&mut events);
        Ok(events)
    }
}
