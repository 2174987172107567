//! The ECS stand-in: what ECS does during a rollout, and nothing else.
//!
//! moto records `UpdateService` but starts no deployment and runs no task,
//! and deployer's unit tests have no server at all. Both get ECS's part in
//! a rollout from this one state machine: the unit tests through deployer's
//! in-process fake (`deployer/src/ecs/fake.rs`), the integration tests over
//! HTTP through the proxy in front of moto (`deployer/tests/ecs_support`).
//! Each adapter only translates: SDK types there, JSON here.
//!
//! What it plays, each from ECS's documentation rather than from what
//! deployer happens to expect:
//!
//! * `UpdateService` to another revision starts a new PRIMARY deployment
//!   (rolloutState IN_PROGRESS) and turns the old PRIMARY into ACTIVE; to
//!   the same revision it starts nothing.
//! * Eventual consistency: for `lag` reads after an `UpdateService`,
//!   `DescribeServices` still shows the service as it was before it.
//! * Service deployments (`ListServiceDeployments`,
//!   `DescribeServiceDeployments`): one per `UpdateService` that starts a
//!   deployment, PENDING or IN_PROGRESS, then SUCCESSFUL; STOPPED when a
//!   newer one replaces it; ROLLBACK_IN_PROGRESS then ROLLBACK_SUCCESSFUL
//!   when ECS rolls it back (circuit breaker, alarm, or
//!   `StopServiceDeployment` with ROLLBACK): a rollback stays within the
//!   service deployment it undoes.
//! * Native strategies: traffic shifts, then the bake time (lifecycle stage
//!   BAKE_TIME), then SUCCESSFUL.
//! * Failures: stopped tasks with reasons, the circuit breaker's FAILED
//!   rolloutState and its deployment back to the last completed revision,
//!   a deployment that never finishes, and another deployment taking over.
//! * Tasks: one running task per running count of every deployment, the
//!   stopped ones, and any a test adds (another cluster running an older
//!   revision of the same family, say).
//!
//! Each deployment moves one step per `DescribeServices`, so a test decides
//! how a rollout goes by [`Behaviour`], not by timing.

use std::collections::HashMap;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// How a deployment of one revision goes, one step per `DescribeServices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// COMPLETED at the `after`-th look.
    Completes { after: u32 },
    /// A native strategy's deployment: traffic shifts for `after` looks,
    /// bakes (lifecycle stage BAKE_TIME) for `bake` more, then COMPLETES.
    Bakes { after: u32, bake: u32 },
    /// A task stops at every look, and the rollout still COMPLETES at the
    /// `after`-th (the replacement tasks start fine).
    StumblesThenCompletes { after: u32 },
    /// A task fails at every look; at the `after`-th the circuit breaker
    /// marks the deployment FAILED and ECS starts a deployment back to the
    /// last completed revision.
    FailsAndRollsBack { after: u32 },
    /// As [`Behaviour::FailsAndRollsBack`], and the failed deployment is
    /// gone (drained) before the next look: only the way back is left.
    RollsBackOutOfSight { after: u32 },
    /// As [`Behaviour::FailsAndRollsBack`], without the circuit breaker's
    /// rollback.
    Fails { after: u32 },
    /// IN_PROGRESS for ever, no task ever running.
    Hangs,
    /// At the `after`-th look someone else deploys revision `by` of the
    /// same family.
    TakenOver { after: u32, by: i64 },
    /// At the `after`-th look the CloudWatch alarm `alarm` goes off and ECS
    /// rolls back (deployment alarms with rollback on): the deployment is
    /// FAILED, its service deployment ROLLBACK_IN_PROGRESS with the alarm
    /// among `triggeredAlarmNames`.
    AlarmRollsBack { after: u32, alarm: &'static str },
}

/// A deployment's `rolloutState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutState {
    InProgress,
    Completed,
    Failed,
}

impl RolloutState {
    /// As ECS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::InProgress => "IN_PROGRESS",
            RolloutState::Completed => "COMPLETED",
            RolloutState::Failed => "FAILED",
        }
    }
}

/// A service deployment's `status`, as ECS documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdStatus {
    Pending,
    InProgress,
    Successful,
    Stopped,
    RollbackRequested,
    RollbackInProgress,
    RollbackSuccessful,
    RollbackFailed,
}

impl SdStatus {
    /// As ECS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SdStatus::Pending => "PENDING",
            SdStatus::InProgress => "IN_PROGRESS",
            SdStatus::Successful => "SUCCESSFUL",
            SdStatus::Stopped => "STOPPED",
            SdStatus::RollbackRequested => "ROLLBACK_REQUESTED",
            SdStatus::RollbackInProgress => "ROLLBACK_IN_PROGRESS",
            SdStatus::RollbackSuccessful => "ROLLBACK_SUCCESSFUL",
            SdStatus::RollbackFailed => "ROLLBACK_FAILED",
        }
    }

    fn under_way(self) -> bool {
        matches!(self, SdStatus::Pending | SdStatus::InProgress)
    }
}

/// The lifecycle stages a native strategy's deployment goes through here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    ProductionTrafficShift,
    BakeTime,
}

impl Stage {
    /// As ECS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::ProductionTrafficShift => "PRODUCTION_TRAFFIC_SHIFT",
            Stage::BakeTime => "BAKE_TIME",
        }
    }
}

/// One entry of a service's `deployments`.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// `ecs-svc/…`.
    pub id: String,
    /// PRIMARY (the newest) or ACTIVE (older ones still running tasks).
    pub primary: bool,
    /// The revision's ARN.
    pub task_definition: String,
    pub desired: i64,
    pub running: i64,
    pub pending: i64,
    pub failed_tasks: i64,
    pub rollout_state: RolloutState,
    pub reason: String,
    /// Epoch seconds.
    pub created_at: f64,
}

impl Deployment {
    /// `PRIMARY` or `ACTIVE`.
    pub fn status(&self) -> &'static str {
        if self.primary {
            "PRIMARY"
        } else {
            "ACTIVE"
        }
    }
}

/// A service deployment, as `DescribeServiceDeployments` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDeployment {
    pub arn: String,
    pub cluster: String,
    pub service: String,
    pub service_arn: String,
    pub cluster_arn: String,
    /// The `deployments` entry it started.
    pub deployment_id: String,
    pub created_at: f64,
    pub status: SdStatus,
    pub reason: String,
    pub stage: Option<Stage>,
    pub triggered_alarms: Vec<String>,
}

/// A service event; ECS lists the newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub created_at: f64,
    pub message: String,
}

/// A task, as `ListTasks` and `DescribeTasks` see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub arn: String,
    pub cluster: String,
    pub task_definition: String,
    /// `service:<name>`, or `family:<name>` for a task outside a service.
    pub group: String,
    /// RUNNING or STOPPED.
    pub desired_status: &'static str,
    /// For a stopped task: why, when, and its app container's exit.
    pub stopped: Option<Stopped>,
}

/// Why a task stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Stopped {
    pub reason: String,
    pub at: f64,
    pub container: String,
    pub exit_code: i32,
    pub container_reason: String,
}

/// A service as `DescribeServices` shows its rollouts.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// The newest first.
    pub deployments: Vec<Deployment>,
    /// The newest first.
    pub events: Vec<Event>,
    pub desired: i64,
}

impl View {
    /// The PRIMARY deployment's revision: the service's `taskDefinition`.
    pub fn task_definition(&self) -> Option<&str> {
        self.deployments
            .iter()
            .find(|d| d.primary)
            .map(|d| d.task_definition.as_str())
    }

    /// The service's `runningCount`.
    pub fn running(&self) -> i64 {
        self.deployments.iter().map(|d| d.running).sum()
    }

    /// The service's `pendingCount`.
    pub fn pending(&self) -> i64 {
        self.deployments.iter().map(|d| d.pending).sum()
    }
}

/// Why `StopServiceDeployment` was refused, as ECS names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopError {
    /// ServiceDeploymentNotFoundException.
    NotFound(String),
    /// ConflictException: the service deployment is not under way.
    NotUnderWay(String),
}

impl fmt::Display for StopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopError::NotFound(arn) => {
                write!(f, "ServiceDeploymentNotFoundException: {arn}")
            }
            StopError::NotUnderWay(arn) => write!(
                f,
                "ConflictException: the service deployment {arn} is not in progress"
            ),
        }
    }
}

/// Where timestamps come from.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// One second later at every event, from a fixed start: deterministic,
    /// for unit tests on tokio's paused clock.
    Ticks { at: f64 },
    /// The wall clock, for a stand-in next to moto, whose own timestamps
    /// are real.
    Wall,
}

type Key = (String, String);

#[derive(Debug, Clone)]
struct ServiceRollout {
    deployments: Vec<Deployment>,
    events: Vec<Event>,
    desired: i64,
    /// The revision the service last completed a rollout of: where ECS
    /// rolls back to.
    last_completed: String,
    /// Looks per deployment id.
    looks: HashMap<String, u32>,
    /// Stale answers still to give, and what they show.
    stale: Option<(u32, Vec<Deployment>, Vec<Event>)>,
}

/// The state machine. See the module documentation.
#[derive(Debug)]
pub struct Rollouts {
    clock: Clock,
    /// `arn:aws:ecs:<region>:<account>`.
    arn_prefix: String,
    /// By revision name (`family:7`) or number (`7`).
    behaviours: HashMap<String, Behaviour>,
    default: Behaviour,
    lag: u32,
    services: HashMap<Key, ServiceRollout>,
    /// Oldest first.
    service_deployments: Vec<ServiceDeployment>,
    /// Stopped tasks and the ones tests add.
    tasks: Vec<Task>,
    ids: u64,
}

/// `name` of an ARN or name (`…/name`).
pub fn name_of(arn_or_name: &str) -> &str {
    arn_or_name.rsplit('/').next().unwrap_or(arn_or_name)
}

/// `family:7` of a task definition ARN or name.
pub fn revision_name(task_definition: &str) -> &str {
    name_of(task_definition)
}

/// The family of a task definition ARN or `family:revision`.
pub fn family_of(task_definition: &str) -> &str {
    let name = revision_name(task_definition);
    name.rsplit_once(':').map_or(name, |(family, _)| family)
}

impl Rollouts {
    /// A stand-in for the account and region of `arn_prefix`
    /// (`arn:aws:ecs:us-east-1:123456789012`). Revisions without a
    /// behaviour of their own complete at the first look.
    pub fn new(clock: Clock, arn_prefix: &str) -> Rollouts {
        Rollouts {
            clock,
            arn_prefix: arn_prefix.to_owned(),
            behaviours: HashMap::new(),
            default: Behaviour::Completes { after: 1 },
            lag: 0,
            services: HashMap::new(),
            service_deployments: Vec::new(),
            tasks: Vec::new(),
            ids: 0,
        }
    }

    /// The ARN prefix of this account and region.
    pub fn arn_prefix(&self) -> &str {
        &self.arn_prefix
    }

    /// How deployments of `revision` go: a name (`service-b:7`) or a bare
    /// revision number (`7`, any family).
    pub fn behave(&mut self, revision: &str, behaviour: Behaviour) {
        self.behaviours.insert(revision.to_owned(), behaviour);
    }

    /// How deployments of every other revision go.
    pub fn behave_by_default(&mut self, behaviour: Behaviour) {
        self.default = behaviour;
    }

    /// After each `UpdateService`, the next `reads` looks still show the
    /// service as it was before it.
    pub fn lag(&mut self, reads: u32) {
        self.lag = reads;
    }

    /// Now, in epoch seconds.
    pub fn now(&mut self) -> f64 {
        match &mut self.clock {
            Clock::Ticks { at } => {
                *at += 1.0;
                *at
            }
            Clock::Wall => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default(),
        }
    }

    fn id(&mut self) -> u64 {
        self.ids += 1;
        self.ids
    }

    /// Whether the service is known.
    pub fn knows(&self, cluster: &str, service: &str) -> bool {
        self.services.contains_key(&key(cluster, service))
    }

    /// A service running `task_definition` (an ARN), its rollout completed,
    /// under the deployment id `deployment_id` (a new one when `None`).
    pub fn add_service(
        &mut self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        desired: i64,
        deployment_id: Option<&str>,
    ) {
        let at = self.now();
        let id = match deployment_id {
            Some(id) => id.to_owned(),
            None => format!("ecs-svc/{:016}", self.id()),
        };
        let deployment = Deployment {
            id,
            primary: true,
            task_definition: task_definition.to_owned(),
            desired,
            running: desired,
            pending: 0,
            failed_tasks: 0,
            rollout_state: RolloutState::Completed,
            reason: "ECS deployment completed.".to_owned(),
            created_at: at,
        };
        self.services.insert(
            key(cluster, service),
            ServiceRollout {
                deployments: vec![deployment],
                events: Vec::new(),
                desired,
                last_completed: task_definition.to_owned(),
                looks: HashMap::new(),
                stale: None,
            },
        );
    }

    /// The service's desired count, as the service's own record says.
    pub fn set_desired(&mut self, cluster: &str, service: &str, desired: i64) {
        if let Some(s) = self.services.get_mut(&key(cluster, service)) {
            s.desired = desired;
        }
    }

    /// The service's deployments, to set up a test's starting point.
    pub fn deployments_mut(
        &mut self,
        cluster: &str,
        service: &str,
    ) -> Option<&mut Vec<Deployment>> {
        self.services
            .get_mut(&key(cluster, service))
            .map(|s| &mut s.deployments)
    }

    /// `UpdateService` with `task_definition` (an ARN): a new deployment
    /// unless the service already runs it. Returns whether one started.
    pub fn update(&mut self, cluster: &str, service: &str, task_definition: &str) -> bool {
        let key = key(cluster, service);
        let Some(state) = self.services.get_mut(&key) else {
            return false;
        };
        let current = state
            .deployments
            .iter()
            .find(|d| d.primary)
            .map(|d| d.task_definition.clone());
        if current.as_deref() == Some(task_definition) {
            return false;
        }
        if self.lag > 0 {
            state.stale = Some((self.lag, state.deployments.clone(), state.events.clone()));
        }
        self.start_deployment(&key, task_definition);
        true
    }

    /// `DescribeServices`: a stale view while the lag lasts; otherwise one
    /// step of ECS's work, then the service as it is.
    pub fn describe(&mut self, cluster: &str, service: &str) -> Option<View> {
        let key = key(cluster, service);
        let state = self.services.get_mut(&key)?;
        if let Some((left, deployments, events)) = state.stale.as_mut() {
            if *left > 0 {
                *left -= 1;
                return Some(View {
                    deployments: deployments.clone(),
                    events: events.clone(),
                    desired: state.desired,
                });
            }
            state.stale = None;
        }
        self.step(&key);
        self.peek(cluster, service)
    }

    /// The service as it is, without a step.
    pub fn peek(&self, cluster: &str, service: &str) -> Option<View> {
        let state = self.services.get(&key(cluster, service))?;
        Some(View {
            deployments: state.deployments.clone(),
            events: state.events.clone(),
            desired: state.desired,
        })
    }

    /// `ListServiceDeployments` of a service, oldest first, those created
    /// at or after `after` (epoch seconds) when given.
    pub fn service_deployments(
        &self,
        cluster: &str,
        service: &str,
        after: Option<f64>,
    ) -> Vec<ServiceDeployment> {
        self.service_deployments
            .iter()
            .filter(|sd| sd.cluster == cluster && sd.service == service)
            .filter(|sd| after.is_none_or(|t| sd.created_at >= t))
            .cloned()
            .collect()
    }

    /// `DescribeServiceDeployments`.
    pub fn service_deployments_by_arn(&self, arns: &[&str]) -> Vec<ServiceDeployment> {
        self.service_deployments
            .iter()
            .filter(|sd| arns.contains(&sd.arn.as_str()))
            .cloned()
            .collect()
    }

    /// `StopServiceDeployment` with stop type ROLLBACK: the service
    /// deployment rolls back within itself, to the revision the service
    /// last completed.
    pub fn stop_service_deployment(&mut self, arn: &str) -> Result<(), StopError> {
        let sd = self
            .service_deployments
            .iter_mut()
            .find(|sd| sd.arn == arn)
            .ok_or_else(|| StopError::NotFound(arn.to_owned()))?;
        if !sd.status.under_way() {
            return Err(StopError::NotUnderWay(arn.to_owned()));
        }
        sd.status = SdStatus::RollbackInProgress;
        sd.reason = "rollback requested with StopServiceDeployment".to_owned();
        sd.stage = None;
        let key = (sd.cluster.clone(), sd.service.clone());
        let id = sd.deployment_id.clone();
        let Some(state) = self.services.get_mut(&key) else {
            return Ok(());
        };
        if let Some(d) = state.deployments.iter_mut().find(|d| d.id == id) {
            d.rollout_state = RolloutState::Failed;
            d.reason = "rolled back on request".to_owned();
        }
        let back = state.last_completed.clone();
        self.start_deployment(&key, &back);
        Ok(())
    }

    /// A running task of `task_definition` (an ARN) in `cluster`, outside
    /// any service.
    pub fn add_running_task(&mut self, cluster: &str, task_definition: &str) {
        let id = self.id();
        self.tasks.push(Task {
            arn: format!("{}:task/{cluster}/standin{id:012}", self.arn_prefix),
            cluster: cluster.to_owned(),
            task_definition: task_definition.to_owned(),
            group: format!("family:{}", family_of(task_definition)),
            desired_status: "RUNNING",
            stopped: None,
        });
    }

    /// Every task: the stopped ones, those added, and one per running
    /// count of each deployment of each service.
    pub fn tasks(&self) -> Vec<Task> {
        let mut tasks = self.tasks.clone();
        let mut keys: Vec<&Key> = self.services.keys().collect();
        keys.sort();
        for key in keys {
            let state = &self.services[key];
            for d in &state.deployments {
                for i in 0..d.running {
                    tasks.push(Task {
                        arn: format!(
                            "{}:task/{}/standin{}x{i}",
                            self.arn_prefix,
                            key.0,
                            name_of(&d.id)
                        ),
                        cluster: key.0.clone(),
                        task_definition: d.task_definition.clone(),
                        group: format!("service:{}", key.1),
                        desired_status: "RUNNING",
                        stopped: None,
                    });
                }
            }
        }
        tasks
    }

    fn behaviour_of(&self, task_definition: &str) -> Behaviour {
        let name = revision_name(task_definition);
        let number = name.rsplit_once(':').map_or("", |(_, n)| n);
        self.behaviours
            .get(name)
            .or_else(|| self.behaviours.get(number))
            .copied()
            .unwrap_or(self.default)
    }

    fn event(&mut self, key: &Key, message: String) {
        let at = self.now();
        let id = format!("standin-event-{}", self.id());
        if let Some(state) = self.services.get_mut(key) {
            state.events.insert(
                0,
                Event {
                    id,
                    created_at: at,
                    message,
                },
            );
        }
    }

    fn start_deployment(&mut self, key: &Key, task_definition: &str) {
        let at = self.now();
        let id = format!("ecs-svc/{:016}", self.id());
        let Some(state) = self.services.get_mut(key) else {
            return;
        };
        for d in state.deployments.iter_mut() {
            d.primary = false;
        }
        state.deployments.insert(
            0,
            Deployment {
                id: id.clone(),
                primary: true,
                task_definition: task_definition.to_owned(),
                desired: state.desired,
                running: 0,
                pending: state.desired,
                failed_tasks: 0,
                rollout_state: RolloutState::InProgress,
                reason: format!("ECS deployment {id} in progress."),
                created_at: at,
            },
        );
        // A deployment back to a revision because ours failed stays within
        // our service deployment; any other starts a new one, and the one
        // under way is STOPPED.
        let rolling_back = self
            .service_deployments
            .iter()
            .any(|sd| same(sd, key) && sd.status == SdStatus::RollbackInProgress);
        if !rolling_back {
            for sd in self
                .service_deployments
                .iter_mut()
                .filter(|sd| same(sd, key) && sd.status.under_way())
            {
                sd.status = SdStatus::Stopped;
                sd.reason = format!("a newer deployment ({id}) replaced it");
                sd.stage = None;
            }
            let (cluster, service) = key;
            let prefix = &self.arn_prefix;
            self.service_deployments.push(ServiceDeployment {
                arn: format!(
                    "{prefix}:service-deployment/{cluster}/{service}/{}",
                    name_of(&id)
                ),
                cluster: cluster.clone(),
                service: service.clone(),
                service_arn: format!("{prefix}:service/{cluster}/{service}"),
                cluster_arn: format!("{prefix}:cluster/{cluster}"),
                deployment_id: id.clone(),
                created_at: at,
                status: SdStatus::InProgress,
                reason: String::new(),
                stage: None,
                triggered_alarms: Vec::new(),
            });
        }
        self.event(
            key,
            format!(
                "(service {}) has started a deployment of {}.",
                key.1,
                revision_name(task_definition)
            ),
        );
    }

    /// The service deployment deployment `id` belongs to: its own, or the
    /// one it rolls back within.
    fn sd_of(&mut self, key: &Key, id: &str) -> Option<&mut ServiceDeployment> {
        let own = self
            .service_deployments
            .iter()
            .rposition(|sd| sd.deployment_id == id);
        let within = self
            .service_deployments
            .iter()
            .rposition(|sd| same(sd, key) && sd.status == SdStatus::RollbackInProgress);
        let i = own.or(within)?;
        self.service_deployments.get_mut(i)
    }

    fn deployment(&mut self, key: &Key, id: &str) -> Option<&mut Deployment> {
        self.services
            .get_mut(key)?
            .deployments
            .iter_mut()
            .find(|d| d.id == id)
    }

    /// One look's worth of ECS's work on the service's rollout.
    fn step(&mut self, key: &Key) {
        let Some(state) = self.services.get_mut(key) else {
            return;
        };
        let Some(primary) = state
            .deployments
            .iter()
            .find(|d| d.primary && d.rollout_state == RolloutState::InProgress)
            .cloned()
        else {
            return;
        };
        let (id, td) = (primary.id, primary.task_definition);
        let looks = {
            let n = state.looks.entry(id.clone()).or_insert(0);
            *n += 1;
            *n
        };
        match self.behaviour_of(&td) {
            Behaviour::Completes { after }
            | Behaviour::StumblesThenCompletes { after }
            | Behaviour::Bakes { after, bake: 0 }
                if looks >= after =>
            {
                self.complete(key, &id, &td)
            }
            Behaviour::Bakes { after, bake } if looks >= after + bake => {
                self.complete(key, &id, &td)
            }
            Behaviour::Completes { .. } => {
                if let Some(d) = self.deployment(key, &id) {
                    d.running = (d.running + 1).min((d.desired - 1).max(0));
                    d.pending = d.desired - d.running;
                }
            }
            Behaviour::StumblesThenCompletes { .. } => self.task_fails(key, &id, &td),
            Behaviour::Bakes { after, .. } => {
                let stage = if looks > after {
                    Stage::BakeTime
                } else {
                    Stage::ProductionTrafficShift
                };
                if let Some(sd) = self.sd_of(key, &id) {
                    sd.stage = Some(stage);
                }
            }
            Behaviour::FailsAndRollsBack { after }
            | Behaviour::RollsBackOutOfSight { after }
            | Behaviour::Fails { after } => {
                self.task_fails(key, &id, &td);
                if looks >= after {
                    let behaviour = self.behaviour_of(&td);
                    self.circuit_breaker(key, &id, behaviour);
                }
            }
            Behaviour::Hangs => {}
            Behaviour::TakenOver { after, by } if looks >= after => {
                let other = format!(
                    "{}:task-definition/{}:{by}",
                    self.arn_prefix,
                    family_of(&td)
                );
                self.start_deployment(key, &other);
            }
            Behaviour::TakenOver { .. } => {}
            Behaviour::AlarmRollsBack { after, alarm } if looks >= after => {
                let reason = format!("CloudWatch alarm(s) {alarm} went into ALARM state.");
                self.fail_deployment(key, &id, &reason);
                if let Some(sd) = self.sd_of(key, &id) {
                    sd.status = SdStatus::RollbackInProgress;
                    sd.reason = reason;
                    sd.triggered_alarms = vec![alarm.to_owned()];
                    sd.stage = None;
                }
                self.roll_back(key);
            }
            Behaviour::AlarmRollsBack { .. } => {}
        }
    }

    /// The circuit breaker trips: FAILED, and (unless the behaviour says
    /// the breaker has no rollback) a deployment back to the last completed
    /// revision.
    fn circuit_breaker(&mut self, key: &Key, id: &str, behaviour: Behaviour) {
        let reason = "ECS deployment circuit breaker: tasks failed to start.";
        self.fail_deployment(key, id, reason);
        self.event(
            key,
            format!(
                "(service {}) (deployment {id}) deployment failed: tasks failed to start.",
                key.1
            ),
        );
        let rolls_back = !matches!(behaviour, Behaviour::Fails { .. });
        if let Some(sd) = self.sd_of(key, id) {
            sd.reason = reason.to_owned();
            sd.stage = None;
            sd.status = if rolls_back {
                SdStatus::RollbackInProgress
            } else {
                SdStatus::Stopped
            };
        }
        if rolls_back {
            self.roll_back(key);
        }
        if matches!(behaviour, Behaviour::RollsBackOutOfSight { .. }) {
            if let Some(state) = self.services.get_mut(key) {
                state.deployments.retain(|d| d.id != id);
            }
        }
    }

    fn fail_deployment(&mut self, key: &Key, id: &str, reason: &str) {
        if let Some(d) = self.deployment(key, id) {
            d.rollout_state = RolloutState::Failed;
            d.reason = reason.to_owned();
        }
    }

    /// ECS's own rollback: a deployment back to the last completed
    /// revision.
    fn roll_back(&mut self, key: &Key) {
        let Some(back) = self.services.get(key).map(|s| s.last_completed.clone()) else {
            return;
        };
        self.event(
            key,
            format!(
                "(service {}) rolling back to {}.",
                key.1,
                revision_name(&back)
            ),
        );
        self.start_deployment(key, &back);
    }

    fn complete(&mut self, key: &Key, id: &str, td: &str) {
        if let Some(sd) = self.sd_of(key, id) {
            sd.status = if sd.status == SdStatus::RollbackInProgress {
                SdStatus::RollbackSuccessful
            } else {
                SdStatus::Successful
            };
            sd.stage = None;
        }
        let Some(state) = self.services.get_mut(key) else {
            return;
        };
        let desired = state.desired;
        state.deployments.retain(|d| d.id == id);
        if let Some(d) = state.deployments.first_mut() {
            d.rollout_state = RolloutState::Completed;
            d.reason = format!("ECS deployment {id} completed.");
            d.running = desired;
            d.pending = 0;
            d.desired = desired;
        }
        state.last_completed = td.to_owned();
        self.event(
            key,
            format!("(service {}) has reached a steady state.", key.1),
        );
    }

    /// A task of the deployment stops, as a task whose app container
    /// exits does.
    fn task_fails(&mut self, key: &Key, id: &str, td: &str) {
        if let Some(d) = self.deployment(key, id) {
            d.failed_tasks += 1;
        }
        let at = self.now();
        let n = self.id();
        self.tasks.push(Task {
            arn: format!("{}:task/{}/standin{n:012}", self.arn_prefix, key.0),
            cluster: key.0.clone(),
            task_definition: td.to_owned(),
            group: format!("service:{}", key.1),
            desired_status: "STOPPED",
            stopped: Some(Stopped {
                reason: "Essential container in task exited".to_owned(),
                at,
                container: family_of(td).to_owned(),
                exit_code: 1,
                container_reason: "panicked at config: DATABASE_URL unset".to_owned(),
            }),
        });
    }
}

fn key(cluster: &str, service: &str) -> Key {
    (name_of(cluster).to_owned(), name_of(service).to_owned())
}

fn same(sd: &ServiceDeployment, key: &Key) -> bool {
    sd.cluster == key.0 && sd.service == key.1
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "arn:aws:ecs:us-east-1:123456789012";

    fn td(n: u32) -> String {
        format!("{PREFIX}:task-definition/app:{n}")
    }

    fn standin() -> Rollouts {
        let mut r = Rollouts::new(
            Clock::Ticks {
                at: 1_700_000_000.0,
            },
            PREFIX,
        );
        r.add_service("prod", "app", &td(1), 2, None);
        r
    }

    #[test]
    fn an_update_starts_a_deployment_that_completes_by_its_behaviour() {
        let mut r = standin();
        r.behave("app:2", Behaviour::Completes { after: 2 });
        assert!(r.update("prod", "app", &td(2)));
        assert!(
            !r.update("prod", "app", &td(2)),
            "same revision: no new deployment"
        );
        let first = r.describe("prod", "app").expect("service");
        assert_eq!(first.deployments.len(), 2);
        assert_eq!(first.deployments[0].rollout_state, RolloutState::InProgress);
        let second = r.describe("prod", "app").expect("service");
        assert_eq!(second.deployments.len(), 1);
        assert_eq!(second.task_definition(), Some(td(2).as_str()));
        assert_eq!(second.running(), 2);
        let sds = r.service_deployments("prod", "app", None);
        assert_eq!(sds.len(), 1);
        assert_eq!(sds[0].status, SdStatus::Successful);
    }

    #[test]
    fn reads_lag_behind_an_update() {
        let mut r = standin();
        r.lag(2);
        r.behave("app:2", Behaviour::Hangs);
        r.update("prod", "app", &td(2));
        for _ in 0..2 {
            let stale = r.describe("prod", "app").expect("service");
            assert_eq!(stale.task_definition(), Some(td(1).as_str()), "stale read");
        }
        let fresh = r.describe("prod", "app").expect("service");
        assert_eq!(fresh.task_definition(), Some(td(2).as_str()));
    }

    #[test]
    fn the_circuit_breaker_rolls_back_within_the_service_deployment() {
        let mut r = standin();
        r.behave("app:2", Behaviour::FailsAndRollsBack { after: 1 });
        r.update("prod", "app", &td(2));
        let view = r.describe("prod", "app").expect("service");
        assert_eq!(view.task_definition(), Some(td(1).as_str()), "the way back");
        assert_eq!(view.deployments[1].rollout_state, RolloutState::Failed);
        let sds = r.service_deployments("prod", "app", None);
        assert_eq!(sds.len(), 1, "the rollback stays within it");
        assert_eq!(sds[0].status, SdStatus::RollbackInProgress);
        r.describe("prod", "app");
        let sds = r.service_deployments("prod", "app", None);
        assert_eq!(sds[0].status, SdStatus::RollbackSuccessful);
        let stopped = r
            .tasks()
            .into_iter()
            .filter(|t| t.desired_status == "STOPPED")
            .count();
        assert_eq!(stopped, 1);
    }

    #[test]
    fn a_bake_is_a_stage_and_a_stop_rolls_back() {
        let mut r = standin();
        r.behave("2", Behaviour::Bakes { after: 1, bake: 5 });
        r.update("prod", "app", &td(2));
        r.describe("prod", "app");
        r.describe("prod", "app");
        let sd = r.service_deployments("prod", "app", None).remove(0);
        assert_eq!(sd.stage, Some(Stage::BakeTime));
        r.stop_service_deployment(&sd.arn).expect("stop");
        assert_eq!(
            r.stop_service_deployment(&sd.arn),
            Err(StopError::NotUnderWay(sd.arn.clone()))
        );
        r.describe("prod", "app");
        let sd = r.service_deployments("prod", "app", None).remove(0);
        assert_eq!(sd.status, SdStatus::RollbackSuccessful);
        assert_eq!(
            r.peek("prod", "app").expect("service").task_definition(),
            Some(td(1).as_str())
        );
    }

    #[test]
    fn a_newer_deployment_stops_the_one_under_way() {
        let mut r = standin();
        r.behave_by_default(Behaviour::Hangs);
        r.update("prod", "app", &td(2));
        r.update("prod", "app", &td(3));
        let sds = r.service_deployments("prod", "app", None);
        assert_eq!(sds[0].status, SdStatus::Stopped);
        assert_eq!(sds[1].status, SdStatus::InProgress);
    }

    #[test]
    fn tasks_follow_running_counts_and_clusters() {
        let mut r = standin();
        r.add_service("staging", "app-staging", &td(1), 1, None);
        r.add_running_task("batch", &td(1));
        let tasks = r.tasks();
        let in_cluster = |c: &str| tasks.iter().filter(|t| t.cluster == c).count();
        assert_eq!(
            (
                in_cluster("prod"),
                in_cluster("staging"),
                in_cluster("batch")
            ),
            (2, 1, 1)
        );
    }
}
