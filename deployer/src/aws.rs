//! The AWS configuration every client shares: the standard credential and
//! region chain (so `AWS_ENDPOINT_URL`, profiles, IRSA and Pod Identity all
//! work unchanged), `--region` on top, and the SDK's own retry with backoff
//! for throttling and transient errors.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::cli::GlobalArgs;

/// Attempts per call, first one included, before a throttled or transient
/// failure is reported.
pub const MAX_ATTEMPTS: u32 = 6;

/// Loads the shared configuration.
pub async fn load(global: &GlobalArgs) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(region) = &global.region {
        loader = loader.region(Region::new(region.clone()));
    }
    loader.load().await
}
