//! The plan for people (a table) and for pipelines (`--output json`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use comfy_table::{presets, CellAlignment, Table};
use serde::Serialize;

use super::levers::{Alternative, Recommendation};
use super::model::Usage;
use super::plan::{Hour, Line, Plan};
use super::settings::Settings;
use super::{CostError, Inputs};

/// The document `--output json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub region: String,
    pub currency: &'static str,
    pub price_sheet: PathBuf,
    pub price_sheet_date: String,
    /// `builtin`, `idle`, `peak` or the CSV file.
    pub traffic: String,
    pub settings: Settings,
    pub monthly_usd: f64,
    pub lines: Vec<Line>,
    pub alternatives: Vec<Alternative>,
    pub recommendation: Recommendation,
    pub availability_rules: Vec<&'static str>,
    pub warnings: Vec<String>,
    pub assumptions: Usage,
    pub hourly: Vec<Hour>,
}

/// The availability rules, as the document states them.
pub const AVAILABILITY_RULES: [&str; 3] = [
    "every app runs at least two tasks (replicas.min >= 2)",
    "the tasks span at least two AZs (az_count >= 2)",
    "at least one task of every Fargate app runs on regular Fargate (fargate_base >= 1 when Spot is used)",
];

impl Document {
    /// Puts the pieces together.
    pub fn new(
        inputs: &Inputs,
        plan: Plan,
        alternatives: Vec<Alternative>,
        recommendation: Recommendation,
    ) -> Document {
        Document {
            region: inputs.sheet.region.clone(),
            currency: "USD",
            price_sheet: inputs.sheet_file.clone(),
            price_sheet_date: inputs.sheet.date.clone(),
            traffic: inputs.demand.name(),
            settings: inputs.scenario.settings.clone(),
            monthly_usd: plan.monthly_usd,
            lines: plan.lines,
            alternatives,
            recommendation,
            availability_rules: AVAILABILITY_RULES.to_vec(),
            warnings: plan.warnings,
            assumptions: inputs.usage.clone(),
            hourly: plan.hourly,
        }
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> Result<String, CostError> {
        serde_json::to_string_pretty(self).map_err(|err| CostError::Output {
            file: PathBuf::from("-"),
            message: err.to_string(),
        })
    }

    /// Markdown tables: the lines, the alternatives, the recommendation.
    pub fn to_table(&self) -> String {
        let mut lines = Table::new();
        lines.load_preset(presets::ASCII_MARKDOWN).set_header(vec![
            "Item",
            "App",
            "Quantity / month",
            "Unit",
            "USD / month",
        ]);
        for l in &self.lines {
            lines.add_row(vec![
                l.item.clone(),
                l.app.clone().unwrap_or_default(),
                quantity(l.quantity),
                l.unit.clone(),
                format!("{:.2}", l.monthly_usd),
            ]);
        }
        lines.add_row(vec![
            "Total".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            format!("{:.2}", self.monthly_usd),
        ]);
        right_align(&mut lines, &[2, 4]);

        let mut alternatives = Table::new();
        alternatives
            .load_preset(presets::ASCII_MARKDOWN)
            .set_header(vec![
                "Alternative",
                "USD / month",
                "Saving",
                "Keeps the rules",
                "Trade-off",
            ]);
        for a in &self.alternatives {
            alternatives.add_row(vec![
                a.name.clone(),
                format!("{:.2}", a.monthly_usd),
                format!("{:.2}", a.saving_usd),
                if a.meets_availability_rules {
                    "yes"
                } else {
                    "no"
                }
                .to_owned(),
                a.tradeoff.clone(),
            ]);
        }
        right_align(&mut alternatives, &[1, 2]);

        let mut out = format!(
            "Monthly cost in {} ({} prices of {}), traffic: {}\n\n{lines}\n\nAlternatives, each on its own:\n\n{alternatives}\n\n",
            self.region,
            self.price_sheet.display(),
            self.price_sheet_date,
            self.traffic,
        );
        if self.recommendation.changes.is_empty() {
            out.push_str("Recommended: the configured plan; no lever saves money within the availability rules.\n");
        } else {
            out.push_str(&format!(
                "Recommended (keeps the availability rules): {}: {:.2} USD / month, saving {:.2}.\n",
                self.recommendation.changes.join(" + "),
                self.recommendation.monthly_usd,
                self.recommendation.saving_usd
            ));
        }
        for w in &self.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
        out
    }
}

fn right_align(table: &mut Table, columns: &[usize]) {
    for &i in columns {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn quantity(q: f64) -> String {
    if q >= 100.0 {
        format!("{q:.0}")
    } else if q >= 1.0 {
        format!("{q:.2}")
    } else {
        format!("{q:.4}")
    }
}

/// Requests per second per app for each hour, as the document holds them.
pub fn hourly_rps(document: &Document) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for hour in &document.hourly {
        for (app, h) in &hour.apps {
            out.entry(app.clone()).or_default().push(h.rps);
        }
    }
    out
}
