//! Logging setup shared by the services and `deployer`.
//!
//! Production containers write one JSON object per line, which CloudWatch
//! Logs Insights can query field by field; a person at a terminal gets
//! readable text. `LOG_FORMAT` forces either, and `RUST_LOG` sets the filter.
//!
//! [`init`] writes each line to stderr from the thread that logs it, which
//! suits a command-line tool. A server logs one line per request, so
//! [`init_non_blocking`] hands lines to a writer thread instead: the request
//! path only formats its line and queues it, and the writer thread writes
//! whatever has queued in one `write` to stderr. The queue is lossless (a
//! full queue makes the logging thread wait rather than drop a line), and
//! the returned [`LogGuard`] writes out everything still queued when it is
//! dropped, so a server that drops it after its drain keeps every line.
//! Dropping the guard waits for the writer thread to finish, for at most
//! [`FLUSH_DEADLINE`]: `tracing-appender`'s own guard waits at most 1 s,
//! which a slow reader of stderr (a busy log driver) can outlast.

use std::io::{BufWriter, IsTerminal, Write};
use std::sync::mpsc;
use std::time::Duration;

pub use app_config::LogFormat;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

mod access;
pub use access::{AccessLog, ACCESS_LOG_TARGET};

/// Lines the non-blocking queue holds before a logging thread waits for
/// the writer thread.
pub const QUEUED_LINES_LIMIT: usize = 64 * 1024;

/// Bytes the writer thread gathers before a `write` to stderr; it also
/// writes whenever the queue runs empty, so a line never waits for more.
pub const WRITE_BUFFER_BYTES: usize = 64 * 1024;

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

/// How long dropping a [`LogGuard`] waits at most for the writer thread to
/// write out what is queued: within what ECS leaves a task between the end
/// of the server's 20 s drain and its 30 s stop timeout.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(5);

/// Keeps the writer thread of [`init_non_blocking`] running; dropping it
/// writes out every queued line and then returns (see [`FLUSH_DEADLINE`]).
#[derive(Debug)]
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    worker: Option<WorkerGuard>,
    /// Disconnects when the writer thread has dropped its writer, which it
    /// does after its last write.
    finished: mpsc::Receiver<()>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        // Queues the stop after every line logged so far; the writer thread
        // stops when it reaches it.
        drop(self.worker.take());
        let _ = self.finished.recv_timeout(FLUSH_DEADLINE);
    }
}

/// The writer thread's writer: stderr through a buffer, which tells the
/// [`LogGuard`] when the thread has let go of it.
struct Stderr {
    out: BufWriter<std::io::Stderr>,
    _finished: mpsc::Sender<()>,
}

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Drop for Stderr {
    fn drop(&mut self) {
        // Before `_finished` disconnects.
        let _ = self.out.flush();
    }
}

/// As [`init`], but the lines go through a lossless queue to a writer
/// thread that writes them to stderr (see the crate documentation). Keep
/// the guard until the process has nothing more to log.
pub fn init_non_blocking(format: LogFormat, default_filter: &str) -> LogGuard {
    let (finished_tx, finished) = mpsc::channel();
    let stderr = Stderr {
        out: BufWriter::with_capacity(WRITE_BUFFER_BYTES, std::io::stderr()),
        _finished: finished_tx,
    };
    let (writer, worker) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUED_LINES_LIMIT)
        .thread_name("log-writer")
        .finish(stderr);
    install(format, default_filter, writer);
    LogGuard {
        worker: Some(worker),
        finished,
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
