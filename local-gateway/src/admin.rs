//! The gateway's admin endpoint, the local counterpart of the three
//! Elastic Load Balancing calls a deploy needs: targets register themselves
//! through their labels (see [`crate::discovery`]), and here a deployer
//! reads their health (`DescribeTargetHealth`) and deregisters the ones it
//! replaces (`DeregisterTargets`). The routes and their types are in
//! [`crate::api`]; [`crate::client`] calls them.
//!
//! Why an endpoint and not a label: labels cannot change on a running
//! container, and a deploy must know *when* the gateway has stopped
//! sending to a target before it stops that target. With an endpoint the
//! gateway is the only judge of health and draining, and the deployer
//! waits on the gateway's own answer instead of guessing from timings.
//!
//! It lives under [`PREFIX`] on the gateway's own address, so that the
//! gateway's address is the one thing a second process needs to know, and
//! it answers loopback clients only: one route layer gives every other
//! client the listener rules' fixed response, as if the routes were not
//! there.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::api::{GatewayView, PREFIX};
use crate::rules;
use crate::targets::TargetGroups;

/// What the admin handlers read and change.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The fleet this gateway serves (its own address).
    pub fleet: String,
    /// The target groups.
    pub registry: Arc<TargetGroups>,
}

/// The admin routes, for loopback clients only. They carry their own state,
/// so they merge into a router of any state.
pub fn routes<S>(admin: Admin) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(&format!("{PREFIX}/targets"), get(targets))
        .route(
            &format!("{PREFIX}/targets/{{id}}/deregister"),
            post(deregister),
        )
        .route_layer(middleware::from_fn(loopback_only))
        .with_state(admin)
}

/// Lets loopback clients through; everybody else gets the fixed response.
async fn loopback_only(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if !peer.ip().is_loopback() {
        return rules::fixed_response();
    }
    next.run(request).await
}

async fn targets(State(admin): State<Admin>) -> Json<GatewayView> {
    Json(GatewayView {
        fleet: admin.fleet.clone(),
        targets: admin.registry.snapshot(Instant::now()),
    })
}

async fn deregister(State(admin): State<Admin>, Path(id): Path<String>) -> Response {
    match admin.registry.deregister(&id, Instant::now()) {
        Some(status) => {
            tracing::info!(container = %status.name, app = %status.app, "target deregistered: draining");
            Json(status).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": format!("no target {id}") })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn app() -> Router {
        let apps = [crate::testing::shipped("service-b")];
        routes(Admin {
            fleet: "127.0.0.1:8080".to_owned(),
            registry: Arc::new(TargetGroups::new(&apps)),
        })
    }

    async fn call(from: &str, method: &str, path: &str) -> (StatusCode, String) {
        let peer: SocketAddr = from.parse().expect("addr");
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("request");
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = app().oneshot(request).await.expect("infallible");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn only_loopback_clients_reach_the_admin_routes() {
        let (status, body) = call("127.0.0.1:4000", "GET", "/_gateway/targets").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("\"fleet\":\"127.0.0.1:8080\""), "{body}");
        let (status, body) = call("[::1]:4000", "GET", "/_gateway/targets").await;
        assert_eq!(status, StatusCode::OK, "{body}");

        for (method, path) in [
            ("GET", "/_gateway/targets"),
            ("POST", "/_gateway/targets/t1/deregister"),
        ] {
            assert_eq!(
                call("192.0.2.7:4000", method, path).await,
                (
                    rules::FIXED_RESPONSE_STATUS,
                    rules::FIXED_RESPONSE_BODY.to_owned()
                ),
                "{method} {path}"
            );
        }
    }
}
