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
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

mod access;
mod batch;
pub use access::{AccessLog, ACCESS_LOG_TARGET};
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
        // Access-log lines get their own, cheaper JSON writer; every
        // other event the general formatter.
        LogFormat::Json => tracing_subscriber::registry()
            .with(filter)
            .with(AccessLog::new(writer.clone()))
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_writer(writer)
                    .with_filter(filter_fn(|metadata| !access::is_access(metadata))),
            )
            .try_init()
            .is_err(),
        _ => fmt()
            .with_env_filter(filter)
            .with_writer(writer)
            .with_target(false)
            .compact()
            .try_init()
            .is_err(),
    };
}
