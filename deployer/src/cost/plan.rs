//! The monthly plan: each hour of the week priced line by line from the
//! sheet, then the week's average hour times 730.

use std::collections::BTreeMap;

use app_config::LaunchType;
use serde::Serialize;

use super::demand::{tasks_for, Demand, HOURS, MONTH_HOURS};
use super::model::{Scenario, Usage};
use super::packing::{self, Capacity, Group};
use super::pricing::{Arch, Price, Sheet};
use super::settings::INTERFACE_ENDPOINTS;
use super::CostError;

/// Bytes in the GB AWS bills by.
pub const GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Days in the 730-hour month.
pub const MONTH_DAYS: f64 = MONTH_HOURS / 24.0;

/// One priced line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub item: String,
    /// The app the line is for; none for shared infrastructure.
    pub app: Option<String>,
    /// Units a month.
    pub quantity: f64,
    pub unit: String,
    pub monthly_usd: f64,
}

/// One app in one hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppHour {
    pub rps: f64,
    pub tasks: u32,
    /// Of those, on Fargate Spot (the strategy's expected share).
    pub spot_tasks: f64,
}

/// One hour of the week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hour {
    pub hour: usize,
    /// Dollars this hour, monthly items spread evenly over the month's hours.
    pub usd: f64,
    pub ec2_instances: u32,
    pub apps: BTreeMap<String, AppHour>,
}

/// The priced plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub monthly_usd: f64,
    pub lines: Vec<Line>,
    pub hourly: Vec<Hour>,
    pub warnings: Vec<String>,
}

/// One line being summed.
#[derive(Default)]
struct Sum {
    unit: String,
    week_quantity: f64,
    week_usd: f64,
    month_quantity: f64,
    month_usd: f64,
}

/// A line's key: item and app.
type Key = (String, Option<String>);

/// Lines being summed: per-hour amounts over the week, and monthly amounts.
#[derive(Default)]
struct Ledger {
    keys: Vec<Key>,
    sums: BTreeMap<Key, Sum>,
    hour_usd: Vec<f64>,
}

impl Ledger {
    fn entry(&mut self, item: &str, app: Option<&str>, unit: &str) -> &mut Sum {
        let key = (item.to_owned(), app.map(str::to_owned));
        if !self.sums.contains_key(&key) {
            self.keys.push(key.clone());
        }
        self.sums.entry(key).or_insert_with(|| Sum {
            unit: unit.to_owned(),
            ..Sum::default()
        })
    }

    /// `quantity` units at `price` during hour `h`.
    fn hourly(&mut self, h: usize, item: &str, app: Option<&str>, quantity: f64, price: &Price) {
        let usd = quantity * price.usd;
        let e = self.entry(item, app, &price.unit);
        e.week_quantity += quantity;
        e.week_usd += usd;
        self.hour_usd[h] += usd;
    }

    /// `quantity` units a month at `price`.
    fn monthly(&mut self, item: &str, app: Option<&str>, quantity: f64, price: &Price) {
        let usd = quantity * price.usd;
        let e = self.entry(item, app, &price.unit);
        e.month_quantity += quantity;
        e.month_usd += usd;
        for h in &mut self.hour_usd {
            *h += usd / MONTH_HOURS;
        }
    }

    fn lines(&self) -> Vec<Line> {
        let month = MONTH_HOURS / HOURS as f64;
        self.keys
            .iter()
            .filter_map(|key| {
                let sum = self.sums.get(key)?;
                Some(Line {
                    item: key.0.clone(),
                    app: key.1.clone(),
                    quantity: sum.week_quantity * month + sum.month_quantity,
                    unit: sum.unit.clone(),
                    monthly_usd: sum.week_usd * month + sum.month_usd,
                })
            })
            .collect()
    }
}

/// Prices `scenario` under `demand`.
pub fn price(
    scenario: &Scenario,
    sheet: &Sheet,
    demand: &Demand,
    usage: &Usage,
) -> Result<Plan, CostError> {
    let s = &scenario.settings;
    let p = &sheet.prices;
    let mut ledger = Ledger {
        hour_usd: vec![0.0; HOURS],
        ..Ledger::default()
    };
    let mut warnings = Vec::new();
    let mut hourly = Vec::with_capacity(HOURS);

    let ec2_apps: Vec<_> = scenario
        .apps
        .iter()
        .filter(|a| a.launch_type == LaunchType::Ec2)
        .collect();
    let instance = if ec2_apps.is_empty() {
        None
    } else {
        let i = sheet.instance(&s.instance_type)?;
        if let Some(app) = ec2_apps
            .iter()
            .find(|a| a.cpu_architecture != i.architecture)
        {
            return Err(CostError::Packing(format!(
                "`{}` is {} but instance_type `{}` is {}",
                app.name,
                app.cpu_architecture.as_str(),
                s.instance_type,
                i.architecture.as_str()
            )));
        }
        Some((
            i,
            Capacity::of_instance(i.vcpu, i.memory_mib, sheet.ecs.registered_memory_fraction),
        ))
    };
    let instance_price = instance.map(|(i, _)| Price {
        usd: i.usd,
        unit: i.unit.clone(),
        source: i.source.clone(),
        date: i.date.clone(),
        note: None,
    });
    let nat_count = if s.single_nat_gateway { 1 } else { s.az_count };
    let rules: u32 = scenario.apps.iter().map(|a| a.listener_rules).sum();
    let mut over_max_hours = 0;
    let mut arm_spot_warned = false;
    let mut log_gb_week: BTreeMap<String, f64> = BTreeMap::new();
    let mut new_connections_week = 0.0;

    for h in 0..HOURS {
        let mut apps = BTreeMap::new();
        let mut groups = Vec::new();
        let mut total_rps = 0.0;
        for app in &scenario.apps {
            let (rps, tasks) = match demand {
                Demand::Idle => (0.0, app.min),
                Demand::Peak => (
                    f64::from(app.max) * app.rps_per_task * app.cpu_target / 100.0,
                    app.max,
                ),
                Demand::Rps { name, rps } => {
                    let week = rps.get(&app.name).ok_or_else(|| CostError::Traffic {
                        file: name.into(),
                        message: format!("field `{}`: no traffic for app `{}`", app.name, app.name),
                    })?;
                    let r = week.get(h).copied().unwrap_or(0.0);
                    (
                        r,
                        tasks_for(r, app.rps_per_task, app.cpu_target, app.min, app.max),
                    )
                }
            };
            total_rps += rps;
            let n = f64::from(tasks);
            let mut spot = 0.0;
            match app.launch_type {
                LaunchType::Fargate => {
                    let beyond = (tasks.saturating_sub(s.fargate_base)) as f64;
                    let share = f64::from(s.fargate_spot_weight)
                        / f64::from(s.fargate_weight + s.fargate_spot_weight);
                    if app.cpu_architecture == Arch::Arm64 {
                        if s.fargate_spot_weight > 0 && !arm_spot_warned {
                            warnings.push(format!(
                                "`{}` is ARM64, which Fargate Spot does not run: its tasks are priced on regular Fargate; set fargate_spot_weight = 0 or run it on X86_64",
                                app.name
                            ));
                            arm_spot_warned = true;
                        }
                    } else {
                        spot = beyond * share;
                    }
                    let regular = n - spot;
                    let (vcpu_price, gb_price, arch) = match app.cpu_architecture {
                        Arch::X86_64 => (
                            &p.fargate_vcpu_hour_x86_64,
                            &p.fargate_gb_hour_x86_64,
                            "X86_64",
                        ),
                        Arch::Arm64 => (
                            &p.fargate_vcpu_hour_arm64,
                            &p.fargate_gb_hour_arm64,
                            "ARM64",
                        ),
                    };
                    let name = Some(app.name.as_str());
                    ledger.hourly(
                        h,
                        &format!("Fargate vCPU ({arch})"),
                        name,
                        regular * app.vcpu(),
                        vcpu_price,
                    );
                    ledger.hourly(
                        h,
                        &format!("Fargate memory ({arch})"),
                        name,
                        regular * app.memory_gb(),
                        gb_price,
                    );
                    if s.fargate_spot_weight > 0 && app.cpu_architecture == Arch::X86_64 {
                        ledger.hourly(
                            h,
                            "Fargate Spot vCPU",
                            name,
                            spot * app.vcpu(),
                            &p.fargate_spot_vcpu_hour,
                        );
                        ledger.hourly(
                            h,
                            "Fargate Spot memory",
                            name,
                            spot * app.memory_gb(),
                            &p.fargate_spot_gb_hour,
                        );
                    }
                }
                LaunchType::Ec2 => groups.push(Group {
                    app: app.name.clone(),
                    cpu: app.cpu,
                    memory: app.memory,
                    count: tasks,
                }),
            }
            let log_gb = rps * 3600.0 * usage.log_bytes_per_request / GB;
            ledger.hourly(
                h,
                "CloudWatch Logs ingestion",
                Some(&app.name),
                log_gb,
                &p.logs_ingestion_gb,
            );
            *log_gb_week.entry(app.name.clone()).or_default() += log_gb;
            if s.vpc_endpoints_enabled {
                ledger.hourly(
                    h,
                    "VPC endpoint data",
                    None,
                    log_gb,
                    &p.vpc_interface_endpoint_gb,
                );
            } else {
                ledger.hourly(h, "NAT gateway data", None, log_gb, &p.nat_gateway_gb);
            }
            apps.insert(
                app.name.clone(),
                AppHour {
                    rps,
                    tasks,
                    spot_tasks: spot,
                },
            );
        }

        let mut ec2_instances = 0;
        if let (Some((_, capacity)), Some(price)) = (instance, &instance_price) {
            let needed =
                packing::instances_needed(&groups, s.az_count, &s.instance_type, capacity)?;
            if needed > s.ec2_max_size {
                over_max_hours += 1;
            }
            ec2_instances = needed.clamp(s.ec2_min_size, s.ec2_max_size);
            let n = f64::from(ec2_instances);
            ledger.hourly(h, &format!("EC2 {}", s.instance_type), None, n, price);
            ledger.hourly(
                h,
                "EBS gp3 root volumes",
                None,
                n * f64::from(s.root_volume_size) / MONTH_HOURS,
                &p.ebs_gp3_gb_month,
            );
        }

        ledger.hourly(
            h,
            "NAT gateway",
            None,
            f64::from(nat_count),
            &p.nat_gateway_hour,
        );
        ledger.hourly(
            h,
            "Public IPv4 addresses",
            None,
            f64::from(s.az_count + nat_count),
            &p.public_ipv4_hour,
        );
        ledger.hourly(h, "Application Load Balancer", None, 1.0, &p.alb_hour);
        ledger.hourly(
            h,
            "ALB capacity units",
            None,
            lcu(total_rps, rules, sheet, usage),
            &p.alb_lcu_hour,
        );
        if s.vpc_endpoints_enabled {
            ledger.hourly(
                h,
                "VPC interface endpoints",
                None,
                f64::from(INTERFACE_ENDPOINTS * s.az_count),
                &p.vpc_interface_endpoint_hour,
            );
        }
        new_connections_week += total_rps * usage.new_connections_per_request * 3600.0;
        hourly.push(Hour {
            hour: h,
            usd: 0.0,
            ec2_instances,
            apps,
        });
    }
    if over_max_hours > 0 {
        warnings.push(format!(
            "in {over_max_hours} hours of the week the EC2 tasks need more than ec2_max_size ({}) instances: tasks would stay pending",
            s.ec2_max_size
        ));
    }

    let month = MONTH_HOURS / HOURS as f64;
    for app in &scenario.apps {
        let ingested = log_gb_week.get(&app.name).copied().unwrap_or(0.0) * month;
        let stored = ingested / MONTH_DAYS * f64::from(s.log_retention_days);
        ledger.monthly(
            "CloudWatch Logs storage",
            Some(&app.name),
            stored,
            &p.logs_storage_gb_month,
        );
    }
    if s.flow_logs_enabled {
        ledger.monthly(
            "VPC flow logs ingestion",
            None,
            usage.flow_logs_gb_per_month,
            &p.logs_vended_ingestion_gb,
        );
        ledger.monthly(
            "VPC flow logs storage",
            None,
            usage.flow_logs_gb_per_month / MONTH_DAYS * f64::from(s.flow_logs_retention_days),
            &p.logs_storage_gb_month,
        );
    }
    if s.container_insights != "disabled" {
        let metrics = usage.insights_metrics_per_cluster
            + usage.insights_metrics_per_service * scenario.apps.len() as f64;
        ledger.monthly(
            "Container Insights metrics",
            None,
            metrics,
            &p.cloudwatch_metric_month,
        );
    }
    for app in &scenario.apps {
        ledger.monthly(
            "ECR storage",
            Some(&app.name),
            usage.image_gb * f64::from(s.ecr_keep_images),
            &p.ecr_storage_gb_month,
        );
    }
    if s.domain_name.is_some() {
        ledger.monthly(
            "Route 53 hosted zone",
            None,
            1.0,
            &p.route53_hosted_zone_month,
        );
        ledger.monthly(
            "Route 53 alias queries",
            None,
            new_connections_week * month / 1e6,
            &p.route53_alias_query_million,
        );
    }
    ledger.monthly(
        "S3 state bucket",
        None,
        usage.state_bucket_gb,
        &p.s3_standard_gb_month,
    );

    for (hour, usd) in hourly.iter_mut().zip(&ledger.hour_usd) {
        hour.usd = *usd;
    }
    let lines = ledger.lines();
    let monthly_usd = lines.iter().map(|l| l.monthly_usd).sum();
    Ok(Plan {
        monthly_usd,
        lines,
        hourly,
        warnings,
    })
}

/// Load balancer capacity units in an hour at `rps`: the largest of the
/// four dimensions.
pub fn lcu(rps: f64, rules: u32, sheet: &Sheet, usage: &Usage) -> f64 {
    let d = &sheet.alb_lcu;
    let new_connections = rps * usage.new_connections_per_request;
    let active = new_connections * usage.connection_seconds;
    let processed_gb = rps * 3600.0 * usage.bytes_per_request / GB;
    let evaluations = rps * (f64::from(rules) - d.free_rules).max(0.0);
    [
        new_connections / d.new_connections_per_second,
        active / d.active_connections_per_minute,
        processed_gb / d.processed_gb_per_hour,
        evaluations / d.rule_evaluations_per_second,
    ]
    .into_iter()
    .fold(0.0, f64::max)
}
