//! The layers every request goes through, outermost first:
//!
//! 1. the edge ([`Edge`]), one service for what every answer needs:
//!    - request id: keep the caller's `x-request-id` or make one, and send
//!      it back on the response;
//!    - access log: one line per request with method, path, status,
//!      latency and request id;
//!    - security headers on every response, errors included;
//!    - JSON errors: a bodiless error from a layer below (405, 413) gets a
//!      JSON body like the routes' own errors;
//!    - fixed answers ([`FixedAnswers`]): a `GET` or `HEAD` of a path whose
//!      answer is the same for every request (every info and health route
//!      of the apps) is answered here, without what follows;
//! 2. axum's router, with under it:
//! 3. catch panic: a panicking handler answers a JSON 500 instead of
//!    dropping the connection;
//! 4. body limit.
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
//! one boxed future per request instead of five (none for a fixed answer),
//! and its header values are built once. It sits outside the router, not
//! inside it as a `Router::layer` would put it, so that a fixed answer
//! skips routing (see bench/README.md for what each part cost).

use std::any::Any;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::BoxError;
use axum::{Json, Router};
use futures_util::future::Either;
use hyper::body::{Body as HttpBody, Bytes};
use tower::{Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

/// The request id header, set when the caller sent none and always echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The largest request body accepted; the routes take none.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Sent with every response. The routes serve JSON only, so the content
/// security policy allows nothing at all.
pub const SECURITY_HEADERS: [(HeaderName, &str); SECURITY_HEADER_COUNT] = [
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (X_FRAME_OPTIONS, "DENY"),
    (REFERRER_POLICY, "no-referrer"),
    (
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (CACHE_CONTROL, "no-store"),
];

/// The service an app serves: [`Edge`] around a router with the layers
/// below it.
pub type App = Edge<Router>;

/// Wraps `router` in every layer above, listed outermost first.
pub fn apply(router: Router) -> App {
    apply_with_fixed(router, FixedAnswers::default())
}

/// As [`apply`], with answers that [`Edge`] gives itself, without the
/// router (see [`FixedAnswers`]). `router` must serve the same paths, for
/// every request the fast path passes on.
pub fn apply_with_fixed(router: Router, fixed: FixedAnswers) -> App {
    // One `layer` call with the whole stack: each call wraps (and boxes)
    // the routes once more.
    let router = router.layer(
        ServiceBuilder::new()
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
    );
    Edge {
        inner: router,
        fixed,
    }
}

/// A JSON body that is the same for every request to one path.
pub type FixedBody = Arc<dyn Fn() -> Bytes + Send + Sync>;

/// Answers known before any request comes: a `GET` or `HEAD` of one of
/// these paths is answered by [`Edge`] itself, as a `200` with the JSON
/// body, without the router, its boxed future, catch panic or the body
/// limit (a body producer that serves a prebuilt `Bytes` cannot panic, and
/// a request announcing a body over the limit goes to the router, which
/// refuses it). This is the apps' every info and health route: the
/// router and its layers cost about a fifth of such a request's CPU time
/// (bench/HISTORY.md). Any other method on these paths, and any other path,
/// goes to the router, which answers it as before (405 with `Allow`, 404).
///
/// The paths are a list, not a hash map: an app has a handful, and
/// comparing a path with each costs less than hashing it once.
#[derive(Clone, Default)]
pub struct FixedAnswers(Arc<[(String, FixedBody)]>);

impl FixedAnswers {
    /// The answers for these paths.
    pub fn new(answers: HashMap<String, FixedBody>) -> FixedAnswers {
        FixedAnswers(answers.into_iter().collect())
    }

    /// The paths answered.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(path, _)| path.as_str())
    }

    fn answer<B>(&self, request: &Request<B>) -> Option<Bytes> {
        if self.0.is_empty() {
            return None;
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return None;
        }
        let within_limit = match request.headers().get(CONTENT_LENGTH) {
            None => true,
            Some(length) => std::str::from_utf8(length.as_bytes())
                .ok()
                .and_then(|l| l.parse::<usize>().ok())
                .is_some_and(|l| l <= BODY_LIMIT),
        };
        if !within_limit {
            return None;
        }
        let path = request.uri().path();
        self.0
            .iter()
            .find(|(fixed, _)| fixed == path)
            .map(|(_, body)| body())
    }
}

impl std::fmt::Debug for FixedAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.paths()).finish()
    }
}

/// A `200` with a JSON body, its length in `content-length`. Its header
/// map has room for the headers [`Edge`] adds, so adding them does not
/// grow it.
pub fn json_ok(body: Bytes) -> Response {
    let length = HeaderValue::from(body.len());
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    *headers = json_headers();
    headers.insert(CONTENT_LENGTH, length);
    response
}

/// A header map with the JSON content type and room for a length and the
/// headers [`Edge`] adds.
fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(2 + EDGE_HEADERS);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers
}

/// Sets the headers [`Edge`] adds to every answer: the security headers
/// and the request id.
fn insert_edge_headers(headers: &mut HeaderMap, request_id: HeaderValue) {
    headers.reserve(EDGE_HEADERS);
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(REQUEST_ID, request_id);
}

/// How many [`SECURITY_HEADERS`] there are: named apart, as a constant
/// cannot read the array's `len()` (its header names have destructors).
const SECURITY_HEADER_COUNT: usize = 5;

/// How many headers [`Edge`] adds to every answer: the security headers
/// and the request id.
const EDGE_HEADERS: usize = SECURITY_HEADER_COUNT + 1;

/// A fixed answer's headers but its request id: the JSON content type and
/// the security headers, built once and cloned for each answer. The
/// request id is here too, as a placeholder each answer replaces, so that
/// setting it replaces a value and does not grow the cloned map. Eight
/// inserts, each hashing its name, cost more than the clone (see
/// bench/README.md, "Profile").
static FIXED_ANSWER_HEADERS: LazyLock<HeaderMap> = LazyLock::new(|| {
    let mut headers = json_headers();
    insert_edge_headers(&mut headers, HeaderValue::from_static("-"));
    headers
});

/// A fixed answer: a `200` with the JSON body and every header [`Edge`]
/// adds, `request_id` among them. hyper writes the `content-length` of a
/// body it knows the length of; a `HEAD` gets no body, so the length of
/// the one a `GET` gets is set here, as the router answers.
fn fixed_answer(method: &Method, body: Bytes, request_id: HeaderValue) -> Response {
    let head = method == Method::HEAD;
    let length = head.then(|| HeaderValue::from(body.len()));
    let mut response = Response::new(if head {
        Body::empty()
    } else {
        Body::from(body)
    });
    let headers = response.headers_mut();
    *headers = FIXED_ANSWER_HEADERS.clone();
    headers.insert(REQUEST_ID, request_id);
    if let Some(length) = length {
        headers.insert(CONTENT_LENGTH, length);
    }
    response
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

/// Request id, access log, security headers, JSON errors and the
/// [`FixedAnswers`] (see the module documentation), in one service.
#[derive(Debug, Clone)]
pub struct Edge<S> {
    pub(crate) inner: S,
    pub(crate) fixed: FixedAnswers,
}

/// What the access-log line of a request needs from the request.
struct Seen {
    started: Instant,
    method: Method,
    uri: Uri,
    request_id: HeaderValue,
}

impl Seen {
    /// Adds the headers every answer gets to the router's answer, and logs
    /// the request.
    fn finish(self, mut response: Response) -> Response {
        self.log(response.status());
        insert_edge_headers(response.headers_mut(), self.request_id);
        response
    }

    /// Answers with `body` from [`FixedAnswers`], and logs the request.
    fn fixed(self, body: Bytes) -> Response {
        self.log(StatusCode::OK);
        fixed_answer(&self.method, body, self.request_id)
    }

    /// Writes the request's access-log line.
    fn log(&self, status: StatusCode) {
        telemetry::log_access(&telemetry::AccessRecord {
            method: self.method.as_str(),
            path: self.uri.path(),
            status: status.as_u16(),
            latency: self.started.elapsed(),
            request_id: self.request_id.to_str().unwrap_or("(not text)"),
        });
    }
}

type BoxedAnswer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S, B, ReqB> Service<Request<ReqB>> for Edge<S>
where
    S: Service<Request<ReqB>, Response = Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    ReqB: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, BoxedAnswer>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let started = Instant::now();
        let given_id = request.headers().get(&REQUEST_ID).cloned();
        if let Some(body) = self.fixed.answer(&request) {
            let (parts, _body) = request.into_parts();
            let seen = Seen {
                started,
                method: parts.method,
                uri: parts.uri,
                request_id: given_id.unwrap_or_else(new_request_id),
            };
            return Either::Left(ready(Ok(seen.fixed(body))));
        }
        let request_id = match given_id {
            Some(id) => id,
            None => {
                let id = new_request_id();
                request.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        let seen = Seen {
            started,
            method: request.method().clone(),
            uri: request.uri().clone(),
            request_id,
        };
        // The clone that was made ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Either::Right(Box::pin(async move {
            let Ok(response) = inner.call(request).await;
            Ok(seen.finish(json_errors(response.map(Body::new))))
        }))
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
