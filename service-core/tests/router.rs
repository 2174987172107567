//! The router and its layers, in process: every route the JSON defines,
//! the errors, and what the layers add to every answer.

use std::path::Path;

use app_config::{AppConfig, RuntimeEnv};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use service_core::identity::Identity;
use service_core::middleware::{self, App, BODY_LIMIT, SECURITY_HEADERS};
use service_core::routes;
use tower::ServiceExt;

fn app(name: &str) -> AppConfig {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config")
        .join(format!("{name}.json"));
    app_config::load(&file).expect("the app JSON loads")
}

fn env_of(app: &AppConfig) -> RuntimeEnv {
    RuntimeEnv::from_lookup(app, |var| match var {
        "APP_ENV" => Some("test".into()),
        "APP_VERSION" => Some("9.9.9".into()),
        _ => None,
    })
    .expect("env")
}

fn router_of(app: &AppConfig) -> App {
    routes::router(app, &env_of(app), Identity::new("test-host")).expect("router")
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn send(router: &App, method: Method, path: &str, body: Body) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(body)
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|err| panic!("{path}: not JSON ({err}): {bytes:?}"))
    };
    let answer = Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    };
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(
            answer.headers.get(&name).map(|v| v.as_bytes()),
            Some(value.as_bytes()),
            "{path}: {name}"
        );
    }
    assert!(
        answer.headers.contains_key("x-request-id"),
        "{path}: a request id is always set"
    );
    answer
}

async fn get_path(router: &App, path: &str) -> Answer {
    send(router, Method::GET, path, Body::empty()).await
}

#[tokio::test]
async fn every_microservice_of_both_apps_has_its_info_and_health_routes() {
    for name in ["service-a", "service-b"] {
        let app = app(name);
        let router = router_of(&app);
        for ms in &app.microservices {
            let info = get_path(&router, &format!("/{}", ms.name)).await;
            assert_eq!(info.status, StatusCode::OK);
            assert_eq!(info.headers["content-type"], "application/json");
            let expected = serde_json::json!({
                "microservice": ms.name,
                "app": app.app,
                "launch_type": app.launch_type.as_str(),
                "environment": "test",
                "port": app.port,
                "version": "9.9.9",
                "host": "test-host",
            });
            assert_eq!(info.body, expected);

            let health = get_path(&router, &ms.health_path()).await;
            assert_eq!(health.status, StatusCode::OK);
            assert_eq!(health.body["status"], "ok");
            assert_eq!(health.body["microservice"], ms.name.as_str());

            let head = send(
                &router,
                Method::HEAD,
                &format!("/{}", ms.name),
                Body::empty(),
            )
            .await;
            assert_eq!(head.status, StatusCode::OK, "HEAD follows GET");
        }
    }
}

#[tokio::test]
async fn unknown_paths_get_a_json_404_and_wrong_methods_a_json_405() {
    let router = router_of(&app("service-a"));
    for path in [
        "/",
        "/finance",
        "/medical/",
        "/medical/x/y",
        "/MEDICAL",
        "/medical%00",
    ] {
        let answer = get_path(&router, path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.body["status"], 404, "{path}");
        assert!(
            answer.body["error"]
                .as_str()
                .is_some_and(|e| e.contains("no route")),
            "{path}"
        );
    }
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let answer = send(&router, method.clone(), "/medical/health", Body::empty()).await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(answer.body["error"], "Method Not Allowed");
        assert_eq!(answer.headers["allow"], "GET,HEAD");
    }
}

#[tokio::test]
async fn the_callers_request_id_comes_back_and_a_missing_one_is_made() {
    let router = router_of(&app("service-b"));
    let request = Request::get("/finance")
        .header("x-request-id", "trace-me-42")
        .body(Body::empty())
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");

    let made = get_path(&router, "/payment").await;
    let id = made.headers["x-request-id"].to_str().expect("ascii");
    assert_eq!(id.len(), 36, "a UUID: {id}");
}

#[tokio::test]
async fn a_health_check_path_of_its_own_is_served_too() {
    let mut app = app("service-a");
    app.health_check.path = Some("/ping".into());
    let answer = get_path(&router_of(&app), "/ping").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["app"], "service-a");
    assert!(answer.body.get("microservice").is_none());
}

#[test]
fn clashing_routes_are_an_error_naming_the_field_not_a_panic() {
    let mut app = app("service-a");
    app.microservices[1].health_path = Some("/medical".into());
    let err = routes::router(&app, &env_of(&app), Identity::new("h")).expect_err("clash");
    assert_eq!(err.field, "microservices[1].health_path");
    assert!(err.reason.contains("microservices[0].name"), "{err}");

    let mut app = self::app("service-a");
    app.microservices[0].health_path = Some("/medical/{id}".into());
    let err = routes::router(&app, &env_of(&app), Identity::new("h")).expect_err("capture");
    assert_eq!(err.field, "microservices[0].health_path");
}

#[tokio::test]
async fn a_panicking_handler_answers_a_json_500_with_every_header() {
    let router = middleware::apply(Router::new().route(
        "/boom",
        get(|| async {
            panic!("planted");
            #[allow(unreachable_code)]
            ""
        }),
    ));
    let answer = get_path(&router, "/boom").await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.body["error"], "internal error");
}

#[tokio::test]
async fn a_body_over_the_limit_gets_a_json_413() {
    let router =
        middleware::apply(Router::new().route("/echo", post(|body: String| async move { body })));
    let small = send(&router, Method::POST, "/echo", Body::from("{}")).await;
    assert_eq!(small.status, StatusCode::OK);
    let big = send(
        &router,
        Method::POST,
        "/echo",
        Body::from(vec![b'x'; BODY_LIMIT + 1]),
    )
    .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(big.body["status"], 413);
}

#[tokio::test]
async fn a_get_announcing_a_body_over_the_limit_is_refused_on_a_fixed_route_too() {
    // The info and health routes are answered before the router (see
    // `FixedAnswers`); a request the body limit refuses must not be.
    let router = router_of(&app("service-a"));
    let request = Request::get("/medical")
        .header("content-length", (BODY_LIMIT + 1).to_string())
        .body(Body::from(vec![b'x'; BODY_LIMIT + 1]))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let within = Request::get("/medical")
        .header("content-length", "2")
        .body(Body::from("{}"))
        .expect("request");
    let response = router.clone().oneshot(within).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
}
