//! The routes, built from the app's JSON: every microservice gets
//! `GET /<name>` (what answered) and `GET <health_path>` (the target
//! group's check). Adding a microservice to the JSON adds its routes.
//! Everything else answers a JSON 404, a wrong method a JSON 405.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use app_config::{AppConfig, RuntimeEnv};
use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::identity::Identity;
use crate::middleware::{self, FixedAnswers, FixedBody};

/// What every info route reports besides the microservice's name.
#[derive(Debug)]
struct AppFacts {
    app: String,
    launch_type: &'static str,
    environment: String,
    port: u16,
    version: String,
    identity: Identity,
}

/// The body of `GET /<microservice>`.
#[derive(Debug, Serialize)]
pub struct Info<'a> {
    /// The microservice that answered.
    pub microservice: &'a str,
    /// The app hosting it.
    pub app: &'a str,
    /// `EC2` or `FARGATE`.
    pub launch_type: &'a str,
    /// The environment, such as `production`.
    pub environment: &'a str,
    /// The port the app listens on.
    pub port: u16,
    /// The version (image tag).
    pub version: &'a str,
    /// The host (container) name.
    pub host: &'a str,
    /// The ECS task ARN, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<&'a str>,
}

/// The body of a health route.
#[derive(Debug, Serialize)]
pub struct Health<'a> {
    /// Always `ok`: answering at all is the health signal.
    pub status: &'static str,
    /// The microservice, or the app for the app-wide health check path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microservice: Option<&'a str>,
    /// The app.
    pub app: &'a str,
}

/// One path and what answers it.
#[derive(Debug, Clone)]
enum Endpoint {
    Info(Arc<str>),
    Health(Option<Arc<str>>),
}

/// Two routes of the JSON claim the same path, or a path is not servable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct RouteError {
    /// The field's JSON path.
    pub field: String,
    /// Why.
    pub reason: String,
}

/// The app's service: its routes with every layer applied. The answers of
/// the info and health routes are the same for every request, so their
/// bodies are serialized here, once (an info body once more when the ECS
/// task ARN becomes known), and [`middleware::Edge`] gives them itself
/// (see [`FixedAnswers`]); the router serves the same paths for what the
/// fast path passes on.
pub fn router(
    app: &AppConfig,
    env: &RuntimeEnv,
    identity: Identity,
) -> Result<middleware::App, RouteError> {
    let facts = Arc::new(AppFacts {
        app: env.app_name.clone(),
        launch_type: env.launch_type.as_str(),
        environment: env.environment.clone(),
        port: env.port,
        version: env.version.clone(),
        identity,
    });
    let mut router = Router::new();
    let mut fixed = HashMap::new();
    for (path, endpoint) in endpoints(app)? {
        let body: FixedBody = match endpoint {
            Endpoint::Info(name) => {
                let info = InfoBody::new(Arc::clone(&facts), name);
                Arc::new(move || info.current())
            }
            Endpoint::Health(name) => {
                let health = to_json(&Health {
                    status: "ok",
                    microservice: name.as_deref(),
                    app: &facts.app,
                });
                Arc::new(move || health.clone())
            }
        };
        let handler = Arc::clone(&body);
        router = router.route(
            &path,
            get(move || {
                let body = handler();
                async move { middleware::json_ok(body) }
            }),
        );
        fixed.insert(path, body);
    }
    Ok(middleware::apply_with_fixed(
        router.fallback(not_found),
        FixedAnswers::new(fixed),
    ))
}

/// The body of one info route: serialized without the task at first, and
/// with it once the task is known.
struct InfoBody {
    facts: Arc<AppFacts>,
    microservice: Arc<str>,
    without_task: Bytes,
    with_task: OnceLock<Bytes>,
}

impl InfoBody {
    fn new(facts: Arc<AppFacts>, microservice: Arc<str>) -> InfoBody {
        let without_task = InfoBody::serialize(&facts, &microservice, None);
        InfoBody {
            facts,
            microservice,
            without_task,
            with_task: OnceLock::new(),
        }
    }

    fn current(&self) -> Bytes {
        match self.facts.identity.task() {
            None => self.without_task.clone(),
            Some(task) => self
                .with_task
                .get_or_init(|| InfoBody::serialize(&self.facts, &self.microservice, Some(task)))
                .clone(),
        }
    }

    fn serialize(facts: &AppFacts, microservice: &str, task: Option<&str>) -> Bytes {
        to_json(&Info {
            microservice,
            app: &facts.app,
            launch_type: facts.launch_type,
            environment: &facts.environment,
            port: facts.port,
            version: &facts.version,
            host: facts.identity.host(),
            task,
        })
    }
}

fn to_json<T: Serialize>(value: &T) -> Bytes {
    // Structs of strings and numbers always serialize.
    Bytes::from(serde_json::to_vec(value).expect("a struct of strings and numbers serializes"))
}

/// Every path the JSON defines, checked for clashes so that building the
/// router can never panic on a duplicate route.
fn endpoints(app: &AppConfig) -> Result<BTreeMap<String, Endpoint>, RouteError> {
    let mut paths = Paths::default();
    for (i, ms) in app.microservices.iter().enumerate() {
        let name: Arc<str> = Arc::from(ms.name.as_str());
        paths.add(
            format!("/{}", ms.name),
            format!("microservices[{i}].name"),
            Endpoint::Info(Arc::clone(&name)),
        )?;
        paths.add(
            ms.health_path(),
            format!("microservices[{i}].health_path"),
            Endpoint::Health(Some(name)),
        )?;
    }
    // The target group's path is usually one microservice's health path;
    // when the JSON names another one, it is served too.
    let check_path = app.health_check_path();
    if !paths.0.contains_key(&check_path) {
        paths.add(
            check_path,
            "health_check.path".into(),
            Endpoint::Health(None),
        )?;
    }
    Ok(paths
        .0
        .into_iter()
        .map(|(path, (_field, endpoint))| (path, endpoint))
        .collect())
}

/// Paths so far, each with the JSON field that defined it.
#[derive(Default)]
struct Paths(BTreeMap<String, (String, Endpoint)>);

impl Paths {
    fn add(&mut self, path: String, field: String, endpoint: Endpoint) -> Result<(), RouteError> {
        if path.contains(['{', '}', '*']) {
            return Err(RouteError {
                field,
                reason: format!("`{path}` holds `{{`, `}}` or `*`, which a route cannot"),
            });
        }
        if let Some((other, _)) = self.0.get(&path) {
            return Err(RouteError {
                field,
                reason: format!("`{path}` is also the route of `{other}`"),
            });
        }
        self.0.insert(path, (field, endpoint));
        Ok(())
    }
}

async fn not_found(method: Method, uri: Uri) -> Response {
    middleware::error_response(
        StatusCode::NOT_FOUND,
        &format!("no route for {method} {}", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn answer(
        app: &middleware::App,
        method: Method,
        path: &str,
    ) -> (StatusCode, [String; 2], Bytes) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        // The length sent: hyper writes the exact length of the body as
        // `content-length` when the answer has none.
        let mut length = header(axum::http::header::CONTENT_LENGTH);
        if length.is_empty() {
            let exact = hyper::body::Body::size_hint(response.body()).exact();
            length = exact.map(|l| l.to_string()).unwrap_or_default();
        }
        let headers = [header(axum::http::header::CONTENT_TYPE), length];
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, headers, body)
    }

    /// The fast path and the router serve the same paths with the same
    /// answers: every request the fast path passes on (another method, a
    /// body over the limit) reaches a router that knows the path.
    #[tokio::test]
    async fn the_fixed_answers_and_the_router_answer_alike() {
        for name in ["service-a", "service-b"] {
            let file = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../config")
                .join(format!("{name}.json"));
            let app = app_config::load(&file).expect("the app JSON loads");
            let env = RuntimeEnv::from_lookup(&app, |_| None).expect("env");
            let fast = router(&app, &env, Identity::new("h")).expect("router");
            let routed = middleware::Edge {
                inner: fast.inner.clone(),
                fixed: FixedAnswers::default(),
            };
            let paths: Vec<String> = endpoints(&app).expect("endpoints").into_keys().collect();
            assert!(paths.len() >= 4, "{name}: {paths:?}");
            for path in &paths {
                assert!(
                    fast.fixed.paths().any(|p| p == path),
                    "{name}: {path} has no fixed answer"
                );
                for method in [Method::GET, Method::HEAD] {
                    let a = answer(&fast, method.clone(), path).await;
                    let b = answer(&routed, method.clone(), path).await;
                    assert_eq!(a.0, StatusCode::OK, "{name}: {method} {path}");
                    assert_eq!(a, b, "{name}: {method} {path}");
                }
            }
            assert_eq!(
                fast.fixed.paths().count(),
                paths.len(),
                "{name}: no fixed answer without a route"
            );
        }
    }
}
