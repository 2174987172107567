//! Rules the JSON Schema cannot express: limits that depend on other fields
//! (Fargate sizes, replica bounds, timeout against interval), the alarm
//! period's set of values, reserved variables, and uniqueness across
//! microservices and apps. Plain ranges, lengths and patterns live on the
//! types in [`crate::app`], so that they are in the schema.

use std::collections::BTreeMap;

use crate::app::{AppConfig, LaunchType, RESERVED_ENV};
use crate::error::Problem;

/// Every problem in one app, so that a person fixes them all in one pass.
pub fn app(cfg: &AppConfig) -> Vec<Problem> {
    let mut p = Problems::default();

    resources(cfg, &mut p);
    replicas(cfg, &mut p);
    alarms(cfg, &mut p);
    health_check(cfg, &mut p);
    microservices(cfg, &mut p);
    environment(cfg, &mut p);
    p.0
}

/// Problems that only show when apps are looked at together: listener rule
/// priorities and path patterns share one ALB, and ports share one host in
/// the local fleet. Each problem names the file that has the clash.
pub fn fleet<'a>(
    apps: impl IntoIterator<Item = (&'a str, &'a AppConfig)>,
) -> Vec<(String, Problem)> {
    let mut problems = Vec::new();
    let mut priorities: BTreeMap<u32, String> = BTreeMap::new();
    let mut patterns: BTreeMap<&str, String> = BTreeMap::new();
    let mut ports: BTreeMap<u16, String> = BTreeMap::new();
    let mut names: BTreeMap<&str, String> = BTreeMap::new();
    for (file, cfg) in apps {
        let owner = format!("{} ({file})", cfg.app);
        if let Some(first) = names.insert(&cfg.app, owner.clone()) {
            problems.push((
                file.to_owned(),
                Problem::new("app", format!("also used by {first}")),
            ));
        }
        if let Some(first) = ports.insert(cfg.port, owner.clone()) {
            problems.push((
                file.to_owned(),
                Problem::new("port", format!("also used by {first}")),
            ));
        }
        for (i, ms) in cfg.microservices.iter().enumerate() {
            if let Some(first) = priorities.insert(ms.priority, owner.clone()) {
                problems.push((
                    file.to_owned(),
                    Problem::new(
                        format!("microservices[{i}].priority"),
                        format!("priority {} is also used by {first}", ms.priority),
                    ),
                ));
            }
            for (j, pattern) in ms.path_patterns.iter().enumerate() {
                if let Some(first) = patterns.insert(pattern, owner.clone()) {
                    problems.push((
                        file.to_owned(),
                        Problem::new(
                            format!("microservices[{i}].path_patterns[{j}]"),
                            format!("`{pattern}` is also routed to {first}"),
                        ),
                    ));
                }
            }
        }
    }
    problems
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.0.push(Problem::new(path, reason));
    }
}

fn resources(cfg: &AppConfig, p: &mut Problems) {
    match cfg.launch_type {
        LaunchType::Fargate => {
            if let Err(reason) = fargate_size(cfg.cpu, cfg.memory) {
                p.push("memory", reason);
            }
        }
        LaunchType::Ec2 => {
            if cfg.cpu < 128 {
                p.push("cpu", "must be at least 128 units");
            }
            if cfg.memory < 128 {
                p.push("memory", "must be at least 128 MiB");
            }
        }
    }
}

/// Fargate accepts only these CPU and memory pairs.
fn fargate_size(cpu: u32, memory: u32) -> Result<(), String> {
    let (lo, hi, step) = match cpu {
        256 => {
            return if [512, 1024, 2048].contains(&memory) {
                Ok(())
            } else {
                Err(format!(
                    "Fargate cpu 256 takes memory 512, 1024 or 2048, not {memory}"
                ))
            };
        }
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => {
            return Err(format!(
                "Fargate cpu must be 256, 512, 1024, 2048, 4096, 8192 or 16384, not {cpu}"
            ))
        }
    };
    if (lo..=hi).contains(&memory) && (memory - lo) % step == 0 {
        Ok(())
    } else {
        Err(format!(
            "Fargate cpu {cpu} takes memory from {lo} to {hi} MiB in steps of {step}, not {memory}"
        ))
    }
}

fn replicas(cfg: &AppConfig, p: &mut Problems) {
    let r = cfg.replicas;
    if r.min > r.max {
        p.push(
            "replicas.min",
            format!("{} is above replicas.max ({})", r.min, r.max),
        );
    }
    if r.desired < r.min || r.desired > r.max {
        p.push(
            "replicas.desired",
            format!(
                "{} is outside replicas.min..=replicas.max ({}..={})",
                r.desired, r.min, r.max
            ),
        );
    }
}

fn alarms(cfg: &AppConfig, p: &mut Problems) {
    let a = &cfg.alarms;
    if !(a.period_seconds == 10
        || a.period_seconds == 30
        || (a.period_seconds >= 60 && a.period_seconds % 60 == 0))
    {
        p.push(
            "alarms.period_seconds",
            format!("{} is not 10, 30 or a multiple of 60", a.period_seconds),
        );
    }
}

fn health_check(cfg: &AppConfig, p: &mut Problems) {
    let hc = &cfg.health_check;
    if hc.timeout_seconds >= hc.interval_seconds {
        p.push(
            "health_check.timeout_seconds",
            format!(
                "must be less than interval_seconds ({})",
                hc.interval_seconds
            ),
        );
    }
}

fn microservices(cfg: &AppConfig, p: &mut Problems) {
    let mut seen_names = BTreeMap::new();
    let mut seen_priorities = BTreeMap::new();
    for (i, ms) in cfg.microservices.iter().enumerate() {
        let at = |field: &str| format!("microservices[{i}].{field}");
        if let Some(j) = seen_names.insert(ms.name.as_str(), i) {
            p.push(
                at("name"),
                format!("`{}` is also microservices[{j}]", ms.name),
            );
        }
        if let Some(j) = seen_priorities.insert(ms.priority, i) {
            p.push(
                at("priority"),
                format!("{} is also microservices[{j}].priority", ms.priority),
            );
        }
    }
}

fn environment(cfg: &AppConfig, p: &mut Problems) {
    for name in cfg.environment.keys() {
        if RESERVED_ENV.contains(&name.as_str()) {
            p.push(
                format!("environment.{name}"),
                "is set by every deploy and cannot be set here",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fargate_sizes_follow_the_aws_table() {
        assert!(fargate_size(256, 512).is_ok());
        assert!(fargate_size(256, 4096).is_err());
        assert!(fargate_size(512, 3072).is_ok());
        assert!(fargate_size(512, 1536).is_err());
        assert!(fargate_size(8192, 20480).is_ok());
        assert!(fargate_size(8192, 18432).is_err());
        assert!(fargate_size(300, 1024).is_err());
    }
}
