//! The gateway's admin endpoint, the local counterpart of the three
//! Elastic Load Balancing calls a deploy needs: targets register themselves
//! through their labels (see [`super::discovery`]), and here a deployer
//! reads their health (`DescribeTargetHealth`) and deregisters the ones it
//! replaces (`DeregisterTargets`).
//!
//! Why an endpoint and not a label: labels cannot change on a running
//! container, and a deploy must know *when* the gateway has stopped
//! sending to a target before it stops that target. With an endpoint the
//! gateway is the only judge of health and draining, and the deployer
//! waits on the gateway's own answer instead of guessing from timings.
//!
//! It lives under [`PREFIX`] on the gateway's own address, so that
//! `DEPLOYER_GATEWAY` is the one thing a second `deployer` process needs to
//! know, and it answers loopback clients only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::error::Error;
use super::fleet::Fleet;
use super::gateway::Gateway;
use super::http::{self, Client};
use super::rules;
use super::targets::TargetStatus;

/// Where the admin endpoint lives on the gateway.
pub const PREFIX: &str = "/_gateway";

/// How long one admin call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET /_gateway/targets`: the fleet and every target's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GatewayView {
    /// The fleet this gateway serves (its own address).
    pub fleet: String,
    /// Every registered target.
    pub targets: Vec<TargetStatus>,
}

/// The admin routes.
pub fn routes() -> Router<Arc<Gateway>> {
    Router::new()
        .route(&format!("{PREFIX}/targets"), get(targets))
        .route(
            &format!("{PREFIX}/targets/{{id}}/deregister"),
            post(deregister),
        )
}

async fn targets(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if !peer.ip().is_loopback() {
        return rules::fixed_response();
    }
    Json(GatewayView {
        fleet: gateway.fleet.clone(),
        targets: gateway.registry.snapshot(Instant::now()),
    })
    .into_response()
}

async fn deregister(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> Response {
    if !peer.ip().is_loopback() {
        return rules::fixed_response();
    }
    match gateway.registry.deregister(&id, Instant::now()) {
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

/// A deployer's connection to the gateway of one fleet.
#[derive(Debug, Clone)]
pub struct AdminClient {
    fleet: Fleet,
    client: Client,
}

impl AdminClient {
    /// The admin endpoint of `fleet`'s gateway.
    pub fn new(fleet: Fleet) -> Self {
        AdminClient {
            fleet,
            client: http::client(true),
        }
    }

    fn uri(&self, path: &str) -> Result<Uri, Error> {
        format!("http://{}{PREFIX}{path}", self.fleet.gateway())
            .parse()
            .map_err(Error::AdminAddress)
    }

    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        method: Method,
        path: &str,
    ) -> Result<T, Error> {
        let gateway = self.fleet.gateway();
        let (status, body) = http::call(&self.client, method, self.uri(path)?, CALL_TIMEOUT)
            .await
            .map_err(|cause| Error::GatewayDown {
                gateway,
                cause: Box::new(cause),
            })?;
        if !status.is_success() {
            return Err(Error::GatewayRefused {
                gateway,
                path: format!("{PREFIX}{path}"),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).trim().to_owned(),
            });
        }
        serde_json::from_slice(&body).map_err(|source| Error::NotAGateway {
            gateway,
            path: format!("{PREFIX}{path}"),
            source,
        })
    }

    /// Every target and its state, from the gateway that serves this fleet.
    pub async fn view(&self) -> Result<GatewayView, Error> {
        let view: GatewayView = self.call(Method::GET, "/targets").await?;
        if view.fleet != self.fleet.label() {
            return Err(Error::OtherFleet {
                gateway: self.fleet.gateway(),
                serves: view.fleet,
                expected: self.fleet.label(),
            });
        }
        Ok(view)
    }

    /// Deregisters target `id`: it gets no new requests and starts draining.
    pub async fn deregister(&self, id: &str) -> Result<TargetStatus, Error> {
        self.call(Method::POST, &format!("/targets/{id}/deregister"))
            .await
    }
}
