//! The ECS target: the app's CloudWatch log group (`/ecs/<app>`), read with
//! FilterLogEvents. The task definition's awslogs driver names each stream
//! `ecs/<container>/<task ID>`, which is how `--task` picks one task's
//! stream.

use anyhow::Context;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError;

use super::{sort, LogEvent, Query};
use crate::apps::ResolvedApp;
use crate::cli::GlobalArgs;
use crate::exit::Failure;

/// The stream prefix the task definitions give the awslogs driver.
pub const STREAM_PREFIX: &str = "ecs";

/// Most pages one fetch reads, so that a stuck token cannot loop forever.
const MAX_PAGES: usize = 1000;

pub struct CloudWatchLogs {
    logs: aws_sdk_cloudwatchlogs::Client,
}

impl CloudWatchLogs {
    pub async fn new(global: &GlobalArgs) -> Self {
        let config = crate::aws::load(global).await;
        CloudWatchLogs {
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
        }
    }

    /// Every event of the query, oldest first.
    pub async fn fetch(
        &self,
        target: &ResolvedApp,
        query: &Query,
    ) -> anyhow::Result<Vec<LogEvent>> {
        let group = target.config.log_group();
        // One task is one stream, named exactly: LogStreamNames rather
        // than a prefix, so that task `ab` never matches task `abc`.
        let streams = query
            .task
            .as_deref()
            .map(|task| vec![stream_name(target.config.container_name(), task)]);
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .logs
                .filter_log_events()
                .log_group_name(&group)
                .start_time(query.start_ms)
                .set_log_stream_names(streams.clone())
                .set_filter_pattern(query.filter.clone())
                .set_next_token(token.clone())
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                Err(err) => {
                    if let Some(FilterLogEventsError::ResourceNotFoundException(_)) =
                        err.as_service_error()
                    {
                        return Err(Failure::bad_input(format!(
                            "log group {group} does not exist: is infra/ applied, and is this the right region and account?"
                        ))
                        .into());
                    }
                    return Err(err).with_context(|| format!("cannot read log group {group}"));
                }
            };
            for event in out.events() {
                events.push(LogEvent {
                    timestamp_ms: event.timestamp().unwrap_or_default(),
                    source: event.log_stream_name().unwrap_or_default().to_owned(),
                    message: event.message().unwrap_or_default().to_owned(),
                });
            }
            match out.next_token() {
                Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                    token = Some(next.to_owned());
                }
                _ => break,
            }
        }
        sort(&mut events);
        Ok(events)
    }
}

/// The stream of one task: `ecs/<container>/<task ID>`; an ARN
/// (`arn:...:task/<cluster>/<ID>`) gives its last part.
pub fn stream_name(container: &str, task: &str) -> String {
    let id = task.rsplit('/').next().unwrap_or(task);
    format!("{STREAM_PREFIX}/{container}/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_picked_by_id_or_arn() {
        assert_eq!(stream_name("service-a", "0f1e2d"), "ecs/service-a/0f1e2d");
        assert_eq!(
            stream_name(
                "service-a",
                "arn:aws:ecs:eu-west-1:123456789012:task/C/0f1e2d"
            ),
            "ecs/service-a/0f1e2d"
        );
    }
}
