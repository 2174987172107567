//! deployer's ECS client for unit tests: the ECS stand-in, in process.
//!
//! Rollouts (deployments, service deployments, events, tasks, stale reads)
//! come from the one ECS stand-in, [`test_harness::ecs_standin`], which the
//! integration tests reach over HTTP through the proxy in front of moto.
//! This file only keeps what ECS stores (clusters, services, task
//! definitions, images, target health), translates the stand-in's answers
//! into SDK types, logs every call, and can make any call fail from its
//! n-th time on.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use anyhow::{anyhow, bail};
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::{
    Container, Deployment, DeploymentRolloutState, Service, ServiceDeployment,
    ServiceDeploymentAlarms, ServiceDeploymentLifecycleStage,
    ServiceDeploymentRollbackMonitorsStatus, ServiceDeploymentStatus, ServiceEvent, Tag, Task,
    TaskDefinition, TaskDefinitionStatus,
};
use aws_sdk_elasticloadbalancingv2::types::TargetHealthDescription;
use aws_smithy_types::DateTime;
use test_harness::ecs_standin::{self as standin, Clock, Rollouts};

use super::api::{EcsApi, TaskFilter};
use super::revision;

/// How a deployment of a revision goes: the stand-in's behaviours.
pub(crate) use standin::Behaviour as Script;

pub(crate) const REGION_ACCOUNT: &str = "us-east-1:123456789012";

/// The ARN of `family:revision`.
pub(crate) fn td_arn(name: &str) -> String {
    format!("arn:aws:ecs:{REGION_ACCOUNT}:task-definition/{name}")
}

#[derive(Debug)]
struct State {
    clusters: HashMap<String, String>,
    /// What ECS stores of each service, by (cluster, service name); the
    /// rollout part of it comes from `rollouts`.
    services: HashMap<(String, String), Service>,
    rollouts: Rollouts,
    /// By family, then revision.
    task_definitions: BTreeMap<String, BTreeMap<i32, (TaskDefinition, Vec<Tag>)>>,
    images: HashSet<String>,
    target_health: HashMap<String, Vec<TargetHealthDescription>>,
    registered: Vec<RegisterTaskDefinitionInput>,
    calls: Vec<String>,
    call_counts: HashMap<&'static str, usize>,
    failing: HashMap<&'static str, usize>,
    /// Whether ListServiceDeployments answers (ECS) or not (moto, older
    /// partitions: UnknownOperationException).
    sd_api: bool,
}

impl Default for State {
    fn default() -> Self {
        State {
            clusters: HashMap::new(),
            services: HashMap::new(),
            rollouts: Rollouts::new(
                Clock::Ticks {
                    at: 1_700_000_000.0,
                },
                &format!("arn:aws:ecs:{REGION_ACCOUNT}"),
            ),
            task_definitions: BTreeMap::new(),
            images: HashSet::new(),
            target_health: HashMap::new(),
            registered: Vec::new(),
            calls: Vec::new(),
            call_counts: HashMap::new(),
            failing: HashMap::new(),
            sd_api: false,
        }
    }
}

/// The fake.
#[derive(Debug, Default)]
pub(crate) struct FakeEcs {
    state: Mutex<State>,
}

impl State {
    fn enter(&mut self, op: &'static str, what: String) -> anyhow::Result<()> {
        self.calls
            .push(format!("{op} {what}").trim_end().to_owned());
        let n = self.call_counts.entry(op).or_insert(0);
        *n += 1;
        match self.failing.get(op) {
            Some(from) if *n >= *from => {
                bail!("{op} failed (injected: ThrottlingException after retries)")
            }
            _ => Ok(()),
        }
    }

    /// The service as DescribeServices shows it: what ECS stores, with the
    /// stand-in's `view` of its rollouts laid over it.
    fn shown(&self, key: &(String, String), view: Option<standin::View>) -> Option<Service> {
        let mut svc = self.services.get(key)?.clone();
        if let Some(view) = view {
            svc.task_definition = view.task_definition().map(str::to_owned);
            svc.running_count = count(view.running());
            svc.pending_count = count(view.pending());
            svc.deployments = Some(view.deployments.iter().map(deployment).collect());
            svc.events = Some(view.events.iter().map(event).collect());
        }
        Some(svc)
    }

    /// Tells the stand-in the service's desired count, which tests may
    /// change on the stored service.
    fn sync_desired(&mut self, key: &(String, String)) {
        if let Some(svc) = self.services.get(key) {
            let desired = i64::from(svc.desired_count);
            self.rollouts.set_desired(&key.0, &key.1, desired);
        }
    }
}

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn time(epoch_seconds: f64) -> DateTime {
    DateTime::from_secs_f64(epoch_seconds)
}

fn deployment(d: &standin::Deployment) -> Deployment {
    Deployment::builder()
        .id(&d.id)
        .status(d.status())
        .task_definition(&d.task_definition)
        .desired_count(count(d.desired))
        .running_count(count(d.running))
        .pending_count(count(d.pending))
        .failed_tasks(count(d.failed_tasks))
        .rollout_state(DeploymentRolloutState::from(d.rollout_state.as_str()))
        .rollout_state_reason(&d.reason)
        .created_at(time(d.created_at))
        .build()
}

fn event(e: &standin::Event) -> ServiceEvent {
    ServiceEvent::builder()
        .id(&e.id)
        .created_at(time(e.created_at))
        .message(&e.message)
        .build()
}

fn service_deployment(sd: &standin::ServiceDeployment, svc: Option<&Service>) -> ServiceDeployment {
    let mut built = ServiceDeployment::builder()
        .service_deployment_arn(&sd.arn)
        .service_arn(&sd.service_arn)
        .cluster_arn(&sd.cluster_arn)
        .created_at(time(sd.created_at))
        .status(ServiceDeploymentStatus::from(sd.status.as_str()))
        .status_reason(&sd.reason)
        .set_lifecycle_stage(
            sd.stage
                .map(|s| ServiceDeploymentLifecycleStage::from(s.as_str())),
        )
        .set_deployment_configuration(svc.and_then(|s| s.deployment_configuration.clone()));
    if !sd.triggered_alarms.is_empty() {
        built = built.alarms(
            ServiceDeploymentAlarms::builder()
                .status(ServiceDeploymentRollbackMonitorsStatus::Triggered)
                .set_triggered_alarm_names(Some(sd.triggered_alarms.clone()))
                .build(),
        );
    }
    built.build()
}

fn task(t: &standin::Task) -> Task {
    let mut built = Task::builder()
        .task_arn(&t.arn)
        .task_definition_arn(&t.task_definition)
        .group(&t.group)
        .last_status(t.desired_status)
        .desired_status(t.desired_status);
    if let Some(stopped) = &t.stopped {
        built = built
            .stopped_reason(&stopped.reason)
            .stopped_at(time(stopped.at))
            .containers(
                Container::builder()
                    .name(&stopped.container)
                    .exit_code(stopped.exit_code)
                    .reason(&stopped.container_reason)
                    .build(),
            );
    }
    built.build()
}

impl FakeEcs {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Adds an ACTIVE cluster.
    pub(crate) fn cluster(&self, name: &str, status: &str) {
        self.with(|s| s.clusters.insert(name.to_owned(), status.to_owned()));
    }

    /// Registers `td` as `family:revision` (its ARN, revision and status
    /// are set here).
    pub(crate) fn task_definition(
        &self,
        family: &str,
        rev: i32,
        td: &TaskDefinition,
        tags: &[Tag],
    ) {
        let mut td = td.clone();
        td.family = Some(family.to_owned());
        td.revision = rev;
        td.task_definition_arn = Some(td_arn(&format!("{family}:{rev}")));
        td.status = Some(TaskDefinitionStatus::Active);
        self.with(|s| {
            s.task_definitions
                .entry(family.to_owned())
                .or_default()
                .insert(rev, (td, tags.to_vec()));
        });
    }

    /// Adds a service in `cluster` running `family:rev`, its rollout
    /// completed.
    pub(crate) fn service(&self, cluster: &str, name: &str, td: &str, desired: i32) {
        self.with(|s| {
            let arn = td_arn(td);
            let svc = Service::builder()
                .service_name(name)
                .service_arn(format!(
                    "arn:aws:ecs:{REGION_ACCOUNT}:service/{cluster}/{name}"
                ))
                .cluster_arn(format!("arn:aws:ecs:{REGION_ACCOUNT}:cluster/{cluster}"))
                .status("ACTIVE")
                .desired_count(desired)
                .build();
            s.services
                .insert((cluster.to_owned(), name.to_owned()), svc);
            s.rollouts.add_service(
                cluster,
                name,
                &arn,
                i64::from(desired),
                Some("ecs-svc/initial"),
            );
        });
    }

    /// Changes what ECS stores of a service (not its rollouts: see
    /// [`FakeEcs::edit_deployments`]).
    pub(crate) fn edit_service(&self, cluster: &str, name: &str, f: impl FnOnce(&mut Service)) {
        self.with(|s| {
            let key = (cluster.to_owned(), name.to_owned());
            if let Some(svc) = s.services.get_mut(&key) {
                f(svc);
            }
            s.sync_desired(&key);
        });
    }

    /// Changes a service's deployments, to set up where a test starts.
    pub(crate) fn edit_deployments(
        &self,
        cluster: &str,
        name: &str,
        f: impl FnOnce(&mut Vec<standin::Deployment>),
    ) {
        self.with(|s| {
            if let Some(deployments) = s.rollouts.deployments_mut(cluster, name) {
                f(deployments);
            }
        });
    }

    /// Makes the service deployments API answer (as ECS does) or not (as
    /// moto and older partitions do).
    pub(crate) fn service_deployments_api(&self, on: bool) {
        self.with(|s| s.sd_api = on);
    }

    /// After each UpdateService, the next `reads` DescribeServices still
    /// show the service as it was before it.
    pub(crate) fn lag(&self, reads: u32) {
        self.with(|s| s.rollouts.lag(reads));
    }

    /// How deployments of `family:revision` go.
    pub(crate) fn script(&self, name: &str, script: Script) {
        self.with(|s| s.rollouts.behave(name, script));
    }

    /// Makes an image exist.
    pub(crate) fn image(&self, uri: &str) {
        self.with(|s| s.images.insert(uri.to_owned()));
    }

    /// A task of `family:revision` running in `cluster`, outside any
    /// service.
    pub(crate) fn running_task(&self, cluster: &str, name: &str) {
        self.with(|s| s.rollouts.add_running_task(cluster, &td_arn(name)));
    }

    /// Target health answered for a target group.
    pub(crate) fn targets(&self, target_group_arn: &str, targets: Vec<TargetHealthDescription>) {
        self.with(|s| s.target_health.insert(target_group_arn.to_owned(), targets));
    }

    /// Makes `op` fail from its `from`-th call on (1 = every call).
    pub(crate) fn fail(&self, op: &'static str, from: usize) {
        self.with(|s| s.failing.insert(op, from));
    }

    /// Every call so far, as `Operation argument`.
    pub(crate) fn calls(&self) -> Vec<String> {
        self.with(|s| s.calls.clone())
    }

    /// The calls of one operation.
    pub(crate) fn calls_of(&self, op: &str) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| c.split(' ').next() == Some(op))
            .collect()
    }

    /// The service as it is now (no rollout step).
    pub(crate) fn peek(&self, cluster: &str, name: &str) -> Service {
        self.with(|s| {
            let view = s.rollouts.peek(cluster, name);
            s.shown(&(cluster.to_owned(), name.to_owned()), view)
        })
        .expect("the service exists in the fake")
    }

    /// The ACTIVE revisions of a family, by number.
    pub(crate) fn active(&self, family: &str) -> Vec<i32> {
        self.with(|s| {
            s.task_definitions
                .get(family)
                .map(|revs| {
                    revs.iter()
                        .filter(|(_, (td, _))| td.status() == Some(&TaskDefinitionStatus::Active))
                        .map(|(n, _)| *n)
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// The requests RegisterTaskDefinition received.
    pub(crate) fn registered(&self) -> Vec<RegisterTaskDefinitionInput> {
        self.with(|s| s.registered.clone())
    }

    /// A revision as registered.
    pub(crate) fn revision(&self, family: &str, rev: i32) -> (TaskDefinition, Vec<Tag>) {
        self.with(|s| {
            s.task_definitions
                .get(family)
                .and_then(|r| r.get(&rev))
                .cloned()
        })
        .expect("the revision exists in the fake")
    }
}

fn key(cluster: &str, service: &str) -> (String, String) {
    (cluster.to_owned(), service.to_owned())
}

fn find_td<'s>(s: &'s mut State, reference: &str) -> Option<&'s mut (TaskDefinition, Vec<Tag>)> {
    let rev = revision::number(reference)?;
    s.task_definitions
        .get_mut(revision::family(reference))?
        .get_mut(&rev)
}

impl EcsApi for FakeEcs {
    async fn image_exists(&self, uri: &str) -> anyhow::Result<bool> {
        self.with(|s| {
            s.enter("DescribeImages", uri.to_owned())?;
            Ok(s.images.contains(uri))
        })
    }

    async fn cluster_status(&self, cluster: &str) -> anyhow::Result<Option<String>> {
        self.with(|s| {
            s.enter("DescribeClusters", cluster.to_owned())?;
            Ok(s.clusters.get(cluster).cloned())
        })
    }

    async fn service(&self, cluster: &str, service: &str) -> anyhow::Result<Option<Service>> {
        self.with(|s| {
            s.enter("DescribeServices", service.to_owned())?;
            let key = key(cluster, service);
            s.sync_desired(&key);
            let view = s.rollouts.describe(cluster, service);
            Ok(s.shown(&key, view))
        })
    }

    async fn clusters(&self) -> anyhow::Result<Vec<String>> {
        self.with(|s| {
            s.enter("ListClusters", String::new())?;
            let mut names: Vec<String> = s.clusters.keys().cloned().collect();
            names.sort();
            Ok(names
                .into_iter()
                .map(|n| format!("arn:aws:ecs:{REGION_ACCOUNT}:cluster/{n}"))
                .collect())
        })
    }

    async fn services_in(&self, cluster: &str) -> anyhow::Result<Vec<Service>> {
        self.with(|s| {
            let name = cluster.rsplit('/').next().unwrap_or(cluster).to_owned();
            s.enter("ListServices", name.clone())?;
            let mut found: Vec<_> = s
                .services
                .iter()
                .filter(|((c, _), _)| *c == name)
                .filter_map(|(key, _)| s.shown(key, s.rollouts.peek(&key.0, &key.1)))
                .collect();
            found.sort_by(|a, b| a.service_name().cmp(&b.service_name()));
            Ok(found)
        })
    }

    async fn task_definition(
        &self,
        task_definition: &str,
    ) -> anyhow::Result<Option<(TaskDefinition, Vec<Tag>)>> {
        self.with(|s| {
            s.enter("DescribeTaskDefinition", revision::name(task_definition))?;
            Ok(find_td(s, task_definition).map(|found| found.clone()))
        })
    }

    #[allow(deprecated)] // inference accelerators, kept like every other field
    async fn register(&self, input: RegisterTaskDefinitionInput) -> anyhow::Result<TaskDefinition> {
        self.with(|s| {
            let family = input.family.clone().ok_or_else(|| anyhow!("no family"))?;
            s.enter("RegisterTaskDefinition", family.clone())?;
            let rev = s
                .task_definitions
                .get(&family)
                .and_then(|revs| revs.keys().next_back().copied())
                .unwrap_or(0)
                + 1;
            s.registered.push(input.clone());
            // Back from the request to the description ECS would give.
            let revs = s.task_definitions.entry(family.clone()).or_default();
            let td = TaskDefinition::builder()
                .task_definition_arn(td_arn(&format!("{family}:{rev}")))
                .family(&family)
                .revision(rev)
                .status(TaskDefinitionStatus::Active)
                .set_container_definitions(input.container_definitions)
                .set_task_role_arn(input.task_role_arn)
                .set_execution_role_arn(input.execution_role_arn)
                .set_network_mode(input.network_mode)
                .set_volumes(input.volumes)
                .set_placement_constraints(input.placement_constraints)
                .set_requires_compatibilities(input.requires_compatibilities)
                .set_cpu(input.cpu)
                .set_memory(input.memory)
                .set_pid_mode(input.pid_mode)
                .set_ipc_mode(input.ipc_mode)
                .set_proxy_configuration(input.proxy_configuration)
                .set_ephemeral_storage(input.ephemeral_storage)
                .set_runtime_platform(input.runtime_platform)
                .set_enable_fault_injection(input.enable_fault_injection)
                .set_inference_accelerators(input.inference_accelerators)
                .build();
            revs.insert(rev, (td.clone(), input.tags.unwrap_or_default()));
            Ok(td)
        })
    }

    async fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
    ) -> anyhow::Result<Service> {
        self.with(|s| {
            s.enter(
                "UpdateService",
                format!("{service} {}", revision::name(task_definition)),
            )?;
            let arn = match find_td(s, task_definition) {
                Some((td, _)) if td.status() == Some(&TaskDefinitionStatus::Active) => {
                    td.task_definition_arn.clone().unwrap_or_default()
                }
                Some(_) => bail!("ClientException: TaskDefinition is inactive"),
                None => bail!("ClientException: TaskDefinition not found"),
            };
            let key = key(cluster, service);
            if !s.services.contains_key(&key) {
                bail!("ServiceNotFoundException");
            }
            // Like ECS: no new deployment when nothing changes.
            s.sync_desired(&key);
            s.rollouts.update(cluster, service, &arn);
            let view = s.rollouts.peek(cluster, service);
            s.shown(&key, view)
                .ok_or_else(|| anyhow!("ServiceNotFoundException"))
        })
    }

    async fn service_deployments(
        &self,
        cluster: &str,
        service: &str,
        since: Option<DateTime>,
    ) -> anyhow::Result<Option<Vec<ServiceDeployment>>> {
        self.with(|s| {
            s.enter("ListServiceDeployments", service.to_owned())?;
            if !s.sd_api {
                return Ok(None);
            }
            // deployer asks for those created after `since` less a second
            // (api.rs); ECS's filter is `createdAt.after`.
            let after = since.map(|t| t.as_secs_f64() - 1.0);
            let svc = s.services.get(&key(cluster, service));
            Ok(Some(
                s.rollouts
                    .service_deployments(cluster, service, after)
                    .iter()
                    .map(|sd| service_deployment(sd, svc))
                    .collect(),
            ))
        })
    }

    async fn stop_service_deployment(&self, service_deployment_arn: &str) -> anyhow::Result<()> {
        self.with(|s| {
            s.enter("StopServiceDeployment", service_deployment_arn.to_owned())?;
            s.rollouts
                .stop_service_deployment(service_deployment_arn)
                .map_err(|e| anyhow!("{e}"))
        })
    }

    async fn tag_service(&self, service_arn: &str, key: &str, value: &str) -> anyhow::Result<()> {
        self.with(|s| {
            s.enter("TagResource", format!("{key}={value}"))?;
            let svc = s
                .services
                .values_mut()
                .find(|svc| svc.service_arn() == Some(service_arn))
                .ok_or_else(|| anyhow!("InvalidParameterException: no resource {service_arn}"))?;
            let tags = svc.tags.get_or_insert_with(Vec::new);
            tags.retain(|t| t.key() != Some(key));
            tags.push(Tag::builder().key(key).value(value).build());
            Ok(())
        })
    }

    async fn active_revisions(&self, family: &str) -> anyhow::Result<Vec<String>> {
        self.with(|s| s.enter("ListTaskDefinitions", family.to_owned()))?;
        Ok(self
            .active(family)
            .into_iter()
            .map(|n| td_arn(&format!("{family}:{n}")))
            .collect())
    }

    async fn deregister(&self, task_definition_arn: &str) -> anyhow::Result<()> {
        self.with(|s| {
            s.enter(
                "DeregisterTaskDefinition",
                revision::name(task_definition_arn),
            )?;
            let (td, _) = find_td(s, task_definition_arn)
                .ok_or_else(|| anyhow!("ClientException: not found"))?;
            td.status = Some(TaskDefinitionStatus::Inactive);
            Ok(())
        })
    }

    async fn tasks(&self, cluster: &str, filter: TaskFilter<'_>) -> anyhow::Result<Vec<Task>> {
        self.with(|s| {
            s.enter("ListTasks", format!("{filter:?}"))?;
            let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
            Ok(s.rollouts
                .tasks()
                .iter()
                .filter(|t| t.cluster == cluster)
                .filter(|t| match filter {
                    TaskFilter::StoppedOf { service } => {
                        t.desired_status == "STOPPED" && t.group == format!("service:{service}")
                    }
                    TaskFilter::RunningOf { family } => {
                        t.desired_status == "RUNNING"
                            && revision::family(&t.task_definition) == family
                    }
                })
                .map(task)
                .collect())
        })
    }

    async fn target_health(
        &self,
        target_group_arn: &str,
    ) -> anyhow::Result<Vec<TargetHealthDescription>> {
        self.with(|s| {
            s.enter("DescribeTargetHealth", target_group_arn.to_owned())?;
            Ok(s.target_health
                .get(target_group_arn)
                .cloned()
                .unwrap_or_default())
        })
    }
}
