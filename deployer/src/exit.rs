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
  9  interrupted (SIGINT or SIGTERM) during a deploy: rolled back to the
     previous revision, or the result says what is still in flight
 10  no AWS credentials, or expired ones
 11  the AWS endpoint cannot be reached
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
    /// A signal stopped a deploy; it was rolled back, or the result says
    /// what is still in flight.
    Interrupted = 9,
    /// No AWS credentials were found, or they expired.
    Credentials = 10,
    /// The AWS endpoint could not be reached.
    Unreachable = 11,
}

impl Code {
    /// The number the process exits with.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// Every code, in number order.
    pub const ALL: [Code; 12] = [
        Code::Success,
        Code::Differences,
        Code::BadInput,
        Code::Preflight,
        Code::RolledBack,
        Code::TimedOut,
        Code::Backend,
        Code::RollbackFailed,
        Code::Superseded,
        Code::Interrupted,
        Code::Credentials,
        Code::Unreachable,
    ];

    /// The code whose number is `n`.
    pub fn from_i32(n: i32) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_i32() == n)
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
            Code::Interrupted => 7,
            Code::Credentials => 8,
            Code::Unreachable => 9,
            Code::Backend => 10,
            Code::RollbackFailed => 11,
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

impl From<app_config::ConfigError> for Failure {
    fn from(err: app_config::ConfigError) -> Self {
        Failure::bad_input(err.to_string())
    }
}

/// Where the standard credential chain looks, for the message.
const CREDENTIAL_CHAIN: &str = "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and \
     ~/.aws/credentials, SSO, web identity (IRSA), the ECS and EC2 instance roles";

/// Texts in an AWS error that mean the credentials are missing or expired.
const NO_CREDENTIALS: [&str; 3] = [
    "an error occurred while loading credentials",
    "no credentials in the property bag",
    "no credentials found in chain",
];
const EXPIRED_CREDENTIALS: [&str; 5] = [
    "ExpiredToken",
    "security token included in the request is expired",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "security token included in the request is invalid",
];
/// Texts that mean the endpoint did not answer at all.
const UNREACHABLE: [&str; 5] = [
    "Connection refused",
    "dns error",
    "failed to lookup address",
    "timed out",
    "error trying to connect",
];

/// An AWS error a person fixes outside deployer, as one actionable line
/// with its own code: missing or expired credentials, an unreachable
/// endpoint. `None` for every other error.
pub fn aws_failure(err: &anyhow::Error) -> Option<Failure> {
    let text = format!("{err:#}");
    if credentials_not_loaded(err) || NO_CREDENTIALS.iter().any(|t| text.contains(t)) {
        return Some(Failure::new(
            Code::Credentials,
            format!(
                "no AWS credentials found (looked in {CREDENTIAL_CHAIN}): set AWS_PROFILE, or \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`"
            ),
        ));
    }
    if EXPIRED_CREDENTIALS.iter().any(|t| text.contains(t)) {
        return Some(Failure::new(
            Code::Credentials,
            "the AWS credentials are expired or invalid: refresh them (`aws sso login`, a new \
             session token) and run again",
        ));
    }
    let dispatch = text.contains("dispatch failure") || text.contains("io error");
    if dispatch && UNREACHABLE.iter().any(|t| text.contains(t)) {
        let endpoint = std::env::var("AWS_ENDPOINT_URL")
            .map(|e| format!(" ({e}, from AWS_ENDPOINT_URL)"))
            .unwrap_or_default();
        return Some(Failure::new(
            Code::Unreachable,
            format!(
                "cannot reach the AWS endpoint{endpoint}: check the network, the proxy, \
                 AWS_ENDPOINT_URL and --region"
            ),
        ));
    }
    None
}

/// Whether the SDK's credential chain found nothing (or a provider in it
/// failed): its typed error, somewhere in the chain of causes.
fn credentials_not_loaded(err: &anyhow::Error) -> bool {
    use aws_credential_types::provider::error::CredentialsError;
    err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<CredentialsError>(),
            Some(CredentialsError::CredentialsNotLoaded(_) | CredentialsError::ProviderError(_))
        )
    })
}

/// The text an error is reported with: the one actionable line of
/// [`aws_failure`] where it applies, else the whole chain.
pub fn describe(err: &anyhow::Error) -> String {
    match aws_failure(err) {
        Some(failure) => failure.message,
        None => format!("{err:#}"),
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
    if let Some(failure) = aws_failure(err) {
        return failure.code;
    }
    if err.downcast_ref::<app_config::ConfigError>().is_some() {
        return Code::BadInput;
    }
    Code::Backend
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn a_failed_rollback_outranks_every_other_outcome() {
        assert_eq!(Code::worst(Code::ALL), Code::RollbackFailed);
        assert_eq!(
            Code::worst([Code::Superseded, Code::RolledBack]),
            Code::RolledBack
        );
        assert_eq!(Code::worst([]), Code::Success);
    }

    #[test]
    fn the_sdks_typed_credentials_error_is_recognised_whatever_its_text() {
        use super::{code_of, describe};
        use aws_credential_types::provider::error::CredentialsError;
        let err = anyhow::Error::new(CredentialsError::not_loaded("nothing here"))
            .context("ECS DescribeClusters C failed");
        assert_eq!(code_of(&err), Code::Credentials);
        assert!(describe(&err).starts_with("no AWS credentials found"));
    }

    #[test]
    fn missing_credentials_and_an_unreachable_endpoint_are_one_line_each() {
        use super::{aws_failure, code_of, describe};
        let no_credentials = anyhow::anyhow!(
            "dispatch failure: other: an error occurred while loading credentials: \
             failed to load IMDS session token: dispatch failure: timeout"
        )
        .context("ECS DescribeClusters C failed");
        assert_eq!(code_of(&no_credentials), Code::Credentials);
        let line = describe(&no_credentials);
        assert!(line.starts_with("no AWS credentials found"), "{line}");
        assert!(
            line.contains("AWS_PROFILE") && !line.contains('\n'),
            "{line}"
        );

        let expired = anyhow::anyhow!("service error: ExpiredTokenException: The security token included in the request is expired");
        assert_eq!(code_of(&expired), Code::Credentials);

        let refused = anyhow::anyhow!(
            "dispatch failure: io error: error trying to connect: tcp connect error: Connection refused (os error 111)"
        );
        assert_eq!(code_of(&refused), Code::Unreachable);
        assert!(describe(&refused).starts_with("cannot reach the AWS endpoint"));

        let other = anyhow::anyhow!("service error: AccessDeniedException: not allowed");
        assert!(aws_failure(&other).is_none());
        assert_eq!(code_of(&other), Code::Backend);
    }
}
