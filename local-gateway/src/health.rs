//! Target health checks, as the ALB's target group runs them with the
//! JSON's `health_check`: `GET <path>` every `interval_seconds`, an answer
//! within `timeout_seconds` whose status the `matcher` accepts passes, and
//! a target changes state after `healthy_threshold` consecutive passes or
//! `unhealthy_threshold` consecutive failures.

use std::net::SocketAddr;
use std::time::Duration;

use app_config::{AppConfig, HealthCheck};
use axum::http::{Method, Uri};
use serde::{Deserialize, Serialize};

use crate::http::{self, Client};

/// What the checks say about a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Registered, not yet through `healthy_threshold` passes.
    Initial,
    /// Gets traffic.
    Healthy,
    /// Failed `unhealthy_threshold` checks in a row; gets no traffic.
    Unhealthy,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The matcher accepted the answer.
    Pass,
    /// Why the check failed.
    Fail(String),
}

/// One app's check, ready to run.
#[derive(Debug, Clone)]
pub struct Check {
    /// The path probed.
    pub path: String,
    /// The JSON's settings.
    pub settings: HealthCheck,
}

impl Check {
    /// The check the app's target group runs.
    pub fn of(app: &AppConfig) -> Self {
        Check {
            path: app.health_check_path(),
            settings: app.health_check.clone(),
        }
    }

    /// Time between checks.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.interval_seconds))
    }

    /// How long one check may wait for its answer.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.timeout_seconds))
    }

    /// Runs one check against `target`.
    pub async fn probe(&self, client: &Client, target: SocketAddr) -> Verdict {
        let uri: Uri = match format!("http://{target}{}", self.path).parse() {
            Ok(uri) => uri,
            Err(err) => return Verdict::Fail(format!("bad health check path: {err}")),
        };
        match http::call(client, Method::GET, uri, self.timeout()).await {
            Ok((status, _)) if self.settings.matches(status.as_u16()) => Verdict::Pass,
            Ok((status, _)) => Verdict::Fail(format!(
                "{} answered HTTP {} (matcher {})",
                self.path,
                status.as_u16(),
                self.settings.matcher
            )),
            Err(err) => Verdict::Fail(format!("{}: {err}", self.path)),
        }
    }
}

/// One target's standing: its state and the run of results behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthState {
    /// The state traffic decisions use.
    pub health: Health,
    /// The last failure's reason, kept while the target is not healthy.
    pub reason: Option<String>,
    passes: u32,
    failures: u32,
}

impl Default for HealthState {
    fn default() -> Self {
        HealthState {
            health: Health::Initial,
            reason: Some("waiting for the first health checks".to_owned()),
            passes: 0,
            failures: 0,
        }
    }
}

impl HealthState {
    /// Counts one check. Returns the new state when it changed.
    pub fn record(&mut self, verdict: Verdict, settings: &HealthCheck) -> Option<Health> {
        let before = self.health;
        match verdict {
            Verdict::Pass => {
                self.passes += 1;
                self.failures = 0;
                if self.health != Health::Healthy && self.passes >= settings.healthy_threshold {
                    self.health = Health::Healthy;
                    self.reason = None;
                }
            }
            Verdict::Fail(reason) => {
                self.failures += 1;
                self.passes = 0;
                if self.failures >= settings.unhealthy_threshold {
                    self.health = Health::Unhealthy;
                }
                self.reason = Some(reason);
            }
        }
        (self.health != before).then_some(self.health)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(healthy: u32, unhealthy: u32) -> HealthCheck {
        HealthCheck {
            healthy_threshold: healthy,
            unhealthy_threshold: unhealthy,
            ..HealthCheck::default()
        }
    }

    fn fail() -> Verdict {
        Verdict::Fail("refused".into())
    }

    #[test]
    fn a_new_target_needs_the_healthy_threshold_in_a_row() {
        let s = settings(3, 2);
        let mut h = HealthState::default();
        assert_eq!(h.record(Verdict::Pass, &s), None);
        assert_eq!(h.record(Verdict::Pass, &s), None);
        assert_eq!(h.record(fail(), &s), None, "one failure resets the run");
        assert_eq!(h.health, Health::Initial);
        assert_eq!(h.record(Verdict::Pass, &s), None);
        assert_eq!(h.record(Verdict::Pass, &s), None);
        assert_eq!(h.record(Verdict::Pass, &s), Some(Health::Healthy));
        assert_eq!(h.reason, None);
    }

    #[test]
    fn a_healthy_target_leaves_after_the_unhealthy_threshold_and_comes_back() {
        let s = settings(2, 3);
        let mut h = HealthState::default();
        h.record(Verdict::Pass, &s);
        h.record(Verdict::Pass, &s);
        assert_eq!(h.health, Health::Healthy);
        assert_eq!(h.record(fail(), &s), None);
        assert_eq!(h.record(fail(), &s), None, "still healthy after 2 of 3");
        assert_eq!(h.health, Health::Healthy);
        assert_eq!(h.record(fail(), &s), Some(Health::Unhealthy));
        assert_eq!(h.reason.as_deref(), Some("refused"));
        assert_eq!(h.record(Verdict::Pass, &s), None);
        assert_eq!(h.record(Verdict::Pass, &s), Some(Health::Healthy));
    }

    #[tokio::test]
    async fn the_matcher_decides_what_passes() {
        use axum::routing::get;
        let app = axum::Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route(
                "/teapot",
                get(|| async { (axum::http::StatusCode::IM_A_TEAPOT, "no") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = http::client(false);
        let check = |path: &str, matcher: &str| Check {
            path: path.to_owned(),
            settings: HealthCheck {
                matcher: matcher.parse().expect("a valid matcher"),
                timeout_seconds: 2,
                ..HealthCheck::default()
            },
        };
        assert_eq!(
            check("/ok", "200").probe(&client, addr).await,
            Verdict::Pass
        );
        assert_eq!(
            check("/teapot", "200-499").probe(&client, addr).await,
            Verdict::Pass
        );
        match check("/teapot", "200,204").probe(&client, addr).await {
            Verdict::Fail(reason) => {
                assert_eq!(reason, "/teapot answered HTTP 418 (matcher 200,204)")
            }
            Verdict::Pass => panic!("418 is not 200 or 204"),
        }
    }
}
