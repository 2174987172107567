//! The infrastructure settings the plan prices: `infra/variables.tf`
//! defaults, overlaid with `terraform.tfvars` (else
//! `terraform.tfvars.example`, else nothing), or `--tfvars FILE`. Both are
//! read with an HCL parser. Variables that `infra/` may not declare yet
//! (such as `vpc_endpoints_enabled`) are read by name when present and fall
//! back to a documented default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::CostError;

/// The settings, typed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Files read, in order (later ones win).
    pub sources: Vec<PathBuf>,
    /// `region`, when a file sets it.
    pub region: Option<String>,
    pub az_count: u32,
    pub single_nat_gateway: bool,
    pub flow_logs_enabled: bool,
    pub flow_logs_retention_days: u32,
    /// Interface endpoints for ECR (api, dkr), CloudWatch Logs and STS.
    pub vpc_endpoints_enabled: bool,
    pub domain_name: Option<String>,
    pub ecr_keep_images: u32,
    pub log_retention_days: u32,
    /// `enabled`, `enhanced` or `disabled`.
    pub container_insights: String,
    pub instance_type: String,
    pub ec2_min_size: u32,
    pub ec2_max_size: u32,
    /// GiB of each container instance's gp3 root volume.
    pub root_volume_size: u32,
    pub fargate_base: u32,
    pub fargate_weight: u32,
    pub fargate_spot_weight: u32,
}

/// Names under which `infra/` may declare the VPC interface endpoints
/// toggle; the first one a file sets wins.
pub const VPC_ENDPOINT_VARIABLES: [&str; 3] = [
    "vpc_endpoints_enabled",
    "interface_endpoints_enabled",
    "enable_vpc_endpoints",
];

/// Interface endpoints the toggle creates: ECR api, ECR dkr, CloudWatch
/// Logs and STS (each in every AZ). The S3 gateway endpoint is free.
pub const INTERFACE_ENDPOINTS: u32 = 4;

/// A value read from a file, with where it came from.
#[derive(Debug, Clone)]
struct Entry {
    value: hcl::Value,
    file: PathBuf,
    line: usize,
}

impl Entry {
    /// The value of `expr`, read at `line` of `file`.
    fn new(expr: &hcl::Expression, file: &Path, line: usize) -> Self {
        Entry {
            value: hcl::Value::from(expr.clone()),
            file: file.to_owned(),
            line,
        }
    }
}

/// Reads the settings from `infra_dir` and, when given, `tfvars`.
pub fn load(infra_dir: &Path, tfvars: Option<&Path>) -> Result<Settings, CostError> {
    let mut entries = BTreeMap::new();
    let mut sources = Vec::new();
    let variables = infra_dir.join("variables.tf");
    if variables.exists() {
        defaults(&variables, &mut entries)?;
        sources.push(variables);
    }
    let overlay = match tfvars {
        Some(file) => Some(file.to_owned()),
        None => ["terraform.tfvars", "terraform.tfvars.example"]
            .iter()
            .map(|name| infra_dir.join(name))
            .find(|f| f.exists()),
    };
    if let Some(file) = overlay {
        assignments(&file, &mut entries)?;
        sources.push(file);
    }
    from_entries(&entries, sources)
}

/// Parses `text` as tfvars (for tests and `--tfvars`), on top of nothing.
pub fn from_tfvars_text(file: &Path, text: &str) -> Result<Settings, CostError> {
    let mut entries = BTreeMap::new();
    assignments_text(file, text, &mut entries)?;
    from_entries(&entries, vec![file.to_owned()])
}

fn read(file: &Path) -> Result<String, CostError> {
    std::fs::read_to_string(file).map_err(|err| CostError::Settings {
        file: file.to_owned(),
        message: format!("cannot read: {err}"),
    })
}

fn parse(file: &Path, text: &str) -> Result<hcl::Body, CostError> {
    hcl::parse(text).map_err(|err| CostError::Settings {
        file: file.to_owned(),
        message: format!("not valid HCL: {err}"),
    })
}

/// The `default` of every `variable` block in a variables.tf.
fn defaults(file: &Path, entries: &mut BTreeMap<String, Entry>) -> Result<(), CostError> {
    let text = read(file)?;
    let body = parse(file, &text)?;
    for block in body.blocks().filter(|b| b.identifier() == "variable") {
        let Some(name) = block.labels().first().map(|l| l.as_str().to_owned()) else {
            continue;
        };
        if let Some(attr) = block.body().attributes().find(|a| a.key() == "default") {
            let line = line_of(&text, &format!("variable \"{name}\"")).unwrap_or(0);
            entries.insert(name, Entry::new(attr.expr(), file, line));
        }
    }
    Ok(())
}

/// Every top-level assignment in a tfvars file.
fn assignments(file: &Path, entries: &mut BTreeMap<String, Entry>) -> Result<(), CostError> {
    let text = read(file)?;
    assignments_text(file, &text, entries)
}

fn assignments_text(
    file: &Path,
    text: &str,
    entries: &mut BTreeMap<String, Entry>,
) -> Result<(), CostError> {
    let body = parse(file, text)?;
    if let Some(block) = body.blocks().next() {
        return Err(CostError::Settings {
            file: file.to_owned(),
            message: format!(
                "line {}: `{}`: a tfvars file holds assignments only, not blocks",
                line_of(text, block.identifier()).unwrap_or(0),
                block.identifier()
            ),
        });
    }
    for attr in body.attributes() {
        let name = attr.key().to_owned();
        let line = line_of(text, &name).unwrap_or(0);
        entries.insert(name, Entry::new(attr.expr(), file, line));
    }
    Ok(())
}

/// The 1-based line where `name` is assigned or declared, for messages.
fn line_of(text: &str, name: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(name).is_some_and(|rest| {
                let rest = rest.trim_start();
                rest.starts_with('=') || rest.starts_with('{') || name.starts_with("variable ")
            })
        })
        .map(|i| i + 1)
}

struct Reader<'a> {
    entries: &'a BTreeMap<String, Entry>,
}

impl Reader<'_> {
    fn wrong(&self, name: &str, e: &Entry, expected: &str) -> CostError {
        CostError::Settings {
            file: e.file.clone(),
            message: format!(
                "line {}: `{name}`: expected {expected}, found {}",
                e.line,
                describe(&e.value)
            ),
        }
    }

    fn get(&self, name: &str) -> Option<&Entry> {
        self.entries
            .get(name)
            .filter(|e| !matches!(e.value, hcl::Value::Null))
    }

    fn count(&self, name: &str, fallback: u32) -> Result<u32, CostError> {
        match self.get(name) {
            None => Ok(fallback),
            Some(e) => match &e.value {
                hcl::Value::Number(n) => n
                    .as_u64()
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(|| self.wrong(name, e, "a whole number 0 or more")),
                _ => Err(self.wrong(name, e, "a whole number")),
            },
        }
    }

    fn flag(&self, name: &str, fallback: bool) -> Result<bool, CostError> {
        match self.get(name) {
            None => Ok(fallback),
            Some(e) => match &e.value {
                hcl::Value::Bool(b) => Ok(*b),
                _ => Err(self.wrong(name, e, "true or false")),
            },
        }
    }

    fn text(&self, name: &str) -> Result<Option<String>, CostError> {
        match self.get(name) {
            None => Ok(None),
            Some(e) => match &e.value {
                hcl::Value::String(s) => Ok(Some(s.clone())),
                _ => Err(self.wrong(name, e, "a string")),
            },
        }
    }
}

fn describe(value: &hcl::Value) -> String {
    match value {
        hcl::Value::Null => "null".into(),
        hcl::Value::Bool(b) => format!("the bool {b}"),
        hcl::Value::Number(n) => format!("the number {n}"),
        hcl::Value::String(s) => format!("the string \"{s}\""),
        hcl::Value::Array(_) => "a list".into(),
        hcl::Value::Object(_) => "an object".into(),
    }
}

fn from_entries(
    entries: &BTreeMap<String, Entry>,
    sources: Vec<PathBuf>,
) -> Result<Settings, CostError> {
    let r = Reader { entries };
    let vpc_endpoints_enabled = match VPC_ENDPOINT_VARIABLES
        .iter()
        .find(|name| r.get(name).is_some())
    {
        Some(name) => r.flag(name, false)?,
        None => false,
    };
    let settings = Settings {
        sources,
        region: r.text("region")?,
        az_count: r.count("az_count", 2)?,
        single_nat_gateway: r.flag("single_nat_gateway", true)?,
        flow_logs_enabled: r.flag("flow_logs_enabled", true)?,
        flow_logs_retention_days: r.count("flow_logs_retention_days", 30)?,
        vpc_endpoints_enabled,
        domain_name: r.text("domain_name")?,
        ecr_keep_images: r.count("ecr_keep_images", 30)?,
        log_retention_days: r.count("log_retention_days", 30)?,
        container_insights: r
            .text("container_insights")?
            .unwrap_or_else(|| "enabled".into()),
        instance_type: r
            .text("instance_type")?
            .unwrap_or_else(|| "t3.small".into()),
        ec2_min_size: r.count("ec2_min_size", 1)?,
        ec2_max_size: r.count("ec2_max_size", 4)?,
        root_volume_size: r.count("root_volume_size", 30)?,
        fargate_base: r.count("fargate_base", 1)?,
        fargate_weight: r.count("fargate_weight", 1)?,
        fargate_spot_weight: r.count("fargate_spot_weight", 0)?,
    };
    let bad = |name: &str, message: String| {
        let e = entries.get(name);
        CostError::Settings {
            file: e
                .map(|e| e.file.clone())
                .unwrap_or_else(|| PathBuf::from("infra/variables.tf")),
            message: format!("line {}: `{name}`: {message}", e.map_or(0, |e| e.line)),
        }
    };
    if settings.az_count == 0 {
        return Err(bad("az_count", "must be 1 or more".into()));
    }
    if settings.ec2_min_size > settings.ec2_max_size {
        return Err(bad(
            "ec2_min_size",
            format!(
                "{} is above ec2_max_size ({})",
                settings.ec2_min_size, settings.ec2_max_size
            ),
        ));
    }
    if settings.fargate_weight + settings.fargate_spot_weight == 0 {
        return Err(bad(
            "fargate_spot_weight",
            "fargate_weight and fargate_spot_weight are both 0".into(),
        ));
    }
    if !["enabled", "enhanced", "disabled"].contains(&settings.container_insights.as_str()) {
        return Err(bad(
            "container_insights",
            format!(
                "`{}` is not enabled, enhanced or disabled",
                settings.container_insights
            ),
        ));
    }
    Ok(settings)
}
