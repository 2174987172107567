//! Progress for long operations (builds, pushes, rollouts).
//!
//! On a terminal this is a live spinner or bar; elsewhere (CI logs, tests)
//! the same steps become ordinary log lines, so a pipeline log still shows
//! how far a build or rollout got.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One long operation's progress.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
    label: String,
    live: bool,
}

impl Progress {
    /// A spinner labelled `label` (usually the app name and the step).
    pub fn spinner(label: impl Into<String>) -> Self {
        let live = std::io::stderr().is_terminal();
        let bar = if live {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}") {
            bar.set_style(style);
        }
        let label = label.into();
        bar.set_prefix(label.clone());
        if live {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Progress { bar, label, live }
    }

    /// Shows `message` as the current step. Off a terminal it is logged.
    pub fn update(&self, message: impl Into<String>) {
        let message = message.into();
        if self.live {
            self.bar.set_message(message);
        } else {
            tracing::info!(target: "progress", "{}: {}", self.label, message);
        }
    }

    /// Logs a line that stays, above the live spinner.
    pub fn println(&self, line: impl AsRef<str>) {
        if self.live {
            self.bar
                .println(format!("{}: {}", self.label, line.as_ref()));
        } else {
            tracing::info!(target: "progress", "{}: {}", self.label, line.as_ref());
        }
    }

    /// Ends the operation with a final message.
    pub fn finish(&self, message: impl Into<String>) {
        let message = message.into();
        if self.live {
            self.bar.finish_with_message(message);
        } else {
            tracing::info!(target: "progress", "{}: {}", self.label, message);
        }
    }
}
