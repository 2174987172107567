//! The layers every request goes through, outermost first:
//!
//! 1. the edge ([`Edge`]), one service for what every answer needs:
//!    - request id: keep the caller's `x-request-id` or make one, and send
//!      it back on the response;
//!    - access log: one line per request with method, path, status,
//!      latency and request id;
//!    - security headers on every response, errors included;
//!    - JSON errors: a bodiless error from a layer below (405, 413) gets a JSON body like the routes' own errors;
//! 2. catch panic: a panicking handler answers a JSON 500 instead of
//!    dropping the connection;
//! 3. body limit.
//!
//! There is no request timeout layer: every handler answers from memory on
//! its first poll (no handler awaits anything), so a timeout could never
//! fire, and arming its timer cost about 5 % of a request's CPU time (see
//! bench/README.md). A slow client is bounded by hyper's header read
//! timeout instead. A handler that awaits I/O must bring its own timeout
//! (as the ECS metadata look-up does) or put `TimeoutLayer` back.
//!
//! The edge was five `SetResponseHeaderLayer`s, two request-id layers and
//! two `axum::middleware` functions; one service does the same work with
//! one boxed future per request instead of five, and its header values are
//! built once (see bench/README.md for what each layer cost).

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::BoxError;
use axum::{Json, Router};
use hyper::body::{Body as HttpBody, Bytes};
use tower::{Layer, Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

/// The request id header, set when the caller sent none and always echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

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

/// Wraps `router` in every layer above, listed outermost first.
pub fn apply(router: Router) -> Router {
    // One `layer` call with the whole stack: each call wraps (and boxes)
    // the routes once more.
    router.layer(
        ServiceBuilder::new()
            .layer(EdgeLayer)
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
    )
}

/// A new request id: a random (version 4) UUID from a fast thread-local
/// generator. Request ids only tell requests apart in the logs; they are
/// no secret, so they need no cryptographic generator (and no system call
/// per request).
pub fn new_request_id() -> HeaderValue {
    let uuid = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = uuid.hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// Adds [`Edge`] around a service.
#[derive(Debug, Clone, Copy, Default)]
pub struct EdgeLayer;

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge { inner }
    }
}

/// Request id, access log, security headers and JSON errors (see the
/// module documentation), in one service.
#[derive(Debug, Clone)]
pub struct Edge<S> {
    inner: S,
}

impl<S, B> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let started = Instant::now();
        let request_id = match request.headers().get(&REQUEST_ID) {
            Some(id) => id.clone(),
            None => {
                let id = new_request_id();
                request.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        let method = request.method().clone();
        let uri = request.uri().clone();
        // The clone that was made ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let Ok(response) = inner.call(request).await;
            let mut response = json_errors(response.map(Body::new));
            let status = response.status();
            let headers = response.headers_mut();
            for (name, value) in SECURITY_HEADERS {
                headers.insert(name, HeaderValue::from_static(value));
            }
            headers.insert(REQUEST_ID, request_id.clone());
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            // The fields sit on the event itself, not on a span, because
            // the JSON log lines carry event fields only: one line is then
            // one complete record for CloudWatch Logs Insights. Plain
            // `&str` values are written as they are, with no formatting.
            tracing::info!(
                target: telemetry::ACCESS_LOG_TARGET,
                method = method.as_str(),
                path = uri.path(),
                status = status.as_u16(),
                latency_ms,
                request_id = request_id.to_str().unwrap_or("(not text)"),
                "request"
            );
            Ok(response)
        })
    }
}

/// A JSON error: `{"error": message, "status": code}`.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message, "status": status.as_u16() });
    (status, Json(body)).into_response()
}

/// Gives a JSON body to error responses that have none: the bodiless 405
/// of a route, the 413 of the body limit, the
/// plain-text rejection of an extractor.
fn json_errors(response: Response) -> Response {
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
