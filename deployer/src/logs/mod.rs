//! `deployer logs <app>`: an app's log events, oldest first and newest
//! last, from CloudWatch Logs (the ECS target) or from the local fleet's
//! containers (`--target local`), in one format.
//!
//! * `--output json` passes each line through as the app wrote it (the
//!   apps log one JSON object a line); a line that is not JSON is wrapped
//!   in `{"timestamp", "source", "message"}`.
//! * text mode renders a JSON line as `time level source message key=value`.
//! * `--follow` polls for new events until interrupted.

mod cloudwatch;
mod local;
pub mod render;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::apps::{self, ResolvedApp};
use crate::cli::{GlobalArgs, LogsArgs, Output, Platform};
use crate::exit::Failure;
use crate::report::{AppReport, Outcome, Report};

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// When it was written, in milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// Where it came from: the log stream (`ecs/<container>/<task>`) or the
    /// local container's name.
    pub source: String,
    /// The line itself.
    pub message: String,
}

/// What to read.
#[derive(Debug, Clone)]
pub struct Query {
    /// Only events at or after this time (ms since the epoch).
    pub start_ms: i64,
    /// CloudWatch filter pattern.
    pub filter: Option<String>,
    /// One task (ECS task ID or ARN) or local container.
    pub task: Option<String>,
}

/// Runs `deployer logs`.
pub async fn logs(
    global: &GlobalArgs,
    args: &LogsArgs,
    started: Instant,
) -> anyhow::Result<Report> {
    let target = apps::resolve(global, std::slice::from_ref(&args.app), DEFAULT_ENVIRONMENT)?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::bad_input(format!("no app `{}`", args.app)))?;
    let since = humantime::parse_duration(&args.since).map_err(|err| {
        Failure::bad_input(format!(
            "--since {}: {err} (a duration such as 30s, 15m or 2h)",
            args.since
        ))
    })?;
    let poll = humantime::parse_duration(&args.poll_interval).map_err(|err| {
        Failure::bad_input(format!(
            "--poll-interval {}: {err} (a duration such as 2s)",
            args.poll_interval
        ))
    })?;
    if poll.is_zero() {
        return Err(Failure::bad_input("--poll-interval: must be above 0").into());
    }
    let mut query = Query {
        start_ms: now_ms().saturating_sub(i64::try_from(since.as_millis()).unwrap_or(i64::MAX)),
        filter: args.filter.clone().filter(|f| !f.trim().is_empty()),
        task: args.task.clone().filter(|t| !t.trim().is_empty()),
    };
    let source = Source::open(global).await?;
    let mut printer = Printer::new(global.output);
    // `--follow` ends on SIGINT or SIGTERM, with its result.
    let mut signals = service_core::shutdown::Signals::register()
        .map_err(|err| anyhow::anyhow!("cannot catch SIGINT and SIGTERM: {err}"))?;
    loop {
        let events = source.fetch(&target, &query).await?;
        for event in &events {
            printer.print(event);
        }
        if !args.follow {
            break;
        }
        if let Some(last) = printer.last_ms {
            query.start_ms = last;
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = signals.recv() => break,
        }
    }
    let mut report = AppReport::new(target.name(), global.target.name());
    report.end(
        Outcome::Completed,
        format!(
            "{} log events from {}",
            printer.printed,
            source.describe(&target)
        ),
    );
    report.cluster = target.cluster.clone();
    report.service = target.service.clone();
    report.duration_seconds = started.elapsed().as_secs_f64();
    Ok(Report::new("logs", vec![report], started.elapsed()))
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

enum Source {
    Aws(cloudwatch::CloudWatchLogs),
    Local(local::LocalLogs),
}

impl Source {
    async fn open(global: &GlobalArgs) -> anyhow::Result<Self> {
        Ok(match global.target {
            Platform::Aws => Source::Aws(cloudwatch::CloudWatchLogs::new(global).await),
            Platform::Local => Source::Local(local::LocalLogs::connect().await?),
        })
    }

    async fn fetch(&self, target: &ResolvedApp, query: &Query) -> anyhow::Result<Vec<LogEvent>> {
        match self {
            Source::Aws(logs) => logs.fetch(target, query).await,
            Source::Local(logs) => logs.fetch(target, query).await,
        }
    }

    fn describe(&self, target: &ResolvedApp) -> String {
        match self {
            Source::Aws(_) => format!("log group {}", target.config.log_group()),
            Source::Local(logs) => logs.describe(),
        }
    }
}

/// Prints events once each, in order: a poll that overlaps the last one
/// (CloudWatch's start time is inclusive) repeats no line.
struct Printer {
    output: Output,
    last_ms: Option<i64>,
    /// The lines already printed at `last_ms`.
    at_last: Vec<(String, String)>,
    printed: usize,
}

impl Printer {
    fn new(output: Output) -> Self {
        Printer {
            output,
            last_ms: None,
            at_last: Vec::new(),
            printed: 0,
        }
    }

    fn print(&mut self, event: &LogEvent) {
        let key = (event.source.clone(), event.message.clone());
        match self.last_ms {
            Some(last) if event.timestamp_ms < last => return,
            Some(last) if event.timestamp_ms == last => {
                if self.at_last.contains(&key) {
                    return;
                }
                self.at_last.push(key);
            }
            _ => {
                self.last_ms = Some(event.timestamp_ms);
                self.at_last = vec![key];
            }
        }
        let line = match self.output {
            Output::Json => render::json_line(event),
            Output::Text => render::text_line(event),
        };
        println!("{line}");
        self.printed += 1;
    }
}

/// Sorts events oldest first; equal times keep their source's order.
pub fn sort(events: &mut [LogEvent]) {
    events.sort_by_key(|e| e.timestamp_ms);
}

/// The environment an app is resolved with; logs do not depend on it.
const DEFAULT_ENVIRONMENT: &str = "production";
