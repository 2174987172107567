//! ECS's native deployment strategies: BLUE_GREEN, LINEAR and CANARY.
//!
//! ECS runs them itself, stage by stage (scale up, test traffic shift,
//! production traffic shift, bake time, clean up), and reports them through
//! the service deployments API. deployer follows them to their end, bake
//! time included ([`super::rollout`] shows the stage), and rolls one back
//! with StopServiceDeployment(ROLLBACK): a second UpdateService would start
//! a new deployment instead of undoing this one.

use std::time::Duration;

use aws_sdk_ecs::types::{DeploymentStrategy, Service, ServiceDeploymentStatus};
use aws_smithy_types::DateTime;
use tokio::time::Instant;

use super::api::EcsApi;
use crate::progress::Progress;

/// A service's native strategy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Native {
    /// `BLUE_GREEN`, `LINEAR` or `CANARY`.
    pub name: String,
    /// The least time the deployment spends baking, all steps together.
    pub bake: Duration,
}

/// The service's native strategy; `None` for a rolling update.
pub(crate) fn native(service: &Service) -> Option<Native> {
    let config = service.deployment_configuration()?;
    let strategy = config.strategy()?;
    let minutes = |m: Option<i32>| u64::try_from(m.unwrap_or(0)).unwrap_or(0);
    let mut bake = minutes(config.bake_time_in_minutes());
    match strategy {
        DeploymentStrategy::BlueGreen => {}
        DeploymentStrategy::Linear => {
            if let Some(linear) = config.linear_configuration() {
                let steps = match linear.step_percent() {
                    Some(p) if p > 0.0 => (100.0 / p).ceil() as u64,
                    _ => 1,
                };
                // Every step but the last bakes before the next shift.
                bake += minutes(linear.step_bake_time_in_minutes()) * steps.saturating_sub(1);
            }
        }
        DeploymentStrategy::Canary => {
            if let Some(canary) = config.canary_configuration() {
                bake += minutes(canary.canary_bake_time_in_minutes());
            }
        }
        _ => return None,
    }
    Some(Native {
        name: strategy.as_str().to_owned(),
        bake: Duration::from_secs(bake * 60),
    })
}

/// The warning when `timeout` cannot cover the strategy's bake time.
pub(crate) fn timeout_warning(native: &Native, timeout: Duration) -> Option<String> {
    (timeout < native.bake).then(|| {
        format!(
            "--timeout {} is shorter than the {} bake time ({}): the deploy will time out \
             mid-bake and roll back; raise --timeout",
            humantime::format_duration(timeout),
            native.name,
            humantime::format_duration(native.bake)
        )
    })
}

/// How a native rollback went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rolled {
    /// ROLLBACK_SUCCESSFUL.
    Back,
    /// ROLLBACK_FAILED, or the deadline passed; the reason.
    NotBack(String),
}

/// Rolls the service deployment created at `since` back: asks for it with
/// StopServiceDeployment(ROLLBACK) unless ECS already is rolling it back,
/// and follows it until ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED or `deadline`.
pub(crate) async fn roll_back(
    ecs: &impl EcsApi,
    cluster: &str,
    service: &str,
    since: Option<DateTime>,
    deadline: Instant,
    poll: Duration,
    progress: &Progress,
) -> anyhow::Result<Rolled> {
    let mut requested = false;
    loop {
        // The service itself, for the progress line: how far the tasks of
        // the revision going back are.
        if let Some(svc) = ecs.service(cluster, service).await? {
            if let Some(primary) = super::rollout::primary(&svc) {
                progress.update(format!(
                    "rolling back: {}/{} running on {}",
                    primary.running_count(),
                    primary.desired_count(),
                    super::revision::name(primary.task_definition().unwrap_or("?"))
                ));
            }
        }
        let listed = ecs
            .service_deployments(cluster, service, since)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the service deployments API does not answer here"))?;
        let Some(sd) = super::rollout::ours(&listed, since) else {
            anyhow::bail!("ECS lists no service deployment for this deployment");
        };
        let arn = sd.service_deployment_arn().unwrap_or_default().to_owned();
        match sd.status() {
            Some(ServiceDeploymentStatus::RollbackSuccessful) => return Ok(Rolled::Back),
            Some(ServiceDeploymentStatus::RollbackFailed) => {
                return Ok(Rolled::NotBack(format!(
                    "ECS's rollback of {arn} failed: {}",
                    sd.status_reason().unwrap_or("no reason given")
                )))
            }
            Some(
                ServiceDeploymentStatus::RollbackRequested
                | ServiceDeploymentStatus::RollbackInProgress,
            ) => {}
            Some(ServiceDeploymentStatus::Successful | ServiceDeploymentStatus::Stopped) => {
                return Ok(Rolled::NotBack(format!(
                    "service deployment {arn} is {}: there is nothing to roll back within it",
                    sd.status().map_or("?", |s| s.as_str())
                )))
            }
            _ if !requested => {
                progress.println(format!("rolling back service deployment {arn}"));
                ecs.stop_service_deployment(&arn).await?;
                requested = true;
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            return Ok(Rolled::NotBack(format!(
                "service deployment {arn} was still {} at the deadline",
                sd.status().map_or("?", |s| s.as_str())
            )));
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{CanaryConfiguration, DeploymentConfiguration, LinearConfiguration};

    fn with(config: DeploymentConfiguration) -> Service {
        Service::builder().deployment_configuration(config).build()
    }

    #[test]
    fn bake_times_add_up_per_strategy() {
        let rolling = with(
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::Rolling)
                .build(),
        );
        assert_eq!(native(&rolling), None);
        assert_eq!(native(&Service::builder().build()), None);

        let blue_green = with(
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::BlueGreen)
                .bake_time_in_minutes(10)
                .build(),
        );
        let n = native(&blue_green).expect("native");
        assert_eq!(
            (n.name.as_str(), n.bake),
            ("BLUE_GREEN", Duration::from_secs(600))
        );

        let linear = with(
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::Linear)
                .bake_time_in_minutes(5)
                .linear_configuration(
                    LinearConfiguration::builder()
                        .step_percent(25.0)
                        .step_bake_time_in_minutes(2)
                        .build(),
                )
                .build(),
        );
        // 4 steps, 3 step bakes of 2 minutes, then 5 minutes.
        assert_eq!(
            native(&linear).expect("native").bake,
            Duration::from_secs(11 * 60)
        );

        let canary = with(
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::Canary)
                .bake_time_in_minutes(5)
                .canary_configuration(
                    CanaryConfiguration::builder()
                        .canary_percent(10.0)
                        .canary_bake_time_in_minutes(15)
                        .build(),
                )
                .build(),
        );
        let n = native(&canary).expect("native");
        assert_eq!(n.bake, Duration::from_secs(20 * 60));
        let warning = timeout_warning(&n, Duration::from_secs(600)).expect("too short");
        assert!(warning.contains("CANARY bake time (20m)"), "{warning}");
        assert_eq!(timeout_warning(&n, Duration::from_secs(3600)), None);
    }
}
