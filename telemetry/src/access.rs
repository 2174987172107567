//! The access log's own JSON line.
//!
//! A server logs one access record per request, so that line is the one
//! whose cost counts. `tracing-subscriber`'s JSON formatter serializes
//! through a `fmt::Write` adaptor into a `String`; [`AccessLog`] serializes
//! the same object with `serde_json` straight into a reused byte buffer and
//! hands it to the writer in one `write_all`. The object is the one the
//! general formatter writes with `flatten_event(true)`: `timestamp` (the
//! same RFC 3339 UTC format), `level`, the event's fields in the order they
//! were recorded (`message` among them), and `target`. Every other event
//! keeps the general formatter.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;

use serde::ser::{SerializeMap, Serializer as _};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};

/// The target of access-log events: log them with
/// `tracing::info!(target: ACCESS_LOG_TARGET, ...)`. It sits under the
/// `service_core` module path, so a `RUST_LOG` directive for
/// `service_core` covers it too.
pub const ACCESS_LOG_TARGET: &str = "service_core::access";

/// A buffer this large is kept per thread between lines; a larger line
/// gets a fresh one.
const KEPT_BUFFER_BYTES: usize = 4096;

thread_local! {
    static LINE: RefCell<Line> = RefCell::new(Line::default());
}

#[derive(Default)]
struct Line {
    bytes: Vec<u8>,
    text: String,
}

/// Writes events whose target is [`ACCESS_LOG_TARGET`] as JSON lines to
/// its writer and ignores every other event (see the module documentation).
pub struct AccessLog<W> {
    make_writer: W,
}

impl<W> AccessLog<W> {
    /// Writes each access line to a writer that `make_writer` makes.
    pub fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

/// Whether the event is an access-log event, which [`AccessLog`] writes.
pub fn is_access(metadata: &tracing::Metadata<'_>) -> bool {
    metadata.target() == ACCESS_LOG_TARGET
}

impl<S, W> Layer<S> for AccessLog<W>
where
    S: Subscriber,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        if !is_access(metadata) {
            return;
        }
        LINE.with(|line| {
            let Ok(mut line) = line.try_borrow_mut() else {
                return;
            };
            let Line { bytes, text } = &mut *line;
            bytes.clear();
            text.clear();
            // The general formatter's format (RFC 3339, UTC, microseconds),
            // written in one `write_str` rather than field by field.
            let now = humantime::format_rfc3339_micros(std::time::SystemTime::now());
            if write!(text, "{now}").is_err() {
                return;
            }
            if write_object(bytes, text, event).is_err() {
                return;
            }
            bytes.push(b'\n');
            let _ = self.make_writer.make_writer_for(metadata).write_all(bytes);
            if bytes.capacity() > KEPT_BUFFER_BYTES {
                *bytes = Vec::new();
            }
        });
    }
}

fn write_object(
    bytes: &mut Vec<u8>,
    timestamp: &str,
    event: &Event<'_>,
) -> Result<(), serde_json::Error> {
    let metadata = event.metadata();
    let mut serializer = serde_json::Serializer::new(bytes);
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("timestamp", timestamp)?;
    map.serialize_entry("level", metadata.level().as_str())?;
    let mut fields = Fields {
        map,
        result: Ok(()),
    };
    event.record(&mut fields);
    fields.result?;
    let mut map = fields.map;
    map.serialize_entry("target", metadata.target())?;
    map.end()
}

/// Serializes each field into the object as it is recorded.
struct Fields<M> {
    map: M,
    result: Result<(), serde_json::Error>,
}

impl<M: SerializeMap<Error = serde_json::Error>> Fields<M> {
    fn entry<V: serde::Serialize + ?Sized>(&mut self, field: &Field, value: &V) {
        if self.result.is_ok() {
            self.result = self.map.serialize_entry(field.name(), value);
        }
    }
}

impl<M: SerializeMap<Error = serde_json::Error>> Visit for Fields<M> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.entry(field, &value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.entry(field, &value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.entry(field, &value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.entry(field, &value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.entry(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // As the general formatter: the `Debug` text as a JSON string (for
        // a message, its text), escaped as it is written.
        self.entry(field, &format_args!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Captured;

        fn make_writer(&'w self) -> Captured {
            self.clone()
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<serde_json::Value> {
            let bytes = self.0.lock().expect("lock").clone();
            String::from_utf8(bytes)
                .expect("UTF-8")
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                .collect()
        }
    }

    fn log_access_and_other() {
        tracing::info!(
            target: ACCESS_LOG_TARGET,
            method = "GET",
            path = "/a \"quoted\"\npath\\",
            status = 200u16,
            latency_ms = 0.25,
            request_id = "id-1",
            negative = -3i64,
            flag = true,
            "request"
        );
        tracing::warn!(other = 1, "not an access line");
    }

    #[test]
    fn an_access_line_is_the_object_the_general_formatter_writes() {
        let general = Captured::default();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_writer(general.clone()),
        );
        tracing::subscriber::with_default(subscriber, log_access_and_other);

        let own = Captured::default();
        let subscriber = tracing_subscriber::registry().with(AccessLog::new(own.clone()));
        tracing::subscriber::with_default(subscriber, log_access_and_other);

        let mut expected = general.lines().remove(0);
        let mut written = own.lines();
        assert_eq!(written.len(), 1, "only the access event: {written:?}");
        let mut written = written.remove(0);
        let timestamp = |line: &mut serde_json::Value| {
            line.as_object_mut()
                .and_then(|o| o.remove("timestamp"))
                .and_then(|t| t.as_str().map(str::to_owned))
                .expect("a timestamp")
        };
        let (a, b) = (timestamp(&mut expected), timestamp(&mut written));
        assert_eq!(a.len(), b.len(), "same timestamp format: {a} {b}");
        assert!(b.ends_with('Z') && b.as_bytes()[10] == b'T', "{b}");
        assert_eq!(written, expected);
    }
}
