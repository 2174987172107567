//! Exit codes, one per kind of outcome, so that a pipeline can tell a
//! rolled-back deploy from a typo without parsing text.

use std::fmt;

/// Printed under `--help`.
pub const HELP: &str = "\
Exit codes:
  0  success
  1  `diff --exit-code` found differences
  2  bad input or config: a flag, a JSON file or an environment variable
  3  preflight failed: image, cluster or service missing; nothing was changed
  4  deployment failed and was rolled back to the previous revision
  5  deployment timed out and was rolled back to the previous revision
  6  AWS or Docker error
  7  rollback failed: the service may not be on a known-good revision
  8  another deployment replaced this one before it finished; nothing was
     rolled back, because that would undo the other deployment
";

/// The process exit code for an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// Everything worked.
    Success = 0,
    /// `diff --exit-code` found differences.
    Differences = 1,
    /// Bad input or config.
    BadInput = 2,
    /// Preflight failed; nothing changed.
    Preflight = 3,
    /// The rollout failed and was rolled back.
    RolledBack = 4,
    /// The rollout timed out and was rolled back.
    TimedOut = 5,
    /// An AWS or Docker call failed.
    Backend = 6,
    /// The rollback failed too.
    RollbackFailed = 7,
    /// Another deployment replaced this one before it finished.
    Superseded = 8,
}

impl Code {
    /// The number the process exits with.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// How serious the outcome is, for choosing one exit code for several
    /// apps. The numbers are stable for scripts and so cannot carry this
    /// order: a service left off a known-good revision outranks everything.
    pub fn severity(self) -> u8 {
        match self {
            Code::Success => 0,
            Code::Differences => 1,
            Code::Superseded => 2,
            Code::BadInput => 3,
            Code::Preflight => 4,
            Code::TimedOut => 5,
            Code::RolledBack => 6,
            Code::Backend => 7,
            Code::RollbackFailed => 8,
        }
    }

    /// Of several apps' outcomes, the one a single exit code should report:
    /// the most serious.
    pub fn worst(codes: impl IntoIterator<Item = Code>) -> Code {
        codes
            .into_iter()
            .max_by_key(|c| c.severity())
            .unwrap_or(Code::Success)
    }
}

impl From<Code> for std::process::ExitCode {
    fn from(code: Code) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// An error that knows which exit code it maps to. Everything else that
/// reaches `main` is treated as a backend error.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: Code,
    /// What happened and what to do about it.
    pub message: String,
}

impl Failure {
    /// A failure with `code`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// Bad input or config.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(Code::BadInput, message)
    }

    /// Preflight failed.
    pub fn preflight(message: impl Into<String>) -> Self {
        Self::new(Code::Preflight, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl From<config::ConfigError> for Failure {
    fn from(err: config::ConfigError) -> Self {
        Failure::bad_input(err.to_string())
    }
}

impl From<crate::cost::CostError> for Failure {
    fn from(err: crate::cost::CostError) -> Self {
        Failure::bad_input(err.to_string())
    }
}

/// The exit code an error from anywhere in the program maps to.
pub fn code_of(err: &anyhow::Error) -> Code {
    if let Some(failure) = err.downcast_ref::<Failure>() {
        return failure.code;
    }
    if err.downcast_ref::<config::ConfigError>().is_some() {
        return Code::BadInput;
    }
    Code::Backend
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn a_failed_rollback_outranks_every_other_outcome() {
        let all = [
            Code::Success,
            Code::Differences,
            Code::BadInput,
            Code::Preflight,
            Code::RolledBack,
            Code::TimedOut,
            Code::Backend,
            Code::RollbackFailed,
            Code::Superseded,
        ];
        assert_eq!(Code::worst(all), Code::RollbackFailed);
        assert_eq!(
            Code::worst([Code::Superseded, Code::RolledBack]),
            Code::RolledBack
        );
        assert_eq!(Code::worst([]), Code::Success);
    }
}
