//! The deploy of one app: preflight, render, register, update, follow; roll
//! back on failure or timeout; prune after success.

use std::time::Duration;

use anyhow::Context;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_smithy_types::DateTime;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::api::EcsApi;
use super::diff;
use super::history::History;
use super::preflight::{self, Current};
use super::prune;
use super::render;
use super::revision;
use super::rollback::{self, Pace};
use super::rollout::{self, End, Watch};
use super::strategy;
use super::tags;
use crate::apps::ResolvedApp;
use crate::in_flight;
use crate::progress::Progress;
use crate::report::Details;
use crate::report::{AppReport, Outcome};
use crate::taskdef;

/// The environment a deploy runs the app as when neither `--environment`
/// nor `DEPLOY_ENV` says, and the running task definition does not either.
pub const DEFAULT_ENVIRONMENT: &str = "production";

/// How long a deploy interrupted by a signal follows its rollback before it
/// exits anyway, saying what is still in flight. Short: whoever sent the
/// signal (a Jenkins abort, a pipeline timeout) will not wait long.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(30);

/// How a deploy goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options<'a> {
    /// Cancelled on the first SIGINT or SIGTERM: stop, roll back, report.
    pub interrupt: Option<&'a CancellationToken>,
    /// Render and diff only.
    pub dry_run: bool,
    /// The rollout's deadline and polling.
    pub pace: Pace,
    /// Revisions to keep when pruning.
    pub keep: usize,
    /// Prune after success.
    pub prune: bool,
    /// Check that the image exists first (off for a dry run of an image
    /// not built yet).
    pub check_image: bool,
    /// Keep the running task definition's `APP_ENV` unless the command
    /// line sets one.
    pub inherit_environment: bool,
}

/// The task definition a deploy would register, beside the running one.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    /// What the service runs now.
    pub current: Current,
    /// The request that registers the next revision.
    pub input: RegisterTaskDefinitionInput,
    /// That request as JSON.
    pub json: Value,
    /// The normalised diff from the running revision; `None` when the same.
    pub diff: Option<String>,
}

impl Rendered {
    /// `render`'s and `--dry-run`'s report details.
    pub fn details(&self) -> Details {
        Details::Rendered(RenderedDetails {
            running_revision: revision::name(&self.current.revision),
            task_definition: self.json.clone(),
            diff: self.diff.clone(),
        })
    }
}

/// `render`'s, `diff`'s and `--dry-run`'s details in the result.
#[derive(Debug, Clone, Serialize)]
pub struct RenderedDetails {
    /// The revision the service runs, as `family:revision`.
    pub running_revision: String,
    /// The RegisterTaskDefinition request, as JSON.
    pub task_definition: Value,
    /// The normalised diff from the running revision; `null` when the same.
    pub diff: Option<String>,
}

impl RenderedDetails {
    /// The task definition, and with `with_diff` the diff, as a person
    /// reads them.
    pub fn text(&self, app: &str, with_diff: bool) -> String {
        let running = &self.running_revision;
        let definition = super::diff::pretty(&self.task_definition);
        if !with_diff {
            return definition;
        }
        format!(
            "# {app}: task definition rendered from {running}\n{definition}# {app}: diff against {running}\n{}",
            self.diff.as_deref().unwrap_or("(no differences)\n")
        )
    }
}

/// The image a render shows.
#[derive(Debug, Clone)]
pub(crate) enum ImageChoice {
    /// This image.
    Given(String),
    /// The image a deploy would build and push: `tag` in the app's
    /// repository, on `registry` or else the registry the service pulls
    /// from now.
    Planned {
        tag: String,
        registry: Option<String>,
    },
}

/// Preflight (cluster, service, the running revision, the app's container)
/// and the task definition the deploy would register.
pub(crate) async fn render_next(
    ecs: &impl EcsApi,
    target: &ResolvedApp,
    image: &ImageChoice,
    inherit_environment: bool,
) -> anyhow::Result<(Rendered, String)> {
    let current = preflight::current(ecs, target).await?;
    preflight::launch_type(&current.service, target)?;
    let running = render::register_input(&current.task_definition, &current.tags)?;
    let app_container = running
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(target.config.container_name()));
    let image = match image {
        ImageChoice::Given(uri) => uri.clone(),
        ImageChoice::Planned { tag, registry } => {
            let registry = registry.clone().or_else(|| {
                app_container
                    .and_then(|c| c.image())
                    .and_then(|i| i.split_once('/'))
                    .map(|(host, _)| host.to_owned())
            });
            match registry {
                Some(host) => format!("{host}/{}:{tag}", target.config.repository()),
                None => format!("{}:{tag}", target.config.repository()),
            }
        }
    };
    let mut target = target.clone();
    if inherit_environment {
        let running_env = app_container
            .and_then(|c| {
                c.environment()
                    .iter()
                    .find(|kv| kv.name() == Some(app_config::vars::APP_ENV))
            })
            .and_then(|kv| kv.value());
        if let Some(env) = running_env {
            target.environment = env.to_owned();
        }
    }
    let mut input = running.clone();
    taskdef::apply(&mut input, &target, &image, taskdef::version_of(&image))?;
    let running_json = render::request_json(&running).await?;
    let json = render::request_json(&input).await?;
    let diff = diff::unified(
        &revision::name(&current.revision),
        &running_json,
        "rendered",
        &json,
    );
    // Who registered a revision is not a difference in what it runs: the
    // ownership tag is set after the comparison. Every revision deployer
    // registers says it is deployer's (a copied ManagedBy=terraform would
    // make prune take it for Terraform's, and Terraform's for deployer's).
    own(&mut input);
    let json = render::request_json(&input).await?;
    Ok((
        Rendered {
            current,
            input,
            json,
            diff,
        },
        image,
    ))
}

/// Marks `input` as registered by deployer: [`tags::MANAGED_BY`] is
/// replaced, every other tag kept.
pub(crate) fn own(input: &mut RegisterTaskDefinitionInput) {
    let labels = input.tags.get_or_insert_with(Vec::new);
    labels.retain(|t| t.key() != Some(tags::MANAGED_BY));
    labels.push(
        aws_sdk_ecs::types::Tag::builder()
            .key(tags::MANAGED_BY)
            .value(tags::MANAGED_BY_DEPLOYER)
            .build(),
    );
}

/// Deploys `image` for `target`, filling in `report`. An error leaves the
/// service as it was (or back where it was): the caller turns it into the
/// report's outcome.
pub(crate) async fn deploy(
    ecs: &impl EcsApi,
    target: &ResolvedApp,
    image: &ImageChoice,
    opts: Options<'_>,
    report: &mut AppReport,
) -> anyhow::Result<()> {
    let progress = Progress::spinner(format!("{} deploy", target.name()));
    progress.update("preflight");
    if let (ImageChoice::Given(uri), true) = (image, opts.check_image) {
        report.image = Some(uri.clone());
        preflight::image(ecs, target, uri).await?;
    }
    let (rendered, image) = render_next(ecs, target, image, opts.inherit_environment).await?;
    report.image = Some(image.clone());
    let previous = rendered.current.revision.clone();
    let previous_name = revision::name(&previous);
    report.previous_revision = Some(previous_name.clone());

    if opts.dry_run {
        report.details = Some(rendered.details());
        let what = match &rendered.diff {
            Some(_) => format!("would replace {previous_name} with {image}"),
            None => format!("{previous_name} already runs this task definition"),
        };
        progress.finish("dry run: nothing changed");
        report.end(Outcome::DryRun, format!("dry run, nothing changed: {what}"));
        return Ok(());
    }
    // Busy before no-change: the same image while a rollout is under way
    // (a rerun after a killed job) is not "nothing to do", and a FAILED
    // deployment's revision is no rollback target.
    preflight::settled(&rendered.current.service)?;
    let native = strategy::native(&rendered.current.service);
    if let Some(warning) = native
        .as_ref()
        .and_then(|n| strategy::timeout_warning(n, opts.pace.timeout))
    {
        progress.println(format!("warning: {warning}"));
        report.warnings.push(warning);
    }
    if rendered.diff.is_none() {
        progress.finish("nothing to do");
        report.end(
            Outcome::NoChange,
            format!("{previous_name} already runs {image} with these settings; nothing registered"),
        );
        return Ok(());
    }

    let run = Run {
        ecs,
        target,
        history: History::of(&rendered.current.service),
        service_arn: rendered.current.service.service_arn().map(str::to_owned),
        previous,
        native,
        opts,
        progress,
    };
    run.roll_out(rendered.input, &image, report).await
}

/// A deploy past the point of no return: registering, updating, following,
/// and then rolling back or pruning.
struct Run<'a, E> {
    ecs: &'a E,
    target: &'a ResolvedApp,
    /// The rollback record as it was before this deploy.
    history: History,
    service_arn: Option<String>,
    /// The revision PRIMARY before this deploy: the rollback target.
    previous: String,
    /// The service's native strategy (BLUE_GREEN, LINEAR, CANARY), if any.
    native: Option<strategy::Native>,
    opts: Options<'a>,
    progress: Progress,
}

impl<E: EcsApi> Run<'_, E> {
    async fn roll_out(
        &self,
        input: RegisterTaskDefinitionInput,
        image: &str,
        report: &mut AppReport,
    ) -> anyhow::Result<()> {
        let (ecs, target, progress) = (self.ecs, self.target, &self.progress);
        progress.update("registering the task definition");
        let registered = ecs.register(input).await?;
        let new_revision = registered
            .task_definition_arn()
            .context("RegisterTaskDefinition returned no ARN")?
            .to_owned();
        let new_name = revision::name(&new_revision);
        report.new_revision = Some(new_name.clone());

        // Recorded before the update, so that it survives this process.
        let recorded = self.history.pushed(&self.previous);
        rollback::record(ecs, self.service_arn.as_deref(), &recorded, progress).await;

        if self.interrupted() {
            rollback::record(ecs, self.service_arn.as_deref(), &self.history, progress).await;
            progress.finish("interrupted");
            report.end(Outcome::Interrupted,
                format!("interrupted before the update: {new_name} is registered, the service was not changed"),
            );
            return Ok(());
        }
        progress.update(format!("updating service {} to {new_name}", target.service));
        in_flight::set(
            target.name(),
            format!("rolling out {new_name} on service {}", target.service),
        );
        let deadline = Instant::now() + self.opts.pace.timeout;
        let updated = match ecs
            .update_service(&target.cluster, &target.service, &new_revision)
            .await
        {
            Ok(updated) => updated,
            Err(err) => {
                rollback::record(ecs, self.service_arn.as_deref(), &self.history, progress).await;
                return Err(err);
            }
        };
        let Some(deployment) = rollout::started_deployment(&updated, &new_revision) else {
            let cause = format!("ECS reported no deployment of {new_name} after UpdateService");
            return self.roll_back(report, Outcome::Failed, cause, None).await;
        };
        let id = deployment.id().unwrap_or_default().to_owned();
        let started = deployment.created_at().copied();
        report.deployment_id = Some(id.clone());
        progress.println(format!(
            "deployment {id}: {} -> {new_name} ({image})",
            revision::name(&self.previous)
        ));
        let watch = Watch {
            cluster: &target.cluster,
            service: &target.service,
            deployment_id: id.clone(),
            since: deployment.created_at().copied(),
            revision: new_revision.clone(),
            fallback: Some(self.previous.clone()),
            deadline,
            poll: self.opts.pace.poll,
        };
        in_flight::set(
            target.name(),
            format!(
                "rolling out {new_name} on service {} (deployment {id})",
                target.service
            ),
        );
        let following = rollout::follow(ecs, watch, progress);
        let followed = match self.opts.interrupt {
            Some(token) => tokio::select! {
                followed = following => followed,
                () = token.cancelled() => return self.on_interrupt(report, started).await,
            },
            None => following.await,
        };
        let followed = match followed {
            Ok(followed) => followed,
            Err(err) => {
                // Lost track of the rollout: put the service back rather
                // than leave it half-deployed.
                let cause = format!("lost track of the rollout of {new_name}: {err:#}");
                return self.roll_back(report, Outcome::Error, cause, started).await;
            }
        };
        let what = format!("deployment {id} of {new_name}");
        report.warnings.extend(followed.warnings.iter().cloned());
        match followed.end {
            End::Completed => {
                let mut message = format!("{new_name} is serving (deployment {id})");
                if self.opts.prune {
                    message.push_str(&self.prune(&new_revision, report).await);
                }
                progress.finish(format!("{new_name} is serving"));
                report.end(Outcome::Completed, message);
                Ok(())
            }
            End::NothingToRun => {
                progress.finish(format!("{new_name} set, desired count 0"));
                let message = format!(
                    "{new_name} is set on the service, but its desired count is 0 so no task ran it: \
                     not verified, and nothing was pruned"
                );
                report.end(Outcome::ScaledToZero, message);
                Ok(())
            }
            End::Superseded {
                deployment: other,
                revision,
            } => {
                progress.finish("superseded");
                let message = format!(
                    "{what} was replaced by deployment {other} of {revision} before it finished; \
                     not rolling back, which would undo that deployment"
                );
                report.end(Outcome::Superseded, message);
                Ok(())
            }
            End::Failed { reason } => {
                let reason = reason.trim_end_matches('.');
                let cause = with_stopped(format!("{what} failed: {reason}"), &followed.stopped);
                self.roll_back(report, Outcome::Failed, cause, started)
                    .await
            }
            End::TimedOut { last_state } => {
                let within = humantime::format_duration(self.opts.pace.timeout);
                let cause = format!("{what} did not complete within {within} (last: {last_state})");
                let cause = with_stopped(cause, &followed.stopped);
                self.roll_back(report, Outcome::Timeout, cause, started)
                    .await
            }
        }
    }

    fn interrupted(&self) -> bool {
        self.opts
            .interrupt
            .is_some_and(CancellationToken::is_cancelled)
    }

    /// The first signal arrived mid-rollout: put the service back within
    /// [`INTERRUPT_GRACE`], and say where things stand.
    async fn on_interrupt(
        &self,
        report: &mut AppReport,
        started: Option<DateTime>,
    ) -> anyhow::Result<()> {
        let (target, progress) = (self.target, &self.progress);
        let previous = revision::name(&self.previous);
        progress.println(format!("interrupted: rolling back to {previous}"));
        in_flight::set(
            target.name(),
            format!("rolling back to {previous} on service {}", target.service),
        );
        let pace = Pace {
            timeout: INTERRUPT_GRACE,
            poll: self.opts.pace.poll.min(Duration::from_secs(2)),
        };
        let message = match self.restore(started, pace).await {
            Ok(()) => {
                report.rolled_back_to = Some(previous.clone());
                format!("interrupted by a signal; rolled back to {previous}")
            }
            Err(why) => format!(
                "interrupted by a signal; the rollback to {previous} is still in flight or \
                 failed ({why}): check `deployer status {}`",
                target.name()
            ),
        };
        in_flight::clear(target.name());
        progress.finish("interrupted");
        report.end(Outcome::Interrupted, message);
        Ok(())
    }

    /// Prunes after success; returns what to add to the message. A failure
    /// to prune does not undo a good deploy: it is reported and left.
    async fn prune(&self, new_revision: &str, report: &mut AppReport) -> String {
        self.progress.update("pruning old revisions");
        let protect = [(
            self.previous.clone(),
            "the rollback target of this deploy".to_owned(),
        )];
        let family = revision::family(new_revision);
        let (plan, result) = prune::prune(self.ecs, family, self.opts.keep, &protect, false).await;
        report.pruned = plan.deregistered;
        let mut text = if report.pruned.is_empty() {
            String::new()
        } else {
            format!("; pruned {}", report.pruned.join(", "))
        };
        if let Err(err) = result {
            let line = format!("pruning failed: {err:#}");
            self.progress.println(format!("warning: {line}"));
            text.push_str(&format!("; {line}"));
            report.warnings.push(line);
        }
        text
    }

    /// Puts the service back on the previous revision within `pace`, and
    /// the rollback record as it was before this deploy; or says why not.
    /// A native strategy's deployment is rolled back within itself
    /// (StopServiceDeployment); any other, or one whose service deployment
    /// cannot be read, by an update to the previous revision.
    async fn restore(&self, started: Option<DateTime>, pace: Pace) -> Result<(), String> {
        let (ecs, target, progress) = (self.ecs, self.target, &self.progress);
        let (cluster, service) = (&target.cluster, &target.service);
        if let (Some(native), Some(_)) = (&self.native, started) {
            let deadline = Instant::now() + pace.timeout;
            let rolled = strategy::roll_back(
                ecs, cluster, service, started, deadline, pace.poll, progress,
            )
            .await;
            match rolled {
                Ok(strategy::Rolled::Back) => {
                    rollback::record(ecs, self.service_arn.as_deref(), &self.history, progress)
                        .await;
                    return Ok(());
                }
                Ok(strategy::Rolled::NotBack(why)) => return Err(why),
                Err(err) => progress.println(format!(
                    "cannot roll the {} deployment back within itself ({err:#}); updating the service instead",
                    native.name
                )),
            }
        }
        let restored = rollback::put_back(
            ecs,
            cluster,
            service,
            &self.previous,
            started,
            pace,
            progress,
        )
        .await;
        match restored {
            Ok(restored) if restored.succeeded() => {
                // Back where the record's top entry says the service came
                // from: the record is put back as it was before this deploy.
                rollback::record(ecs, self.service_arn.as_deref(), &self.history, progress).await;
                Ok(())
            }
            Ok(restored) => Err(format!(
                "deployment {}: {}",
                restored.deployment_id,
                restored.failure()
            )),
            Err(err) => Err(format!("{err:#}")),
        }
    }

    /// Puts the service back on the previous revision after `cause`, and
    /// reports `outcome`, or a failed rollback.
    /// `started`: when ECS created the deployment being undone; only a
    /// deployment back created after it shows ECS already going back.
    async fn roll_back(
        &self,
        report: &mut AppReport,
        outcome: Outcome,
        cause: String,
        started: Option<DateTime>,
    ) -> anyhow::Result<()> {
        let (target, progress) = (self.target, &self.progress);
        progress.println(&cause);
        in_flight::set(
            target.name(),
            format!(
                "rolling back to {} on service {}",
                revision::name(&self.previous),
                target.service
            ),
        );
        let previous = revision::name(&self.previous);
        let why = match self.restore(started, self.opts.pace).await {
            Ok(()) => {
                report.rolled_back_to = Some(previous.clone());
                progress.finish(format!("rolled back to {previous}"));
                report.end(outcome, format!("{cause}. Rolled back to {previous}"));
                return Ok(());
            }
            Err(why) => why,
        };
        progress.finish("rollback failed");
        let message = format!(
            "{cause}. The rollback to {previous} failed too: {why}. The service needs attention: \
             check `deployer status {app}`, then `deployer rollback {app} --revision {n}`",
            app = target.name(),
            n = revision::number(&previous).unwrap_or_default()
        );
        report.end(Outcome::RollbackFailed, message);
        Ok(())
    }
}

fn with_stopped(cause: String, stopped: &[String]) -> String {
    const SHOWN: usize = 3;
    if stopped.is_empty() {
        return cause;
    }
    let shown = stopped[..stopped.len().min(SHOWN)].join("; ");
    let mut text = format!("{cause}; stopped tasks: {shown}");
    if stopped.len() > SHOWN {
        text.push_str(&format!(" (and {} more)", stopped.len() - SHOWN));
    }
    text
}
