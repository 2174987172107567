//! Known answers, computed by hand from pricing/eu-west-1.json and written
//! out term by term, for the repository's own apps and
//! infra/terraform.tfvars.example (eu-west-1, two AZs, one NAT gateway,
//! t3.small, Fargate base 1 and no Spot).

use std::path::{Path, PathBuf};

use super::demand::{self, Demand};
use super::levers;
use super::packing::{self, Capacity, Group};
use super::plan::{self, GB, MONTH_DAYS};
use super::{inputs, report, CostError, Inputs};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn args(extra: &[&str]) -> Vec<String> {
    let repo = repo();
    let mut v: Vec<String> = vec![
        "deployer".into(),
        "--config-dir".into(),
        repo.join("config").display().to_string(),
        "cost".into(),
        "--infra-dir".into(),
        repo.join("infra").display().to_string(),
        "--pricing-dir".into(),
        repo.join("pricing").display().to_string(),
    ];
    if !extra.contains(&"--tfvars") {
        v.push("--tfvars".into());
        v.push(
            repo.join("infra/terraform.tfvars.example")
                .display()
                .to_string(),
        );
    }
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn load(extra: &[&str]) -> Result<Inputs, CostError> {
    let cli = crate::cli::try_parse_from(args(extra)).expect("arguments parse");
    match &cli.command {
        Some(crate::cli::Command::Cost(a)) => inputs(&cli.global, a),
        other => panic!("expected cost, got {other:?}"),
    }
}

fn close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 1e-6 * expected.abs().max(1.0),
        "{what}: expected {expected}, got {actual}"
    );
}

fn line(plan: &plan::Plan, item: &str, app: Option<&str>) -> f64 {
    plan.lines
        .iter()
        .find(|l| l.item == item && l.app.as_deref() == app)
        .map(|l| l.monthly_usd)
        .unwrap_or_else(|| panic!("no line {item} / {app:?} in {:#?}", plan.lines))
}

fn priced(inputs: &Inputs) -> plan::Plan {
    plan::price(
        &inputs.scenario,
        &inputs.sheet,
        &inputs.demand,
        &inputs.usage,
    )
    .expect("priced")
}

/// eu-west-1, idle: both apps at replicas.min = 2, all month (730 h).
const IDLE_FARGATE_VCPU: f64 = 2.0 * 0.25 * 730.0 * 0.04048; // 14.7752
const IDLE_FARGATE_MEMORY: f64 = 2.0 * 0.5 * 730.0 * 0.004445; // 3.24485
                                                               // service-a's two tasks spread over two AZs: one t3.small in each.
const IDLE_EC2: f64 = 2.0 * 730.0 * 0.0228; // 33.288
const EBS: f64 = 2.0 * 30.0 * 0.088; // 5.28
const NAT: f64 = 730.0 * 0.048; // 35.04
                                // Two ALB nodes (one per AZ) and the NAT gateway's Elastic IP.
const IPV4: f64 = 3.0 * 730.0 * 0.005; // 10.95
const ALB: f64 = 730.0 * 0.0252; // 18.396
const FLOW_LOGS: f64 = 1.0 * 0.57; // 1 GB ingested
const FLOW_LOG_STORAGE: f64 = 1.0 / (730.0 / 24.0) * 30.0 * 0.03; // 30 days kept
const INSIGHTS: f64 = (11.0 + 21.0 * 2.0) * 0.30; // 53 metrics
const ECR: f64 = 2.0 * 0.05 * 30.0 * 0.10; // 30 images of 0.05 GB per app
const STATE: f64 = 0.01 * 0.023;

#[test]
fn idle_known_answer() {
    let inputs = load(&["--traffic", "idle"]).expect("inputs");
    assert_eq!(inputs.sheet.region, "eu-west-1");
    assert_eq!(inputs.demand, Demand::Idle);
    let plan = priced(&inputs);
    close(
        line(&plan, "Fargate vCPU (X86_64)", Some("service-b")),
        IDLE_FARGATE_VCPU,
        "fargate vcpu",
    );
    close(
        line(&plan, "Fargate memory (X86_64)", Some("service-b")),
        IDLE_FARGATE_MEMORY,
        "fargate memory",
    );
    close(line(&plan, "EC2 t3.small", None), IDLE_EC2, "ec2");
    close(line(&plan, "EBS gp3 root volumes", None), EBS, "ebs");
    close(line(&plan, "NAT gateway", None), NAT, "nat");
    close(line(&plan, "NAT gateway data", None), 0.0, "nat data");
    close(line(&plan, "Public IPv4 addresses", None), IPV4, "ipv4");
    close(line(&plan, "Application Load Balancer", None), ALB, "alb");
    close(line(&plan, "ALB capacity units", None), 0.0, "lcu");
    close(
        line(&plan, "VPC flow logs ingestion", None),
        FLOW_LOGS,
        "flow logs",
    );
    close(
        line(&plan, "VPC flow logs storage", None),
        FLOW_LOG_STORAGE,
        "flow log storage",
    );
    close(
        line(&plan, "Container Insights metrics", None),
        INSIGHTS,
        "insights",
    );
    let expected = IDLE_FARGATE_VCPU
        + IDLE_FARGATE_MEMORY
        + IDLE_EC2
        + EBS
        + NAT
        + IPV4
        + ALB
        + FLOW_LOGS
        + FLOW_LOG_STORAGE
        + INSIGHTS
        + ECR
        + STATE;
    close(expected, 137.773869041, "the hand sum");
    close(plan.monthly_usd, expected, "idle total");
    assert!(plan.hourly.iter().all(|h| h.ec2_instances == 2));
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn peak_known_answer() {
    let inputs = load(&["--traffic", "peak"]).expect("inputs");
    let plan = priced(&inputs);
    // Both apps at replicas.max = 6. One task serves 7700 * 256/1024 = 1925
    // req/s, 1443.75 at the 75 % CPU target: 8662.5 req/s per app.
    let rps = 6.0 * 1925.0 * 0.75;
    close(rps, 8662.5, "peak rps");
    close(
        line(&plan, "Fargate vCPU (X86_64)", Some("service-b")),
        6.0 * 0.25 * 730.0 * 0.04048,
        "vcpu",
    );
    close(
        line(&plan, "Fargate memory (X86_64)", Some("service-b")),
        6.0 * 0.5 * 730.0 * 0.004445,
        "memory",
    );
    // Three 512 MiB tasks per AZ fit one t3.small (floor(2048 * 0.975) =
    // 1996 MiB registered): still one instance per AZ.
    close(line(&plan, "EC2 t3.small", None), IDLE_EC2, "ec2");
    // LCUs: processed bytes dominate: 17325 req/s * 1500 B * 3600 s = 87.13 GB/h.
    let lcu_per_hour = 2.0 * rps * 1500.0 * 3600.0 / GB;
    assert!(
        lcu_per_hour > 2.0 * rps * 0.05 / 25.0,
        "bytes outweigh new connections"
    );
    close(
        line(&plan, "ALB capacity units", None),
        lcu_per_hour * 730.0 * 0.008,
        "lcu",
    );
    // Access logs: 350 B a request, ingested, kept 30 days, and through NAT.
    let log_gb_month = rps * 3600.0 * 350.0 / GB * 730.0;
    close(
        line(&plan, "CloudWatch Logs ingestion", Some("service-a")),
        log_gb_month * 0.57,
        "ingestion",
    );
    close(
        line(&plan, "CloudWatch Logs storage", Some("service-b")),
        log_gb_month / MONTH_DAYS * 30.0 * 0.03,
        "storage",
    );
    close(
        line(&plan, "NAT gateway data", None),
        2.0 * log_gb_month * 0.048,
        "nat data",
    );
    let expected = 6.0 * 0.25 * 730.0 * 0.04048
        + 6.0 * 0.5 * 730.0 * 0.004445
        + IDLE_EC2
        + EBS
        + NAT
        + 2.0 * log_gb_month * 0.048
        + IPV4
        + ALB
        + lcu_per_hour * 730.0 * 0.008
        + 2.0 * log_gb_month * 0.57
        + 2.0 * log_gb_month / MONTH_DAYS * 30.0 * 0.03
        + FLOW_LOGS
        + FLOW_LOG_STORAGE
        + INSIGHTS
        + ECR
        + STATE;
    close(plan.monthly_usd, expected, "peak total");
}

fn saving(alternatives: &[levers::Alternative], name: &str) -> f64 {
    alternatives
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.saving_usd)
        .unwrap_or_else(|| {
            panic!(
                "no alternative `{name}` in {:?}",
                alternatives.iter().map(|a| &a.name).collect::<Vec<_>>()
            )
        })
}

#[test]
fn each_lever_known_answer_at_idle() {
    let inputs = load(&["--traffic", "idle"]).expect("inputs");
    let doc = report(&inputs).expect("report");
    let alt = &doc.alternatives;
    // Spot: of service-b's 2 tasks, 1 is the base; the other goes weight/(1+weight) to Spot.
    let spot_task_month = (0.25 * (0.04048 - 0.012144) + 0.5 * (0.004445 - 0.0013335)) * 730.0;
    close(
        saving(alt, "fargate_spot_weight = 1"),
        0.5 * spot_task_month,
        "spot 1",
    );
    close(
        saving(alt, "fargate_spot_weight = 3"),
        0.75 * spot_task_month,
        "spot 3",
    );
    // Graviton: service-b on ARM64 Fargate, service-a on t4g.small.
    let graviton = 2.0 * 0.25 * 730.0 * (0.04048 - 0.03238)
        + 2.0 * 0.5 * 730.0 * (0.004445 - 0.00356)
        + 2.0 * 730.0 * (0.0228 - 0.0184);
    close(
        saving(
            alt,
            "Graviton: cpu_architecture = ARM64, instance_type = t4g.small",
        ),
        graviton,
        "graviton",
    );
    // service-a on Fargate: no instances and no volumes, two Fargate tasks.
    close(
        saving(alt, "service-a on FARGATE"),
        IDLE_EC2 + EBS - IDLE_FARGATE_VCPU - IDLE_FARGATE_MEMORY,
        "service-a on fargate",
    );
    // service-b on EC2: one task of each app per AZ fits the same two t3.small.
    close(
        saving(alt, "service-b on EC2"),
        IDLE_FARGATE_VCPU + IDLE_FARGATE_MEMORY,
        "service-b on ec2",
    );
    // One NAT gateway per AZ: a second gateway and its address.
    close(
        saving(alt, "single_nat_gateway = false"),
        -(730.0 * 0.048 + 730.0 * 0.005),
        "nat per az",
    );
    // Four interface endpoints in two AZs; no NAT data to save at idle.
    close(
        saving(alt, "VPC interface endpoints on"),
        -(4.0 * 2.0 * 730.0 * 0.011),
        "endpoints",
    );
    // No traffic, no application logs: retention saves nothing.
    close(saving(alt, "log_retention_days = 7"), 0.0, "retention");
    // The smallest type that packs a 512 MiB task: t3.micro (998 MiB registered).
    close(
        saving(alt, "instance_type = t3.micro"),
        2.0 * 730.0 * (0.0228 - 0.0114),
        "t3.micro",
    );
    assert_eq!(
        alt.iter()
            .filter(|a| a.name.starts_with("instance_type = "))
            .count(),
        1,
        "only the cheapest instance type is shown"
    );
    // replicas.min = 1: one service-a task needs one instance (AZ spread
    // with one task), one service-b task is half the Fargate bill.
    let a = alt
        .iter()
        .find(|a| a.name == "service-a replicas.min = 1")
        .expect("lever");
    close(
        a.saving_usd,
        730.0 * 0.0228 + 30.0 * 0.088,
        "service-a min 1",
    );
    assert!(!a.meets_availability_rules, "one task breaks the rules");
    close(
        saving(alt, "service-b replicas.min = 1"),
        (IDLE_FARGATE_VCPU + IDLE_FARGATE_MEMORY) / 2.0,
        "service-b min 1",
    );
    // The recommendation keeps the rules and beats every single lever that does.
    let best_single = alt
        .iter()
        .filter(|a| a.meets_availability_rules)
        .map(|a| a.monthly_usd)
        .fold(f64::INFINITY, f64::min);
    assert!(doc.recommendation.monthly_usd <= best_single + 1e-9);
    assert!(!doc.recommendation.changes.is_empty());
    assert!(doc
        .recommendation
        .changes
        .iter()
        .all(|c| !c.contains("replicas.min")));
}

#[test]
fn log_retention_lever_known_answer_under_constant_traffic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("flat.csv");
    let mut csv = String::from("hour,service-a,service-b\n");
    for h in 0..168 {
        csv.push_str(&format!("{h},1000,1000\n"));
    }
    std::fs::write(&file, csv).expect("write");
    let inputs = load(&["--traffic", file.to_str().expect("utf-8")]).expect("inputs");
    let doc = report(&inputs).expect("report");
    // 1000 req/s needs one task (1443.75 per task): replicas.min = 2 holds.
    assert!(doc
        .hourly
        .iter()
        .all(|h| h.apps.values().all(|a| a.tasks == 2)));
    let gb_month = 1000.0 * 3600.0 * 350.0 / GB * 730.0;
    let per_app = |days: f64| gb_month / MONTH_DAYS * (30.0 - days) * 0.03;
    close(
        saving(&doc.alternatives, "log_retention_days = 7"),
        2.0 * per_app(7.0),
        "7 days",
    );
    close(
        saving(&doc.alternatives, "log_retention_days = 14"),
        2.0 * per_app(14.0),
        "14 days",
    );
    // Endpoints now carry the log bytes instead of NAT.
    close(
        saving(&doc.alternatives, "VPC interface endpoints on"),
        2.0 * gb_month * (0.048 - 0.01) - 4.0 * 2.0 * 730.0 * 0.011,
        "endpoints",
    );
}

const T3_SMALL: Capacity = Capacity {
    cpu: 2048,
    memory: 1996,
};

fn group(cpu: u32, memory: u32, count: u32) -> Group {
    Group {
        app: "service-a".into(),
        cpu,
        memory,
        count,
    }
}

#[test]
fn a_task_that_fits_no_instance_is_a_clear_error() {
    let err = packing::instances_needed(&[group(4096, 512, 1)], 2, "t3.small", T3_SMALL)
        .expect_err("does not fit");
    let text = err.to_string();
    assert!(
        text.contains("service-a") && text.contains("t3.small") && text.contains("4096"),
        "{text}"
    );
    let err = packing::instances_needed(&[group(256, 2048, 1)], 2, "t3.small", T3_SMALL)
        .expect_err("2048 MiB is more than the 1996 registered");
    assert!(err.to_string().contains("1996 MiB registered"), "{err}");
}

#[test]
fn memory_bound_and_cpu_bound_packing() {
    assert_eq!(Capacity::of_instance(2, 2048, 0.975), T3_SMALL);
    // Memory-bound: 512 MiB tasks, three to an instance (1536 of 1996 MiB);
    // CPU would allow eight. Seven tasks in one AZ: three instances.
    assert_eq!(
        packing::instances_needed(&[group(256, 512, 7)], 1, "t3.small", T3_SMALL).unwrap(),
        3
    );
    // CPU-bound: 1024-unit tasks, two to an instance whatever the memory.
    assert_eq!(
        packing::instances_needed(&[group(1024, 256, 5)], 1, "t3.small", T3_SMALL).unwrap(),
        3
    );
    // Mixed: a CPU-heavy and two memory-heavy tasks share: 1024+256+256
    // units, 256+900+900 = 2056 MiB is too much, so two instances.
    let mixed = [group(1024, 256, 1), group(256, 900, 2)];
    assert_eq!(
        packing::instances_needed(&mixed, 1, "t3.small", T3_SMALL).unwrap(),
        2
    );
}

#[test]
fn the_az_spread_decides_the_instances() {
    // One task: one AZ, one instance.
    assert_eq!(
        packing::instances_needed(&[group(256, 512, 1)], 2, "t3.small", T3_SMALL).unwrap(),
        1
    );
    // Two tasks that would share one instance are spread: one per AZ.
    assert_eq!(
        packing::instances_needed(&[group(256, 512, 2)], 2, "t3.small", T3_SMALL).unwrap(),
        2
    );
    // Six tasks over two AZs: three per AZ, one instance each.
    assert_eq!(
        packing::instances_needed(&[group(256, 512, 6)], 2, "t3.small", T3_SMALL).unwrap(),
        2
    );
    // Seven: four in the first AZ need a second instance there.
    assert_eq!(
        packing::instances_needed(&[group(256, 512, 7)], 2, "t3.small", T3_SMALL).unwrap(),
        3
    );
    assert_eq!(
        packing::instances_needed(&[], 2, "t3.small", T3_SMALL).unwrap(),
        0
    );
}

#[test]
fn tasks_follow_the_scaling_formula() {
    // clamp(ceil(rps / (rps_per_task * cpu_target / 100)), min, max)
    assert_eq!(demand::tasks_for(0.0, 1925.0, 75.0, 2, 6), 2);
    assert_eq!(demand::tasks_for(2887.5, 1925.0, 75.0, 2, 6), 2);
    assert_eq!(demand::tasks_for(2888.0, 1925.0, 75.0, 2, 6), 3);
    assert_eq!(demand::tasks_for(1e9, 1925.0, 75.0, 2, 6), 6);
    // A faster app is a cheaper app: double the capacity, half the tasks.
    assert_eq!(demand::tasks_for(5775.0, 1925.0, 75.0, 1, 10), 4);
    assert_eq!(demand::tasks_for(5775.0, 3850.0, 75.0, 1, 10), 2);
}

#[test]
fn builtin_profile_csv_and_json_agree() {
    let apps = vec!["service-a".to_owned(), "service-b".to_owned()];
    let builtin = demand::builtin(&apps);
    let Demand::Rps { rps, .. } = &builtin else {
        panic!("rps profile");
    };
    // The documented shape: Monday noon at the peak, Saturday noon at 40 %.
    close(rps["service-a"][12], 4000.0, "monday noon");
    close(rps["service-b"][5 * 24 + 12], 1600.0, "saturday noon");
    close(rps["service-a"][3], 4000.0 * 0.07, "monday 03:00");

    let text = demand::to_csv(rps).expect("csv");
    assert!(
        text.starts_with("hour,service-a,service-b\n0,400,400\n"),
        "{}",
        &text[..40]
    );
    let parsed = demand::parse_csv(Path::new("week.csv"), &text, &apps).expect("parses");
    let Demand::Rps {
        rps: parsed_rps, ..
    } = &parsed
    else {
        panic!("rps");
    };
    assert_eq!(parsed_rps, rps);

    let mut inputs = load(&[]).expect("inputs");
    assert_eq!(
        inputs.demand, builtin,
        "no --traffic means the built-in profile"
    );
    let from_builtin = report(&inputs).expect("report");
    inputs.demand = parsed;
    let from_csv = report(&inputs).expect("report");
    assert_eq!(from_builtin.lines, from_csv.lines);
    assert_eq!(from_builtin.hourly, from_csv.hourly);

    let json: serde_json::Value =
        serde_json::from_str(&from_builtin.to_json().expect("json")).expect("valid json");
    for key in [
        "region",
        "currency",
        "price_sheet_date",
        "monthly_usd",
        "lines",
        "alternatives",
        "hourly",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["currency"], "USD");
    assert_eq!(json["price_sheet_date"], inputs.sheet.date.as_str());
    for key in ["item", "app", "quantity", "unit", "monthly_usd"] {
        assert!(json["lines"][0].get(key).is_some(), "lines lack {key}");
    }
    for key in ["name", "monthly_usd", "saving_usd", "tradeoff"] {
        assert!(
            json["alternatives"][0].get(key).is_some(),
            "alternatives lack {key}"
        );
    }
    let hourly = json["hourly"].as_array().expect("hourly");
    assert_eq!(hourly.len(), 168);
    for (h, hour) in hourly.iter().enumerate() {
        for app in &apps {
            let r = hour["apps"][app]["rps"].as_f64().expect("rps");
            close(r, rps[app][h], "json rps");
        }
    }
    // The hours add up to the month: the average hour times 730.
    let sum: f64 = hourly.iter().map(|h| h["usd"].as_f64().expect("usd")).sum();
    close(
        sum / 168.0 * 730.0,
        json["monthly_usd"].as_f64().expect("total"),
        "hours to month",
    );
    let lines: f64 = json["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["monthly_usd"].as_f64().expect("usd"))
        .sum();
    close(
        lines,
        json["monthly_usd"].as_f64().expect("total"),
        "lines to total",
    );
    // Scaling shows: weekday working hours run 3 tasks, nights 2.
    assert_eq!(from_builtin.hourly[12].apps["service-b"].tasks, 3);
    assert_eq!(from_builtin.hourly[3].apps["service-b"].tasks, 2);
}

#[test]
fn a_bad_csv_names_the_file_line_and_field() {
    let apps = vec!["service-a".to_owned(), "service-b".to_owned()];
    let mut text = String::from("hour,service-a,service-b\n");
    for h in 0..168 {
        let b = if h == 5 {
            "lots".to_owned()
        } else {
            "10".to_owned()
        };
        text.push_str(&format!("{h},10,{b}\n"));
    }
    let err = demand::parse_csv(Path::new("traffic/week.csv"), &text, &apps).expect_err("bad");
    let msg = err.to_string();
    assert!(
        msg.starts_with("traffic/week.csv: line 7: field `service-b`"),
        "{msg}"
    );
    assert!(msg.contains("`lots`"), "{msg}");

    let missing = "hour,service-a\n0,1\n";
    let msg = demand::parse_csv(Path::new("w.csv"), missing, &apps)
        .expect_err("no column")
        .to_string();
    assert!(msg.starts_with("w.csv: line 1: field `service-b`"), "{msg}");

    let short = "hour,service-a,service-b\n0,1,1\n";
    let msg = demand::parse_csv(Path::new("w.csv"), short, &apps)
        .expect_err("short")
        .to_string();
    assert!(msg.contains("hour 1 is missing"), "{msg}");

    let out_of_range = "hour,service-a,service-b\n168,1,1\n";
    let msg = demand::parse_csv(Path::new("w.csv"), out_of_range, &apps)
        .expect_err("range")
        .to_string();
    assert!(msg.starts_with("w.csv: line 2: field `hour`"), "{msg}");
}

#[test]
fn an_unknown_region_names_the_file_and_the_regions_there_are() {
    let err = load(&["--region", "mars-north-1"]).expect_err("no sheet");
    let msg = err.to_string();
    assert!(msg.contains("mars-north-1.json"), "{msg}");
    assert!(msg.contains("eu-west-1, us-east-1"), "{msg}");
    // And a region that exists switches the sheet.
    let inputs = load(&["--region", "us-east-1", "--traffic", "idle"]).expect("inputs");
    let plan = priced(&inputs);
    close(
        line(&plan, "NAT gateway", None),
        730.0 * 0.045,
        "us-east-1 nat",
    );
}

#[test]
fn a_tfvars_value_of_the_wrong_type_names_the_file_line_and_field() {
    let text = "region = \"eu-west-1\"\n\n# spread\naz_count = \"two\"\n";
    let err = super::settings::from_tfvars_text(Path::new("prod.tfvars"), text).expect_err("bad");
    assert_eq!(
        err.to_string(),
        "prod.tfvars: line 4: `az_count`: expected a whole number, found the string \"two\""
    );
    let text = "single_nat_gateway = 1\n";
    let err = super::settings::from_tfvars_text(Path::new("x.tfvars"), text).expect_err("bad");
    assert_eq!(
        err.to_string(),
        "x.tfvars: line 1: `single_nat_gateway`: expected true or false, found the number 1"
    );
    // Through the command line too, on a real file.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.tfvars");
    std::fs::write(&file, "region = \"eu-west-1\"\nec2_max_size = 2.5\n").expect("write");
    let err = load(&["--tfvars", file.to_str().expect("utf-8")]).expect_err("bad");
    let msg = err.to_string();
    assert!(msg.contains("bad.tfvars: line 2: `ec2_max_size`"), "{msg}");
}

#[test]
fn settings_come_from_variables_tf_and_the_tfvars_overlay() {
    let inputs = load(&[]).expect("inputs");
    let s = &inputs.scenario.settings;
    // From terraform.tfvars.example.
    assert_eq!(s.region.as_deref(), Some("eu-west-1"));
    assert_eq!(s.instance_type, "t3.small");
    // From variables.tf defaults.
    assert_eq!(s.log_retention_days, 30);
    assert_eq!(s.container_insights, "enabled");
    assert!(s.flow_logs_enabled);
    assert!(!s.vpc_endpoints_enabled);
    let text = "region = \"us-east-1\"\nvpc_endpoints_enabled = true\naz_count = 3\n";
    let s = super::settings::from_tfvars_text(Path::new("t.tfvars"), text).expect("parses");
    assert!(s.vpc_endpoints_enabled);
    assert_eq!(s.az_count, 3);
}
