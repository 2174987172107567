//! The CloudWatch alarms of an app, for `deployer status`.
//!
//! infra/modules/observability names every alarm of an app
//! `<cluster>-<app>-<what>` (see infra/README.md, "Contract with
//! deployer"), so one DescribeAlarms with that prefix finds them all.

use std::fmt::Write as _;

use anyhow::Context;
use aws_config::SdkConfig;
use serde::Serialize;

use crate::apps::ResolvedApp;

/// One alarm and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmState {
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// CloudWatch's reason for the state.
    pub reason: String,
}

/// Reads alarm states.
pub struct Alarms {
    cloudwatch: aws_sdk_cloudwatch::Client,
}

/// Most pages one listing reads, so that a stuck token cannot loop forever.
const MAX_PAGES: usize = 100;

impl Alarms {
    pub fn new(config: &SdkConfig) -> Self {
        Alarms {
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
        }
    }

    /// The alarm name prefix of an app's alarms.
    pub fn prefix(target: &ResolvedApp) -> String {
        format!("{}-{}-", target.cluster, target.name())
    }

    /// The app's alarms, by name.
    pub async fn for_app(&self, target: &ResolvedApp) -> anyhow::Result<Vec<AlarmState>> {
        let prefix = Self::prefix(target);
        let mut alarms = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .cloudwatch
                .describe_alarms()
                .alarm_name_prefix(&prefix)
                .set_next_token(token.clone())
                .send()
                .await
                .with_context(|| format!("cannot read the alarms named {prefix}*"))?;
            for alarm in out.metric_alarms() {
                alarms.push(AlarmState {
                    name: alarm.alarm_name().unwrap_or_default().to_owned(),
                    state: alarm
                        .state_value()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    reason: alarm.state_reason().unwrap_or_default().to_owned(),
                });
            }
            match out.next_token() {
                Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                    token = Some(next.to_owned());
                }
                _ => break,
            }
        }
        alarms.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(alarms)
    }
}

/// The alarms as `deployer status` prints them: one line each, firing ones
/// first; or why they could not be read.
pub fn text(alarms: &Result<Vec<AlarmState>, String>) -> String {
    let mut out = String::new();
    match alarms {
        Err(reason) => {
            let _ = writeln!(out, "  alarms     unavailable: {reason}");
        }
        Ok(list) if list.is_empty() => {
            let _ = writeln!(out, "  alarms     none");
        }
        Ok(list) => {
            let firing = list.iter().filter(|a| a.state == "ALARM").count();
            let _ = writeln!(out, "  alarms     {firing} of {} in ALARM", list.len());
            let mut sorted: Vec<&AlarmState> = list.iter().collect();
            sorted.sort_by_key(|a| (a.state != "ALARM", a.name.clone()));
            for alarm in sorted {
                let _ = writeln!(out, "    {:<17} {}", alarm.state, alarm.name);
            }
        }
    }
    out
}

/// The alarms as the JSON result gives them (`details.alarms`): the list,
/// or `{"error": reason}`.
pub fn serialize<S: serde::Serializer>(
    alarms: &Result<Vec<AlarmState>, String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    #[derive(Serialize)]
    struct Unavailable<'a> {
        error: &'a str,
    }
    match alarms {
        Ok(list) => list.serialize(serializer),
        Err(reason) => Unavailable { error: reason }.serialize(serializer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(name: &str, state: &str) -> AlarmState {
        AlarmState {
            name: name.to_owned(),
            state: state.to_owned(),
            reason: String::new(),
        }
    }

    #[test]
    fn firing_alarms_come_first() {
        let list = Ok(vec![
            alarm("c-a-5xx-rate", "OK"),
            alarm("c-a-latency-p99", "ALARM"),
            alarm("c-a-running-tasks", "INSUFFICIENT_DATA"),
        ]);
        assert_eq!(
            text(&list),
            "  alarms     1 of 3 in ALARM\n    ALARM             c-a-latency-p99\n    OK                c-a-5xx-rate\n    INSUFFICIENT_DATA c-a-running-tasks\n"
        );
        assert_eq!(text(&Ok(vec![])), "  alarms     none\n");
        assert_eq!(
            text(&Err("AccessDenied".to_owned())),
            "  alarms     unavailable: AccessDenied\n"
        );
    }
}
