//! The AWS calls the ECS commands make, behind one narrow trait, so that the
//! whole cycle (preflight, rollout, rollback, prune) runs unchanged against
//! the SDK in production and against a scripted fake in unit tests.
//!
//! Besides ECS, the trait holds the two other lookups the cycle needs: the
//! image check of the preflight (ECR or the registry) and ELBv2
//! DescribeTargetHealth for `status`.

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::{CreatedAt, ServiceDeployment};
use aws_sdk_ecs::types::{
    DesiredStatus, Service, ServiceField, Tag, Task, TaskDefinition, TaskDefinitionField,
    TaskDefinitionStatus,
};
use aws_sdk_elasticloadbalancingv2::types::TargetHealthDescription;
use aws_smithy_types::DateTime;

use super::render;
use super::revision;

/// DescribeTasks takes at most this many tasks per call.
const DESCRIBE_TASKS_LIMIT: usize = 100;

/// DescribeServices takes at most this many services per call.
const DESCRIBE_SERVICES_LIMIT: usize = 10;

/// DescribeServiceDeployments takes at most this many ARNs per call.
const DESCRIBE_SERVICE_DEPLOYMENTS_LIMIT: usize = 20;

/// Error codes that mean "this endpoint has no such operation".
const NO_SUCH_OPERATION: [&str; 3] = [
    "UnknownOperationException",
    "UnsupportedFeatureException",
    "InvalidAction",
];

/// Which tasks [`EcsApi::tasks`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskFilter<'a> {
    /// The service's stopped tasks (ECS keeps them listed for about an hour).
    StoppedOf { service: &'a str },
    /// Every task of the family that runs, or is about to, in the cluster.
    RunningOf { family: &'a str },
}

/// The calls the ECS commands make.
pub(crate) trait EcsApi {
    /// Whether the image exists in its registry.
    async fn image_exists(&self, uri: &str) -> anyhow::Result<bool>;

    /// The platforms the registry publishes the image for; `None` when this
    /// implementation cannot tell (the scripted fake), and the check is left
    /// out.
    async fn image_platforms(
        &self,
        _uri: &str,
    ) -> anyhow::Result<Option<Vec<crate::image::platform::Platform>>> {
        Ok(None)
    }

    /// The cluster's status (`ACTIVE`, `INACTIVE`...), `None` if it does not
    /// exist.
    async fn cluster_status(&self, cluster: &str) -> anyhow::Result<Option<String>>;

    /// The service with its tags, `None` if the cluster holds no such
    /// service.
    async fn service(&self, cluster: &str, service: &str) -> anyhow::Result<Option<Service>>;

    /// Every cluster of the account and region (ARNs).
    async fn clusters(&self) -> anyhow::Result<Vec<String>>;

    /// Every service of `cluster`, described, with tags.
    async fn services_in(&self, cluster: &str) -> anyhow::Result<Vec<Service>>;

    /// A task definition with its tags, `None` if there is no such revision.
    async fn task_definition(
        &self,
        task_definition: &str,
    ) -> anyhow::Result<Option<(TaskDefinition, Vec<Tag>)>>;

    /// Registers a revision and returns it.
    async fn register(&self, input: RegisterTaskDefinitionInput) -> anyhow::Result<TaskDefinition>;

    /// Points the service at `task_definition`; ECS starts a deployment.
    async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
    ) -> anyhow::Result<Service>;

    /// The service deployments of the service created at or after
    /// `since` (ListServiceDeployments, then DescribeServiceDeployments),
    /// `None` where the API does not exist (moto, older partitions).
    async fn service_deployments(
        &self,
        cluster: &str,
        service: &str,
        since: Option<DateTime>,
    ) -> anyhow::Result<Option<Vec<ServiceDeployment>>>;

    /// Asks ECS to roll a service deployment back
    /// (StopServiceDeployment, stopType ROLLBACK).
    async fn stop_service_deployment(&self, service_deployment_arn: &str) -> anyhow::Result<()>;

    /// Sets one tag on the service.
    async fn tag_service(&self, service_arn: &str, key: &str, value: &str) -> anyhow::Result<()>;

    /// ARNs of the ACTIVE revisions of exactly this family.
    async fn active_revisions(&self, family: &str) -> anyhow::Result<Vec<String>>;

    /// Deregisters a revision (it becomes INACTIVE).
    async fn deregister(&self, task_definition_arn: &str) -> anyhow::Result<()>;

    /// The tasks `filter` selects in the cluster, described.
    async fn tasks(&self, cluster: &str, filter: TaskFilter<'_>) -> anyhow::Result<Vec<Task>>;

    /// The health of every target in a target group.
    async fn target_health(
        &self,
        target_group_arn: &str,
    ) -> anyhow::Result<Vec<TargetHealthDescription>>;
}

/// The real thing: the AWS SDK with the shared configuration (standard
/// credentials, `AWS_ENDPOINT_URL`, the SDK's retry with backoff).
#[derive(Debug, Clone)]
pub(crate) struct SdkEcs {
    config: SdkConfig,
    ecs: aws_sdk_ecs::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
}

impl SdkEcs {
    /// Clients on the shared configuration.
    pub(crate) fn new(config: &SdkConfig) -> Self {
        SdkEcs {
            config: config.clone(),
            ecs: aws_sdk_ecs::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
        }
    }
}

impl EcsApi for SdkEcs {
    async fn image_exists(&self, uri: &str) -> anyhow::Result<bool> {
        crate::image::exists(uri, &self.config).await
    }

    async fn image_platforms(
        &self,
        uri: &str,
    ) -> anyhow::Result<Option<Vec<crate::image::platform::Platform>>> {
        // With AWS_ENDPOINT_URL pointing at a stand-in (moto, LocalStack),
        // an ECR URI still names AWS's own registry, which the stand-in does
        // not serve: reading it would reach out to a registry that never saw
        // the image. The platform is then left unchecked, and the log says so.
        let ecr = crate::image::reference::ImageRef::parse(uri, "image")?
            .ecr()
            .is_some();
        if ecr {
            if let Some(endpoint) = self.config.endpoint_url() {
                tracing::warn!(
                    image = uri,
                    endpoint,
                    "the image's platform is not checked: AWS calls go to a custom endpoint, \
                     which serves no ECR registry"
                );
                return Ok(None);
            }
        }
        crate::image::platform::published(uri, &self.config)
            .await
            .map(Some)
    }

    async fn cluster_status(&self, cluster: &str) -> anyhow::Result<Option<String>> {
        let out = self
            .ecs
            .describe_clusters()
            .clusters(cluster)
            .send()
            .await
            .with_context(|| format!("ECS DescribeClusters {cluster} failed"))?;
        Ok(out
            .clusters()
            .iter()
            .find(|c| c.cluster_name() == Some(cluster) || c.cluster_arn() == Some(cluster))
            .and_then(|c| c.status().map(str::to_owned)))
    }

    async fn service(&self, cluster: &str, service: &str) -> anyhow::Result<Option<Service>> {
        let result = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .include(ServiceField::Tags)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.services.unwrap_or_default().into_iter().next()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_cluster_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(anyhow::Error::new(err).context(format!(
                "ECS DescribeServices {service} in {cluster} failed"
            ))),
        }
    }

    async fn clusters(&self) -> anyhow::Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut pages = self.ecs.list_clusters().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.context("ECS ListClusters failed")?;
            arns.extend(page.cluster_arns.unwrap_or_default());
        }
        Ok(arns)
    }

    async fn services_in(&self, cluster: &str) -> anyhow::Result<Vec<Service>> {
        let mut arns = Vec::new();
        let mut pages = self
            .ecs
            .list_services()
            .cluster(cluster)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.with_context(|| format!("ECS ListServices in {cluster} failed"))?;
            arns.extend(page.service_arns.unwrap_or_default());
        }
        let mut services = Vec::with_capacity(arns.len());
        for chunk in arns.chunks(DESCRIBE_SERVICES_LIMIT) {
            let out = self
                .ecs
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .include(ServiceField::Tags)
                .send()
                .await
                .with_context(|| format!("ECS DescribeServices in {cluster} failed"))?;
            services.extend(out.services.unwrap_or_default());
        }
        Ok(services)
    }

    async fn task_definition(
        &self,
        task_definition: &str,
    ) -> anyhow::Result<Option<(TaskDefinition, Vec<Tag>)>> {
        let result = self
            .ecs
            .describe_task_definition()
            .task_definition(task_definition)
            .include(TaskDefinitionField::Tags)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out
                .task_definition
                .map(|td| (td, out.tags.unwrap_or_default()))),
            // ECS answers a ClientException ("Unable to describe task
            // definition") for a revision that does not exist.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_client_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(anyhow::Error::new(err).context(format!(
                "ECS DescribeTaskDefinition {task_definition} failed"
            ))),
        }
    }

    async fn register(&self, input: RegisterTaskDefinitionInput) -> anyhow::Result<TaskDefinition> {
        let family = input.family.clone().unwrap_or_default();
        let out = render::request_builder(input)
            .send_with(&self.ecs)
            .await
            .with_context(|| format!("ECS RegisterTaskDefinition {family} failed"))?;
        out.task_definition
            .with_context(|| format!("ECS RegisterTaskDefinition {family} returned no revision"))
    }

    async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
    ) -> anyhow::Result<Service> {
        let out = self
            .ecs
            .update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(task_definition)
            .send()
            .await
            .with_context(|| {
                format!(
                    "ECS UpdateService {service} in {cluster} to {} failed",
                    revision::name(task_definition)
                )
            })?;
        out.service
            .with_context(|| format!("ECS UpdateService {service} returned no service"))
    }

    async fn service_deployments(
        &self,
        cluster: &str,
        service: &str,
        since: Option<DateTime>,
    ) -> anyhow::Result<Option<Vec<ServiceDeployment>>> {
        use aws_sdk_ecs::error::ProvideErrorMetadata;
        let mut list = self
            .ecs
            .list_service_deployments()
            .cluster(cluster)
            .service(service);
        if let Some(since) = since {
            // A little before: the deployment and its service deployment
            // are stamped by the same UpdateService, not at the same instant.
            let after = DateTime::from_secs(since.secs().saturating_sub(1));
            list = list.created_at(CreatedAt::builder().after(after).build());
        }
        let mut arns = Vec::new();
        let mut next_token = None;
        loop {
            let page = list.clone().set_next_token(next_token.take()).send().await;
            let page = match page {
                Ok(page) => page,
                Err(err) if err.code().is_some_and(|c| NO_SUCH_OPERATION.contains(&c)) => {
                    return Ok(None)
                }
                Err(err) => {
                    return Err(anyhow::Error::new(err).context(format!(
                        "ECS ListServiceDeployments {service} in {cluster} failed"
                    )))
                }
            };
            arns.extend(
                page.service_deployments()
                    .iter()
                    .filter_map(|b| b.service_deployment_arn().map(str::to_owned)),
            );
            match page.next_token {
                Some(token) if !token.is_empty() => next_token = Some(token),
                _ => break,
            }
        }
        let mut described = Vec::with_capacity(arns.len());
        for chunk in arns.chunks(DESCRIBE_SERVICE_DEPLOYMENTS_LIMIT) {
            let out = self
                .ecs
                .describe_service_deployments()
                .set_service_deployment_arns(Some(chunk.to_vec()))
                .send()
                .await
                .with_context(|| {
                    format!("ECS DescribeServiceDeployments {service} in {cluster} failed")
                })?;
            described.extend(out.service_deployments.unwrap_or_default());
        }
        Ok(Some(described))
    }

    async fn stop_service_deployment(&self, service_deployment_arn: &str) -> anyhow::Result<()> {
        self.ecs
            .stop_service_deployment()
            .service_deployment_arn(service_deployment_arn)
            .stop_type(aws_sdk_ecs::types::StopServiceDeploymentStopType::Rollback)
            .send()
            .await
            .with_context(|| {
                format!("ECS StopServiceDeployment {service_deployment_arn} (ROLLBACK) failed")
            })?;
        Ok(())
    }

    async fn tag_service(&self, service_arn: &str, key: &str, value: &str) -> anyhow::Result<()> {
        let tag = Tag::builder().key(key).value(value).build();
        self.ecs
            .tag_resource()
            .resource_arn(service_arn)
            .tags(tag)
            .send()
            .await
            .with_context(|| format!("ECS TagResource {service_arn} failed"))?;
        Ok(())
    }

    async fn active_revisions(&self, family: &str) -> anyhow::Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut pages = self
            .ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(TaskDefinitionStatus::Active)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.with_context(|| format!("ECS ListTaskDefinitions {family} failed"))?;
            arns.extend(page.task_definition_arns.unwrap_or_default());
        }
        // The filter is a prefix: `service-a` also lists `service-a-worker`.
        arns.retain(|arn| revision::family(arn) == family);
        Ok(arns)
    }

    async fn deregister(&self, task_definition_arn: &str) -> anyhow::Result<()> {
        self.ecs
            .deregister_task_definition()
            .task_definition(task_definition_arn)
            .send()
            .await
            .with_context(|| {
                format!(
                    "ECS DeregisterTaskDefinition {} failed",
                    revision::name(task_definition_arn)
                )
            })?;
        Ok(())
    }

    async fn tasks(&self, cluster: &str, filter: TaskFilter<'_>) -> anyhow::Result<Vec<Task>> {
        let list = self.ecs.list_tasks().cluster(cluster);
        let list = match filter {
            TaskFilter::StoppedOf { service } => list
                .service_name(service)
                .desired_status(DesiredStatus::Stopped),
            TaskFilter::RunningOf { family } => {
                list.family(family).desired_status(DesiredStatus::Running)
            }
        };
        let mut arns = Vec::new();
        let mut pages = list.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.with_context(|| format!("ECS ListTasks in {cluster} failed"))?;
            arns.extend(page.task_arns.unwrap_or_default());
        }
        let mut tasks = Vec::with_capacity(arns.len());
        for chunk in arns.chunks(DESCRIBE_TASKS_LIMIT) {
            let out = self
                .ecs
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .with_context(|| format!("ECS DescribeTasks in {cluster} failed"))?;
            tasks.extend(out.tasks.unwrap_or_default());
        }
        Ok(tasks)
    }

    async fn target_health(
        &self,
        target_group_arn: &str,
    ) -> anyhow::Result<Vec<TargetHealthDescription>> {
        let out = self
            .elb
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .with_context(|| format!("ELBv2 DescribeTargetHealth {target_group_arn} failed"))?;
        Ok(out.target_health_descriptions.unwrap_or_default())
    }
}
