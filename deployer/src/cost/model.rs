//! What the plan prices: the apps as the cost model sees them, the
//! infrastructure settings, and the usage assumptions that turn requests
//! into bytes.

use std::path::Path;

use app_config::{AppConfig, LaunchType};
use serde::Serialize;

use super::pricing::Arch;
use super::settings::Settings;
use super::CostError;

/// One app, as far as cost goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppModel {
    pub name: String,
    pub launch_type: LaunchType,
    pub cpu_architecture: Arch,
    /// CPU units per task.
    pub cpu: u32,
    /// MiB per task.
    pub memory: u32,
    pub min: u32,
    pub max: u32,
    /// `scaling.cpu_target` (%).
    pub cpu_target: f64,
    /// Requests per second one task serves at full CPU.
    pub rps_per_task: f64,
    /// Listener rules routing to the app (one per microservice).
    pub listener_rules: u32,
}

impl AppModel {
    /// The model of `config`, read from `file`. `cpu_architecture` is read
    /// from the file itself when the `config` crate does not know the field
    /// (it defaults to X86_64).
    pub fn from_config(config: &AppConfig, file: &Path) -> Result<AppModel, CostError> {
        Ok(AppModel {
            name: config.app.clone(),
            launch_type: config.launch_type,
            cpu_architecture: architecture(file)?,
            cpu: config.cpu,
            memory: config.memory,
            min: config.replicas.min,
            max: config.replicas.max,
            cpu_target: config.scaling.cpu_target,
            rps_per_task: config.rps_per_task(),
            listener_rules: u32::try_from(config.microservices.len()).unwrap_or(u32::MAX),
        })
    }

    /// vCPUs per task.
    pub fn vcpu(&self) -> f64 {
        f64::from(self.cpu) / 1024.0
    }

    /// GB of memory per task (Fargate bills 1024 MiB as 1 GB).
    pub fn memory_gb(&self) -> f64 {
        f64::from(self.memory) / 1024.0
    }
}

/// The app JSON's top-level `cpu_architecture` (`X86_64` or `ARM64`),
/// X86_64 when absent.
fn architecture(file: &Path) -> Result<Arch, CostError> {
    let text = std::fs::read_to_string(file).map_err(|err| CostError::Settings {
        file: file.to_owned(),
        message: format!("cannot read: {err}"),
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| CostError::Settings {
            file: file.to_owned(),
            message: format!("line {}: {err}", err.line()),
        })?;
    match value.get("cpu_architecture") {
        None | Some(serde_json::Value::Null) => Ok(Arch::X86_64),
        Some(v) => serde_json::from_value(v.clone()).map_err(|_| CostError::Settings {
            file: file.to_owned(),
            message: format!("field `cpu_architecture`: {v} is not X86_64 or ARM64"),
        }),
    }
}

/// The apps and the infrastructure: everything a lever may change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    pub settings: Settings,
    pub apps: Vec<AppModel>,
}

/// What the plan assumes about traffic and storage that no file says.
/// Documented in deployer/README.md ("Cost plan").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    /// Bytes the load balancer processes per request (request and
    /// response, headers included).
    pub bytes_per_request: f64,
    /// New client connections per request (keep-alive reuses the rest).
    pub new_connections_per_request: f64,
    /// Seconds a client connection stays open.
    pub connection_seconds: f64,
    /// Bytes of access log per request (one JSON line).
    pub log_bytes_per_request: f64,
    /// Compressed size of one image in ECR, GB.
    pub image_gb: f64,
    /// Rejected-traffic flow log records a month, GB.
    pub flow_logs_gb_per_month: f64,
    /// The Terraform state bucket, all versions, GB.
    pub state_bucket_gb: f64,
    /// Container Insights metrics for the cluster.
    pub insights_metrics_per_cluster: f64,
    /// Container Insights metrics per service (service and task family).
    pub insights_metrics_per_service: f64,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            bytes_per_request: 1500.0,
            new_connections_per_request: 0.05,
            connection_seconds: 10.0,
            log_bytes_per_request: 350.0,
            image_gb: 0.05,
            flow_logs_gb_per_month: 1.0,
            state_bucket_gb: 0.01,
            insights_metrics_per_cluster: 11.0,
            insights_metrics_per_service: 21.0,
        }
    }
}
