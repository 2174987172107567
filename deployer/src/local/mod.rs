//! The local target: the fleet on the local Docker engine behind a gateway
//! that applies the load balancer's rules.
//!
//! * [`up`]: `deployer up` runs the fleet and its gateway; `deployer down`
//!   removes what a dead `up` left.
//! * [`rollout`]: `deployer <app> --target local`, the deploy cycle.
//! * [`status`]: `deployer status --target local`.
//!
//! The parts: [`fleet`] (which containers belong to a fleet, by label),
//! [`container`] (task definition to container), [`images`], [`rules`]
//! (listener rules), [`health`] (target health checks), [`targets`] (the
//! target groups), [`discovery`] (targets from the engine), [`gateway`]
//! (the proxy), [`admin`] (the gateway's admin endpoint), [`table`] and
//! [`live`] (what a person sees), and [`http`] (the one HTTP client).

use std::time::Instant;

use crate::cli::{DeployArgs, DownArgs, GlobalArgs, StatusArgs, UpArgs};
use crate::report::Report;

pub mod admin;
pub mod container;
pub mod discovery;
pub mod fleet;
pub mod gateway;
pub mod health;
pub mod http;
pub mod images;
pub mod live;
pub mod rollout;
pub mod rules;
pub mod status;
pub mod table;
pub mod targets;
pub mod up;

/// The `target` of every local report.
const TARGET: &str = "local";

/// The environment (`APP_ENV`) local containers run as, unless
/// `--environment` says otherwise.
const LOCAL_ENVIRONMENT: &str = "local";

/// `deployer up`.
pub async fn up(global: &GlobalArgs, args: &UpArgs, started: Instant) -> anyhow::Result<Report> {
    up::up(global, args, started).await
}

/// `deployer down`.
pub async fn down(
    global: &GlobalArgs,
    args: &DownArgs,
    started: Instant,
) -> anyhow::Result<Report> {
    up::down(global, args, started).await
}

/// `deployer deploy --target local`.
pub async fn deploy(
    global: &GlobalArgs,
    args: &DeployArgs,
    started: Instant,
) -> anyhow::Result<Report> {
    rollout::deploy(global, args, started).await
}

/// `deployer status --target local`.
pub async fn status(
    global: &GlobalArgs,
    args: &StatusArgs,
    started: Instant,
) -> anyhow::Result<Report> {
    status::status(global, args, started).await
}
