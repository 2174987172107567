//! Logging setup shared by the services and `deployer`.
//!
//! Production containers write one JSON object per line, which CloudWatch
//! Logs Insights can query field by field; a person at a terminal gets
//! readable text. `LOG_FORMAT` forces either, and `RUST_LOG` sets the filter.

use std::io::IsTerminal;

pub use config::LogFormat;
use tracing_subscriber::{fmt, EnvFilter};

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
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _already_set = match resolve(format) {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        _ => builder.with_target(false).compact().try_init(),
    };
}
