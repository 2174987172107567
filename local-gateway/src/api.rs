//! The admin API's types: what the gateway's admin endpoint answers, and
//! what [`crate::client::AdminClient`] reads. The routes, all under
//! [`PREFIX`] on the gateway's own address and for loopback clients only:
//!
//! * `GET /_gateway/targets`: a [`GatewayView`], the fleet and every
//!   target's [`TargetStatus`].
//! * `POST /_gateway/targets/{id}/deregister`: deregisters target `id` and
//!   answers its [`TargetStatus`] (draining, or unused when it has nothing
//!   in flight); `404` with `{"error": "no target <id>"}` for an unknown id.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::fleet::FleetContainer;
use crate::health::Health;

/// Where the admin endpoint lives on the gateway.
pub const PREFIX: &str = "/_gateway";

/// `GET /_gateway/targets`: the fleet and every target's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GatewayView {
    /// The fleet this gateway serves (its own address).
    pub fleet: String,
    /// Every registered target.
    pub targets: Vec<TargetStatus>,
}

/// A target's state, in the ALB's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// Registered; health checks have not passed `healthy_threshold` times yet.
    Initial,
    /// Gets traffic.
    Healthy,
    /// Failing its health checks; gets no traffic.
    Unhealthy,
    /// Deregistered; finishing the requests it has, getting no new ones.
    Draining,
    /// Deregistered and idle (or its delay ran out): safe to stop.
    Unused,
    /// The gateway does not answer, so nobody knows.
    Unknown,
}

impl TargetState {
    /// The lowercase name used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Initial => "initial",
            TargetState::Healthy => "healthy",
            TargetState::Unhealthy => "unhealthy",
            TargetState::Draining => "draining",
            TargetState::Unused => "unused",
            TargetState::Unknown => "unknown",
        }
    }
}

impl From<Health> for TargetState {
    fn from(health: Health) -> Self {
        match health {
            Health::Initial => TargetState::Initial,
            Health::Healthy => TargetState::Healthy,
            Health::Unhealthy => TargetState::Unhealthy,
        }
    }
}

/// One target as the admin endpoint and the status table show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetStatus {
    /// The container id.
    pub id: String,
    /// The container name.
    pub name: String,
    /// The app.
    pub app: String,
    /// Where it answers.
    pub address: SocketAddr,
    /// The version (image tag).
    pub version: String,
    /// The local revision.
    pub revision: u32,
    /// Docker's state of the container: `running`, `exited`, ...
    pub container_state: String,
    /// Its state as a target.
    pub state: TargetState,
    /// Why it is not healthy, when it is not.
    pub reason: Option<String>,
    /// Requests it is answering now.
    pub in_flight: usize,
}

impl TargetStatus {
    /// A container's row when the gateway cannot be asked.
    pub fn unknown(container: &FleetContainer, reason: &str) -> Self {
        TargetStatus {
            id: container.id.clone(),
            name: container.name.clone(),
            app: container.app.clone(),
            address: container.address(),
            version: container.version.clone(),
            revision: container.revision,
            container_state: container.state.clone(),
            state: TargetState::Unknown,
            reason: Some(reason.to_owned()),
            in_flight: 0,
        }
    }
}
