//! Checks made before anything changes. Each failure says what is missing
//! and which flag, variable or JSON field to fix, and exits 3.

use aws_sdk_ecs::types::{
    DeploymentControllerType, DeploymentRolloutState, Service, Tag, TaskDefinition,
};

use super::api::EcsApi;
use super::revision;
use super::rollout;
use crate::apps::ResolvedApp;
use crate::exit::Failure;

/// What the service runs now.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    /// The service, with its tags.
    pub service: Service,
    /// The ARN of the revision the PRIMARY deployment runs: what a failed
    /// deploy goes back to.
    pub revision: String,
    /// That revision.
    pub task_definition: TaskDefinition,
    /// Its tags.
    pub tags: Vec<Tag>,
}

/// The image exists in its registry, and is published for the app's
/// `cpu_architecture`.
pub(crate) async fn image(
    ecs: &impl EcsApi,
    target: &ResolvedApp,
    uri: &str,
) -> anyhow::Result<()> {
    if !ecs.image_exists(uri).await? {
        return Err(Failure::preflight(format!(
            "image {uri} does not exist in its repository: push it first, or check --image"
        ))
        .into());
    }
    if let Some(platforms) = ecs.image_platforms(uri).await? {
        crate::image::platform::check_published(
            uri,
            target.config.cpu_architecture,
            &platforms,
            &target.config_file.display().to_string(),
        )?;
    }
    Ok(())
}

/// The cluster is ACTIVE and holds the service, ACTIVE too; returns the
/// service.
pub(crate) async fn service(ecs: &impl EcsApi, target: &ResolvedApp) -> anyhow::Result<Service> {
    let (cluster, name) = (&target.cluster, &target.service);
    let file = target.config_file.display();
    match ecs.cluster_status(cluster).await?.as_deref() {
        Some("ACTIVE") => {}
        None => {
            return Err(Failure::preflight(format!(
                "cluster `{cluster}` does not exist: check --cluster, ECS_CLUSTER or `deploy.cluster` in {file}"
            ))
            .into())
        }
        Some(status) => {
            return Err(Failure::preflight(format!(
                "cluster `{cluster}` is {status}, not ACTIVE: no service in it can be deployed"
            ))
            .into())
        }
    }
    let Some(service) = ecs.service(cluster, name).await? else {
        return Err(Failure::preflight(format!(
            "service `{name}` does not exist in cluster `{cluster}`: check --service-name, ECS_SERVICE or `deploy.service` in {file}"
        ))
        .into());
    };
    match service.status() {
        Some("ACTIVE") => {}
        status => {
            return Err(Failure::preflight(format!(
                "service `{name}` in cluster `{cluster}` is {}, not ACTIVE",
                status.unwrap_or("without a status")
            ))
            .into())
        }
    }
    let controller = service
        .deployment_controller()
        .map(|c| c.r#type())
        .unwrap_or(&DeploymentControllerType::Ecs);
    if controller != &DeploymentControllerType::Ecs {
        return Err(Failure::preflight(format!(
            "service `{name}` uses the {} deployment controller; deployer drives ECS rolling deployments only",
            controller.as_str()
        ))
        .into());
    }
    Ok(service)
}

/// No rollout is under way: a deploy on top of one would not know which
/// revision to go back to.
pub(crate) fn settled(service: &Service) -> Result<(), Failure> {
    let failed = service.deployments().iter().find(|d| {
        d.status() == Some(rollout::PRIMARY)
            && d.rollout_state() == Some(&DeploymentRolloutState::Failed)
    });
    if let Some(d) = failed {
        // The circuit breaker gave up without a rollback (or rollback is
        // off): the service points at a revision that does not run, which
        // is no revision to go back to.
        return Err(Failure::preflight(format!(
            "service `{}` is on a FAILED deployment ({} of {}: {}); its revision is no rollback \
             target: put the service back on a good revision first with `deployer rollback`",
            service.service_name().unwrap_or("?"),
            d.id().unwrap_or("?"),
            revision::name(d.task_definition().unwrap_or("?")),
            d.rollout_state_reason().unwrap_or("no reason given"),
        )));
    }
    let busy = service.deployments().iter().find(|d| {
        d.status() != Some(rollout::PRIMARY)
            || d.rollout_state() == Some(&DeploymentRolloutState::InProgress)
    });
    match busy {
        None => Ok(()),
        Some(d) => Err(Failure::preflight(format!(
            "service `{}` is in the middle of a rollout (deployment {} of {}, {} {}); \
             wait for it to finish, or run `deployer rollback`",
            service.service_name().unwrap_or("?"),
            d.id().unwrap_or("?"),
            revision::name(d.task_definition().unwrap_or("?")),
            d.status().unwrap_or("?"),
            d.rollout_state().map_or("", |s| s.as_str()),
        ))),
    }
}

/// What the service runs now: the cluster and service checks, then the
/// PRIMARY deployment's revision with its tags.
pub(crate) async fn current(ecs: &impl EcsApi, target: &ResolvedApp) -> anyhow::Result<Current> {
    let service = service(ecs, target).await?;
    let revision = rollout::primary(&service)
        .and_then(|d| d.task_definition())
        .or(service.task_definition())
        .map(str::to_owned)
        .ok_or_else(|| {
            Failure::preflight(format!(
                "service `{}` has no task definition",
                target.service
            ))
        })?;
    let Some((task_definition, tags)) = ecs.task_definition(&revision).await? else {
        return Err(Failure::preflight(format!(
            "the task definition service `{}` runs, {}, cannot be described",
            target.service,
            revision::name(&revision)
        ))
        .into());
    };
    Ok(Current {
        service,
        revision,
        task_definition,
        tags,
    })
}

/// The JSON's launch type against the service's (its launch type, or its
/// capacity provider strategy): an update cannot move a service between
/// them, and a revision rendered for the other would not run.
pub(crate) fn launch_type(service: &Service, target: &ResolvedApp) -> Result<(), Failure> {
    use app_config::LaunchType;
    let wanted = target.config.launch_type;
    let providers: Vec<&str> = service
        .capacity_provider_strategy()
        .iter()
        .map(|p| p.capacity_provider())
        .collect();
    let (runs, how) = match service.launch_type() {
        Some(aws_sdk_ecs::types::LaunchType::Fargate) => {
            (Some(LaunchType::Fargate), "launch type FARGATE".to_owned())
        }
        Some(aws_sdk_ecs::types::LaunchType::Ec2) => {
            (Some(LaunchType::Ec2), "launch type EC2".to_owned())
        }
        Some(other) => (None, format!("launch type {}", other.as_str())),
        None if providers.is_empty() => (None, String::new()),
        None => {
            let fargate = |p: &&str| matches!(*p, "FARGATE" | "FARGATE_SPOT");
            let runs = if providers.iter().all(fargate) {
                Some(LaunchType::Fargate)
            } else if !providers.iter().any(fargate) {
                Some(LaunchType::Ec2)
            } else {
                None
            };
            (runs, format!("capacity providers {}", providers.join(", ")))
        }
    };
    match runs {
        Some(runs) if runs != wanted => Err(Failure::preflight(format!(
            "{} says launch_type {}, but service `{}` runs on {how} ({}); deploy to a service of \
             that launch type, or fix `launch_type`",
            target.config_file.display(),
            wanted.as_str(),
            service.service_name().unwrap_or("?"),
            runs.as_str(),
        ))),
        _ => Ok(()),
    }
}
