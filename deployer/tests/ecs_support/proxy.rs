//! A proxy between deployer and moto that plays ECS's part in rollouts.
//!
//! moto records UpdateService but starts no deployment and runs no task:
//! its service keeps the deployment it was created with, on the old
//! revision, for ever. This proxy forwards every call to moto unchanged and
//! adds, openly and only here, what ECS would do:
//!
//! * UpdateService to another revision starts a new PRIMARY deployment
//!   (IN_PROGRESS) and turns the old PRIMARY into ACTIVE;
//! * each DescribeServices moves the rollout one step along a per-test
//!   [`Script`]: it completes, or fails with the circuit breaker's rollback
//!   (a deployment back to the last completed revision), or never finishes;
//!   the answer carries those deployments, the service's task definition,
//!   counts and events;
//! * tasks: a failing rollout stops one task per step (listed by ListTasks
//!   with `desiredStatus STOPPED` and described by DescribeTasks, with a
//!   stopped reason); every deployment runs as many tasks as it counts
//!   running, and a script can add stray running tasks.
//!
//! It also counts the calls it forwards, per operation, for the tests and
//! for `bench/deployer.sh`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{HeaderMap, Request, Response, StatusCode};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{json, Value};

const ECS_TARGET: &str = "AmazonEC2ContainerServiceV20141113.";
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// How a deployment of one revision goes, one step per DescribeServices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// COMPLETED at the `after`-th look.
    Completes { after: u32 },
    /// A task fails at every look; at the `after`-th the circuit breaker
    /// marks it FAILED and ECS starts a deployment back to the last
    /// completed revision.
    FailsAndRollsBack { after: u32 },
    /// IN_PROGRESS for ever, no task running.
    Hangs,
    /// A native strategy's deployment: traffic shifts for `after` looks,
    /// bakes (lifecycle stage BAKE_TIME) for `bake` more, then COMPLETES.
    Bakes { after: u32, bake: u32 },
    /// At the `after`-th look the CloudWatch alarm `alarm` goes off: the
    /// deployment is FAILED and ECS rolls back, the service deployment
    /// naming the alarm among `triggeredAlarmNames`.
    AlarmRollsBack { after: u32, alarm: &'static str },
}

/// A test's script.
#[derive(Debug, Clone)]
pub struct Script {
    /// Behaviour by revision number; others get `default`.
    pub by_revision: HashMap<i64, Behaviour>,
    /// Behaviour of every other revision.
    pub default: Behaviour,
    /// Extra running tasks, as `(cluster, family:revision)`.
    pub stray_tasks: Vec<(String, String)>,
    /// How many DescribeServices answers after each UpdateService still
    /// show the deployments as they were before it: the ECS API is
    /// eventually consistent.
    pub lag: u32,
    /// Whether ListServiceDeployments, DescribeServiceDeployments and
    /// StopServiceDeployment answer (ECS) or not (moto, older partitions).
    pub service_deployments: bool,
    /// A native strategy and its bake time in minutes, shown in the
    /// service's deployment configuration.
    pub native: Option<(&'static str, i64)>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            by_revision: HashMap::new(),
            default: Behaviour::Completes { after: 2 },
            stray_tasks: Vec::new(),
            lag: 0,
            service_deployments: false,
            native: None,
        }
    }
}

impl Script {
    /// `revision` behaves as `behaviour`.
    pub fn with(mut self, revision: i64, behaviour: Behaviour) -> Self {
        self.by_revision.insert(revision, behaviour);
        self
    }

    /// The service deployments API answers.
    pub fn with_service_deployments(mut self) -> Self {
        self.service_deployments = true;
        self
    }

    /// The service uses the native `strategy` with `bake_minutes` of bake.
    pub fn native(mut self, strategy: &'static str, bake_minutes: i64) -> Self {
        self.native = Some((strategy, bake_minutes));
        self
    }

    /// The first `reads` DescribeServices after each UpdateService are
    /// stale.
    pub fn lagging(mut self, reads: u32) -> Self {
        self.lag = reads;
        self
    }

    /// A task of `name` (`family:revision`) runs in `cluster`.
    pub fn stray_task(mut self, cluster: &str, name: &str) -> Self {
        self.stray_tasks.push((cluster.to_owned(), name.to_owned()));
        self
    }
}

#[derive(Debug, Default)]
struct ServiceState {
    deployments: Vec<Value>,
    events: Vec<Value>,
    last_completed: String,
    polls: HashMap<String, u32>,
    desired: i64,
    arn_prefix: String,
    /// Stale answers still to give, and the deployments they show.
    stale: Option<(u32, Vec<Value>)>,
}

/// A service deployment: one per UpdateService that starts a deployment; a
/// rollback stays within it.
#[derive(Debug, Clone)]
struct Sd {
    key: (String, String),
    deployment_id: String,
    arn: String,
    service_arn: String,
    cluster_arn: String,
    created_at: f64,
    status: &'static str,
    reason: String,
    stage: Option<&'static str>,
    alarms: Vec<String>,
}

impl Sd {
    fn json(&self, native: Option<(&'static str, i64)>) -> Value {
        let mut sd = json!({
            "serviceDeploymentArn": self.arn,
            "serviceArn": self.service_arn,
            "clusterArn": self.cluster_arn,
            "createdAt": self.created_at,
            "status": self.status,
            "statusReason": self.reason,
        });
        if let Some(stage) = self.stage {
            sd["lifecycleStage"] = json!(stage);
        }
        if let Some((strategy, bake)) = native {
            sd["deploymentConfiguration"] =
                json!({"strategy": strategy, "bakeTimeInMinutes": bake});
        }
        if !self.alarms.is_empty() {
            sd["alarms"] = json!({"status": "TRIGGERED", "triggeredAlarmNames": self.alarms});
        }
        sd
    }
}

#[derive(Debug, Default)]
struct Shared {
    script: Option<Script>,
    sds: Vec<Sd>,
    services: HashMap<(String, String), ServiceState>,
    stopped: Vec<Value>,
    calls: Vec<String>,
    ids: u64,
}

#[derive(Clone)]
struct App {
    upstream: String,
    client: reqwest::Client,
    shared: Arc<Mutex<Shared>>,
}

/// A running proxy; it stops when dropped.
pub struct RolloutProxy {
    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    shared: Arc<Mutex<Shared>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RolloutProxy {
    /// Starts a proxy to `upstream` (moto) on a free port of 127.0.0.1.
    pub fn start(upstream: &str, script: Script) -> RolloutProxy {
        Self::start_on(upstream, script, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts a proxy on `addr`.
    pub fn start_on(upstream: &str, script: Script, addr: SocketAddr) -> RolloutProxy {
        let shared = Arc::new(Mutex::new(Shared {
            script: Some(script),
            ..Shared::default()
        }));
        let app = App {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            shared: shared.clone(),
        };
        let listener = std::net::TcpListener::bind(addr).expect("bind the proxy on 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy address"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("proxy runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let router = Router::new()
                    .route("/__proxy/calls", get(calls))
                    .route("/__proxy/reset", post(reset))
                    .fallback(any(forward))
                    .with_state(app);
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        RolloutProxy {
            endpoint,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// The operations forwarded so far, in order (`ecs:UpdateService`).
    pub fn calls(&self) -> Vec<String> {
        lock(&self.shared).calls.clone()
    }

    /// The calls of one operation (`UpdateService`), any service.
    pub fn calls_of(&self, op: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.ends_with(&format!(":{op}")))
            .count()
    }

    /// Blocks until the proxy is stopped from outside (for the benchmark).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RolloutProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn calls(State(app): State<App>) -> axum::Json<Value> {
    let shared = lock(&app.shared);
    axum::Json(json!({"count": shared.calls.len(), "calls": shared.calls}))
}

async fn reset(State(app): State<App>) -> StatusCode {
    lock(&app.shared).calls.clear();
    StatusCode::NO_CONTENT
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// `service`, `ecr:DescribeImages`, `elasticloadbalancing:DescribeTargetHealth`...
fn operation(headers: &HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (prefix, op) = target.split_once('.').unwrap_or(("", target));
        let service = if prefix.starts_with("AmazonEC2ContainerService") {
            "ecs"
        } else if prefix.starts_with("AmazonEC2ContainerRegistry") {
            "ecr"
        } else {
            prefix
        };
        return format!("{service}:{op}");
    }
    let form = String::from_utf8_lossy(body);
    let action = form
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("unknown");
    format!("query:{action}")
}

async fn forward(State(app): State<App>, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, BODY_LIMIT).await else {
        return plain(StatusCode::BAD_REQUEST, "unreadable body");
    };
    let op = operation(&parts.headers, &body);
    lock(&app.shared).calls.push(op.clone());
    let ecs_op = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(ECS_TARGET))
        .map(str::to_owned);
    let request_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);

    if matches!(
        ecs_op.as_deref(),
        Some("ListServiceDeployments" | "DescribeServiceDeployments")
    ) {
        // moto has no service deployments API (it answers 500). Where the
        // script says ECS has one, the proxy plays it; otherwise it answers
        // as an endpoint without the operation does, so that deployer takes
        // its DescribeServices path at once.
        let op = ecs_op.as_deref().unwrap_or_default();
        return match service_deployments(&app, op, &request_json) {
            Some(answer) => json_answer(&answer),
            None => unknown_operation(op),
        };
    }
    if ecs_op.as_deref() == Some("StopServiceDeployment") {
        return match stop_service_deployment(&app, &request_json) {
            Some(answer) => json_answer(&answer),
            None => unknown_operation("StopServiceDeployment"),
        };
    }
    if ecs_op.as_deref() == Some("UpdateService") {
        ensure_state(&app, &parts.headers, &request_json).await;
    }
    if ecs_op.as_deref() == Some("DescribeTasks") {
        if let Some(response) = describe_tasks(&app, &parts, &request_json).await {
            return response;
        }
    }

    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let (status, headers, upstream_body) = match send(
        &app,
        parts.method.clone(),
        path,
        &parts.headers,
        body.to_vec(),
    )
    .await
    {
        Ok(answer) => answer,
        Err(err) => return plain(StatusCode::BAD_GATEWAY, &format!("upstream: {err}")),
    };
    let mut body = upstream_body;
    if status.is_success() {
        if let Some(op) = &ecs_op {
            if let Ok(mut response) = serde_json::from_slice::<Value>(&body) {
                let changed = match op.as_str() {
                    "DescribeServices" => {
                        rewrite_services(&app, &mut response, true);
                        true
                    }
                    "UpdateService" => {
                        update_service(&app, &request_json, &mut response, &parts.headers).await;
                        true
                    }
                    "ListTasks" => {
                        list_tasks(&app, &request_json, &mut response);
                        true
                    }
                    _ => false,
                };
                if changed {
                    body = serde_json::to_vec(&response).unwrap_or(body);
                }
            }
        }
    }
    let mut builder = Response::builder().status(status);
    for (name, value) in headers.iter() {
        if name != "content-length" && name != "transfer-encoding" {
            builder = builder.header(name, value);
        }
    }
    builder
        .body(Body::from(body))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

/// ListServiceDeployments and DescribeServiceDeployments, from the
/// proxy's own records; `None` when the script has no such API.
fn service_deployments(app: &App, op: &str, request: &Value) -> Option<Value> {
    let shared = lock(&app.shared);
    let script = shared.script.as_ref()?;
    if !script.service_deployments {
        return None;
    }
    let native = script.native;
    if op == "ListServiceDeployments" {
        let cluster = name_of(request["cluster"].as_str().unwrap_or("default"));
        let service = name_of(request["service"].as_str().unwrap_or_default());
        let briefs: Vec<Value> = shared
            .sds
            .iter()
            .filter(|sd| sd.key == (cluster.clone(), service.clone()))
            .map(|sd| sd.json(native))
            .collect();
        return Some(json!({ "serviceDeployments": briefs }));
    }
    let asked: Vec<&str> = request["serviceDeploymentArns"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let found: Vec<Value> = shared
        .sds
        .iter()
        .filter(|sd| asked.contains(&sd.arn.as_str()))
        .map(|sd| sd.json(native))
        .collect();
    Some(json!({ "serviceDeployments": found, "failures": [] }))
}

/// StopServiceDeployment(ROLLBACK): the service deployment rolls back
/// within itself, to the revision the service last completed.
fn stop_service_deployment(app: &App, request: &Value) -> Option<Value> {
    let mut shared = lock(&app.shared);
    if !shared.script.as_ref()?.service_deployments {
        return None;
    }
    let arn = request["serviceDeploymentArn"].as_str()?.to_owned();
    let sd = shared
        .sds
        .iter_mut()
        .find(|sd| sd.arn == arn && sd.status == "IN_PROGRESS")?;
    sd.status = "ROLLBACK_IN_PROGRESS";
    sd.reason = "rollback requested with StopServiceDeployment".to_owned();
    let (key, id) = (sd.key.clone(), sd.deployment_id.clone());
    let back = {
        let state = shared.services.get_mut(&key)?;
        if let Some(d) = state.deployments.iter_mut().find(|d| d["id"] == json!(id)) {
            d["rolloutState"] = json!("FAILED");
            d["rolloutStateReason"] = json!("rolled back on request");
        }
        state.last_completed.clone()
    };
    start_deployment(&mut shared, &key, &back);
    Some(json!({ "serviceDeploymentArn": arn }))
}

fn json_answer(body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

fn unknown_operation(op: &str) -> Response<Body> {
    let body = json!({
        "__type": "UnknownOperationException",
        "message": format!("{op} is not supported by this endpoint"),
    });
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-errortype", "UnknownOperationException")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(Body::from(text.to_owned()));
    *response.status_mut() = status;
    response
}

async fn send(
    app: &App,
    method: axum::http::Method,
    path: &str,
    headers: &HeaderMap,
    body: Vec<u8>,
) -> Result<(StatusCode, HeaderMap, Vec<u8>), String> {
    let mut request = app.client.request(
        reqwest::Method::from_bytes(method.as_str().as_bytes()).map_err(|e| e.to_string())?,
        format!("{}{path}", app.upstream),
    );
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    let response = request.body(body).send().await.map_err(|e| e.to_string())?;
    let status = StatusCode::from_u16(response.status().as_u16()).map_err(|e| e.to_string())?;
    let mut out_headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_str().as_bytes()),
            axum::http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out_headers.insert(name, value);
        }
    }
    let body = response.bytes().await.map_err(|e| e.to_string())?.to_vec();
    Ok((status, out_headers, body))
}

/// An ECS call of the proxy's own, straight to moto and not counted.
async fn ecs_call(app: &App, headers: &HeaderMap, op: &str, body: Value) -> Option<Value> {
    let mut own = HeaderMap::new();
    for name in ["authorization", "x-amz-date"] {
        if let Some(v) = headers.get(name) {
            own.insert(name, v.clone());
        }
    }
    own.insert("content-type", "application/x-amz-json-1.1".parse().ok()?);
    own.insert("x-amz-target", format!("{ECS_TARGET}{op}").parse().ok()?);
    let (status, _, body) = send(
        app,
        axum::http::Method::POST,
        "/",
        &own,
        body.to_string().into_bytes(),
    )
    .await
    .ok()?;
    status
        .is_success()
        .then(|| serde_json::from_slice(&body).ok())
        .flatten()
}

fn name_of(arn_or_name: &str) -> String {
    arn_or_name
        .rsplit('/')
        .next()
        .unwrap_or(arn_or_name)
        .to_owned()
}

fn revision_number(td: &str) -> i64 {
    td.rsplit(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn service_key(service: &Value) -> (String, String) {
    (
        name_of(service["clusterArn"].as_str().unwrap_or_default()),
        service["serviceName"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Makes sure the proxy knows the service before an UpdateService changes
/// it, so that the revision it ran is known.
async fn ensure_state(app: &App, headers: &HeaderMap, request: &Value) {
    let cluster = name_of(request["cluster"].as_str().unwrap_or("default"));
    let service = name_of(request["service"].as_str().unwrap_or_default());
    if lock(&app.shared)
        .services
        .contains_key(&(cluster.clone(), service.clone()))
    {
        return;
    }
    let body = json!({"cluster": cluster, "services": [service]});
    if let Some(mut answer) = ecs_call(app, headers, "DescribeServices", body).await {
        rewrite_services(app, &mut answer, false);
    }
}

fn initial_state(shared: &mut Shared, service: &Value) -> ServiceState {
    let td = service["taskDefinition"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let desired = service["desiredCount"].as_i64().unwrap_or(0);
    shared.ids += 1;
    let mut first = service["deployments"]
        .get(0)
        .cloned()
        .unwrap_or_else(|| json!({"id": format!("ecs-svc/{}", shared.ids), "status": "PRIMARY"}));
    first["taskDefinition"] = json!(td);
    first["rolloutState"] = json!("COMPLETED");
    first["rolloutStateReason"] = json!("ECS deployment completed.");
    first["runningCount"] = json!(desired);
    first["pendingCount"] = json!(0);
    first["desiredCount"] = json!(desired);
    first["failedTasks"] = json!(0);
    let arn_prefix = td
        .split_once(":task-definition/")
        .map(|(p, _)| p.to_owned())
        .unwrap_or_default();
    ServiceState {
        deployments: vec![first],
        events: Vec::new(),
        last_completed: td,
        polls: HashMap::new(),
        desired,
        arn_prefix,
        stale: None,
    }
}

/// Overlays the proxy's rollout state on DescribeServices' services,
/// moving each rollout a step when `advance`.
fn rewrite_services(app: &App, response: &mut Value, advance: bool) {
    let mut shared = lock(&app.shared);
    let Some(services) = response["services"].as_array_mut() else {
        return;
    };
    for service in services {
        let key = service_key(service);
        if !shared.services.contains_key(&key) {
            let state = initial_state(&mut shared, service);
            shared.services.insert(key.clone(), state);
        }
        if let Some(desired) = service["desiredCount"].as_i64() {
            if let Some(state) = shared.services.get_mut(&key) {
                state.desired = desired;
            }
        }
        let stale = if advance {
            take_stale(&mut shared, &key)
        } else {
            None
        };
        if let Some(old) = stale {
            if let Some(state) = shared.services.get(&key) {
                let mut view = ServiceState {
                    deployments: old,
                    events: state.events.clone(),
                    ..ServiceState::default()
                };
                view.arn_prefix.clone_from(&state.arn_prefix);
                let mut stale_shared = Shared::default();
                stale_shared.services.insert(key.clone(), view);
                overlay(&stale_shared, &key, service);
            }
            continue;
        }
        if advance {
            step(&mut shared, &key);
        }
        overlay(&shared, &key, service);
    }
}

/// The stale view to answer instead of the real one, while the lag lasts.
fn take_stale(shared: &mut Shared, key: &(String, String)) -> Option<Vec<Value>> {
    let state = shared.services.get_mut(key)?;
    let (left, old) = state.stale.as_mut()?;
    if *left == 0 {
        state.stale = None;
        return None;
    }
    *left -= 1;
    Some(old.clone())
}

fn overlay(shared: &Shared, key: &(String, String), service: &mut Value) {
    let Some(state) = shared.services.get(key) else {
        return;
    };
    let running: i64 = state
        .deployments
        .iter()
        .filter_map(|d| d["runningCount"].as_i64())
        .sum();
    let pending: i64 = state
        .deployments
        .iter()
        .filter_map(|d| d["pendingCount"].as_i64())
        .sum();
    if let Some(primary) = state.deployments.iter().find(|d| d["status"] == "PRIMARY") {
        service["taskDefinition"] = primary["taskDefinition"].clone();
    }
    service["deployments"] = json!(state.deployments);
    if let Some((strategy, bake)) = shared.script.as_ref().and_then(|s| s.native) {
        service["deploymentConfiguration"]["strategy"] = json!(strategy);
        service["deploymentConfiguration"]["bakeTimeInMinutes"] = json!(bake);
    }
    service["runningCount"] = json!(running);
    service["pendingCount"] = json!(pending);
    let mut events = state.events.clone();
    if let Some(theirs) = service["events"].as_array() {
        events.extend(theirs.iter().cloned());
    }
    service["events"] = json!(events);
}

fn add_event(shared: &mut Shared, key: &(String, String), message: String) {
    shared.ids += 1;
    let id = format!("proxy-event-{}", shared.ids);
    if let Some(state) = shared.services.get_mut(key) {
        state
            .events
            .insert(0, json!({"id": id, "createdAt": now(), "message": message}));
    }
}

fn start_deployment(shared: &mut Shared, key: &(String, String), td: &str) {
    shared.ids += 1;
    let id = format!("ecs-svc/{:016}", shared.ids);
    let Some(state) = shared.services.get_mut(key) else {
        return;
    };
    for d in state.deployments.iter_mut() {
        if d["status"] == "PRIMARY" {
            d["status"] = json!("ACTIVE");
        }
    }
    let at = now();
    let prefix = state.arn_prefix.clone();
    state.deployments.insert(
        0,
        json!({
            "id": id, "status": "PRIMARY", "taskDefinition": td,
            "desiredCount": state.desired, "runningCount": 0, "pendingCount": state.desired,
            "failedTasks": 0, "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": "ECS deployment in progress.",
            "createdAt": at, "updatedAt": at, "launchType": "FARGATE"
        }),
    );
    let revision = name_of(td);
    add_event(
        shared,
        key,
        format!(
            "(service {}) has started a deployment of {revision}.",
            key.1
        ),
    );
    let rolling_back = shared
        .sds
        .iter()
        .any(|sd| sd.key == *key && sd.status == "ROLLBACK_IN_PROGRESS");
    if !rolling_back {
        for sd in shared.sds.iter_mut().filter(|sd| sd.key == *key) {
            if sd.status == "IN_PROGRESS" {
                sd.status = "STOPPED";
                sd.reason = format!("deployment {id} replaced it");
            }
        }
        let (cluster, service) = key;
        shared.sds.push(Sd {
            key: key.clone(),
            deployment_id: id.clone(),
            arn: format!(
                "{prefix}:service-deployment/{cluster}/{service}/{}",
                id.trim_start_matches("ecs-svc/")
            ),
            service_arn: format!("{prefix}:service/{cluster}/{service}"),
            cluster_arn: format!("{prefix}:cluster/{cluster}"),
            created_at: at,
            status: "IN_PROGRESS",
            reason: String::new(),
            stage: None,
            alarms: Vec::new(),
        });
    }
}

/// The service deployment deployment `id` belongs to: its own, or the one
/// it rolls back within.
fn sd_of<'s>(shared: &'s mut Shared, key: &(String, String), id: &str) -> Option<&'s mut Sd> {
    let own = shared.sds.iter().rposition(|sd| sd.deployment_id == id);
    let within = shared
        .sds
        .iter()
        .rposition(|sd| sd.key == *key && sd.status == "ROLLBACK_IN_PROGRESS");
    let i = own.or(within)?;
    shared.sds.get_mut(i)
}

/// One DescribeServices' worth of ECS work.
fn step(shared: &mut Shared, key: &(String, String)) {
    let Some(state) = shared.services.get_mut(key) else {
        return;
    };
    let Some(index) = state
        .deployments
        .iter()
        .position(|d| d["status"] == "PRIMARY" && d["rolloutState"] == "IN_PROGRESS")
    else {
        return;
    };
    let id = state.deployments[index]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let td = state.deployments[index]["taskDefinition"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let polls = {
        let n = state.polls.entry(id.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let script = shared.script.clone().unwrap_or_default();
    let behaviour = script
        .by_revision
        .get(&revision_number(&td))
        .copied()
        .unwrap_or(script.default);
    let desired = state.desired;
    let done = match behaviour {
        Behaviour::Completes { after } => polls >= after,
        Behaviour::Bakes { after, bake } => polls >= after + bake,
        _ => false,
    };
    if let (Behaviour::Bakes { after, .. }, false) = (behaviour, done) {
        let stage = if polls > after {
            "BAKE_TIME"
        } else {
            "PRODUCTION_TRAFFIC_SHIFT"
        };
        if let Some(sd) = sd_of(shared, key, &id) {
            sd.stage = Some(stage);
        }
        return;
    }
    match behaviour {
        Behaviour::Completes { .. } | Behaviour::Bakes { .. } if done => {
            state.deployments.retain(|d| d["id"] == json!(id));
            let d = &mut state.deployments[0];
            d["rolloutState"] = json!("COMPLETED");
            d["rolloutStateReason"] = json!(format!("ECS deployment {id} completed."));
            d["runningCount"] = json!(desired);
            d["pendingCount"] = json!(0);
            d["updatedAt"] = json!(now());
            state.last_completed = td;
            add_event(
                shared,
                key,
                format!("(service {}) has reached a steady state.", key.1),
            );
            if let Some(sd) = sd_of(shared, key, &id) {
                sd.status = if sd.status == "ROLLBACK_IN_PROGRESS" {
                    "ROLLBACK_SUCCESSFUL"
                } else {
                    "SUCCESSFUL"
                };
                sd.stage = None;
            }
        }
        Behaviour::Completes { .. } => {
            let d = &mut state.deployments[index];
            let running = (d["runningCount"].as_i64().unwrap_or(0) + 1).min((desired - 1).max(0));
            d["runningCount"] = json!(running);
            d["pendingCount"] = json!(desired - running);
        }
        Behaviour::FailsAndRollsBack { after } => {
            let d = &mut state.deployments[index];
            d["failedTasks"] = json!(d["failedTasks"].as_i64().unwrap_or(0) + 1);
            let prefix = state.arn_prefix.clone();
            let back = state.last_completed.clone();
            let failed = polls >= after;
            if failed {
                let d = &mut state.deployments[index];
                d["rolloutState"] = json!("FAILED");
                d["rolloutStateReason"] =
                    json!("ECS deployment circuit breaker: tasks failed to start.");
                d["status"] = json!("ACTIVE");
            }
            stop_task(shared, key, &prefix, &td);
            if failed {
                add_event(
                    shared,
                    key,
                    format!(
                        "(service {}) (deployment {id}) deployment failed: tasks failed to start.",
                        key.1
                    ),
                );
                add_event(
                    shared,
                    key,
                    format!("(service {}) rolling back to {}.", key.1, name_of(&back)),
                );
                if let Some(sd) = sd_of(shared, key, &id) {
                    sd.status = "ROLLBACK_IN_PROGRESS";
                    sd.reason = "ECS deployment circuit breaker: tasks failed to start.".to_owned();
                }
                start_deployment(shared, key, &back);
            }
        }
        Behaviour::AlarmRollsBack { after, alarm } if polls >= after => {
            let back = state.last_completed.clone();
            let reason = format!("CloudWatch alarm(s) {alarm} went into ALARM state.");
            let d = &mut state.deployments[index];
            d["rolloutState"] = json!("FAILED");
            d["rolloutStateReason"] = json!(reason);
            d["status"] = json!("ACTIVE");
            if let Some(sd) = sd_of(shared, key, &id) {
                sd.status = "ROLLBACK_IN_PROGRESS";
                sd.reason = reason;
                sd.alarms = vec![alarm.to_owned()];
            }
            start_deployment(shared, key, &back);
        }
        Behaviour::Bakes { .. } | Behaviour::AlarmRollsBack { .. } | Behaviour::Hangs => {}
    }
}

fn stop_task(shared: &mut Shared, key: &(String, String), prefix: &str, td: &str) {
    shared.ids += 1;
    let arn = format!("{prefix}:task/{}/proxy{:012}", key.0, shared.ids);
    shared.stopped.push(json!({
        "taskArn": arn, "taskDefinitionArn": td,
        "clusterArn": format!("{prefix}:cluster/{}", key.0),
        "group": format!("service:{}", key.1),
        "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "stoppedAt": now(),
        "containers": [{"name": "app", "exitCode": 1, "reason": "exited: readiness probe never passed"}]
    }));
}

/// The tasks the proxy adds: the stopped ones, one per running count of
/// every deployment, and the script's strays.
fn extra_tasks(shared: &Shared) -> Vec<Value> {
    let mut tasks = shared.stopped.clone();
    for ((cluster, service), state) in &shared.services {
        for d in &state.deployments {
            let id = d["id"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            for i in 0..d["runningCount"].as_i64().unwrap_or(0) {
                tasks.push(json!({
                    "taskArn": format!("{}:task/{cluster}/proxy{id}x{i}", state.arn_prefix),
                    "taskDefinitionArn": d["taskDefinition"],
                    "group": format!("service:{service}"),
                    "lastStatus": "RUNNING", "desiredStatus": "RUNNING"
                }));
            }
        }
    }
    if let Some(script) = &shared.script {
        for (i, (cluster, name)) in script.stray_tasks.iter().enumerate() {
            let prefix = shared
                .services
                .values()
                .next()
                .map(|s| s.arn_prefix.clone())
                .unwrap_or_else(|| "arn:aws:ecs:us-east-1:123456789012".to_owned());
            tasks.push(json!({
                "taskArn": format!("{prefix}:task/{cluster}/proxystray{i}"),
                "taskDefinitionArn": format!("{prefix}:task-definition/{name}"),
                "group": "family:stray",
                "lastStatus": "RUNNING", "desiredStatus": "RUNNING"
            }));
        }
    }
    tasks
}

fn task_cluster(task: &Value) -> String {
    let arn = task["taskArn"].as_str().unwrap_or_default();
    arn.split_once(":task/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or_default()
        .to_owned()
}

fn list_tasks(app: &App, request: &Value, response: &mut Value) {
    let shared = lock(&app.shared);
    let cluster = name_of(request["cluster"].as_str().unwrap_or("default"));
    let wanted_status = request["desiredStatus"].as_str().unwrap_or("RUNNING");
    let arns: Vec<Value> = extra_tasks(&shared)
        .into_iter()
        .filter(|t| task_cluster(t) == cluster && t["desiredStatus"] == wanted_status)
        .filter(|t| match request["serviceName"].as_str() {
            Some(service) => t["group"] == json!(format!("service:{}", name_of(service))),
            None => true,
        })
        .filter(|t| match request["family"].as_str() {
            Some(family) => name_of(t["taskDefinitionArn"].as_str().unwrap_or_default())
                .rsplit_once(':')
                .is_some_and(|(f, _)| f == family),
            None => true,
        })
        .map(|t| t["taskArn"].clone())
        .collect();
    if let Some(list) = response["taskArns"].as_array_mut() {
        list.extend(arns);
    } else {
        response["taskArns"] = json!(arns);
    }
}

/// DescribeTasks of the proxy's own tasks is answered here; others go to
/// moto.
async fn describe_tasks(
    app: &App,
    parts: &axum::http::request::Parts,
    request: &Value,
) -> Option<Response<Body>> {
    let asked: Vec<String> = request["tasks"]
        .as_array()?
        .iter()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    let ours: Vec<Value> = {
        let shared = lock(&app.shared);
        extra_tasks(&shared)
            .into_iter()
            .filter(|t| asked.iter().any(|a| t["taskArn"] == json!(a)))
            .collect()
    };
    let others: Vec<&String> = asked
        .iter()
        .filter(|a| !ours.iter().any(|t| t["taskArn"] == json!(a)))
        .collect();
    let mut tasks = ours;
    if !others.is_empty() {
        let body = json!({"cluster": request["cluster"], "tasks": others});
        if let Some(answer) = ecs_call(app, &parts.headers, "DescribeTasks", body).await {
            tasks.extend(answer["tasks"].as_array().cloned().unwrap_or_default());
        }
    }
    let body = json!({"tasks": tasks, "failures": []}).to_string();
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from(body))
        .ok()
}

async fn update_service(app: &App, request: &Value, response: &mut Value, headers: &HeaderMap) {
    let key = service_key(&response["service"]);
    if let Some(td) = request["taskDefinition"].as_str() {
        let arn = if td.starts_with("arn:") {
            Some(td.to_owned())
        } else {
            ecs_call(
                app,
                headers,
                "DescribeTaskDefinition",
                json!({"taskDefinition": td}),
            )
            .await
            .and_then(|a| {
                a["taskDefinition"]["taskDefinitionArn"]
                    .as_str()
                    .map(str::to_owned)
            })
        };
        let mut shared = lock(&app.shared);
        if let Some(desired) = request["desiredCount"].as_i64() {
            if let Some(state) = shared.services.get_mut(&key) {
                state.desired = desired;
            }
        }
        let current = shared.services.get(&key).and_then(|s| {
            s.deployments
                .iter()
                .find(|d| d["status"] == "PRIMARY")
                .and_then(|d| d["taskDefinition"].as_str().map(str::to_owned))
        });
        if let Some(arn) = arn {
            if current.as_deref() != Some(arn.as_str()) {
                let lag = shared.script.as_ref().map_or(0, |s| s.lag);
                if let Some(state) = shared.services.get_mut(&key) {
                    if lag > 0 {
                        state.stale = Some((lag, state.deployments.clone()));
                    }
                }
                start_deployment(&mut shared, &key, &arn);
            }
        }
    }
    let shared = lock(&app.shared);
    overlay(&shared, &key, &mut response["service"]);
}
