//! `deployer cost`: the monthly cost of the stack from the same app JSON
//! and Terraform settings, driven by a week of demand, with the levers that
//! lower it.
//!
//! * [`pricing`]: the dated price sheet, `pricing/<region>.json`.
//! * [`settings`]: the Terraform variables and tfvars, read with an HCL parser.
//! * [`model`]: the apps as the cost model sees them, and usage assumptions.
//! * [`demand`]: the traffic profile and the tasks it takes.
//! * [`packing`]: EC2 tasks onto container instances.
//! * [`plan`]: the priced lines and hours.
//! * [`levers`]: the alternatives and the recommendation.
//! * [`output`] and [`chart`]: the table, the JSON document and the SVG.

pub mod chart;
pub mod demand;
pub mod levers;
pub mod model;
pub mod output;
pub mod packing;
pub mod plan;
pub mod pricing;
pub mod settings;

use std::path::PathBuf;

use crate::cli::{CostArgs, GlobalArgs, Output};

/// Why a cost plan could not be made. Every one is bad input (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// The price sheet.
    #[error("{}: {message}", file.display())]
    Pricing { file: PathBuf, message: String },
    /// A tfvars or variables file, or an app setting.
    #[error("{}: {message}", file.display())]
    Settings { file: PathBuf, message: String },
    /// The traffic file.
    #[error("{}: {message}", file.display())]
    Traffic { file: PathBuf, message: String },
    /// A task that no instance holds, or an architecture mismatch.
    #[error("{0}")]
    Packing(String),
    /// An app's JSON.
    #[error("{0}")]
    Config(String),
    /// A file the command writes.
    #[error("{}: {message}", file.display())]
    Output { file: PathBuf, message: String },
}

/// Everything a plan is made from.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub scenario: model::Scenario,
    pub sheet: pricing::Sheet,
    pub sheet_file: PathBuf,
    pub demand: demand::Demand,
    pub usage: model::Usage,
}

/// Reads the inputs the command line names.
pub fn inputs(global: &GlobalArgs, args: &CostArgs) -> Result<Inputs, CostError> {
    let targets = crate::apps::resolve(global, &args.apps, "production")
        .map_err(|err| CostError::Config(err.to_string()))?;
    let apps = targets
        .iter()
        .map(|t| model::AppModel::from_config(&t.config, &t.config_file))
        .collect::<Result<Vec<_>, _>>()?;
    let settings = settings::load(&args.infra_dir, args.tfvars.as_deref())?;
    let region = match (&global.region, &settings.region) {
        (Some(region), _) | (None, Some(region)) => region.clone(),
        (None, None) => {
            return Err(CostError::Settings {
                file: args.infra_dir.join("terraform.tfvars"),
                message: "`region`: not set; pass --region or set it in the tfvars".into(),
            })
        }
    };
    let sheet = pricing::Sheet::load(&args.pricing_dir, &region)?;
    let names: Vec<String> = apps.iter().map(|a| a.name.clone()).collect();
    let demand = demand::Demand::from_arg(args.traffic.as_deref(), &names)?;
    Ok(Inputs {
        scenario: model::Scenario { settings, apps },
        sheet_file: args.pricing_dir.join(format!("{region}.json")),
        sheet,
        demand,
        usage: model::Usage::default(),
    })
}

/// Prices the inputs, the levers and the recommendation.
pub fn report(inputs: &Inputs) -> Result<output::Document, CostError> {
    let plan = plan::price(
        &inputs.scenario,
        &inputs.sheet,
        &inputs.demand,
        &inputs.usage,
    )?;
    let alternatives = levers::alternatives(
        &inputs.scenario,
        &plan,
        &inputs.sheet,
        &inputs.demand,
        &inputs.usage,
    );
    let recommendation = levers::recommend(
        &inputs.scenario,
        &plan,
        &inputs.sheet,
        &inputs.demand,
        &inputs.usage,
    );
    Ok(output::Document::new(
        inputs,
        plan,
        alternatives,
        recommendation,
    ))
}

/// Runs `deployer cost`: returns the table (or the JSON document) for
/// stdout, and writes the chart and the traffic CSV when asked.
pub fn command(global: &GlobalArgs, args: &CostArgs) -> Result<String, CostError> {
    let inputs = inputs(global, args)?;
    let document = report(&inputs)?;
    if let Some(file) = &args.write_traffic {
        let text = demand::to_csv(&output::hourly_rps(&document))?;
        std::fs::write(file, text).map_err(|err| CostError::Output {
            file: file.clone(),
            message: format!("cannot write: {err}"),
        })?;
    }
    if let Some(file) = &args.chart {
        chart::draw(&document, file)?;
    }
    Ok(match global.output {
        Output::Json => document.to_json()?,
        Output::Text => document.to_table(),
    })
}

#[cfg(test)]
mod tests;
