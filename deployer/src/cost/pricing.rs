//! The dated price sheet: `pricing/<region>.json`. Every price the plan
//! uses comes from it, each with its unit, source and date; none is in code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::CostError;

/// One price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// US dollars per unit.
    pub usd: f64,
    /// What one unit is (`vCPU-hour`, `GB`, ...).
    pub unit: String,
    /// Where the price was read.
    pub source: String,
    /// When it was read (YYYY-MM-DD).
    pub date: String,
    /// Anything a reader should know about the price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Every non-instance price, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub fargate_vcpu_hour_x86_64: Price,
    pub fargate_gb_hour_x86_64: Price,
    pub fargate_vcpu_hour_arm64: Price,
    pub fargate_gb_hour_arm64: Price,
    pub fargate_spot_vcpu_hour: Price,
    pub fargate_spot_gb_hour: Price,
    pub ebs_gp3_gb_month: Price,
    pub nat_gateway_hour: Price,
    pub nat_gateway_gb: Price,
    pub public_ipv4_hour: Price,
    pub alb_hour: Price,
    pub alb_lcu_hour: Price,
    pub vpc_interface_endpoint_hour: Price,
    pub vpc_interface_endpoint_gb: Price,
    pub logs_ingestion_gb: Price,
    pub logs_vended_ingestion_gb: Price,
    pub logs_storage_gb_month: Price,
    pub cloudwatch_metric_month: Price,
    pub ecr_storage_gb_month: Price,
    pub route53_hosted_zone_month: Price,
    pub route53_alias_query_million: Price,
    pub s3_standard_gb_month: Price,
}

/// What one load balancer capacity unit (LCU) covers in an hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LcuDimensions {
    pub new_connections_per_second: f64,
    pub active_connections_per_minute: f64,
    pub processed_gb_per_hour: f64,
    pub rule_evaluations_per_second: f64,
    /// Listener rules evaluated free of charge per request.
    pub free_rules: f64,
    pub source: String,
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Facts about ECS container instances the packing needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsFacts {
    /// Share of an instance's memory the ECS agent registers for tasks.
    pub registered_memory_fraction: f64,
    pub source: String,
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// CPU architecture of an instance type or a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Arch {
    #[serde(rename = "X86_64")]
    X86_64,
    #[serde(rename = "ARM64")]
    Arm64,
}

impl Arch {
    /// `X86_64` or `ARM64`, as ECS and the app JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "X86_64",
            Arch::Arm64 => "ARM64",
        }
    }
}

/// An EC2 instance type: its size and its on-demand price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    pub vcpu: u32,
    pub memory_mib: u32,
    pub architecture: Arch,
    pub usd: f64,
    pub unit: String,
    pub source: String,
    pub date: String,
}

/// A region's price sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sheet {
    pub region: String,
    pub currency: String,
    /// The date the prices were read.
    pub date: String,
    pub about: String,
    pub prices: Prices,
    pub alb_lcu: LcuDimensions,
    pub ecs: EcsFacts,
    pub instances: BTreeMap<String, Instance>,
}

impl Sheet {
    /// The sheet for `region` in `dir` (`<dir>/<region>.json`).
    pub fn load(dir: &Path, region: &str) -> Result<Sheet, CostError> {
        let file = dir.join(format!("{region}.json"));
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(CostError::Pricing {
                    file,
                    message: format!(
                        "no price sheet for region `{region}`; sheets exist for: {}",
                        available(dir).join(", ")
                    ),
                })
            }
            Err(err) => {
                return Err(CostError::Pricing {
                    file,
                    message: format!("cannot read: {err}"),
                })
            }
        };
        Sheet::parse(&file, &text, region)
    }

    /// Parses a sheet read from `file`, which must be for `region`.
    pub fn parse(file: &Path, text: &str, region: &str) -> Result<Sheet, CostError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let sheet: Sheet = serde_path_to_error::deserialize(de).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            CostError::Pricing {
                file: file.to_owned(),
                message: format!("line {}: field `{path}`: {inner}", inner.line()),
            }
        })?;
        if sheet.region != region {
            return Err(CostError::Pricing {
                file: file.to_owned(),
                message: format!(
                    "field `region`: the sheet is for `{}`, not `{region}`",
                    sheet.region
                ),
            });
        }
        if sheet.currency != "USD" {
            return Err(CostError::Pricing {
                file: file.to_owned(),
                message: format!(
                    "field `currency`: `{}`; only USD is supported",
                    sheet.currency
                ),
            });
        }
        Ok(sheet)
    }

    /// The instance type `name`, or an error naming the types the sheet has.
    pub fn instance(&self, name: &str) -> Result<&Instance, CostError> {
        self.instances.get(name).ok_or_else(|| CostError::Settings {
            file: PathBuf::from(format!("pricing/{}.json", self.region)),
            message: format!(
                "instance type `{name}` is not on the price sheet; it has: {}",
                self.instances
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }
}

/// The regions that `dir` holds sheets for.
pub fn available(dir: &Path) -> Vec<String> {
    let mut regions: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            if path.extension().and_then(|x| x.to_str()) != Some("json") {
                return None;
            }
            path.file_stem().and_then(|s| s.to_str()).map(str::to_owned)
        })
        .collect();
    regions.sort();
    regions
}
