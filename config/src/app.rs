//! The per-app JSON description (`config/<app>.json`).
//!
//! One file describes one app completely: what it runs, how big it is, how
//! it scales, how the load balancer checks and routes to it, and where it is
//! deployed. The services, `deployer` and Terraform all read the same file,
//! so none of them keeps a second copy of these values.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::matcher::Matcher;
use crate::rules;

/// Environment variables that `deployer` sets on every container itself.
/// The JSON may not set them, so that a file can never contradict a deploy.
pub const RESERVED_ENV: [&str; 5] = [
    crate::vars::APP_NAME,
    crate::vars::APP_LAUNCH_TYPE,
    crate::vars::APP_ENV,
    crate::vars::APP_PORT,
    crate::vars::APP_VERSION,
];

/// A deployable app: one container image, one ECS service, one target group,
/// hosting one or more microservices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Editor hint pointing at the JSON Schema; ignored by every reader.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// App name. The ECS service, container, task family, ECR repository and
    /// log group are named after it unless `deploy` says otherwise.
    #[schemars(regex(pattern = rules::NAME))]
    pub app: String,
    /// Port the container listens on.
    #[schemars(range(min = 1))]
    pub port: u16,
    /// ECS launch type: `EC2` (bridge networking, instance target group) or
    /// `FARGATE` (awsvpc networking, ip target group).
    pub launch_type: LaunchType,
    /// CPU architecture the image is built for and the tasks run on:
    /// `X86_64` (default) or `ARM64` (Graviton).
    #[serde(default)]
    pub cpu_architecture: CpuArchitecture,
    /// Task CPU units (1024 = one vCPU).
    pub cpu: u32,
    /// Task memory in MiB.
    pub memory: u32,
    /// How many tasks run, and the bounds auto scaling keeps them within.
    pub replicas: Replicas,
    /// Target-tracking auto scaling. Both targets default to 75 %.
    #[serde(default)]
    pub scaling: Scaling,
    /// Load balancer health check. Every field has a default.
    #[serde(default)]
    pub health_check: HealthCheck,
    /// The microservices this app hosts, each routed by its own path patterns.
    #[schemars(length(min = 1))]
    pub microservices: Vec<Microservice>,
    /// Extra environment variables for the container.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": rules::ENV_NAME}))]
    pub environment: BTreeMap<String, String>,
    /// Where and how the app is deployed.
    pub deploy: Deploy,
    /// CloudWatch alarms on the app and the deployment alarms ECS rolls a
    /// deploy back on. Every field has a default.
    #[serde(default)]
    pub alarms: Alarms,
    /// What one task serves, for the cost plan (`deployer cost`).
    #[serde(default)]
    pub capacity: Capacity,
}

/// One task's measured capacity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Requests per second one task serves at full CPU. Defaults to
    /// [`defaults::BENCH_RPS_PER_VCPU`] times the task's vCPUs (`cpu / 1024`),
    /// from the project's benchmark (bench/README.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub rps_per_task: Option<f64>,
}

/// ECS launch type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum LaunchType {
    /// EC2 instances from the cluster's capacity provider, bridge networking.
    #[serde(rename = "EC2")]
    Ec2,
    /// Fargate, awsvpc networking.
    #[serde(rename = "FARGATE")]
    Fargate,
}

impl LaunchType {
    /// The name ECS and the JSON use: `EC2` or `FARGATE`.
    pub fn as_str(self) -> &'static str {
        match self {
            LaunchType::Ec2 => "EC2",
            LaunchType::Fargate => "FARGATE",
        }
    }

    /// The task definition's network mode for this launch type.
    pub fn network_mode(self) -> &'static str {
        match self {
            LaunchType::Ec2 => "bridge",
            LaunchType::Fargate => "awsvpc",
        }
    }

    /// The ALB target group type for this launch type.
    pub fn target_type(self) -> &'static str {
        match self {
            LaunchType::Ec2 => "instance",
            LaunchType::Fargate => "ip",
        }
    }
}

impl std::fmt::Display for LaunchType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LaunchType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "EC2" => Ok(LaunchType::Ec2),
            "FARGATE" => Ok(LaunchType::Fargate),
            _ => Err(format!(
                "unknown launch type `{s}` (expected EC2 or FARGATE)"
            )),
        }
    }
}

/// CPU architecture of an app's image and of the tasks that run it
/// (the task definition's `runtimePlatform.cpuArchitecture`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CpuArchitecture {
    /// x86-64: Fargate's default, t3 instances.
    #[default]
    #[serde(rename = "X86_64")]
    X86_64,
    /// 64-bit Arm (AWS Graviton): t4g instances.
    #[serde(rename = "ARM64")]
    Arm64,
}

impl CpuArchitecture {
    /// The name ECS and the JSON use: `X86_64` or `ARM64`.
    pub fn as_str(self) -> &'static str {
        match self {
            CpuArchitecture::X86_64 => "X86_64",
            CpuArchitecture::Arm64 => "ARM64",
        }
    }

    /// The OCI platform an image for this architecture is built for:
    /// `linux/amd64` or `linux/arm64`.
    pub fn platform(self) -> &'static str {
        match self {
            CpuArchitecture::X86_64 => "linux/amd64",
            CpuArchitecture::Arm64 => "linux/arm64",
        }
    }

    /// The OCI `architecture` of an image for this architecture.
    pub fn oci_architecture(self) -> &'static str {
        match self {
            CpuArchitecture::X86_64 => "amd64",
            CpuArchitecture::Arm64 => "arm64",
        }
    }
}

impl std::fmt::Display for CpuArchitecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Task counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replicas {
    /// Tasks the service starts with.
    pub desired: u32,
    /// Auto scaling never goes below this.
    pub min: u32,
    /// Auto scaling never goes above this.
    #[schemars(range(min = 1))]
    pub max: u32,
}

/// Target-tracking auto scaling on average CPU and memory utilisation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    /// Average CPU utilisation (%) the service is scaled to hold.
    #[serde(default = "defaults::scaling_target")]
    #[schemars(range(max = 100), extend("exclusiveMinimum" = 0))]
    pub cpu_target: f64,
    /// Average memory utilisation (%) the service is scaled to hold.
    #[serde(default = "defaults::scaling_target")]
    #[schemars(range(max = 100), extend("exclusiveMinimum" = 0))]
    pub memory_target: f64,
    /// Seconds to wait after a scale-in before another one.
    #[serde(default = "defaults::scale_in_cooldown")]
    pub scale_in_cooldown_seconds: u32,
    /// Seconds to wait after a scale-out before another one.
    #[serde(default = "defaults::scale_out_cooldown")]
    pub scale_out_cooldown_seconds: u32,
}

impl Default for Scaling {
    fn default() -> Self {
        Scaling {
            cpu_target: defaults::scaling_target(),
            memory_target: defaults::scaling_target(),
            scale_in_cooldown_seconds: defaults::scale_in_cooldown(),
            scale_out_cooldown_seconds: defaults::scale_out_cooldown(),
        }
    }
}

/// CloudWatch alarms on one app (infra/modules/observability). Rates come
/// from metric math over the load balancer's counts; a period without
/// requests counts as healthy, a period without ECS metrics as breaching.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alarms {
    /// Create the app's alarms and dashboard widgets.
    #[serde(default = "defaults::alarms_enabled")]
    pub enabled: bool,
    /// ECS rolls a deploy back when the 5xx or latency alarm fires during it
    /// (the service's deployment alarms).
    #[serde(default = "defaults::alarms_rollback")]
    pub rollback: bool,
    /// Seconds per evaluation period (10, 30 or a multiple of 60).
    #[serde(default = "defaults::alarm_period")]
    pub period_seconds: u32,
    /// Consecutive breaching periods before an alarm fires (1-10).
    #[serde(default = "defaults::alarm_evaluation_periods")]
    #[schemars(range(min = 1, max = 10))]
    pub evaluation_periods: u32,
    /// Target 5xx answers as a percentage of requests, in (0, 100].
    #[serde(default = "defaults::error_rate_percent")]
    #[schemars(range(max = 100), extend("exclusiveMinimum" = 0))]
    pub error_rate_percent: f64,
    /// p99 target response time, in milliseconds.
    #[serde(default = "defaults::latency_p99_ms")]
    #[schemars(range(min = 1))]
    pub latency_p99_ms: u32,
    /// Periods with an unhealthy target before the alarm fires (1-10).
    #[serde(default = "defaults::unhealthy_periods")]
    #[schemars(range(min = 1, max = 10))]
    pub unhealthy_periods: u32,
    /// Average service CPU utilisation (%) that counts as near the ceiling.
    #[serde(default = "defaults::ceiling_percent")]
    #[schemars(range(max = 100), extend("exclusiveMinimum" = 0))]
    pub cpu_percent: f64,
    /// Average service memory utilisation (%) that counts as near the ceiling.
    #[serde(default = "defaults::ceiling_percent")]
    #[schemars(range(max = 100), extend("exclusiveMinimum" = 0))]
    pub memory_percent: f64,
}

impl Default for Alarms {
    fn default() -> Self {
        Alarms {
            enabled: defaults::alarms_enabled(),
            rollback: defaults::alarms_rollback(),
            period_seconds: defaults::alarm_period(),
            evaluation_periods: defaults::alarm_evaluation_periods(),
            error_rate_percent: defaults::error_rate_percent(),
            latency_p99_ms: defaults::latency_p99_ms(),
            unhealthy_periods: defaults::unhealthy_periods(),
            cpu_percent: defaults::ceiling_percent(),
            memory_percent: defaults::ceiling_percent(),
        }
    }
}

/// The target group's health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// Path probed on each target. Defaults to the first microservice's
    /// health path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024), regex(pattern = rules::URL_PATH))]
    pub path: Option<String>,
    /// Consecutive successes before a target counts as healthy (2-10).
    #[serde(default = "defaults::healthy_threshold")]
    #[schemars(range(min = 2, max = 10))]
    pub healthy_threshold: u32,
    /// Consecutive failures before a target counts as unhealthy (2-10).
    #[serde(default = "defaults::unhealthy_threshold")]
    #[schemars(range(min = 2, max = 10))]
    pub unhealthy_threshold: u32,
    /// Seconds to wait for an answer (2-120, less than the interval).
    #[serde(default = "defaults::health_timeout")]
    #[schemars(range(min = 2, max = 120))]
    pub timeout_seconds: u32,
    /// Seconds between probes (5-300).
    #[serde(default = "defaults::health_interval")]
    #[schemars(range(min = 5, max = 300))]
    pub interval_seconds: u32,
    /// HTTP codes that count as healthy: `200`, `200,204` or `200-299`.
    #[serde(default = "defaults::health_matcher")]
    #[schemars(with = "String", regex(pattern = rules::MATCHER))]
    pub matcher: Matcher,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            path: None,
            healthy_threshold: defaults::healthy_threshold(),
            unhealthy_threshold: defaults::unhealthy_threshold(),
            timeout_seconds: defaults::health_timeout(),
            interval_seconds: defaults::health_interval(),
            matcher: defaults::health_matcher(),
        }
    }
}

impl HealthCheck {
    /// Whether `status` is one of the codes the matcher accepts.
    pub fn matches(&self, status: u16) -> bool {
        self.matcher.matches(status)
    }
}

/// One microservice hosted by the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Microservice {
    /// Name, also its path prefix: `medical` answers under `/medical`.
    #[schemars(regex(pattern = rules::NAME))]
    pub name: String,
    /// ALB path patterns routed to this app (at most 5; `*` and `?` wildcards).
    #[schemars(
        length(min = 1, max = 5),
        inner(length(max = 128), regex(pattern = rules::PATH_PATTERN))
    )]
    pub path_patterns: Vec<String>,
    /// Listener rule priority (1-50000). Lower wins. Unique across all apps,
    /// and fixed here so that adding a microservice never renumbers others.
    #[schemars(range(min = 1, max = 50000))]
    pub priority: u32,
    /// The microservice's own health path. Defaults to `/<name>/health`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024), regex(pattern = rules::URL_PATH))]
    pub health_path: Option<String>,
}

impl Microservice {
    /// The health path, with its default applied.
    pub fn health_path(&self) -> String {
        self.health_path
            .clone()
            .unwrap_or_else(|| format!("/{}/health", self.name))
    }
}

/// Deployment target and names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    /// Default ECS cluster. `ECS_CLUSTER` or `--cluster` override it.
    #[schemars(regex(pattern = rules::AWS_NAME))]
    pub cluster: String,
    /// Dockerfile that builds the image, relative to the repository root.
    #[schemars(regex(pattern = rules::DOCKERFILE))]
    pub dockerfile: String,
    /// ECS service name. Defaults to the app name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = rules::AWS_NAME))]
    pub service: Option<String>,
    /// Task definition family. Defaults to the app name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = rules::AWS_NAME))]
    pub family: Option<String>,
    /// Container name in the task definition. Defaults to the app name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = rules::AWS_NAME))]
    pub container: Option<String>,
    /// ECR repository name. Defaults to the app name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = rules::REPOSITORY))]
    pub repository: Option<String>,
    /// Seconds the load balancer drains a target before it is stopped.
    #[serde(default = "defaults::deregistration_delay")]
    #[schemars(range(max = 3600))]
    pub deregistration_delay_seconds: u32,
}

impl AppConfig {
    /// ECS service name.
    pub fn service_name(&self) -> &str {
        self.deploy.service.as_deref().unwrap_or(&self.app)
    }

    /// Task definition family.
    pub fn family(&self) -> &str {
        self.deploy.family.as_deref().unwrap_or(&self.app)
    }

    /// Container name inside the task definition.
    pub fn container_name(&self) -> &str {
        self.deploy.container.as_deref().unwrap_or(&self.app)
    }

    /// ECR repository name.
    pub fn repository(&self) -> &str {
        self.deploy.repository.as_deref().unwrap_or(&self.app)
    }

    /// Requests per second one task serves at full CPU: the JSON's
    /// `capacity.rps_per_task`, else the benchmark's figure per vCPU scaled
    /// to the task's CPU units.
    pub fn rps_per_task(&self) -> f64 {
        self.capacity
            .rps_per_task
            .unwrap_or(defaults::BENCH_RPS_PER_VCPU * f64::from(self.cpu) / 1024.0)
    }

    /// CloudWatch log group the containers write to.
    pub fn log_group(&self) -> String {
        format!("/ecs/{}", self.app)
    }

    /// The path the target group probes, with its default applied.
    pub fn health_check_path(&self) -> String {
        match (&self.health_check.path, self.microservices.first()) {
            (Some(path), _) => path.clone(),
            (None, Some(first)) => first.health_path(),
            (None, None) => "/health".to_owned(),
        }
    }

    /// The container's environment: the JSON's variables plus the ones every
    /// deploy sets. Everything that starts a container (ECS task definitions,
    /// the local fleet) uses this one function.
    pub fn container_environment(
        &self,
        environment: &str,
        version: &str,
    ) -> BTreeMap<String, String> {
        let mut env = self.environment.clone();
        env.insert(crate::vars::APP_NAME.into(), self.app.clone());
        env.insert(
            crate::vars::APP_LAUNCH_TYPE.into(),
            self.launch_type.as_str().into(),
        );
        env.insert(crate::vars::APP_ENV.into(), environment.into());
        env.insert(crate::vars::APP_PORT.into(), self.port.to_string());
        env.insert(crate::vars::APP_VERSION.into(), version.into());
        env
    }
}

/// Default values, named so that the schema, Terraform and the docs agree.
pub mod defaults {
    /// Requests per second one vCPU serves: the slowest route of an early
    /// version of the project's benchmark (`/medical/health` at 7735 req/s
    /// on one core, every layer and a JSON access-log line per request),
    /// rounded down, kept as a floor well under what the apps now serve
    /// (bench/README.md, "For the cost plan"). `capacity.rps_per_task`
    /// defaults to this times the task's vCPUs.
    pub const BENCH_RPS_PER_VCPU: f64 = 7700.0;

    /// CPU and memory scaling target (%).
    pub fn scaling_target() -> f64 {
        75.0
    }
    /// Seconds between scale-ins.
    pub fn scale_in_cooldown() -> u32 {
        300
    }
    /// Seconds between scale-outs.
    pub fn scale_out_cooldown() -> u32 {
        60
    }
    /// Healthy threshold.
    pub fn healthy_threshold() -> u32 {
        3
    }
    /// Unhealthy threshold.
    pub fn unhealthy_threshold() -> u32 {
        3
    }
    /// Health check timeout (s).
    pub fn health_timeout() -> u32 {
        5
    }
    /// Health check interval (s).
    pub fn health_interval() -> u32 {
        15
    }
    /// Health check matcher: `200`.
    pub fn health_matcher() -> super::Matcher {
        super::Matcher::default()
    }
    /// Deregistration delay (s). Short, so that deploys finish quickly; the
    /// services finish in-flight requests on SIGTERM anyway.
    pub fn deregistration_delay() -> u32 {
        15
    }
    /// Alarms are on.
    pub fn alarms_enabled() -> bool {
        true
    }
    /// Deployment alarms roll a deploy back.
    pub fn alarms_rollback() -> bool {
        true
    }
    /// Alarm period (s).
    pub fn alarm_period() -> u32 {
        60
    }
    /// Breaching periods before an alarm fires.
    pub fn alarm_evaluation_periods() -> u32 {
        3
    }
    /// 5xx rate threshold (%).
    pub fn error_rate_percent() -> f64 {
        5.0
    }
    /// p99 latency threshold (ms).
    pub fn latency_p99_ms() -> u32 {
        1000
    }
    /// Periods with an unhealthy target before the alarm fires.
    pub fn unhealthy_periods() -> u32 {
        3
    }
    /// CPU and memory ceiling (%).
    pub fn ceiling_percent() -> f64 {
        90.0
    }
}
