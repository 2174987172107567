//! What `service-a` and `service-b` share.
//!
//! An app is its JSON description (`config/<app>.json`) plus this crate:
//! [`routes`] turns every microservice in the JSON into its routes,
//! [`middleware`] wraps them in the layers every request goes through,
//! [`server`] serves them and drains on SIGTERM, and [`run`] is the whole
//! process, called by each app's `main`.

pub mod client;
pub mod exit;
pub mod first_read;
pub mod healthcheck;
pub mod identity;
pub mod listener;
pub mod middleware;
pub mod routes;
pub mod server;
pub mod settings;
pub mod shutdown;

mod entry;

pub use entry::run;
pub use settings::EmbeddedConfig;
