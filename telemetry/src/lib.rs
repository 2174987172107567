//! Logging setup shared by the services and `deployer`.
//!
//! Production containers write one JSON object per line, which CloudWatch
//! Logs Insights can query field by field; a person at a terminal gets
//! readable text. `LOG_FORMAT` forces either, and `RUST_LOG` sets the filter.
//!
//! [`init`] writes each line to stderr from the thread that logs it, which
//! suits a command-line tool. A server logs one line per request, so
//! [`init_non_blocking`] gathers lines in a buffer that a writer thread
//! writes to stderr in batches ([`batch_writer`]): the request path only
//! formats its line and appends it. The buffer is lossless (a full buffer
//! makes the logging thread wait rather than drop a line), and the returned
//! [`LogGuard`] writes out everything gathered when it is dropped, so a
//! server that drops it after its drain keeps every line. Dropping the
//! guard waits for the writer thread for at most [`FLUSH_DEADLINE`].

use std::io::IsTerminal;

pub use app_config::LogFormat;
use tracing_subscriber::fmt::format::{Format, Json, JsonFields};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

mod access;
mod batch;
#[cfg(test)]
mod captured;
pub use access::{log_access, AccessLog, AccessRecord, ACCESS_LOG_TARGET};
pub use batch::{
    batch_writer, BatchGuard, BatchWriter, BUFFER_LIMIT_BYTES, FLUSH_DEADLINE, GATHER_FOR,
    WRITE_AT_BYTES,
};

/// The format `format` stands for here: `Auto` becomes text when stderr is
/// a terminal and JSON otherwise.
pub fn resolve(format: LogFormat) -> LogFormat {
    match format {
        LogFormat::Auto if std::io::stderr().is_terminal() => LogFormat::Text,
        LogFormat::Auto => LogFormat::Json,
        other => other,
    }
}

/// Installs the global subscriber, writing to stderr so that stdout stays
/// free for machine-readable output. `default_filter` applies when
/// `RUST_LOG` is unset or invalid. Calling it twice is harmless: the second
/// call keeps the first subscriber.
pub fn init(format: LogFormat, default_filter: &str) {
    install(format, default_filter, std::io::stderr);
}

/// Keeps the writer thread of [`init_non_blocking`] running; dropping it
/// writes out every line gathered so far and then returns (see
/// [`FLUSH_DEADLINE`]).
#[derive(Debug)]
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    _writer: Option<BatchGuard>,
}

/// As [`init`], but the lines gather in a buffer that a writer thread
/// writes to stderr in batches (see the crate documentation). Keep the
/// guard until the process has nothing more to log. Should the thread not
/// start, each line is written to stderr by the thread that logs it.
pub fn init_non_blocking(format: LogFormat, default_filter: &str) -> LogGuard {
    match batch_writer(std::io::stderr()) {
        Ok((writer, guard)) => {
            install(format, default_filter, writer);
            LogGuard {
                _writer: Some(guard),
            }
        }
        Err(error) => {
            init(format, default_filter);
            tracing::warn!(%error, "no log writer thread; writing each line from its own thread");
            LogGuard { _writer: None }
        }
    }
}

fn install<W>(format: LogFormat, default_filter: &str, writer: W)
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _already_set = match resolve(format) {
        LogFormat::Json => json_subscriber(filter, writer).try_init().is_err(),
        _ => fmt()
            .with_env_filter(filter)
            .with_writer(writer)
            .with_target(false)
            .compact()
            .try_init()
            .is_err(),
    };
}

/// The JSON log: access-log lines get their own, cheaper writer
/// ([`AccessLog`]); every other event the general formatter.
fn json_subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    tracing_subscriber::registry()
        .with(filter)
        .with(AccessLog::new(writer.clone()))
        .with(general_json(writer).with_filter(access::AllButAccess))
}

/// The general formatter of the JSON log: one object a line, with the
/// event's fields in it and no spans.
fn general_json<S, W>(writer: W) -> fmt::Layer<S, JsonFields, Format<Json>, W>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(writer)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::captured::Captured;

    #[test]
    fn the_json_log_writes_each_line_once_and_access_lines_by_their_own_writer() {
        let out = Captured::default();
        let subscriber = json_subscriber(EnvFilter::new("info"), out.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(answer = 42, "an event");
            log_access(&AccessRecord {
                method: "GET",
                path: "/from-record",
                status: 200,
                latency: Duration::from_micros(5),
                request_id: "id-1",
            });
            tracing::info!(target: ACCESS_LOG_TARGET, path = "/from-event", "request");
            tracing::debug!("filtered out");
        });
        let (text, lines) = (out.text(), out.lines());
        let field = |key: &str| lines.iter().map(|l| l[key].clone()).collect::<Vec<_>>();
        assert_eq!(
            field("message"),
            ["an event", "request", "request"],
            "{text}"
        );
        assert_eq!(
            field("path"),
            [
                serde_json::Value::Null,
                "/from-record".into(),
                "/from-event".into()
            ],
            "{text}"
        );
        assert_eq!(lines[0]["answer"], 42, "{text}");
        assert_eq!(lines[1]["target"], ACCESS_LOG_TARGET, "{text}");
    }
}
