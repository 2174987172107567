//! Rules the JSON Schema cannot express: ranges that depend on other fields,
//! AWS limits, and uniqueness across microservices and apps.

use std::collections::BTreeMap;

use crate::app::{AppConfig, LaunchType, RESERVED_ENV};
use crate::error::Problem;

/// Every problem in one app, so that a person fixes them all in one pass.
pub fn app(cfg: &AppConfig) -> Vec<Problem> {
    let mut p = Problems::default();

    if !is_name(&cfg.app) {
        p.push("app", "must be 1-255 lowercase letters, digits or `-`");
    }
    if cfg.port == 0 {
        p.push("port", "must be between 1 and 65535");
    }
    resources(cfg, &mut p);
    replicas(cfg, &mut p);
    scaling(cfg, &mut p);
    alarms(cfg, &mut p);
    health_check(cfg, &mut p);
    microservices(cfg, &mut p);
    environment(cfg, &mut p);
    deploy(cfg, &mut p);
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
    if r.max == 0 {
        p.push("replicas.max", "must be at least 1");
    }
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

fn scaling(cfg: &AppConfig, p: &mut Problems) {
    for (field, value) in [
        ("scaling.cpu_target", cfg.scaling.cpu_target),
        ("scaling.memory_target", cfg.scaling.memory_target),
    ] {
        if !(value > 0.0 && value <= 100.0) {
            p.push(field, format!("{value} is not a percentage in (0, 100]"));
        }
    }
    if let Some(rps) = cfg.capacity.rps_per_task {
        if !(rps.is_finite() && rps > 0.0) {
            p.push(
                "capacity.rps_per_task",
                format!("{rps} is not a positive number"),
            );
        }
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
    for (field, value) in [
        ("alarms.evaluation_periods", a.evaluation_periods),
        ("alarms.unhealthy_periods", a.unhealthy_periods),
    ] {
        if !(1..=10).contains(&value) {
            p.push(field, format!("{value} is outside 1..=10"));
        }
    }
    for (field, value) in [
        ("alarms.error_rate_percent", a.error_rate_percent),
        ("alarms.cpu_percent", a.cpu_percent),
        ("alarms.memory_percent", a.memory_percent),
    ] {
        if !(value > 0.0 && value <= 100.0) {
            p.push(field, format!("{value} is not a percentage in (0, 100]"));
        }
    }
    if a.latency_p99_ms == 0 {
        p.push("alarms.latency_p99_ms", "must be above 0");
    }
}

fn health_check(cfg: &AppConfig, p: &mut Problems) {
    let hc = &cfg.health_check;
    if let Some(path) = &hc.path {
        if let Err(reason) = url_path(path) {
            p.push("health_check.path", reason);
        }
    }
    for (field, value) in [
        ("health_check.healthy_threshold", hc.healthy_threshold),
        ("health_check.unhealthy_threshold", hc.unhealthy_threshold),
    ] {
        if !(2..=10).contains(&value) {
            p.push(field, format!("{value} is outside 2..=10"));
        }
    }
    if !(2..=120).contains(&hc.timeout_seconds) {
        p.push(
            "health_check.timeout_seconds",
            format!("{} is outside 2..=120", hc.timeout_seconds),
        );
    }
    if !(5..=300).contains(&hc.interval_seconds) {
        p.push(
            "health_check.interval_seconds",
            format!("{} is outside 5..=300", hc.interval_seconds),
        );
    }
    if hc.timeout_seconds >= hc.interval_seconds {
        p.push(
            "health_check.timeout_seconds",
            format!(
                "must be less than interval_seconds ({})",
                hc.interval_seconds
            ),
        );
    }
    if let Err(reason) = matcher(&hc.matcher) {
        p.push("health_check.matcher", reason);
    }
}

/// `200`, `200,204` or `200-299`, codes 200-499, as the ALB accepts.
fn matcher(m: &str) -> Result<(), String> {
    let code = |s: &str| match s.trim().parse::<u16>() {
        Ok(c) if (200..=499).contains(&c) => Ok(c),
        _ => Err(format!("`{s}` is not an HTTP code between 200 and 499")),
    };
    if m.trim().is_empty() {
        return Err("must not be empty".into());
    }
    for part in m.split(',') {
        match part.split_once('-') {
            Some((lo, hi)) => {
                if code(lo)? > code(hi)? {
                    return Err(format!("range `{part}` is backwards"));
                }
            }
            None => {
                code(part)?;
            }
        }
    }
    Ok(())
}

fn microservices(cfg: &AppConfig, p: &mut Problems) {
    if cfg.microservices.is_empty() {
        p.push("microservices", "must list at least one microservice");
    }
    let mut seen_names = BTreeMap::new();
    let mut seen_priorities = BTreeMap::new();
    for (i, ms) in cfg.microservices.iter().enumerate() {
        let at = |field: &str| format!("microservices[{i}].{field}");
        if !is_name(&ms.name) {
            p.push(at("name"), "must be 1-255 lowercase letters, digits or `-`");
        }
        if let Some(j) = seen_names.insert(ms.name.as_str(), i) {
            p.push(
                at("name"),
                format!("`{}` is also microservices[{j}]", ms.name),
            );
        }
        if !(1..=50000).contains(&ms.priority) {
            p.push(
                at("priority"),
                format!("{} is outside 1..=50000", ms.priority),
            );
        }
        if let Some(j) = seen_priorities.insert(ms.priority, i) {
            p.push(
                at("priority"),
                format!("{} is also microservices[{j}].priority", ms.priority),
            );
        }
        if ms.path_patterns.is_empty() || ms.path_patterns.len() > 5 {
            p.push(
                at("path_patterns"),
                "must hold 1 to 5 patterns (an ALB rule condition's limit)",
            );
        }
        for (j, pattern) in ms.path_patterns.iter().enumerate() {
            if let Err(reason) = path_pattern(pattern) {
                p.push(format!("microservices[{i}].path_patterns[{j}]"), reason);
            }
        }
        if let Some(path) = &ms.health_path {
            if let Err(reason) = url_path(path) {
                p.push(at("health_path"), reason);
            }
        }
    }
}

fn environment(cfg: &AppConfig, p: &mut Problems) {
    for name in cfg.environment.keys() {
        let field = format!("environment.{name}");
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            p.push(
                field,
                "is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)",
            );
        } else if RESERVED_ENV.contains(&name.as_str()) {
            p.push(field, "is set by every deploy and cannot be set here");
        }
    }
}

fn deploy(cfg: &AppConfig, p: &mut Problems) {
    let d = &cfg.deploy;
    if !is_aws_name(&d.cluster) {
        p.push(
            "deploy.cluster",
            "must be 1-255 letters, digits, `-` or `_`",
        );
    }
    for (field, value) in [
        ("deploy.service", &d.service),
        ("deploy.family", &d.family),
        ("deploy.container", &d.container),
    ] {
        if value.as_deref().is_some_and(|v| !is_aws_name(v)) {
            p.push(field, "must be 1-255 letters, digits, `-` or `_`");
        }
    }
    if let Some(repo) = &d.repository {
        let valid = !repo.is_empty()
            && repo.len() <= 256
            && repo
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c));
        if !valid {
            p.push(
                "deploy.repository",
                "must be lowercase letters, digits, `-`, `_`, `.` or `/`",
            );
        }
    }
    if d.dockerfile.trim().is_empty() {
        p.push("deploy.dockerfile", "must name a Dockerfile");
    }
    if d.deregistration_delay_seconds > 3600 {
        p.push(
            "deploy.deregistration_delay_seconds",
            "must be at most 3600",
        );
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
}

fn is_aws_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn url_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("`{path}` must start with `/`"));
    }
    if path.len() > 1024 || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{path}` is not a valid URL path"));
    }
    Ok(())
}

/// An ALB path pattern: at most 128 characters from the ALB's set.
fn path_pattern(pattern: &str) -> Result<(), String> {
    url_path(pattern)?;
    if pattern.len() > 128 {
        return Err(format!("`{pattern}` is longer than 128 characters"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.$/~\"'@:+&*?".contains(c);
    if let Some(bad) = pattern.chars().find(|&c| !allowed(c)) {
        return Err(format!(
            "`{pattern}` holds `{bad}`, which an ALB path pattern cannot"
        ));
    }
    Ok(())
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

    #[test]
    fn matcher_accepts_the_alb_forms_only() {
        for ok in ["200", "200,204", "200-299", "200-204,302"] {
            assert!(matcher(ok).is_ok(), "{ok}");
        }
        for bad in ["", "abc", "100", "600", "299-200", "200-"] {
            assert!(matcher(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn path_patterns_reject_what_the_alb_rejects() {
        assert!(path_pattern("/medical/*").is_ok());
        assert!(path_pattern("medical").is_err());
        assert!(path_pattern("/a b").is_err());
        assert!(path_pattern("/a#b").is_err());
        assert!(path_pattern(&format!("/{}", "a".repeat(128))).is_err());
    }
}
