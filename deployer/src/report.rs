//! The typed result of every command: one [`AppReport`] per app, gathered
//! in a [`Report`]. Commands return it; `main` renders it (see
//! [`crate::output`]) as the JSON document (`--output json`,
//! `--result-file`) or as text for people.
//!
//! The exit code is never stored: it is derived from the [`Outcome`], so
//! the two cannot disagree.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};

use crate::exit::Code;

/// How one app's command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    /// The new revision is serving.
    Completed,
    /// The service points at the new revision, but its desired count is 0:
    /// no task ran it, so nothing was verified (exit code 0; Jenkins marks
    /// the build UNSTABLE and skips Verify).
    ScaledToZero,
    /// Nothing to do: the service already runs what was asked for.
    NoChange,
    /// `--dry-run`: rendered and diffed, nothing changed.
    DryRun,
    /// Stopped before changing anything.
    PreflightFailed,
    /// The rollout failed; the service is back on the previous revision.
    Failed,
    /// The rollout timed out; the service is back on the previous revision.
    Timeout,
    /// The rollback did not complete either.
    RollbackFailed,
    /// Another deployment replaced this one before it finished; nothing
    /// was rolled back.
    Superseded,
    /// `diff --exit-code`: the rendered task definition differs from the
    /// running one.
    Differences,
    /// A flag, a JSON file or an environment variable is wrong.
    BadInput,
    /// A SIGINT or SIGTERM stopped a deploy: it was rolled back, or the
    /// message says what is still in flight.
    Interrupted,
    /// No AWS credentials were found, or they have expired.
    NoCredentials,
    /// The AWS endpoint could not be reached.
    Unreachable,
    /// Any other AWS or Docker error.
    Error,
}

impl Outcome {
    /// The exit code this outcome maps to.
    pub fn code(self) -> Code {
        match self {
            Outcome::Completed | Outcome::ScaledToZero | Outcome::NoChange | Outcome::DryRun => {
                Code::Success
            }
            Outcome::Interrupted => Code::Interrupted,
            Outcome::PreflightFailed => Code::Preflight,
            Outcome::Failed => Code::RolledBack,
            Outcome::Timeout => Code::TimedOut,
            Outcome::RollbackFailed => Code::RollbackFailed,
            Outcome::Superseded => Code::Superseded,
            Outcome::Differences => Code::Differences,
            Outcome::BadInput => Code::BadInput,
            Outcome::NoCredentials => Code::Credentials,
            Outcome::Unreachable => Code::Unreachable,
            Outcome::Error => Code::Backend,
        }
    }

    /// The outcome of an error that maps to `code`.
    pub fn of_error(code: Code) -> Outcome {
        match code {
            Code::Preflight => Outcome::PreflightFailed,
            Code::RolledBack => Outcome::Failed,
            Code::TimedOut => Outcome::Timeout,
            Code::RollbackFailed => Outcome::RollbackFailed,
            Code::Superseded => Outcome::Superseded,
            Code::Interrupted => Outcome::Interrupted,
            Code::BadInput | Code::Differences => Outcome::BadInput,
            Code::Credentials => Outcome::NoCredentials,
            Code::Unreachable => Outcome::Unreachable,
            Code::Success | Code::Backend => Outcome::Error,
        }
    }

    /// The outcome's name in the JSON result (`rolled_back`...).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Serialises an outcome as two fields, `outcome` and the `exit_code` it
/// stands for (used with `#[serde(flatten)]`).
fn outcome_and_code<S: Serializer>(outcome: &Outcome, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(2))?;
    map.serialize_entry("outcome", outcome)?;
    map.serialize_entry("exit_code", &outcome.code().as_i32())?;
    map.end()
}

/// What a command found, for commands that report more than an outcome.
/// Serialised as the variant's own fields (the JSON result's `details`).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Details {
    /// `render`, `diff` and `deploy --dry-run` on ECS: the task definition
    /// and its diff from the running revision.
    Rendered(crate::ecs::RenderedDetails),
    /// `status` on ECS.
    EcsStatus(crate::ecs::StatusDetails),
    /// `prune`'s plan.
    Prune(crate::ecs::prune::Plan),
    /// `status --target local`.
    LocalStatus(crate::local::status::AppStatus),
    /// `deploy --target local --dry-run`: the container the deploy would
    /// create.
    Container(Box<bollard::models::ContainerCreateBody>),
}

/// One app's result.
#[derive(Debug, Clone, Serialize)]
pub struct AppReport {
    /// App name.
    pub app: String,
    /// `aws` or `local`.
    pub target: &'static str,
    /// ECS cluster (empty for the local target).
    pub cluster: String,
    /// ECS service, or the local app name.
    pub service: String,
    /// The image deployed (or built, or pushed).
    pub image: Option<String>,
    /// The revision that was PRIMARY before the command.
    pub previous_revision: Option<String>,
    /// The revision registered by the command.
    pub new_revision: Option<String>,
    /// The ECS deployment the command started and followed.
    pub deployment_id: Option<String>,
    /// How it ended; serialised with the exit code this app alone would
    /// give.
    #[serde(flatten, serialize_with = "outcome_and_code")]
    pub outcome: Outcome,
    /// The revision the service was put back on, after a failure.
    pub rolled_back_to: Option<String>,
    /// Revisions deregistered by pruning.
    pub pruned: Vec<String>,
    /// What went wrong on the side without deciding the outcome (a lookup
    /// of stopped tasks that failed, a prune that failed halfway...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What happened, in words a person can act on.
    pub message: String,
    /// Wall time for this app.
    pub duration_seconds: f64,
    /// What the command found, for commands that report more than an
    /// outcome: `render`'s task definition, `diff`'s diff, `status`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
}

impl AppReport {
    /// A report for `app` with nothing filled in yet: its outcome is
    /// [`Outcome::Error`] until [`AppReport::end`] says otherwise.
    pub fn new(app: &str, target: &'static str) -> Self {
        AppReport {
            app: app.to_owned(),
            target,
            cluster: String::new(),
            service: app.to_owned(),
            image: None,
            previous_revision: None,
            new_revision: None,
            deployment_id: None,
            outcome: Outcome::Error,
            rolled_back_to: None,
            pruned: Vec::new(),
            warnings: Vec::new(),
            message: String::new(),
            duration_seconds: 0.0,
            details: None,
        }
    }

    /// Sets how the command ended for this app, in words a person can act
    /// on.
    pub fn end(&mut self, outcome: Outcome, message: impl Into<String>) {
        self.outcome = outcome;
        self.message = message.into();
    }

    /// The report once the work that filled it in is over: an error
    /// becomes the outcome its exit code stands for, with its message; the
    /// duration is the time since `clock`.
    pub fn finished(mut self, result: anyhow::Result<()>, clock: Instant) -> Self {
        if let Err(err) = result {
            self.end(
                Outcome::of_error(crate::exit::code_of(&err)),
                crate::exit::describe(&err),
            );
        }
        self.duration_seconds = clock.elapsed().as_secs_f64();
        self
    }

    /// The exit code this app alone would give.
    pub fn exit_code(&self) -> i32 {
        self.outcome.code().as_i32()
    }
}

/// The whole command's result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The command that ran (`deploy`, `rollback`, ...).
    pub command: &'static str,
    /// The most serious of the apps' outcomes; serialised with the exit
    /// code of the process.
    #[serde(flatten, serialize_with = "outcome_and_code")]
    pub outcome: Outcome,
    /// Wall time for the whole command.
    pub duration_seconds: f64,
    /// One entry per app.
    pub apps: Vec<AppReport>,
}

impl Report {
    /// Combines the apps' reports.
    pub fn new(command: &'static str, apps: Vec<AppReport>, elapsed: Duration) -> Self {
        let worst = apps
            .iter()
            .map(|a| a.outcome)
            .max_by_key(|outcome| outcome.code().severity())
            .unwrap_or(Outcome::Completed);
        Report {
            command,
            outcome: worst,
            duration_seconds: elapsed.as_secs_f64(),
            apps,
        }
    }

    /// The process exit code.
    pub fn code(&self) -> Code {
        self.outcome.code()
    }

    /// One line per app, for people.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for app in &self.apps {
            out.push_str(&format!(
                "{:<12} {:<16} {:>6.1}s  {}\n",
                app.app,
                app.outcome.name(),
                app.duration_seconds,
                app.message
            ));
        }
        out
    }

    /// Writes the JSON document to `path`.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n").map_err(|err| {
            crate::exit::Failure::bad_input(format!(
                "--result-file {}: cannot write: {err}",
                path.display()
            ))
        })?;
        Ok(())
    }
}

impl Report {
    /// The report for a command that failed before it had per-app results.
    pub fn failed(err: anyhow::Error, started: Instant) -> Self {
        let app = AppReport::new("", "").finished(Err(err), started);
        Report::new("", vec![app], started.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_an_outcome_that_gives_it_back() {
        for code in Code::ALL {
            if matches!(code, Code::Success | Code::Differences) {
                // No error carries these: success is not an error, and
                // differences are found, not raised.
                continue;
            }
            assert_eq!(Outcome::of_error(code).code(), code, "{code:?}");
        }
        assert_eq!(
            Outcome::of_error(Code::Credentials).name(),
            "no_credentials"
        );
        assert_eq!(Outcome::of_error(Code::Unreachable).name(), "unreachable");
    }

    #[test]
    fn the_json_carries_the_exit_code_of_each_outcome() {
        let mut app = AppReport::new("service-a", "aws");
        app.end(Outcome::Failed, "deployment failed");
        let json = serde_json::to_value(Report::new("deploy", vec![app], Duration::ZERO))
            .expect("serialises");
        assert_eq!(json["outcome"], "failed");
        assert_eq!(json["exit_code"], Code::RolledBack.as_i32());
        assert_eq!(json["apps"][0]["outcome"], "failed");
        assert_eq!(json["apps"][0]["exit_code"], Code::RolledBack.as_i32());
        assert!(json["apps"][0].get("details").is_none(), "{json}");
    }

    #[test]
    fn the_worst_outcome_decides_the_exit_code() {
        let apps = [Outcome::Completed, Outcome::Unreachable, Outcome::Failed]
            .into_iter()
            .map(|outcome| {
                let mut app = AppReport::new("a", "aws");
                app.end(outcome, "");
                app
            })
            .collect();
        let report = Report::new("deploy", apps, Duration::ZERO);
        assert_eq!(report.outcome, Outcome::Unreachable);
        assert_eq!(report.code(), Code::Unreachable);
    }

    #[test]
    fn a_failure_before_any_app_reports_the_errors_outcome() {
        let err = anyhow::Error::from(crate::exit::Failure::preflight("no such cluster"));
        let report = Report::failed(err, Instant::now());
        assert_eq!(report.code(), Code::Preflight);
        assert_eq!(report.apps[0].outcome, Outcome::PreflightFailed);
        assert_eq!(report.apps[0].message, "no such cluster");
    }
}
