//! ECS: render, register, roll out, follow, roll back, prune.
//!
//! Each command resolves its apps, runs them in parallel (one future per
//! app on the same client), and gathers one [`Report`]. The work itself is
//! written against [`api::EcsApi`], so that unit tests run it against a
//! scripted fake:
//!
//! * [`deploy`]: the cycle (preflight, render, register, update, follow,
//!   roll back, prune);
//! * [`render`] and [`diff`]: what the request looks like and how it differs
//!   from the running revision;
//! * [`rollback`] and [`prune`];
//! * [`status`].

use std::path::Path;
use std::time::Instant;

use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use crate::apps::{self, ResolvedApp};
use crate::cli::{
    DeployArgs, DiffArgs, GlobalArgs, ImageSource, Output, PruneArgs, RenderArgs, RollbackArgs,
    StatusArgs,
};
use crate::exit::Failure;
use crate::image::reference::ImageRef;
use crate::report::{AppReport, Details, Outcome, Report};

mod api;
mod deploy;
pub mod diff;
pub mod history;
mod preflight;
pub mod prune;
pub mod render;
pub mod revision;
mod rollback;
mod rollout;
mod status;
mod strategy;
pub mod tags;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use api::SdkEcs;
pub use deploy::RenderedDetails;
use deploy::{ImageChoice, Options};
use rollback::Pace;
pub use status::StatusDetails;

/// `deployer deploy` on ECS.
pub async fn deploy(g: &GlobalArgs, a: &DeployArgs, started: Instant) -> anyhow::Result<Report> {
    let targets = apps::resolve(g, &a.apps, deploy::DEFAULT_ENVIRONMENT)?;
    if let Some(uri) = &a.image.image {
        if targets.len() > 1 {
            return Err(Failure::bad_input(format!(
                "--image names one image, but {} apps were given; deploy them one at a time, or use --tag",
                targets.len()
            ))
            .into());
        }
        ImageRef::parse(uri, "--image")?;
    }
    let aws = crate::aws::load(g).await;
    let ecs = SdkEcs::new(&aws);
    let interrupt = CancellationToken::new();
    let _signals = if a.dry_run {
        None
    } else {
        let (result_file, output) = (g.result_file.clone(), g.output);
        let names: Vec<String> = targets.iter().map(|t| t.name().to_owned()).collect();
        Some(crate::in_flight::watch(interrupt.clone(), move || {
            exit_in_flight(&names, result_file.as_deref(), output, started)
        })?)
    };
    let opts = Options {
        interrupt: Some(&interrupt),
        dry_run: a.dry_run,
        pace: Pace {
            timeout: a.timeout,
            poll: a.poll_interval,
        },
        keep: a.keep,
        prune: !a.no_prune,
        check_image: a.image.image.is_some(),
        inherit_environment: g.environment.is_none(),
    };
    let image_of = |target: &ResolvedApp| {
        let aws = &aws;
        let target = target.clone();
        async move {
            Ok(match &a.image.image {
                Some(uri) => ImageChoice::Given(uri.clone()),
                None if a.dry_run => planned(&a.image, &a.context)?,
                None => ImageChoice::Given(
                    crate::image::publish(&target, &a.image, &a.context, aws).await?,
                ),
            })
        }
    };
    let reports = deploy_apps(&ecs, &targets, image_of, opts).await;
    Ok(Report::new("deploy", reports, started.elapsed()))
}

/// A second signal: the result says what each app still has in flight,
/// and the process exits with code 9 without waiting.
fn exit_in_flight(apps: &[String], result_file: Option<&Path>, output: Output, started: Instant) {
    let in_flight = crate::in_flight::snapshot();
    let reports = apps
        .iter()
        .map(|app| {
            let message = match in_flight.iter().find(|(a, _)| a == app) {
                Some((_, what)) => format!(
                    "exited on a second signal; still in flight on ECS: {what}; check `deployer status {app}`"
                ),
                None => "exited on a second signal; nothing was under way on ECS".to_owned(),
            };
            let mut report = AppReport::new(app, crate::cli::Platform::Aws.name());
            report.end(Outcome::Interrupted, message);
            report
        })
        .collect();
    let report = Report::new("deploy", reports, started.elapsed());
    // Exit 9 whatever else goes wrong: the deploy was interrupted.
    crate::output::deliver(&report, output, result_file);
    std::process::exit(crate::exit::Code::Interrupted.as_i32());
}

/// Deploys every app at once, each with the image `image_of` gives it
/// (built and pushed, or given), and returns their reports in order.
/// Interrupted while building or pushing, an app changes nothing on ECS.
pub(crate) async fn deploy_apps<F, Fut>(
    ecs: &impl api::EcsApi,
    targets: &[ResolvedApp],
    image_of: F,
    opts: Options<'_>,
) -> Vec<AppReport>
where
    F: Fn(&ResolvedApp) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ImageChoice>>,
{
    let runs = targets.iter().map(|target| {
        let image = image_of(target);
        async move {
            let clock = Instant::now();
            let mut report = base_report(target);
            let result = async {
                let image = match opts.interrupt {
                    Some(token) => tokio::select! {
                        image = image => image?,
                        () = token.cancelled() => {
                            report.end(Outcome::Interrupted,
                                "interrupted before the update: nothing was changed on ECS",
                            );
                            return Ok(());
                        }
                    },
                    None => image.await?,
                };
                deploy::deploy(ecs, target, &image, opts, &mut report).await
            }
            .await;
            crate::in_flight::clear(target.name());
            report.finished(result, clock)
        }
    });
    join_all(runs).await
}

/// `deployer render`.
pub async fn render(g: &GlobalArgs, a: &RenderArgs, started: Instant) -> anyhow::Result<Report> {
    let report = render_one(g, a).await?;
    Ok(one_report("render", report, started))
}

/// `deployer diff`.
pub async fn diff(g: &GlobalArgs, a: &DiffArgs, started: Instant) -> anyhow::Result<Report> {
    let mut report = render_one(g, &a.render).await?;
    let differs = matches!(&report.details, Some(Details::Rendered(r)) if r.diff.is_some());
    if differs && a.exit_code && report.outcome == Outcome::DryRun {
        let message = report.message.clone();
        report.end(Outcome::Differences, message);
    }
    Ok(one_report("diff", report, started))
}

async fn render_one(g: &GlobalArgs, a: &RenderArgs) -> anyhow::Result<AppReport> {
    let image = match &a.image.image {
        Some(uri) => {
            ImageRef::parse(uri, "--image")?;
            ImageChoice::Given(uri.clone())
        }
        None => planned(&a.image, Path::new("."))?,
    };
    let (target, ecs) = one_app(g, &a.app).await?;
    let clock = Instant::now();
    let mut report = base_report(&target);
    let result = async {
        let (rendered, image) =
            deploy::render_next(&ecs, &target, &image, g.environment.is_none()).await?;
        report.image = Some(image);
        report.previous_revision = Some(revision::name(&rendered.current.revision));
        let message = match &rendered.diff {
            Some(d) => format!(
                "differs from {} in {} lines",
                revision::name(&rendered.current.revision),
                d.lines()
                    .filter(|l| l.starts_with(['+', '-'])
                        && !l.starts_with("+++")
                        && !l.starts_with("---"))
                    .count()
            ),
            None => format!("same as {}", revision::name(&rendered.current.revision)),
        };
        report.details = Some(rendered.details());
        report.end(Outcome::DryRun, message);
        Ok(())
    }
    .await;
    Ok(report.finished(result, clock))
}

/// `deployer status` on ECS.
pub async fn status(g: &GlobalArgs, a: &StatusArgs, started: Instant) -> anyhow::Result<Report> {
    let targets = apps::resolve(g, &a.apps, deploy::DEFAULT_ENVIRONMENT)?;
    let aws = crate::aws::load(g).await;
    let ecs = SdkEcs::new(&aws);
    let cloudwatch = crate::alarms::Alarms::new(&aws);
    let runs = targets.iter().map(|target| async {
        let clock = Instant::now();
        let mut report = base_report(target);
        let result = async {
            let status = status::status(&ecs, target).await?;
            // Alarms that cannot be read leave the rest of the status standing.
            let alarms = cloudwatch
                .for_app(target)
                .await
                .map_err(|e| format!("{e:#}"));
            report.image = status.image.clone();
            report.end(Outcome::Completed, status.headline());
            report.details = Some(Details::EcsStatus(StatusDetails { status, alarms }));
            Ok(())
        }
        .await;
        report.finished(result, clock)
    });
    let reports = join_all(runs).await;
    Ok(Report::new("status", reports, started.elapsed()))
}

/// `deployer rollback`.
pub async fn rollback(
    g: &GlobalArgs,
    a: &RollbackArgs,
    started: Instant,
) -> anyhow::Result<Report> {
    let (target, ecs) = one_app(g, &a.app).await?;
    let clock = Instant::now();
    let mut report = base_report(&target);
    let pace = Pace {
        timeout: a.timeout,
        poll: a.poll_interval,
    };
    let result = rollback::rollback(&ecs, &target, a.revision, pace, &mut report).await;
    Ok(one_report(
        "rollback",
        report.finished(result, clock),
        started,
    ))
}

/// `deployer prune`.
pub async fn prune(g: &GlobalArgs, a: &PruneArgs, started: Instant) -> anyhow::Result<Report> {
    let (target, ecs) = one_app(g, &a.app).await?;
    let clock = Instant::now();
    let mut report = base_report(&target);
    let result = prune_app(&ecs, &target, a.keep, a.dry_run, &mut report).await;
    Ok(one_report("prune", report.finished(result, clock), started))
}

/// The one app a command names, and a client to act on it.
async fn one_app(g: &GlobalArgs, app: &str) -> anyhow::Result<(ResolvedApp, SdkEcs)> {
    let target = apps::resolve(g, &[app.to_owned()], deploy::DEFAULT_ENVIRONMENT)?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::bad_input("no app given"))?;
    let ecs = SdkEcs::new(&crate::aws::load(g).await);
    Ok((target, ecs))
}

/// The report of a command on one app.
fn one_report(command: &'static str, app: AppReport, started: Instant) -> Report {
    Report::new(command, vec![app], started.elapsed())
}

async fn prune_app(
    ecs: &impl api::EcsApi,
    target: &ResolvedApp,
    keep: usize,
    dry_run: bool,
    report: &mut AppReport,
) -> anyhow::Result<()> {
    let service = preflight::service(ecs, target).await?;
    // The family the service runs, which is the app's unless someone
    // pointed the service elsewhere.
    let family = service
        .task_definition()
        .map(revision::family)
        .unwrap_or(target.config.family())
        .to_owned();
    let (plan, result) = prune::prune(ecs, &family, keep, &[], dry_run).await;
    report.pruned = plan.deregistered.clone();
    report.details = Some(Details::Prune(plan.clone()));
    // On failure, exactly what was deregistered is in `pruned` and in the
    // message.
    result?;
    let names: Vec<String> = plan.deregister.iter().map(|a| revision::name(a)).collect();
    let (outcome, verb) = if dry_run {
        (Outcome::DryRun, "would deregister")
    } else {
        (Outcome::Completed, "deregistered")
    };
    let message = if names.is_empty() {
        format!(
            "nothing to prune in {family}; {} revisions kept",
            plan.kept.len()
        )
    } else {
        format!(
            "{verb} {}; {} revisions kept",
            names.join(", "),
            plan.kept.len()
        )
    };
    report.end(outcome, message);
    Ok(())
}

/// The image a deploy would build, for a dry run or a render without
/// `--image`.
fn planned(source: &ImageSource, context: &Path) -> anyhow::Result<ImageChoice> {
    let tag = match &source.tag {
        Some(tag) => tag.clone(),
        None => crate::image::default_tag(context)?,
    };
    Ok(ImageChoice::Planned {
        tag,
        registry: source.registry.clone(),
    })
}

/// A report for `target` whose outcome is still to be set.
fn base_report(target: &ResolvedApp) -> AppReport {
    AppReport {
        cluster: target.cluster.clone(),
        service: target.service.clone(),
        ..AppReport::new(target.name(), crate::cli::Platform::Aws.name())
    }
}
