//! The access log's own JSON line.
//!
//! A server logs one access record per request, so that line is the one
//! whose cost counts. The server's edge hands each request's record to
//! [`log_access`] as an [`AccessRecord`], a struct with the five facts of
//! the line, rather than as a `tracing` event:
//!
//! - when the current subscriber holds an [`AccessLog`] layer (the JSON
//!   log of [`crate::init_non_blocking`]), [`AccessLog::write_record`]
//!   writes the line straight from the struct: the keys and the fixed
//!   parts are constants, and no event is built, dispatched through the
//!   layers, or visited field by field (an access log is a record stream
//!   of its own in most servers, nginx's and Envoy's among them);
//! - otherwise (a terminal's text log, a test's subscriber) the record
//!   becomes the `tracing` event it stands for, and the subscriber writes
//!   it as it writes any event.
//!
//! Either way `RUST_LOG` decides whether it is written, as for an event
//! with the target [`ACCESS_LOG_TARGET`] at `INFO`, and the JSON line is
//! the same, byte for byte (the tests compare both paths with
//! `tracing-subscriber`'s JSON formatter). That object is the one the
//! general formatter writes with `flatten_event(true)`: `timestamp` (the
//! same RFC 3339 UTC format), `level`, the event's fields in the order
//! they were recorded (`message` first), and `target`.
//!
//! An event logged with the target by other code (`tracing::info!(target:
//! ACCESS_LOG_TARGET, ...)`) is written by [`AccessLog`] too, from its
//! fields, as the general formatter would; every other event keeps the
//! general formatter.
//!
//! What makes the line cheap besides (counted in bench/README.md,
//! "Profile"):
//! - the timestamp is made of digits and `-:.TZ`, so it is written with no
//!   escaping, and nearly every other string (the method, the path, the
//!   request id) needs none either. Such a string is copied as it is after
//!   one pass that finds nothing to escape, eight bytes at a time, and only
//!   a string holding a quote, a backslash or a control character goes
//!   through `serde_json`'s escaping ([`push_json_str`]);
//! - for an event, the keys are the same for every event of one call site,
//!   so each thread keeps them, quoted and escaped, for the call site it
//!   last wrote ([`Keys`]);
//! - the timestamp's date and time of day change once a second, so each
//!   thread keeps them for the second it last wrote and adds only the
//!   microseconds ([`Clock`]).

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::callsite::Identifier;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};

/// The target of access-log events, as a literal for `concat!`.
macro_rules! access_target {
    () => {
        "service_core::access"
    };
}

/// The message of an access-log line, as a literal for `concat!` and for
/// the event's format string.
macro_rules! access_message {
    () => {
        "request"
    };
}

/// The target of access-log events: log them with [`log_access`] (or
/// `tracing::info!(target: ACCESS_LOG_TARGET, ...)`). It sits under the
/// `service_core` module path, so a `RUST_LOG` directive for
/// `service_core` covers it too.
pub const ACCESS_LOG_TARGET: &str = access_target!();

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

/// One request, as its access-log line tells it.
#[derive(Debug, Clone, Copy)]
pub struct AccessRecord<'a> {
    /// The request's method.
    pub method: &'a str,
    /// The request's path, without the query.
    pub path: &'a str,
    /// The answer's status code.
    pub status: u16,
    /// From the request's arrival to its answer.
    pub latency: Duration,
    /// The request id the answer carries.
    pub request_id: &'a str,
}

impl AccessRecord<'_> {
    /// The latency in milliseconds, in whole microseconds (`0.009`, not
    /// `0.008698000000000001`): finer digits say nothing about a request
    /// and lengthen every line.
    fn latency_ms(&self) -> f64 {
        self.latency.as_micros() as f64 / 1000.0
    }

    /// Writes the line's object after its timestamp into `bytes`: the
    /// object the event of [`log_access`] makes, keys and all, in the
    /// event's order.
    fn write_after_timestamp(&self, bytes: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        bytes.extend_from_slice(
            concat!(
                ",\"level\":\"INFO\",\"message\":\"",
                access_message!(),
                "\",\"method\":"
            )
            .as_bytes(),
        );
        push_json_str(bytes, self.method)?;
        bytes.extend_from_slice(b",\"path\":");
        push_json_str(bytes, self.path)?;
        bytes.extend_from_slice(b",\"status\":");
        serde_json::to_writer(&mut *bytes, &self.status)?;
        bytes.extend_from_slice(b",\"latency_ms\":");
        serde_json::to_writer(&mut *bytes, &self.latency_ms())?;
        bytes.extend_from_slice(b",\"request_id\":");
        push_json_str(bytes, self.request_id)?;
        bytes.extend_from_slice(concat!(",\"target\":\"", access_target!(), "\"}").as_bytes());
        Ok(())
    }
}

/// Logs one request's access line, if `RUST_LOG` lets `INFO` events of
/// [`ACCESS_LOG_TARGET`] through: written by the current subscriber's
/// [`AccessLog`] when it has one, and as a `tracing` event otherwise (see
/// the module documentation).
pub fn log_access(record: &AccessRecord<'_>) {
    if !tracing::enabled!(target: ACCESS_LOG_TARGET, tracing::Level::INFO) {
        return;
    }
    let written = tracing::dispatcher::get_default(|dispatch| {
        dispatch
            .downcast_ref::<AccessLog>()
            .map(|log| log.write_record(record))
            .is_some()
    });
    if !written {
        log_as_event(record);
    }
}

/// Logs `record` as the `tracing` event it stands for.
fn log_as_event(record: &AccessRecord<'_>) {
    // The fields sit on the event itself, not on a span, because the JSON
    // log lines carry event fields only: one line is then one complete
    // record for CloudWatch Logs Insights.
    tracing::info!(
        target: ACCESS_LOG_TARGET,
        method = record.method,
        path = record.path,
        status = record.status,
        latency_ms = record.latency_ms(),
        request_id = record.request_id,
        access_message!()
    );
}

/// Where [`AccessLog`] puts each whole line.
type Output = Box<dyn Fn(&[u8]) + Send + Sync>;

/// Writes access records ([`AccessLog::write_record`]) and events whose
/// target is [`ACCESS_LOG_TARGET`] as JSON lines to its writer, and
/// ignores every other event (see the module documentation).
pub struct AccessLog {
    out: Output,
}

impl AccessLog {
    /// Writes each access line to a writer that `make_writer` makes, in one
    /// `write_all`.
    pub fn new<W>(make_writer: W) -> Self
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        Self {
            out: Box::new(move |line| {
                // There is nowhere to report a failed write of a log line.
                let _ = make_writer.make_writer().write_all(line);
            }),
        }
    }

    /// Writes `record`'s line.
    pub fn write_record(&self, record: &AccessRecord<'_>) {
        self.write_line(|bytes, _text, _keys| record.write_after_timestamp(bytes));
    }

    /// Writes a line: the object's opening and its timestamp, what `rest`
    /// writes after them into the thread's buffer (given the buffer, a
    /// text to format into and the thread's kept keys), and a newline, in
    /// one write; a line that fails to form is not written.
    fn write_line(
        &self,
        rest: impl FnOnce(&mut Vec<u8>, &mut String, &mut Keys) -> Result<(), serde_json::Error>,
    ) {
        LINE.with(|line| {
            // Taken only if a write from this thread is already under way
            // (a writer that logs): that line is lost rather than mixed.
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
            // The timestamp's text needs no escaping: digits, `-`, `:`,
            // `.`, `T` and `Z`.
            bytes.extend_from_slice(b"{\"timestamp\":\"");
            clock.stamp(SystemTime::now(), bytes);
            bytes.push(b'"');
            if rest(bytes, text, keys).is_err() {
                return;
            }
            bytes.push(b'\n');
            (self.out)(bytes);
            if bytes.capacity() > KEPT_BUFFER_BYTES {
                *bytes = Vec::new();
            }
        });
    }
}

impl fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessLog").finish_non_exhaustive()
    }
}

/// Whether the event is an access-log event, which [`AccessLog`] writes.
pub fn is_access(metadata: &tracing::Metadata<'_>) -> bool {
    metadata.target() == ACCESS_LOG_TARGET
}

/// The general formatter's filter beside [`AccessLog`]: every event but
/// the access-log ones, which [`AccessLog`] writes.
///
/// It lets every call site through and turns the access-log events away
/// one by one, as they come. A filter that turned the access-log call
/// sites away (as one made with `filter_fn` does, asked for each event)
/// would leave `tracing` unable to keep a call site's answer: it would ask
/// every layer whether each record is enabled, at every request
/// ([`log_access`] asks first), where now it asks only the global filter,
/// once per call site.
#[derive(Debug, Clone, Copy)]
pub struct AllButAccess;

impl<S> tracing_subscriber::layer::Filter<S> for AllButAccess {
    fn enabled(&self, _metadata: &tracing::Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        true
    }

    fn callsite_enabled(&self, _metadata: &'static tracing::Metadata<'static>) -> Interest {
        Interest::always()
    }

    fn event_enabled(&self, event: &Event<'_>, _cx: &Context<'_, S>) -> bool {
        !is_access(event.metadata())
    }
}

impl<S: Subscriber> Layer<S> for AccessLog {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        if !is_access(metadata) {
            return;
        }
        self.write_line(|bytes, text, keys| {
            write_after_timestamp(bytes, text, keys.of(metadata), event)
        });
    }
}

/// Writes an event's object after its timestamp into `bytes`; `text` is
/// where `Debug` fields are formatted, and `keys` are the event's keys
/// ([`Keys`]).
fn write_after_timestamp(
    bytes: &mut Vec<u8>,
    text: &mut String,
    keys: &[Vec<u8>],
    event: &Event<'_>,
) -> Result<(), serde_json::Error> {
    let metadata = event.metadata();
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

/// Whether `text` holds a byte that JSON escapes: a control character
/// (below 0x20), a quote or a backslash. It tests eight bytes at a time,
/// as one word, with the classic tests for a byte below a bound and for a
/// zero byte (each exact as a yes or no for the whole word), and the bytes
/// left over one by one.
fn needs_escaping(text: &str) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    /// Whether a byte of `word` is below `bound` (at most 0x80).
    fn below(word: u64, bound: u8) -> bool {
        word.wrapping_sub(ONES * u64::from(bound)) & !word & HIGHS != 0
    }
    /// Whether a byte of `word` is `byte`.
    fn holds(word: u64, byte: u8) -> bool {
        below(word ^ (ONES * u64::from(byte)), 1)
    }
    let mut words = text.as_bytes().chunks_exact(8);
    let found = words.by_ref().any(|word| {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let word = u64::from_ne_bytes(eight);
        below(word, 0x20) | holds(word, b'"') | holds(word, b'\\')
    });
    found
        || words
            .remainder()
            .iter()
            .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
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
    /// Appends `now`'s text to `text`.
    fn stamp(&mut self, now: SystemTime, text: &mut Vec<u8>) {
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
        text.extend_from_slice(self.prefix.as_bytes());
        let mut digits = [b'0'; 6];
        let mut rest = since_epoch.subsec_micros();
        for digit in digits.iter_mut().rev() {
            // `rest % 10` is below 10, so the cast keeps every bit.
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        text.extend_from_slice(&digits);
        text.push(b'Z');
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::captured::Captured;
    use crate::general_json;

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
        // Each byte JSON escapes, and the bytes around the bounds, at every
        // place of strings long enough to be tested a word at a time, with
        // and without bytes of a multi-byte character beside them.
        for special in ['\0', '\u{1f}', ' ', '"', '!', '\\', '[', ']', '\u{7f}', 'é'] {
            for len in 1..=20 {
                for at in 0..len {
                    let mut text: String = "abcdefghijklmnopqrst"[..len].into();
                    text.replace_range(at..=at, &special.to_string());
                    texts.push(text.clone());
                    texts.push(format!("é{text}"));
                }
            }
        }
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
        let mut text = Vec::new();
        let mut stamp = |clock: &mut Clock, now| {
            text.clear();
            clock.stamp(now, &mut text);
            String::from_utf8(text.clone()).expect("UTF-8")
        };
        let start = UNIX_EPOCH + std::time::Duration::from_secs(1_795_888_966);
        // Steps of 0.3 s cross second boundaries with the second kept from
        // the step before, and some steps stay within one second.
        for step in 0..40u64 {
            let now = start + std::time::Duration::from_micros(step * 300_007);
            assert_eq!(
                stamp(&mut clock, now),
                humantime::format_rfc3339_micros(now).to_string(),
                "step {step}"
            );
        }
        // A clock that goes back gets its own second's text, not the kept one.
        assert_eq!(
            stamp(&mut clock, start),
            humantime::format_rfc3339_micros(start).to_string()
        );
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
        let subscriber = tracing_subscriber::registry().with(general_json(general.clone()));
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

    /// Records with every kind of value a line holds: plain, with bytes
    /// to escape in the path and the request id, and latencies that
    /// `serde_json` writes in different forms.
    fn records() -> Vec<AccessRecord<'static>> {
        let plain = AccessRecord {
            method: "GET",
            path: "/medical",
            status: 200,
            latency: Duration::from_micros(9),
            request_id: "47b6291f-2cae-4d38-9528-4e0d995f4ed6",
        };
        vec![
            plain,
            AccessRecord {
                method: "HEAD",
                path: "/nope\"x\\y",
                status: 404,
                latency: Duration::ZERO,
                request_id: "a\"b\\c\u{1}",
            },
            AccessRecord {
                method: "DELETE",
                status: 503,
                latency: Duration::from_micros(1_500) + Duration::from_nanos(999),
                ..plain
            },
            AccessRecord {
                latency: Duration::from_secs(1 << 40),
                ..plain
            },
        ]
    }

    /// The lines `log` writes under a subscriber that writes JSON with the
    /// general formatter only (`general`), or with [`AccessLog`] only.
    fn lines_written(general: bool, log: impl Fn()) -> Vec<String> {
        let out = Captured::default();
        if general {
            let subscriber = tracing_subscriber::registry().with(general_json(out.clone()));
            tracing::subscriber::with_default(subscriber, log);
        } else {
            let subscriber = tracing_subscriber::registry().with(AccessLog::new(out.clone()));
            tracing::subscriber::with_default(subscriber, log);
        }
        out.text().lines().map(str::to_owned).collect()
    }

    /// The line without its timestamp's text, which differs from one line
    /// to the next; the timestamp is checked for its form.
    fn untimed(line: &str) -> String {
        let (head, rest) = line.split_at(line.find(r#"","level""#).expect("a level"));
        let stamp = head
            .strip_prefix(r#"{"timestamp":""#)
            .expect("the timestamp first");
        assert_eq!(stamp.len(), "2026-11-28T15:42:47.123456Z".len(), "{line}");
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{line}"
        );
        rest.to_owned()
    }

    #[test]
    fn a_record_is_the_line_its_event_makes_byte_for_byte() {
        let records = records();
        let log_all = |log: fn(&AccessRecord<'_>)| {
            for record in &records {
                log(record);
            }
        };
        // The general formatter, given the record's event (the subscriber
        // has no `AccessLog`, so `log_access` logs the event).
        let general = lines_written(true, || log_all(log_access));
        // `AccessLog` from the record, and from the same event.
        let from_record = lines_written(false, || log_all(log_access));
        let from_event = lines_written(false, || log_all(log_as_event));
        assert_eq!(general.len(), records.len(), "{general:?}");
        for ((general, record), event) in general.iter().zip(&from_record).zip(&from_event) {
            assert_eq!(untimed(record), untimed(general));
            assert_eq!(untimed(event), untimed(general));
        }
        // What the lines say, read back.
        for (line, record) in from_record.iter().zip(&records) {
            let line: serde_json::Value = serde_json::from_str(line).expect("JSON");
            assert_eq!(line["path"], record.path, "{line}");
            assert_eq!(line["request_id"], record.request_id, "{line}");
            assert_eq!(line["status"], record.status, "{line}");
            assert_eq!(line["latency_ms"], record.latency_ms(), "{line}");
            assert_eq!(line["target"], ACCESS_LOG_TARGET, "{line}");
            assert_eq!(line["message"], "request", "{line}");
        }
    }

    #[test]
    fn a_record_is_written_only_where_the_filter_lets_access_events_through() {
        let record = records()[0];
        for (directive, lines) in [
            ("info", 1),
            ("service_core=info", 1),
            ("warn", 0),
            ("service_core::access=off,info", 0),
        ] {
            let out = Captured::default();
            let filter = tracing_subscriber::EnvFilter::new(directive);
            let subscriber = tracing_subscriber::registry()
                .with(filter)
                .with(AccessLog::new(out.clone()));
            tracing::subscriber::with_default(subscriber, || log_access(&record));
            assert_eq!(out.lines().len(), lines, "RUST_LOG={directive}");
        }
    }
}
