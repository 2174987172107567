//! The machine-readable result (`--output json`, `--result-file`), and the
//! one-line-per-app summary people read.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::exit::Code;

/// How one app's command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
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
    /// An AWS or Docker error.
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
            Code::Success | Code::Backend | Code::Credentials | Code::Unreachable => Outcome::Error,
        }
    }
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
    /// How it ended.
    pub outcome: Outcome,
    /// The exit code this app alone would give.
    pub exit_code: i32,
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
    pub details: Option<serde_json::Value>,
}

impl AppReport {
    /// A report for `app` with nothing filled in yet.
    pub fn new(app: &str, target: &'static str, outcome: Outcome) -> Self {
        AppReport {
            app: app.to_owned(),
            target,
            cluster: String::new(),
            service: app.to_owned(),
            image: None,
            previous_revision: None,
            new_revision: None,
            deployment_id: None,
            outcome,
            exit_code: outcome.code().as_i32(),
            rolled_back_to: None,
            pruned: Vec::new(),
            warnings: Vec::new(),
            message: String::new(),
            duration_seconds: 0.0,
            details: None,
        }
    }

    /// Sets the outcome and the exit code that goes with it.
    pub fn with_outcome(mut self, outcome: Outcome, message: impl Into<String>) -> Self {
        self.outcome = outcome;
        self.exit_code = outcome.code().as_i32();
        self.message = message.into();
        self
    }
}

/// The whole command's result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The command that ran (`deploy`, `rollback`, ...).
    pub command: &'static str,
    /// The exit code of the process: the most serious of the apps' codes.
    pub exit_code: i32,
    /// The outcome behind that code.
    pub outcome: Outcome,
    /// Wall time for the whole command.
    pub duration_seconds: f64,
    /// One entry per app.
    pub apps: Vec<AppReport>,
}

impl Report {
    /// Combines the apps' reports.
    pub fn new(command: &'static str, apps: Vec<AppReport>, elapsed: Duration) -> Self {
        // By each app's exit code, which may say more than its outcome
        // (credentials, endpoint).
        let (code, worst) = apps
            .iter()
            .map(|a| {
                (
                    Code::from_i32(a.exit_code).unwrap_or(a.outcome.code()),
                    a.outcome,
                )
            })
            .max_by_key(|(code, _)| code.severity())
            .unwrap_or((Code::Success, Outcome::Completed));
        Report {
            command,
            exit_code: code.as_i32(),
            outcome: worst,
            duration_seconds: elapsed.as_secs_f64(),
            apps,
        }
    }

    /// The process exit code.
    pub fn code(&self) -> Code {
        Code::from_i32(self.exit_code).unwrap_or(self.outcome.code())
    }

    /// One line per app, for people.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for app in &self.apps {
            let outcome = serde_json::to_value(app.outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            out.push_str(&format!(
                "{:<12} {:<16} {:>6.1}s  {}\n",
                app.app, outcome, app.duration_seconds, app.message
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
    pub fn failed(err: &anyhow::Error, code: Code, elapsed: Duration) -> Self {
        let outcome = Outcome::of_error(code);
        Report {
            command: "",
            exit_code: code.as_i32(),
            outcome,
            duration_seconds: elapsed.as_secs_f64(),
            apps: vec![AppReport {
                message: crate::exit::describe(err),
                exit_code: code.as_i32(),
                ..AppReport::new("", "", outcome)
            }],
        }
    }
}
