//! A scripted stand-in for ECS, for unit tests.
//!
//! It keeps clusters, services, task definitions and tasks the way ECS
//! does, and plays ECS's part in a rollout: UpdateService to a new revision
//! starts a new PRIMARY deployment, and every DescribeServices moves each
//! rollout in progress one step along the [`Script`] of its revision
//! (completing, failing with or without the circuit breaker's rollback,
//! hanging, or being replaced by another deployment). Every call is logged,
//! and any call can be made to fail from its n-th time on.

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

use super::api::{EcsApi, TaskFilter};
use super::revision;

pub(crate) const REGION_ACCOUNT: &str = "us-east-1:123456789012";

/// The ARN of `family:revision`.
pub(crate) fn td_arn(name: &str) -> String {
    format!("arn:aws:ecs:{REGION_ACCOUNT}:task-definition/{name}")
}

/// How a deployment of a revision behaves, one step per DescribeServices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Script {
    /// COMPLETED after this many polls.
    Completes { after: u32 },
    /// A native strategy's deployment: traffic shifts for `after` polls,
    /// bakes (lifecycle stage BAKE_TIME) for `bake` more, then COMPLETES.
    Bakes { after: u32, bake: u32 },
    /// A task stops at every poll, and the rollout still COMPLETES after
    /// this many (the replacement tasks start fine).
    StumblesThenCompletes { after: u32 },
    /// A task fails at every poll; FAILED after this many polls, and ECS
    /// starts a deployment back to the last completed revision.
    FailsAndRollsBack { after: u32 },
    /// As above, and the failed deployment is gone (drained) before the
    /// next look: only the deployment back is left to see.
    RollsBackOutOfSight { after: u32 },
    /// As `FailsAndRollsBack`, without the circuit breaker's rollback.
    Fails { after: u32 },
    /// IN_PROGRESS for ever, no task ever running.
    Hangs,
    /// After this many polls someone else deploys revision `by`.
    TakenOver { after: u32, by: i32 },
    /// After this many polls the CloudWatch alarm `alarm` goes off and ECS
    /// rolls back (deployment alarms with rollback on): the deployment is
    /// FAILED, the service deployment ROLLBACK_IN_PROGRESS with the alarm
    /// among `triggeredAlarmNames`.
    AlarmRollsBack { after: u32, alarm: &'static str },
}

/// A service deployment, as ListServiceDeployments and
/// DescribeServiceDeployments show it: one per UpdateService that starts a
/// deployment; a rollback stays within it (ROLLBACK_* statuses).
#[derive(Debug, Clone)]
struct SdRecord {
    cluster: String,
    service: String,
    deployment_id: String,
    created_at: DateTime,
    status: ServiceDeploymentStatus,
    reason: String,
    triggered_alarms: Vec<String>,
    stage: Option<ServiceDeploymentLifecycleStage>,
}

#[derive(Debug, Default)]
struct State {
    clusters: HashMap<String, String>,
    /// By (cluster, service name).
    services: HashMap<(String, String), Service>,
    /// By family, then revision.
    task_definitions: BTreeMap<String, BTreeMap<i32, (TaskDefinition, Vec<Tag>)>>,
    /// By revision name (`family:revision`).
    scripts: HashMap<String, Script>,
    polls: HashMap<String, u32>,
    /// The revision each service last completed a rollout of.
    last_completed: HashMap<String, String>,
    tasks: Vec<Task>,
    images: HashSet<String>,
    target_health: HashMap<String, Vec<TargetHealthDescription>>,
    registered: Vec<RegisterTaskDefinitionInput>,
    calls: Vec<String>,
    call_counts: HashMap<&'static str, usize>,
    failing: HashMap<&'static str, usize>,
    clock: i64,
    ids: u32,
    /// Service deployments, oldest first.
    service_deployments: Vec<SdRecord>,
    /// Whether ListServiceDeployments answers (ECS) or not (moto, older
    /// partitions: UnknownOperationException).
    sd_api: bool,
    /// How many DescribeServices answers after each UpdateService still
    /// show the service as it was before it (ECS's eventual consistency).
    lag: u32,
    /// Stale answers still to give, with the view they show, by service.
    stale: HashMap<(String, String), (u32, Service)>,
}

/// The fake.
#[derive(Debug, Default)]
pub(crate) struct FakeEcs {
    state: Mutex<State>,
}

impl State {
    fn now(&mut self) -> DateTime {
        self.clock += 1;
        DateTime::from_secs(1_700_000_000 + self.clock)
    }

    fn id(&mut self, prefix: &str) -> String {
        self.ids += 1;
        format!("{prefix}{}", self.ids)
    }

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

    fn event(&mut self, key: &(String, String), message: String) {
        let at = self.now();
        let id = self.id("ev-");
        if let Some(svc) = self.services.get_mut(key) {
            let event = ServiceEvent::builder()
                .id(id)
                .created_at(at)
                .message(message)
                .build();
            // ECS lists the newest first.
            svc.events.get_or_insert_with(Vec::new).insert(0, event);
        }
    }

    fn new_deployment(&mut self, key: &(String, String), td: &str) {
        let (at, id) = (self.now(), self.id("ecs-svc/"));
        let Some(svc) = self.services.get_mut(key) else {
            return;
        };
        let deployments = svc.deployments.get_or_insert_with(Vec::new);
        for d in deployments.iter_mut() {
            if d.status.as_deref() == Some("PRIMARY") {
                d.status = Some("ACTIVE".into());
            }
        }
        deployments.insert(
            0,
            Deployment::builder()
                .id(&id)
                .status("PRIMARY")
                .task_definition(td)
                .desired_count(svc.desired_count)
                .running_count(0)
                .pending_count(svc.desired_count)
                .failed_tasks(0)
                .rollout_state(DeploymentRolloutState::InProgress)
                .rollout_state_reason(format!("ECS deployment {id} in progress."))
                .created_at(at)
                .build(),
        );
        svc.task_definition = Some(td.to_owned());
        let name = svc.service_name.clone().unwrap_or_default();
        // A deployment back to a revision because ours failed stays within
        // our service deployment; any other starts a new one, and the one
        // under way is STOPPED.
        let rolling_back = self.service_deployments.iter().any(|sd| {
            sd.cluster == key.0
                && sd.service == key.1
                && sd.status == ServiceDeploymentStatus::RollbackInProgress
        });
        if !rolling_back {
            for sd in self
                .service_deployments
                .iter_mut()
                .filter(|sd| sd.cluster == key.0 && sd.service == key.1)
            {
                if matches!(
                    sd.status,
                    ServiceDeploymentStatus::InProgress | ServiceDeploymentStatus::Pending
                ) {
                    sd.status = ServiceDeploymentStatus::Stopped;
                    sd.reason = format!("a newer deployment ({id}) replaced it");
                }
            }
            self.service_deployments.push(SdRecord {
                cluster: key.0.clone(),
                service: key.1.clone(),
                deployment_id: id.clone(),
                created_at: at,
                status: ServiceDeploymentStatus::InProgress,
                reason: String::new(),
                triggered_alarms: Vec::new(),
                stage: None,
            });
        }
        self.event(
            key,
            format!(
                "(service {name}) has started a deployment of {}",
                revision::name(td)
            ),
        );
    }

    /// One DescribeServices' worth of ECS work on the service's rollouts.
    fn advance(&mut self, key: &(String, String)) {
        let Some(svc) = self.services.get(key) else {
            return;
        };
        let name = svc.service_name.clone().unwrap_or_default();
        let Some(primary) = svc
            .deployments()
            .iter()
            .find(|d| {
                d.status() == Some("PRIMARY")
                    && d.rollout_state() == Some(&DeploymentRolloutState::InProgress)
            })
            .cloned()
        else {
            return;
        };
        let id = primary.id().unwrap_or_default().to_owned();
        let td = primary.task_definition().unwrap_or_default().to_owned();
        let polls = {
            let n = self.polls.entry(id.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let script = self
            .scripts
            .get(&revision::name(&td))
            .copied()
            .unwrap_or(Script::Completes { after: 1 });
        match script {
            Script::Completes { after } | Script::StumblesThenCompletes { after }
                if polls >= after =>
            {
                self.complete(key, &id, &td)
            }
            Script::StumblesThenCompletes { .. } => {
                self.stop_task(key, &td);
                self.update_deployment(key, &id, |d| d.failed_tasks += 1);
            }
            Script::Completes { .. } => self.update_deployment(key, &id, |d| {
                d.running_count = (d.running_count + 1).min((d.desired_count - 1).max(0));
                d.pending_count = d.desired_count - d.running_count;
            }),
            Script::FailsAndRollsBack { after }
            | Script::RollsBackOutOfSight { after }
            | Script::Fails { after } => {
                self.stop_task(key, &td);
                self.update_deployment(key, &id, |d| d.failed_tasks += 1);
                if polls >= after {
                    let reason =
                        "ECS deployment circuit breaker: tasks failed to start.".to_owned();
                    self.update_deployment(key, &id, |d| {
                        d.rollout_state = Some(DeploymentRolloutState::Failed);
                        d.rollout_state_reason = Some(reason.clone());
                    });
                    self.event(key, format!("(service {name}) (deployment {id}) deployment failed: tasks failed to start."));
                    let rolls_back = !matches!(script, Script::Fails { .. });
                    self.set_sd(key, &id, |sd| {
                        sd.reason = reason.clone();
                        sd.status = if rolls_back {
                            ServiceDeploymentStatus::RollbackInProgress
                        } else {
                            ServiceDeploymentStatus::Stopped
                        };
                    });
                    if rolls_back {
                        if let Some(back) = self.last_completed.get(&name).cloned() {
                            let message = format!(
                                "(service {name}) rolling back to {}",
                                revision::name(&back)
                            );
                            self.event(key, message);
                            self.new_deployment(key, &back);
                        }
                    }
                    if matches!(script, Script::RollsBackOutOfSight { .. }) {
                        if let Some(deployments) = self
                            .services
                            .get_mut(key)
                            .and_then(|s| s.deployments.as_mut())
                        {
                            deployments.retain(|d| d.id.as_deref() != Some(id.as_str()));
                        }
                    }
                }
            }
            Script::Bakes { after, bake } if polls >= after + bake => self.complete(key, &id, &td),
            Script::Bakes { after, .. } => {
                let stage = if polls >= after {
                    ServiceDeploymentLifecycleStage::BakeTime
                } else {
                    ServiceDeploymentLifecycleStage::ProductionTrafficShift
                };
                self.set_sd(key, &id, |sd| sd.stage = Some(stage));
            }
            Script::Hangs => {}
            Script::AlarmRollsBack { after, alarm } if polls >= after => {
                let reason = format!("CloudWatch alarm(s) {alarm} went into ALARM state.");
                self.update_deployment(key, &id, |d| {
                    d.rollout_state = Some(DeploymentRolloutState::Failed);
                    d.rollout_state_reason = Some(reason.clone());
                });
                self.set_sd(key, &id, |sd| {
                    sd.status = ServiceDeploymentStatus::RollbackInProgress;
                    sd.reason = reason.clone();
                    sd.triggered_alarms = vec![alarm.to_owned()];
                });
                if let Some(back) = self.last_completed.get(&name).cloned() {
                    self.new_deployment(key, &back);
                }
            }
            Script::AlarmRollsBack { .. } => {}
            Script::TakenOver { after, by } if polls >= after => {
                let other = td_arn(&format!("{}:{by}", revision::family(&td)));
                self.new_deployment(key, &other);
            }
            Script::TakenOver { .. } => {}
        }
    }

    fn update_deployment(
        &mut self,
        key: &(String, String),
        id: &str,
        f: impl FnOnce(&mut Deployment),
    ) {
        if let Some(d) = self
            .services
            .get_mut(key)
            .and_then(|s| s.deployments.as_mut())
            .and_then(|ds| ds.iter_mut().find(|d| d.id.as_deref() == Some(id)))
        {
            f(d);
        }
    }

    /// Sets the status of the service deployment that deployment `id`
    /// belongs to (its own, or the one it rolls back within).
    fn set_sd(&mut self, key: &(String, String), id: &str, f: impl FnOnce(&mut SdRecord)) {
        let own = self
            .service_deployments
            .iter()
            .rposition(|sd| sd.deployment_id == id);
        let within = self.service_deployments.iter().rposition(|sd| {
            sd.cluster == key.0
                && sd.service == key.1
                && sd.status == ServiceDeploymentStatus::RollbackInProgress
        });
        if let Some(i) = own.or(within) {
            f(&mut self.service_deployments[i]);
        }
    }

    fn complete(&mut self, key: &(String, String), id: &str, td: &str) {
        self.set_sd(key, id, |sd| {
            sd.status = match sd.status {
                ServiceDeploymentStatus::RollbackInProgress => {
                    ServiceDeploymentStatus::RollbackSuccessful
                }
                _ => ServiceDeploymentStatus::Successful,
            }
        });
        let Some(svc) = self.services.get_mut(key) else {
            return;
        };
        let desired = svc.desired_count;
        let deployments = svc.deployments.get_or_insert_with(Vec::new);
        deployments.retain(|d| d.id.as_deref() == Some(id));
        if let Some(d) = deployments.first_mut() {
            d.rollout_state = Some(DeploymentRolloutState::Completed);
            d.rollout_state_reason = Some(format!("ECS deployment {id} completed."));
            d.running_count = desired;
            d.pending_count = 0;
        }
        svc.running_count = desired;
        let name = svc.service_name.clone().unwrap_or_default();
        self.last_completed.insert(name.clone(), td.to_owned());
        self.event(key, format!("(service {name}) has reached a steady state."));
    }

    fn stop_task(&mut self, key: &(String, String), td: &str) {
        let (at, id) = (self.now(), self.id(""));
        let task = Task::builder()
            .task_arn(format!(
                "arn:aws:ecs:{REGION_ACCOUNT}:task/{}/{id:0>8}",
                key.0
            ))
            .task_definition_arn(td)
            .group(format!("service:{}", key.1))
            .last_status("STOPPED")
            .desired_status("STOPPED")
            .stopped_reason("Essential container in task exited")
            .stopped_at(at)
            .containers(
                Container::builder()
                    .name("service-b")
                    .exit_code(1)
                    .reason("panicked at config: DATABASE_URL unset")
                    .build(),
            )
            .build();
        self.tasks.push(task);
    }
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
            let at = s.now();
            let arn = td_arn(td);
            let svc = Service::builder()
                .service_name(name)
                .service_arn(format!(
                    "arn:aws:ecs:{REGION_ACCOUNT}:service/{cluster}/{name}"
                ))
                .cluster_arn(format!("arn:aws:ecs:{REGION_ACCOUNT}:cluster/{cluster}"))
                .status("ACTIVE")
                .desired_count(desired)
                .running_count(desired)
                .task_definition(&arn)
                .deployments(
                    Deployment::builder()
                        .id("ecs-svc/initial")
                        .status("PRIMARY")
                        .task_definition(&arn)
                        .desired_count(desired)
                        .running_count(desired)
                        .rollout_state(DeploymentRolloutState::Completed)
                        .created_at(at)
                        .build(),
                )
                .build();
            s.services
                .insert((cluster.to_owned(), name.to_owned()), svc);
            s.last_completed.insert(name.to_owned(), arn);
        });
    }

    /// Changes a service in place.
    pub(crate) fn edit_service(&self, cluster: &str, name: &str, f: impl FnOnce(&mut Service)) {
        self.with(|s| {
            if let Some(svc) = s.services.get_mut(&(cluster.to_owned(), name.to_owned())) {
                f(svc);
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
        self.with(|s| s.lag = reads);
    }

    /// How deployments of `family:revision` go.
    pub(crate) fn script(&self, name: &str, script: Script) {
        self.with(|s| s.scripts.insert(name.to_owned(), script));
    }

    /// Makes an image exist.
    pub(crate) fn image(&self, uri: &str) {
        self.with(|s| s.images.insert(uri.to_owned()));
    }

    /// A task of `family:revision` running in `cluster`.
    pub(crate) fn running_task(&self, cluster: &str, name: &str) {
        self.with(|s| {
            let id = s.id("run-");
            s.tasks.push(
                Task::builder()
                    .task_arn(format!("arn:aws:ecs:{REGION_ACCOUNT}:task/{cluster}/{id}"))
                    .task_definition_arn(td_arn(name))
                    .last_status("RUNNING")
                    .desired_status("RUNNING")
                    .build(),
            );
        });
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
            s.services
                .get(&(cluster.to_owned(), name.to_owned()))
                .cloned()
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
            if let Some((left, view)) = s.stale.get_mut(&key) {
                if *left > 0 {
                    *left -= 1;
                    return Ok(Some(view.clone()));
                }
            }
            s.stale.remove(&key);
            s.advance(&key);
            Ok(s.services.get(&key).cloned())
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
                .map(|(_, svc)| svc.clone())
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
            let current = s
                .services
                .get(&key)
                .ok_or_else(|| anyhow!("ServiceNotFoundException"))?
                .task_definition
                .clone();
            // Like ECS: no new deployment when nothing changes.
            if current.as_deref() != Some(arn.as_str()) {
                if s.lag > 0 {
                    let before = s.services.get(&key).cloned();
                    if let Some(before) = before {
                        s.stale.insert(key.clone(), (s.lag, before));
                    }
                }
                s.new_deployment(&key, &arn);
            }
            Ok(s.services
                .get(&key)
                .cloned()
                .unwrap_or_else(|| Service::builder().build()))
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
            let after = since.map_or(0, |t| t.secs() - 1);
            Ok(Some(
                s.service_deployments
                    .iter()
                    .filter(|sd| sd.cluster == cluster && sd.service == service)
                    .filter(|sd| sd.created_at.secs() >= after)
                    .map(|sd| {
                        let mut built = ServiceDeployment::builder()
                            .service_deployment_arn(format!(
                                "arn:aws:ecs:{REGION_ACCOUNT}:service-deployment/{}/{}/{}",
                                sd.cluster,
                                sd.service,
                                sd.deployment_id.trim_start_matches("ecs-svc/")
                            ))
                            .created_at(sd.created_at)
                            .status(sd.status.clone())
                            .status_reason(sd.reason.clone())
                            .set_lifecycle_stage(sd.stage.clone())
                            .set_deployment_configuration(
                                s.services
                                    .get(&(sd.cluster.clone(), sd.service.clone()))
                                    .and_then(|svc| svc.deployment_configuration.clone()),
                            );
                        if !sd.triggered_alarms.is_empty() {
                            built = built.alarms(
                                ServiceDeploymentAlarms::builder()
                                    .status(ServiceDeploymentRollbackMonitorsStatus::Triggered)
                                    .set_triggered_alarm_names(Some(sd.triggered_alarms.clone()))
                                    .build(),
                            );
                        }
                        built.build()
                    })
                    .collect(),
            ))
        })
    }

    async fn stop_service_deployment(&self, service_deployment_arn: &str) -> anyhow::Result<()> {
        self.with(|s| {
            s.enter("StopServiceDeployment", service_deployment_arn.to_owned())?;
            let id = service_deployment_arn
                .rsplit('/')
                .next()
                .unwrap_or_default();
            let sd = s
                .service_deployments
                .iter_mut()
                .find(|sd| sd.deployment_id.trim_start_matches("ecs-svc/") == id)
                .ok_or_else(|| {
                    anyhow!("ServiceDeploymentNotFoundException: {service_deployment_arn}")
                })?;
            if !matches!(
                sd.status,
                ServiceDeploymentStatus::InProgress | ServiceDeploymentStatus::Pending
            ) {
                bail!("ConflictException: the service deployment is not in progress");
            }
            // Like ECS: the rollback stays within the service deployment,
            // and a deployment back to the revision before starts.
            sd.status = ServiceDeploymentStatus::RollbackInProgress;
            sd.reason = "rollback requested with StopServiceDeployment".to_owned();
            let key = (sd.cluster.clone(), sd.service.clone());
            let deployment_id = sd.deployment_id.clone();
            s.update_deployment(&key, &deployment_id, |d| {
                d.rollout_state = Some(DeploymentRolloutState::Failed);
                d.rollout_state_reason = Some("rolled back on request".to_owned());
            });
            if let Some(back) = s.last_completed.get(&key.1).cloned() {
                s.new_deployment(&key, &back);
            }
            Ok(())
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
            let in_cluster = format!(":task/{cluster}/");
            Ok(s.tasks
                .iter()
                .filter(|t| t.task_arn().is_some_and(|a| a.contains(&in_cluster)))
                .filter(|t| match filter {
                    TaskFilter::StoppedOf { service } => {
                        t.desired_status() == Some("STOPPED")
                            && t.group() == Some(&format!("service:{service}"))
                    }
                    TaskFilter::RunningOf { family } => {
                        t.desired_status() == Some("RUNNING")
                            && t.task_definition_arn()
                                .is_some_and(|td| revision::family(td) == family)
                    }
                })
                .cloned()
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
