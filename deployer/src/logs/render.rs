//! How a log line is printed: passed through (JSON) or rendered (text).

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::LogEvent;

/// `--output json`: the app's own JSON object as it wrote it; any other
/// line wrapped in an object with its time and source.
pub fn json_line(event: &LogEvent) -> String {
    let trimmed = event.message.trim_end();
    if let Ok(Value::Object(_)) = serde_json::from_str::<Value>(trimmed) {
        return trimmed.to_owned();
    }
    serde_json::json!({
        "timestamp": timestamp(event.timestamp_ms),
        "source": event.source,
        "message": trimmed,
    })
    .to_string()
}

/// Text mode: `time level source message key=value ...` for a JSON line
/// (the fields the apps' logger writes), `time source line` otherwise.
pub fn text_line(event: &LogEvent) -> String {
    let trimmed = event.message.trim_end();
    let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(trimmed) else {
        return format!(
            "{} {} {}",
            timestamp(event.timestamp_ms),
            event.source,
            trimmed
        );
    };
    let time = take_str(&mut fields, "timestamp").unwrap_or_else(|| timestamp(event.timestamp_ms));
    let level = take_str(&mut fields, "level").unwrap_or_else(|| "-".to_owned());
    let message = take_str(&mut fields, "message")
        .or_else(|| take_str(&mut fields, "msg"))
        .unwrap_or_default();
    fields.remove("target");
    let mut line = format!("{time} {level:<5} {} {message}", event.source);
    for (key, value) in &fields {
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        line.push_str(&format!(" {key}={value}"));
    }
    line
}

fn take_str(fields: &mut Map<String, Value>, key: &str) -> Option<String> {
    match fields.remove(key)? {
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// RFC 3339 with milliseconds, UTC.
pub fn timestamp(ms: i64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(message: &str) -> LogEvent {
        LogEvent {
            timestamp_ms: 1_700_000_000_123,
            source: "ecs/service-a/abc".to_owned(),
            message: message.to_owned(),
        }
    }

    #[test]
    fn json_lines_pass_through_and_others_are_wrapped() {
        let line = r#"{"timestamp":"t","level":"INFO","message":"hi","port":5000}"#;
        assert_eq!(json_line(&event(line)), line);
        let wrapped: Value = serde_json::from_str(&json_line(&event("plain text\n"))).unwrap();
        assert_eq!(wrapped["message"], "plain text");
        assert_eq!(wrapped["source"], "ecs/service-a/abc");
        assert_eq!(wrapped["timestamp"], "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn text_mode_renders_the_logger_fields() {
        let line = r#"{"timestamp":"2026-01-01T00:00:00Z","level":"WARN","message":"slow","target":"x","ms":812}"#;
        assert_eq!(
            text_line(&event(line)),
            "2026-01-01T00:00:00Z WARN  ecs/service-a/abc slow ms=812"
        );
        assert_eq!(
            text_line(&event("not json")),
            "2023-11-14T22:13:20.123Z ecs/service-a/abc not json"
        );
    }
}
