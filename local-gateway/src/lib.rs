//! The local stand-in for the Application Load Balancer: it routes by the
//! listener rules of the app JSON to the healthy targets of each app, which
//! it finds on the Docker engine by their labels, and it answers the few
//! load-balancer calls a deploy needs on a small admin API.
//!
//! * [`rules`]: the listener rules and their fixed response.
//! * [`health`]: target health checks.
//! * [`targets`]: the target groups (registration, health, draining, turns).
//! * [`labels`] and [`fleet`]: the label contract with the container
//!   controller, and the fleet's containers as those labels describe them.
//! * [`discovery`]: keeps the target groups in step with the engine.
//! * [`gateway`]: the proxy, and the server that puts it together.
//! * [`admin`]: the admin API's server; [`api`]: its types; [`client`]: a
//!   typed client for it.
//! * [`http`]: the one HTTP client everything here uses.
//! * [`error`]: what goes wrong, as values.

pub mod admin;
pub mod api;
pub mod client;
pub mod discovery;
pub mod error;
pub mod fleet;
pub mod gateway;
pub mod health;
pub mod http;
pub mod labels;
pub mod rules;
pub mod targets;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::Error;
