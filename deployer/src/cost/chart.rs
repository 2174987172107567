//! `--chart FILE.svg`: tasks per app and dollars per hour over the week.

use std::path::Path;

use plotters::prelude::*;

use super::output::Document;
use super::CostError;

/// Draws `document`'s week into an SVG at `file`.
pub fn draw(document: &Document, file: &Path) -> Result<(), CostError> {
    let fail = |message: String| CostError::Output {
        file: file.to_owned(),
        message,
    };
    let mut apps: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut instances = Vec::new();
    let mut usd = Vec::new();
    for hour in &document.hourly {
        let x = hour.hour as f64;
        for (app, h) in &hour.apps {
            match apps.iter_mut().find(|(name, _)| name == app) {
                Some((_, points)) => points.push((x, f64::from(h.tasks))),
                None => apps.push((app.clone(), vec![(x, f64::from(h.tasks))])),
            }
        }
        instances.push((x, f64::from(hour.ec2_instances)));
        usd.push((x, hour.usd));
    }
    let has_ec2 = instances.iter().any(|(_, n)| *n > 0.0);
    let max_count = apps
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .chain(instances.iter().map(|(_, y)| *y))
        .fold(1.0, f64::max);
    let max_usd = usd.iter().map(|(_, y)| *y).fold(0.01, f64::max);

    let root = SVGBackend::new(file, (1000, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
    let (upper, lower) = root.split_vertically(350);

    let mut tasks = ChartBuilder::on(&upper)
        .caption(
            format!(
                "Tasks over the week ({}, traffic: {})",
                document.region, document.traffic
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(0.0..168.0, 0.0..(max_count + 1.0))
        .map_err(|e| fail(e.to_string()))?;
    tasks
        .configure_mesh()
        .x_desc("hour of the week (0 = Monday 00:00 UTC)")
        .y_desc("tasks / instances")
        .x_labels(15)
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    let mut series: Vec<(String, Vec<(f64, f64)>)> = apps;
    if has_ec2 {
        series.push(("EC2 instances".into(), instances));
    }
    for (i, (name, points)) in series.into_iter().enumerate() {
        let color = Palette99::pick(i);
        tasks
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| fail(e.to_string()))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 20, y)],
                    Palette99::pick(i).stroke_width(2),
                )
            });
    }
    tasks
        .configure_series_labels()
        .background_style(WHITE.mix(0.8).filled())
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(e.to_string()))?;

    let mut dollars = ChartBuilder::on(&lower)
        .caption(
            format!(
                "USD per hour (monthly total {:.2} USD)",
                document.monthly_usd
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..168.0, 0.0..(max_usd * 1.1))
        .map_err(|e| fail(e.to_string()))?;
    dollars
        .configure_mesh()
        .x_desc("hour of the week (0 = Monday 00:00 UTC)")
        .y_desc("USD / hour")
        .x_labels(15)
        .draw()
        .map_err(|e| fail(e.to_string()))?;
    dollars
        .draw_series(LineSeries::new(usd, BLUE.stroke_width(2)))
        .map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))?;
    Ok(())
}
