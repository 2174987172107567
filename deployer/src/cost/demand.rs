//! Demand: requests per second per app for each hour of a typical week
//! (hour 0 is Monday 00:00), and how many tasks that takes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::CostError;

/// Hours in the week the profile covers.
pub const HOURS: usize = 168;

/// Hours in the month the plan prices (AWS's 730-hour month).
pub const MONTH_HOURS: f64 = 730.0;

/// Built-in profile: weekday requests per second, as a share of the peak,
/// for each hour of the day (UTC).
pub const WEEKDAY_SHAPE: [f64; 24] = [
    0.10, 0.08, 0.07, 0.07, 0.08, 0.12, 0.25, 0.45, 0.70, 0.85, 0.95, 1.00, 1.00, 0.95, 0.90, 0.90,
    0.85, 0.75, 0.60, 0.45, 0.35, 0.25, 0.18, 0.13,
];

/// Built-in profile: Saturday and Sunday run at this share of a weekday.
pub const WEEKEND_FACTOR: f64 = 0.4;

/// Built-in profile: each app's weekday peak, in requests per second.
pub const BUILTIN_PEAK_RPS: f64 = 4000.0;

/// Where demand comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Demand {
    /// No traffic: every app at `replicas.min`.
    Idle,
    /// Every app at `replicas.max`, serving what that many tasks hold at the
    /// CPU target.
    Peak,
    /// Requests per second per app for each of the 168 hours.
    Rps {
        /// `builtin`, or the CSV file.
        name: String,
        rps: BTreeMap<String, Vec<f64>>,
    },
}

impl Demand {
    /// Parses `--traffic`: `idle`, `peak`, `builtin` or a CSV file.
    pub fn from_arg(arg: Option<&str>, apps: &[String]) -> Result<Demand, CostError> {
        match arg {
            None | Some("builtin") => Ok(builtin(apps)),
            Some("idle") => Ok(Demand::Idle),
            Some("peak") => Ok(Demand::Peak),
            Some(file) => {
                let file = PathBuf::from(file);
                let text = std::fs::read_to_string(&file).map_err(|err| CostError::Traffic {
                    file: file.clone(),
                    message: format!("cannot read: {err}"),
                })?;
                parse_csv(&file, &text, apps)
            }
        }
    }

    /// `idle`, `peak`, `builtin` or the file name.
    pub fn name(&self) -> String {
        match self {
            Demand::Idle => "idle".into(),
            Demand::Peak => "peak".into(),
            Demand::Rps { name, .. } => name.clone(),
        }
    }
}

/// The built-in weekday/weekend profile for `apps`.
pub fn builtin(apps: &[String]) -> Demand {
    let week: Vec<f64> = (0..HOURS)
        .map(|h| {
            let day = h / 24;
            let factor = if day >= 5 { WEEKEND_FACTOR } else { 1.0 };
            BUILTIN_PEAK_RPS * WEEKDAY_SHAPE[h % 24] * factor
        })
        .collect();
    Demand::Rps {
        name: "builtin".into(),
        rps: apps.iter().map(|a| (a.clone(), week.clone())).collect(),
    }
}

/// Writes `rps` as the CSV `--traffic FILE` reads.
pub fn to_csv(rps: &BTreeMap<String, Vec<f64>>) -> Result<String, CostError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let out = |err: csv::Error| CostError::Output {
        file: PathBuf::from("traffic.csv"),
        message: err.to_string(),
    };
    let mut header = vec!["hour".to_owned()];
    header.extend(rps.keys().cloned());
    w.write_record(&header).map_err(out)?;
    for h in 0..HOURS {
        let mut row = vec![h.to_string()];
        row.extend(rps.values().map(|v| format!("{}", v[h])));
        w.write_record(&row).map_err(out)?;
    }
    let bytes = w.into_inner().map_err(|err| CostError::Output {
        file: PathBuf::from("traffic.csv"),
        message: err.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|err| CostError::Output {
        file: PathBuf::from("traffic.csv"),
        message: err.to_string(),
    })
}

/// Parses a traffic CSV: header `hour,<app>,...`, one row for each hour
/// 0-167, requests per second (0 or more) per app. Every app in `apps`
/// needs a column; other columns are ignored.
pub fn parse_csv(file: &Path, text: &str, apps: &[String]) -> Result<Demand, CostError> {
    let err = |line: u64, message: String| CostError::Traffic {
        file: file.to_owned(),
        message: format!("line {line}: {message}"),
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| err(1, format!("header: {e}")))?
        .clone();
    if header.get(0) != Some("hour") {
        return Err(err(
            1,
            format!(
                "field `hour`: the first column must be `hour`, found `{}`",
                header.get(0).unwrap_or("")
            ),
        ));
    }
    let mut columns = BTreeMap::new();
    for app in apps {
        let Some(i) = header.iter().position(|h| h == app) else {
            return Err(err(
                1,
                format!(
                    "field `{app}`: no column for app `{app}` (header: {})",
                    header.iter().collect::<Vec<_>>().join(",")
                ),
            ));
        };
        columns.insert(app.clone(), i);
    }
    let mut rps: BTreeMap<String, Vec<Option<f64>>> = apps
        .iter()
        .map(|a| (a.clone(), vec![None; HOURS]))
        .collect();
    let mut seen = [false; HOURS];
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            err(line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let hour_text = record.get(0).unwrap_or("");
        let hour: usize = hour_text
            .parse()
            .ok()
            .filter(|h| *h < HOURS)
            .ok_or_else(|| {
                err(
                    line,
                    format!("field `hour`: `{hour_text}` is not an hour 0-167"),
                )
            })?;
        if seen[hour] {
            return Err(err(
                line,
                format!("field `hour`: hour {hour} appears twice"),
            ));
        }
        seen[hour] = true;
        for (app, i) in &columns {
            let cell = record.get(*i).unwrap_or("");
            let value: f64 = cell
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    err(
                        line,
                        format!(
                            "field `{app}`: `{cell}` is not a number of requests per second (0 or more)"
                        ),
                    )
                })?;
            if let Some(v) = rps.get_mut(app) {
                v[hour] = Some(value);
            }
        }
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(CostError::Traffic {
            file: file.to_owned(),
            message: format!(
                "field `hour`: hour {missing} is missing; the file needs one row for each hour 0-167"
            ),
        });
    }
    Ok(Demand::Rps {
        name: file.display().to_string(),
        rps: rps
            .into_iter()
            .map(|(app, v)| (app, v.into_iter().map(|x| x.unwrap_or(0.0)).collect()))
            .collect(),
    })
}

/// Tasks that serve `rps`: `clamp(ceil(rps / (rps_per_task * cpu_target /
/// 100)), min, max)`.
pub fn tasks_for(rps: f64, rps_per_task: f64, cpu_target: f64, min: u32, max: u32) -> u32 {
    let per_task = rps_per_task * cpu_target / 100.0;
    let needed = (rps / per_task).ceil();
    // Guard the float-to-int conversion; the clamp bounds it anyway.
    let needed = if needed.is_finite() && needed > 0.0 {
        needed.min(f64::from(u32::MAX)) as u32
    } else {
        0
    };
    needed.clamp(min, max.max(min))
}
