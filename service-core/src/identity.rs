//! Which host or ECS task a process runs on, reported by the info routes so
//! that a person behind the load balancer sees which task answered.
//!
//! The host name is known at once. On ECS the task ARN comes from the task
//! metadata endpoint (`ECS_CONTAINER_METADATA_URI_V4`); it is fetched in the
//! background with a short timeout, so a slow or missing endpoint never
//! delays startup: until it answers, the routes report the host alone.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::client;

/// Set by the ECS agent in every container of a task.
pub const METADATA_VAR: &str = "ECS_CONTAINER_METADATA_URI_V4";

/// How long one metadata request may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts before giving up; the endpoint can lag the container's start.
const METADATA_ATTEMPTS: u32 = 3;

/// The host name and, once known, the ECS task ARN.
#[derive(Debug, Clone)]
pub struct Identity {
    host: Arc<str>,
    task: Arc<OnceLock<String>>,
}

impl Identity {
    /// This machine's host name, with no task yet.
    pub fn from_host_name() -> Identity {
        Identity::new(gethostname::gethostname().to_string_lossy().as_ref())
    }

    /// An identity with the given host name and no task.
    pub fn new(host: &str) -> Identity {
        Identity {
            host: Arc::from(host),
            task: Arc::new(OnceLock::new()),
        }
    }

    /// The host name (on ECS, the container's).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The ECS task ARN, once the metadata endpoint has given it.
    pub fn task(&self) -> Option<&str> {
        self.task.get().map(String::as_str)
    }

    /// When `ECS_CONTAINER_METADATA_URI_V4` is set, starts fetching the task
    /// ARN in the background and returns at once. Needs a Tokio runtime.
    pub fn discover_task(&self) {
        let Some(base) = std::env::var(METADATA_VAR).ok().filter(|v| !v.is_empty()) else {
            return;
        };
        let task = Arc::clone(&self.task);
        tokio::spawn(async move {
            let url = format!("{}/task", base.trim_end_matches('/'));
            for attempt in 1..=METADATA_ATTEMPTS {
                match fetch_task_arn(&url).await {
                    Ok(arn) => {
                        tracing::info!(task = %arn, "ECS task identified");
                        let _first = task.set(arn);
                        return;
                    }
                    Err(reason) if attempt == METADATA_ATTEMPTS => {
                        tracing::warn!(%url, %reason, "no ECS task ARN; reporting the host name only");
                    }
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await
                    }
                }
            }
        });
    }
}

async fn fetch_task_arn(url: &str) -> Result<String, String> {
    let (status, body) = client::get(url, METADATA_TIMEOUT)
        .await
        .map_err(|err| err.to_string())?;
    if !status.is_success() {
        return Err(format!("status {status}"));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&body).map_err(|err| format!("not JSON: {err}"))?;
    metadata
        .get("TaskARN")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "no TaskARN field".to_owned())
}
