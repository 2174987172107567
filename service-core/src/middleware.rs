//! The layers every request goes through, outermost first:
//!
//! 1. request id: keep the caller's `x-request-id` or make one, and send it
//!    back on the response;
//! 2. access log: one line per request with method, path, status,
//!    latency and request id;
//! 3. security headers on every response, errors included;
//! 4. JSON errors: a bodiless error from a layer below (405, 408, 413, 503)
//!    gets a JSON body like the routes' own errors;
//! 5. catch panic: a panicking handler answers a JSON 500 instead of
//!    dropping the connection;
//! 6. timeout and body limit.

use std::any::Any;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

/// The request id header, set when the caller sent none and always echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How long a handler may take before the caller gets a 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request body accepted; the routes take none.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Sent with every response. The routes serve JSON only, so the content
/// security policy allows nothing at all.
pub const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (X_FRAME_OPTIONS, "DENY"),
    (REFERRER_POLICY, "no-referrer"),
    (
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (CACHE_CONTROL, "no-store"),
];

/// Wraps `router` in every layer above. Each `layer` call wraps what is
/// already there, so they are listed innermost first.
pub fn apply(router: Router) -> Router {
    let mut router = router
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::map_response(json_errors));
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
        .layer(axum::middleware::from_fn(access_log))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// A JSON error: `{"error": message, "status": code}`.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message, "status": status.as_u16() });
    (status, Json(body)).into_response()
}

/// Logs one event per request. The fields sit on the event itself, not on
/// a span, because the JSON log lines carry event fields only: one line is
/// then one complete record for CloudWatch Logs Insights.
async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let response = next.run(request).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms,
        request_id = %request_id,
        "request"
    );
    response
}

/// Gives a JSON body to error responses that have none: the bodiless 405
/// of a route, the 503 of the timeout, the 413 of the body limit, the
/// plain-text rejection of an extractor.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_error || is_json {
        return response;
    }
    let (mut parts, _empty) = response.into_parts();
    let json = error_response(status, status.canonical_reason().unwrap_or("error"));
    let (json_parts, body) = json.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.extend(json_parts.headers);
    Response::from_parts(parts, body)
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %detail, "handler panicked");
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}
