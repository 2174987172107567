//! The AWS configuration every client shares: the standard credential and
//! region chain (so `AWS_ENDPOINT_URL`, profiles, IRSA and Pod Identity all
//! work unchanged), `--region` on top, and the SDK's own retry with backoff
//! for throttling and transient errors.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::cli::GlobalArgs;

/// Attempts per call, first one included, before a throttled or transient
/// failure is reported.
pub const MAX_ATTEMPTS: u32 = 6;

/// How long connecting to an AWS endpoint may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one attempt of a call may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a call may take, all attempts and backoff included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(90);

/// Loads the shared configuration.
pub async fn load(global: &GlobalArgs) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(timeouts);
    if let Some(region) = &global.region {
        loader = loader.region(Region::new(region.clone()));
    }
    loader.load().await
}
