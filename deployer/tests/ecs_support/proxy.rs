//! A proxy between deployer and moto that plays ECS's part in rollouts.
//!
//! moto records UpdateService but starts no deployment and runs no task:
//! its service keeps the deployment it was created with, on the old
//! revision, for ever. This proxy forwards every call to moto unchanged and
//! lays over moto's answers what the one ECS stand-in,
//! [`test_harness::ecs_standin`], says ECS would do: deployments and their
//! rollouts, stale reads, service deployments, `StopServiceDeployment`,
//! events and tasks. deployer's unit tests use the same stand-in in
//! process; this file only translates its answers into ECS's JSON.
//!
//! It also counts the calls it forwards, per operation, for the tests and
//! for `bench/deployer.sh`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{HeaderMap, Request, Response, StatusCode};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{json, Value};
pub use test_harness::ecs_standin::Behaviour;
use test_harness::ecs_standin::{self as standin, name_of, Clock, Rollouts};

const ECS_TARGET: &str = "AmazonEC2ContainerServiceV20141113.";
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// A test's script: how ECS behaves while it runs.
#[derive(Debug, Clone)]
pub struct Script {
    /// Behaviour by revision number; others get `default`.
    pub by_revision: Vec<(i64, Behaviour)>,
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
            by_revision: Vec::new(),
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
        self.by_revision.push((revision, behaviour));
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

#[derive(Debug)]
struct Shared {
    script: Script,
    /// Created at the first service seen, whose ARNs give the account and
    /// region.
    rollouts: Option<Rollouts>,
    calls: Vec<String>,
}

impl Shared {
    /// The stand-in, for the account and region of `arn` (any ECS ARN).
    fn rollouts_for(&mut self, arn: &str) -> &mut Rollouts {
        let script = &self.script;
        self.rollouts.get_or_insert_with(|| {
            let prefix = arn.splitn(6, ':').take(5).collect::<Vec<_>>().join(":");
            let mut r = Rollouts::new(Clock::Wall, &prefix);
            r.behave_by_default(script.default);
            for (revision, behaviour) in &script.by_revision {
                r.behave(&revision.to_string(), *behaviour);
            }
            r.lag(script.lag);
            for (cluster, name) in &script.stray_tasks {
                r.add_running_task(cluster, &format!("{prefix}:task-definition/{name}"));
            }
            r
        })
    }
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
            script,
            rollouts: None,
            calls: Vec::new(),
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
        return stop_service_deployment(&app, &request_json)
            .unwrap_or_else(|| unknown_operation("StopServiceDeployment"));
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
/// stand-in; `None` when the script has no such API.
fn service_deployments(app: &App, op: &str, request: &Value) -> Option<Value> {
    let shared = lock(&app.shared);
    if !shared.script.service_deployments {
        return None;
    }
    let native = shared.script.native;
    let Some(rollouts) = shared.rollouts.as_ref() else {
        return Some(json!({ "serviceDeployments": [] }));
    };
    if op == "ListServiceDeployments" {
        let cluster = name_of(request["cluster"].as_str().unwrap_or("default"));
        let service = name_of(request["service"].as_str().unwrap_or_default());
        let after = request["createdAt"]["after"].as_f64();
        let briefs: Vec<Value> = rollouts
            .service_deployments(cluster, service, after)
            .iter()
            .map(|sd| service_deployment_json(sd, native))
            .collect();
        return Some(json!({ "serviceDeployments": briefs }));
    }
    let asked: Vec<&str> = request["serviceDeploymentArns"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let found: Vec<Value> = rollouts
        .service_deployments_by_arn(&asked)
        .iter()
        .map(|sd| service_deployment_json(sd, native))
        .collect();
    Some(json!({ "serviceDeployments": found, "failures": [] }))
}

fn service_deployment_json(
    sd: &standin::ServiceDeployment,
    native: Option<(&'static str, i64)>,
) -> Value {
    let mut json = json!({
        "serviceDeploymentArn": sd.arn,
        "serviceArn": sd.service_arn,
        "clusterArn": sd.cluster_arn,
        "createdAt": sd.created_at,
        "status": sd.status.as_str(),
        "statusReason": sd.reason,
    });
    if let Some(stage) = sd.stage {
        json["lifecycleStage"] = json!(stage.as_str());
    }
    if let Some((strategy, bake)) = native {
        json["deploymentConfiguration"] = json!({"strategy": strategy, "bakeTimeInMinutes": bake});
    }
    if !sd.triggered_alarms.is_empty() {
        json["alarms"] = json!({"status": "TRIGGERED", "triggeredAlarmNames": sd.triggered_alarms});
    }
    json
}

/// StopServiceDeployment: the stand-in's answer, or ECS's error.
fn stop_service_deployment(app: &App, request: &Value) -> Option<Response<Body>> {
    let mut shared = lock(&app.shared);
    if !shared.script.service_deployments {
        return None;
    }
    let arn = request["serviceDeploymentArn"].as_str()?.to_owned();
    let answer = match shared.rollouts.as_mut() {
        Some(rollouts) => rollouts.stop_service_deployment(&arn),
        None => Err(standin::StopError::NotFound(arn.clone())),
    };
    Some(match answer {
        Ok(()) => json_answer(&json!({ "serviceDeploymentArn": arn })),
        Err(err) => {
            let kind = match err {
                standin::StopError::NotFound(_) => "ServiceDeploymentNotFoundException",
                standin::StopError::NotUnderWay(_) => "ConflictException",
            };
            error_answer(kind, &err.to_string())
        }
    })
}

fn deployment_json(d: &standin::Deployment, launch_type: &Value) -> Value {
    json!({
        "id": d.id, "status": d.status(), "taskDefinition": d.task_definition,
        "desiredCount": d.desired, "runningCount": d.running, "pendingCount": d.pending,
        "failedTasks": d.failed_tasks, "rolloutState": d.rollout_state.as_str(),
        "rolloutStateReason": d.reason,
        "createdAt": d.created_at, "updatedAt": d.created_at, "launchType": launch_type
    })
}

fn task_json(t: &standin::Task, prefix: &str) -> Value {
    let mut json = json!({
        "taskArn": t.arn, "taskDefinitionArn": t.task_definition,
        "clusterArn": format!("{prefix}:cluster/{}", t.cluster),
        "group": t.group,
        "lastStatus": t.desired_status, "desiredStatus": t.desired_status,
    });
    if let Some(stopped) = &t.stopped {
        json["stopCode"] = json!("EssentialContainerExited");
        json["stoppedReason"] = json!(stopped.reason);
        json["stoppedAt"] = json!(stopped.at);
        json["containers"] = json!([{
            "name": stopped.container, "exitCode": stopped.exit_code,
            "reason": stopped.container_reason
        }]);
    }
    json
}

/// The stand-in's tasks, as ECS's JSON.
fn standin_tasks(shared: &Shared) -> Vec<Value> {
    shared.rollouts.as_ref().map_or_else(Vec::new, |r| {
        r.tasks()
            .iter()
            .map(|t| task_json(t, r.arn_prefix()))
            .collect()
    })
}

fn service_key(service: &Value) -> (String, String) {
    (
        name_of(service["clusterArn"].as_str().unwrap_or_default()).to_owned(),
        service["serviceName"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Makes sure the stand-in knows the service before an UpdateService
/// changes it, so that the revision it ran is known.
async fn ensure_state(app: &App, headers: &HeaderMap, request: &Value) {
    let cluster = name_of(request["cluster"].as_str().unwrap_or("default")).to_owned();
    let service = name_of(request["service"].as_str().unwrap_or_default()).to_owned();
    let known = lock(&app.shared)
        .rollouts
        .as_ref()
        .is_some_and(|r| r.knows(&cluster, &service));
    if known {
        return;
    }
    let body = json!({"cluster": cluster, "services": [service]});
    if let Some(mut answer) = ecs_call(app, headers, "DescribeServices", body).await {
        rewrite_services(app, &mut answer, false);
    }
}

/// Lays the stand-in's view of each service over DescribeServices'
/// answer, the stand-in taking a step first when `advance`. A service the
/// stand-in has not seen yet starts as moto shows it: one completed
/// deployment of its task definition.
fn rewrite_services(app: &App, response: &mut Value, advance: bool) {
    let mut shared = lock(&app.shared);
    let native = shared.script.native;
    let Some(services) = response["services"].as_array_mut() else {
        return;
    };
    for service in services {
        let (cluster, name) = service_key(service);
        let desired = service["desiredCount"].as_i64().unwrap_or(0);
        let td = service["taskDefinition"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let rollouts = shared.rollouts_for(&td);
        if !rollouts.knows(&cluster, &name) {
            let id = service["deployments"][0]["id"].as_str();
            rollouts.add_service(&cluster, &name, &td, desired, id);
        }
        rollouts.set_desired(&cluster, &name, desired);
        let view = if advance {
            rollouts.describe(&cluster, &name)
        } else {
            rollouts.peek(&cluster, &name)
        };
        if let Some(view) = view {
            overlay(service, &view, native);
        }
    }
}

fn overlay(service: &mut Value, view: &standin::View, native: Option<(&'static str, i64)>) {
    if let Some(td) = view.task_definition() {
        service["taskDefinition"] = json!(td);
    }
    let launch_type = service["launchType"].clone();
    service["deployments"] = json!(view
        .deployments
        .iter()
        .map(|d| deployment_json(d, &launch_type))
        .collect::<Vec<_>>());
    if let Some((strategy, bake)) = native {
        service["deploymentConfiguration"]["strategy"] = json!(strategy);
        service["deploymentConfiguration"]["bakeTimeInMinutes"] = json!(bake);
    }
    service["runningCount"] = json!(view.running());
    service["pendingCount"] = json!(view.pending());
    let mut events: Vec<Value> = view
        .events
        .iter()
        .map(|e| json!({"id": e.id, "createdAt": e.created_at, "message": e.message}))
        .collect();
    if let Some(theirs) = service["events"].as_array() {
        events.extend(theirs.iter().cloned());
    }
    service["events"] = json!(events);
}

fn list_tasks(app: &App, request: &Value, response: &mut Value) {
    let shared = lock(&app.shared);
    let cluster = name_of(request["cluster"].as_str().unwrap_or("default"));
    let wanted_status = request["desiredStatus"].as_str().unwrap_or("RUNNING");
    let arns: Vec<Value> = standin_tasks(&shared)
        .into_iter()
        .filter(|t| {
            t["clusterArn"]
                .as_str()
                .is_some_and(|c| name_of(c) == cluster)
                && t["desiredStatus"] == wanted_status
        })
        .filter(|t| match request["serviceName"].as_str() {
            Some(service) => t["group"] == json!(format!("service:{}", name_of(service))),
            None => true,
        })
        .filter(|t| match request["family"].as_str() {
            Some(family) => {
                standin::family_of(t["taskDefinitionArn"].as_str().unwrap_or_default()) == family
            }
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

async fn update_service(app: &App, request: &Value, response: &mut Value, headers: &HeaderMap) {
    let (cluster, name) = service_key(&response["service"]);
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
        if let Some(arn) = arn {
            let mut shared = lock(&app.shared);
            let rollouts = shared.rollouts_for(&arn);
            if let Some(desired) = request["desiredCount"].as_i64() {
                rollouts.set_desired(&cluster, &name, desired);
            }
            rollouts.update(&cluster, &name, &arn);
        }
    }
    let shared = lock(&app.shared);
    let native = shared.script.native;
    if let Some(view) = shared
        .rollouts
        .as_ref()
        .and_then(|r| r.peek(&cluster, &name))
    {
        overlay(&mut response["service"], &view, native);
    }
}

fn json_answer(body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

fn unknown_operation(op: &str) -> Response<Body> {
    error_answer(
        "UnknownOperationException",
        &format!("{op} is not supported by this endpoint"),
    )
}

/// An ECS error answer of type `kind`.
fn error_answer(kind: &str, message: &str) -> Response<Body> {
    let body = json!({ "__type": kind, "message": message });
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-errortype", kind)
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
        standin_tasks(&shared)
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
