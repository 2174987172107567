//! The access log's own JSON line.
//!
//! A server logs one access record per request, so that line is the one
//! whose cost counts. `tracing-subscriber`'s JSON formatter serializes
//! through a `fmt::Write` adaptor into a `String`; [`AccessLog`] writes the
//! same object straight into a reused byte buffer and hands it to the
//! writer in one `write_all`. The object is the one the general formatter
//! writes with `flatten_event(true)`: `timestamp` (the same RFC 3339 UTC
//! format), `level`, the event's fields in the order they were recorded
//! (`message` among them), and `target`. Every other event keeps the
//! general formatter.
//!
//! Three things make the line cheap (counted in bench/README.md, "Profile"):
//! - nearly every string in it (the keys, the method, the path, the request
//!   id, the timestamp) needs no JSON escaping. Such a string is copied as
//!   it is after one pass that finds nothing to escape, and only a string
//!   holding a quote, a backslash or a control character goes through
//!   `serde_json`'s escaping ([`push_json_str`]);
//! - the keys are the same for every event of one call site, so each thread
//!   keeps them, quoted and escaped, for the call site it last wrote
//!   ([`Keys`]);
//! - the timestamp's date and time of day change once a second, so each
//!   thread keeps them for the second it last wrote and adds only the
//!   microseconds ([`Clock`]).

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::callsite::Identifier;
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
    /// Where a `Debug` field's text is formatted before it is written.
    text: String,
    keys: Keys,
    clock: Clock,
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
            let Line {
                bytes,
                text,
                keys,
                clock,
            } = &mut *line;
            bytes.clear();
            clock.stamp(SystemTime::now(), text);
            if write_object(bytes, text, keys.of(metadata), event).is_err() {
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

/// Writes the object into `bytes`; `text` holds the timestamp and is then
/// reused for `Debug` fields, and `keys` are the event's keys ([`Keys`]).
fn write_object(
    bytes: &mut Vec<u8>,
    text: &mut String,
    keys: &[Vec<u8>],
    event: &Event<'_>,
) -> Result<(), serde_json::Error> {
    let metadata = event.metadata();
    bytes.extend_from_slice(b"{\"timestamp\":");
    push_json_str(bytes, text)?;
    bytes.extend_from_slice(b",\"level\":");
    push_json_str(bytes, metadata.level().as_str())?;
    let mut fields = Fields {
        bytes,
        text,
        keys,
        result: Ok(()),
    };
    event.record(&mut fields);
    fields.result?;
    let Fields { bytes, .. } = fields;
    bytes.extend_from_slice(b",\"target\":");
    push_json_str(bytes, metadata.target())?;
    bytes.push(b'}');
    Ok(())
}

/// Appends `text` as a JSON string, escaped exactly as `serde_json`
/// escapes it (quote, backslash and control characters; nothing else).
fn push_json_str(bytes: &mut Vec<u8>, text: &str) -> Result<(), serde_json::Error> {
    if needs_escaping(text) {
        return serde_json::to_writer(bytes, text);
    }
    bytes.reserve(text.len() + 2);
    bytes.push(b'"');
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(b'"');
    Ok(())
}

/// Whether `text` holds a byte that JSON escapes. It looks at every byte,
/// without stopping at the first found, so that the compiler can test
/// many bytes at once.
fn needs_escaping(text: &str) -> bool {
    text.bytes().fold(false, |found, b| {
        found | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// Appends `,"name":`.
fn push_key(bytes: &mut Vec<u8>, name: &str) -> Result<(), serde_json::Error> {
    bytes.push(b',');
    push_json_str(bytes, name)?;
    bytes.push(b':');
    Ok(())
}

/// The keys of one call site's fields, each as [`push_key`] writes it, in
/// the order of the call site's fields (a [`Field`]'s index).
#[derive(Default)]
struct Keys {
    callsite: Option<Identifier>,
    keys: Vec<Vec<u8>>,
}

impl Keys {
    /// The keys of `metadata`'s fields, made when the call site is not the
    /// one they were last made for.
    fn of(&mut self, metadata: &tracing::Metadata<'_>) -> &[Vec<u8>] {
        let callsite = metadata.callsite();
        if self.callsite.as_ref() != Some(&callsite) {
            self.keys.clear();
            for field in metadata.fields() {
                let mut key = Vec::new();
                if push_key(&mut key, field.name()).is_err() {
                    // Writing into a `Vec` does not fail; should it, each
                    // key is written as its field is recorded.
                    self.keys.clear();
                    self.callsite = None;
                    return &[];
                }
                self.keys.push(key);
            }
            self.callsite = Some(callsite);
        }
        &self.keys
    }
}

/// Writes each field into the object as it is recorded.
struct Fields<'a> {
    bytes: &'a mut Vec<u8>,
    text: &'a mut String,
    keys: &'a [Vec<u8>],
    result: Result<(), serde_json::Error>,
}

impl Fields<'_> {
    /// Appends `,"name":` and then the value that `value` appends.
    fn entry(
        &mut self,
        field: &Field,
        value: impl FnOnce(&mut Vec<u8>, &mut String) -> Result<(), serde_json::Error>,
    ) {
        if self.result.is_err() {
            return;
        }
        let key = match self.keys.get(field.index()) {
            Some(key) => {
                self.bytes.extend_from_slice(key);
                Ok(())
            }
            // Not a field of the event's call site: `Visit` allows it.
            None => push_key(self.bytes, field.name()),
        };
        self.result = key.and_then(|()| value(self.bytes, self.text));
    }

    /// A number or a bool.
    fn scalar<V: serde::Serialize>(&mut self, field: &Field, value: V) {
        // Through serde_json, which writes a non-finite float as `null`.
        self.entry(field, |bytes, _| serde_json::to_writer(bytes, &value));
    }
}

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.scalar(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.scalar(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.scalar(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.scalar(field, value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.entry(field, |bytes, _| push_json_str(bytes, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // As the general formatter: the `Debug` text as a JSON string (for
        // a message, its text).
        self.entry(field, |bytes, text| {
            text.clear();
            // Formatting into a `String` fails only if `Debug` itself does.
            write!(text, "{value:?}").map_err(serde::ser::Error::custom)?;
            push_json_str(bytes, text)
        });
    }
}

/// The timestamp's text, `2026-11-28T15:42:47.123456Z`: RFC 3339 in UTC
/// with microseconds, as the general formatter writes it. The text up to
/// the seconds' dot is kept for the second it was made for.
#[derive(Default)]
struct Clock {
    /// The whole second since the epoch that `prefix` is for.
    second: Option<u64>,
    /// `2026-11-28T15:42:47.`
    prefix: String,
}

impl Clock {
    /// Puts `now`'s text into `text`.
    fn stamp(&mut self, now: SystemTime, text: &mut String) {
        text.clear();
        let Ok(since_epoch) = now.duration_since(UNIX_EPOCH) else {
            // Before 1970: the clock is wrong; write whatever it says.
            let _ = write!(text, "{}", humantime::format_rfc3339_micros(now));
            return;
        };
        let second = since_epoch.as_secs();
        if self.second != Some(second) {
            self.prefix.clear();
            let whole =
                now - std::time::Duration::from_nanos(u64::from(since_epoch.subsec_nanos()));
            let _ = write!(self.prefix, "{}", humantime::format_rfc3339_seconds(whole));
            // `...:47Z` becomes `...:47.`
            self.prefix.pop();
            self.prefix.push('.');
            self.second = Some(second);
        }
        text.push_str(&self.prefix);
        let mut digits = [b'0'; 6];
        let mut rest = since_epoch.subsec_micros();
        for digit in digits.iter_mut().rev() {
            // `rest % 10` is below 10, so the cast keeps every bit.
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        text.extend(digits.map(char::from));
        text.push('Z');
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
    fn a_string_is_escaped_as_serde_json_escapes_it() {
        let mut texts: Vec<String> = (0u8..=0x7f).map(|b| format!("a{}b", b as char)).collect();
        texts.extend(["", "/medical", "é \u{2028} 🦀", "\"\\", "x\u{7f}"].map(String::from));
        for text in texts {
            let mut written = Vec::new();
            push_json_str(&mut written, &text).expect("written");
            let expected = serde_json::to_string(&text).expect("serialized");
            assert_eq!(
                String::from_utf8(written).expect("UTF-8"),
                expected,
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_kept_second_gives_the_text_humantime_gives() {
        let mut clock = Clock::default();
        let mut text = String::new();
        let start = UNIX_EPOCH + std::time::Duration::from_secs(1_795_888_966);
        // Steps of 0.3 s cross second boundaries with the second kept from
        // the step before, and some steps stay within one second.
        for step in 0..40u64 {
            let now = start + std::time::Duration::from_micros(step * 300_007);
            clock.stamp(now, &mut text);
            assert_eq!(
                text,
                humantime::format_rfc3339_micros(now).to_string(),
                "step {step}"
            );
        }
        // A clock that goes back gets its own second's text, not the kept one.
        clock.stamp(start, &mut text);
        assert_eq!(text, humantime::format_rfc3339_micros(start).to_string());
    }

    #[test]
    fn each_call_site_gets_its_own_keys() {
        let own = Captured::default();
        let subscriber = tracing_subscriber::registry().with(AccessLog::new(own.clone()));
        tracing::subscriber::with_default(subscriber, || {
            for round in 0..2u64 {
                tracing::info!(target: ACCESS_LOG_TARGET, first = round, "one");
                tracing::info!(target: ACCESS_LOG_TARGET, second = "x", dotted.key = round, "two");
            }
        });
        let lines = own.lines();
        assert_eq!(lines.len(), 4, "{lines:?}");
        for (index, line) in lines.iter().enumerate() {
            let round = index as u64 / 2;
            if index % 2 == 0 {
                assert_eq!(line["first"], round, "{line}");
                assert_eq!(line["message"], "one", "{line}");
                assert!(line.get("second").is_none(), "{line}");
            } else {
                assert_eq!(line["dotted.key"], round, "{line}");
                assert_eq!(line["second"], "x", "{line}");
                assert!(line.get("first").is_none(), "{line}");
            }
        }
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
