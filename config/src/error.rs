//! Errors that name the file, the field and the reason.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with a file: the field's JSON path and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path of the field, such as `replicas.min` or
    /// `microservices[1].path_patterns[0]`. `.` means the whole document.
    pub path: String,
    /// What is wrong with it, in words a person can act on.
    pub reason: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}`: {}", self.path, self.reason)
    }
}

/// A per-app JSON file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid JSON, or a field has the wrong type or name.
    #[error("{}: {problem}", file.display())]
    Parse {
        /// The file.
        file: PathBuf,
        /// Where and why.
        problem: Problem,
    },
    /// The file parses but breaks a rule.
    #[error("{}: {}", file.display(), list(problems))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Every rule it breaks.
        problems: Vec<Problem>,
    },
    /// No file describes the app asked for.
    #[error("no config for app `{app}`: expected {} (known apps: {known})", file.display())]
    UnknownApp {
        /// The app asked for.
        app: String,
        /// The file that would describe it.
        file: PathBuf,
        /// Apps that do have a file.
        known: String,
    },
}

impl ConfigError {
    /// The file the error is about, when there is one.
    pub fn file(&self) -> &std::path::Path {
        match self {
            ConfigError::Read { file, .. }
            | ConfigError::Parse { file, .. }
            | ConfigError::Invalid { file, .. }
            | ConfigError::UnknownApp { file, .. } => file,
        }
    }

    /// Every problem, for callers that report them one per line.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            ConfigError::Parse { problem, .. } => vec![problem.clone()],
            ConfigError::Invalid { problems, .. } => problems.clone(),
            _ => Vec::new(),
        }
    }
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// An environment variable with a value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {var}={value:?}: {reason}")]
pub struct EnvError {
    /// The variable's name.
    pub var: &'static str,
    /// Its value, lossily decoded when it is not UTF-8.
    pub value: String,
    /// Why it is rejected.
    pub reason: String,
}
