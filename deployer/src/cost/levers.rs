//! The levers: the same demand priced under alternatives, each with its
//! monthly saving and what it trades away, and the cheapest combination
//! that keeps the availability rules.
//!
//! The availability rules this project keeps:
//! 1. every app runs at least two tasks (`replicas.min >= 2`);
//! 2. across at least two AZs (`az_count >= 2`);
//! 3. at least one task of every Fargate app on regular Fargate, never on
//!    Spot alone (`fargate_base >= 1` whenever `fargate_spot_weight > 0`).
//!
//! One NAT gateway is allowed (the project's default): losing its AZ stops
//! the private subnets' outbound traffic, not the tasks serving requests.

use app_config::LaunchType;
use serde::Serialize;

use super::demand::{tasks_for, Demand, HOURS};
use super::model::{Scenario, Usage};
use super::plan::{price, Plan};
use super::pricing::{Arch, Sheet};

/// One alternative.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    pub name: String,
    pub monthly_usd: f64,
    /// Against the configured plan; negative when it costs more.
    pub saving_usd: f64,
    pub tradeoff: String,
    /// Whether it keeps the availability rules.
    pub meets_availability_rules: bool,
}

/// A change a lever makes.
#[derive(Debug, Clone)]
pub struct Change {
    pub name: String,
    /// Alternatives of one group compete: only the cheapest is shown.
    pub group: Option<&'static str>,
    pub tradeoff: String,
    pub scenario: Scenario,
}

/// The cheapest plan found that keeps the rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The changes, in the order they were chosen.
    pub changes: Vec<String>,
    pub monthly_usd: f64,
    pub saving_usd: f64,
}

/// Rules `scenario` breaks, in words.
pub fn rule_violations(scenario: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    for app in &scenario.apps {
        if app.min < 2 {
            out.push(format!(
                "`{}` may run a single task (replicas.min = {})",
                app.name, app.min
            ));
        }
    }
    if scenario.settings.az_count < 2 {
        out.push("the tasks run in one AZ (az_count = 1)".into());
    }
    let fargate = scenario
        .apps
        .iter()
        .any(|a| a.launch_type == LaunchType::Fargate);
    if fargate && scenario.settings.fargate_spot_weight > 0 && scenario.settings.fargate_base == 0 {
        out.push("every Fargate task may be on Spot (fargate_base = 0)".into());
    }
    out
}

/// Every lever that applies to `base`, as changes on top of it.
pub fn changes(base: &Scenario, sheet: &Sheet, demand: &Demand) -> Vec<Change> {
    let mut out = Vec::new();
    let s = &base.settings;
    let change = |name: String, tradeoff: String, f: &dyn Fn(&mut Scenario)| {
        let mut scenario = base.clone();
        f(&mut scenario);
        Change {
            name,
            group: None,
            tradeoff,
            scenario,
        }
    };

    // Fargate Spot shares.
    if base
        .apps
        .iter()
        .any(|a| a.launch_type == LaunchType::Fargate && a.cpu_architecture == Arch::X86_64)
    {
        for weight in [1, 3] {
            if weight != s.fargate_spot_weight {
                out.push(change(
                    format!("fargate_spot_weight = {weight}"),
                    format!(
                        "the Fargate tasks beyond the first {} of each service go {weight} in {} to Spot, which AWS may stop at two minutes' notice; ARM64 tasks cannot use Spot",
                        s.fargate_base.max(1),
                        weight + s.fargate_weight
                    ),
                    &|sc| {
                        sc.settings.fargate_spot_weight = weight;
                        sc.settings.fargate_base = sc.settings.fargate_base.max(1);
                    },
                ));
            }
        }
    }

    // Graviton.
    if base.apps.iter().any(|a| a.cpu_architecture == Arch::X86_64) {
        let graviton_type = graviton_equivalent(sheet, &s.instance_type);
        let needs_instances = base.apps.iter().any(|a| a.launch_type == LaunchType::Ec2);
        if !needs_instances || graviton_type.is_some() {
            let instance_type = graviton_type.unwrap_or_else(|| s.instance_type.clone());
            let instance_note = if needs_instances {
                format!(", instance_type = {instance_type}")
            } else {
                String::new()
            };
            out.push(change(
                format!("Graviton: cpu_architecture = ARM64{instance_note}"),
                "images are built for linux/arm64 (native dependencies must support it); Fargate Spot does not run ARM64 tasks".into(),
                &|sc| {
                    for app in &mut sc.apps {
                        app.cpu_architecture = Arch::Arm64;
                    }
                    sc.settings.instance_type = instance_type.clone();
                },
            ));
        }
    }

    // EC2 against Fargate, per app.
    for (i, app) in base.apps.iter().enumerate() {
        let (to, tradeoff) = match app.launch_type {
            LaunchType::Ec2 => (
                LaunchType::Fargate,
                "billed per task with nothing idle and no instances to patch; dearer per vCPU than well-packed instances",
            ),
            LaunchType::Fargate => (
                LaunchType::Ec2,
                "shares the container instances (bridge networking, host ports): instances to patch and scale, idle capacity when tasks scale in",
            ),
        };
        // On EC2 the app shares the instances, which have one architecture.
        let clashes = to == LaunchType::Ec2
            && sheet
                .instances
                .get(&s.instance_type)
                .is_some_and(|t| t.architecture != app.cpu_architecture);
        if clashes {
            continue;
        }
        out.push(change(
            format!("{} on {}", app.name, to.as_str()),
            tradeoff.into(),
            &|sc| sc.apps[i].launch_type = to,
        ));
    }

    // One NAT gateway against one per AZ.
    if s.az_count > 1 {
        let (name, tradeoff) = if s.single_nat_gateway {
            (
                "single_nat_gateway = false",
                "a NAT gateway (and its address) in every AZ: the private subnets keep outbound access when an AZ fails",
            )
        } else {
            (
                "single_nat_gateway = true",
                "one NAT gateway: when its AZ fails, no private subnet reaches the internet (image pulls, logs) until it is back",
            )
        };
        out.push(change(name.into(), tradeoff.into(), &|sc| {
            sc.settings.single_nat_gateway = !sc.settings.single_nat_gateway;
        }));
    }

    // VPC endpoints against NAT data.
    let (name, tradeoff) = if s.vpc_endpoints_enabled {
        (
            "no VPC interface endpoints",
            "ECR, CloudWatch Logs and STS traffic goes through the NAT gateway and pays its data charge",
        )
    } else {
        (
            "VPC interface endpoints on",
            "ECR (api, dkr), CloudWatch Logs and STS endpoints cost per hour in each AZ; they save NAT data and keep that traffic off the NAT gateway",
        )
    };
    out.push(change(name.into(), tradeoff.into(), &|sc| {
        sc.settings.vpc_endpoints_enabled = !sc.settings.vpc_endpoints_enabled;
    }));

    // Log retention.
    for days in [7, 14] {
        if days < s.log_retention_days {
            out.push(change(
                format!("log_retention_days = {days}"),
                format!("application logs older than {days} days are deleted"),
                &|sc| sc.settings.log_retention_days = days,
            ));
        }
    }

    // The cheapest instance type that still packs the tasks.
    if base.apps.iter().any(|a| a.launch_type == LaunchType::Ec2) {
        if let Some(arch) = sheet
            .instances
            .get(&s.instance_type)
            .map(|i| i.architecture)
        {
            for (name, instance) in &sheet.instances {
                if *name != s.instance_type && instance.architecture == arch {
                    let mut c = change(
                        format!("instance_type = {name}"),
                        format!(
                            "{} vCPU and {} MiB per instance: less headroom for a larger task, a different packing",
                            instance.vcpu, instance.memory_mib
                        ),
                        &|sc| sc.settings.instance_type = name.clone(),
                    );
                    c.group = Some("instance_type");
                    out.push(c);
                }
            }
        }
    }

    // replicas.min lowered where the traffic allows.
    for (i, app) in base.apps.iter().enumerate() {
        let quietest = match demand {
            Demand::Idle => 0,
            Demand::Peak => app.max,
            Demand::Rps { rps, .. } => rps
                .get(&app.name)
                .map(|week| {
                    week.iter()
                        .take(HOURS)
                        .map(|r| tasks_for(*r, app.rps_per_task, app.cpu_target, 0, app.max))
                        .min()
                        .unwrap_or(0)
                })
                .unwrap_or(0),
        };
        let lowered = quietest.max(1);
        if lowered < app.min {
            out.push(change(
                format!("{} replicas.min = {lowered}", app.name),
                if lowered < 2 {
                    format!(
                        "at quiet hours `{}` runs one task in one AZ: losing it is an outage until a replacement starts",
                        app.name
                    )
                } else {
                    format!("fewer spare tasks for `{}` at quiet hours", app.name)
                },
                &|sc| sc.apps[i].min = lowered,
            ));
        }
    }
    out
}

/// The ARM64 instance type with the same vCPUs and memory as `name`.
fn graviton_equivalent(sheet: &Sheet, name: &str) -> Option<String> {
    let current = sheet.instances.get(name)?;
    if current.architecture == Arch::Arm64 {
        return Some(name.to_owned());
    }
    sheet
        .instances
        .iter()
        .filter(|(_, i)| {
            i.architecture == Arch::Arm64
                && i.vcpu == current.vcpu
                && i.memory_mib == current.memory_mib
        })
        .min_by(|a, b| a.1.usd.total_cmp(&b.1.usd))
        .map(|(n, _)| n.clone())
}

/// Every lever priced against `base_plan`. A lever whose plan cannot be
/// priced (a task that no longer fits, say) is left out.
pub fn alternatives(
    base: &Scenario,
    base_plan: &Plan,
    sheet: &Sheet,
    demand: &Demand,
    usage: &Usage,
) -> Vec<Alternative> {
    let mut out: Vec<Alternative> = Vec::new();
    let mut best_in_group: std::collections::BTreeMap<&str, (usize, f64)> = Default::default();
    for c in changes(base, sheet, demand) {
        let Ok(plan) = price(&c.scenario, sheet, demand, usage) else {
            continue;
        };
        if let Some(group) = c.group {
            match best_in_group.get(group) {
                Some((_, usd)) if *usd <= plan.monthly_usd => continue,
                Some((i, _)) => {
                    let i = *i;
                    out.remove(i);
                    for (_, (j, _)) in best_in_group.iter_mut() {
                        if *j > i {
                            *j -= 1;
                        }
                    }
                }
                None => {}
            }
            best_in_group.insert(group, (out.len(), plan.monthly_usd));
        }
        out.push(Alternative {
            name: c.name,
            monthly_usd: plan.monthly_usd,
            saving_usd: base_plan.monthly_usd - plan.monthly_usd,
            tradeoff: c.tradeoff,
            meets_availability_rules: rule_violations(&c.scenario).is_empty(),
        });
    }
    out.sort_by(|a, b| {
        b.saving_usd
            .total_cmp(&a.saving_usd)
            .then(a.name.cmp(&b.name))
    });
    out
}

/// The cheapest plan found by applying, one at a time, the lever that saves
/// the most on top of the changes so far, among those that keep the rules.
pub fn recommend(
    base: &Scenario,
    base_plan: &Plan,
    sheet: &Sheet,
    demand: &Demand,
    usage: &Usage,
) -> Recommendation {
    let mut current = base.clone();
    let mut current_usd = base_plan.monthly_usd;
    let mut chosen = Vec::new();
    // Each round applies one change; there are fewer levers than rounds.
    for _ in 0..16 {
        let best = changes(&current, sheet, demand)
            .into_iter()
            .filter(|c| rule_violations(&c.scenario).is_empty())
            .filter_map(|c| {
                price(&c.scenario, sheet, demand, usage)
                    .ok()
                    .map(|p| (c, p.monthly_usd))
            })
            .filter(|(_, usd)| *usd < current_usd - 0.005)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((c, usd)) => {
                chosen.push(c.name);
                current = c.scenario;
                current_usd = usd;
            }
            None => break,
        }
    }
    Recommendation {
        changes: chosen,
        monthly_usd: current_usd,
        saving_usd: base_plan.monthly_usd - current_usd,
    }
}
