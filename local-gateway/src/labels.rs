//! The label contract between the container controller and the gateway.
//!
//! Every container of a fleet carries these Docker labels: the controller
//! (deployer's `local::container`) writes them when it creates a container,
//! and [`crate::discovery`] reads them back (through
//! [`crate::fleet::FleetContainer::from_summary`]) to register the
//! container as a target of its app. Labels cannot change on a running
//! container, so everything here is fixed at creation.

/// The fleet a container belongs to: its gateway's address
/// (`127.0.0.1:8080`). Discovery filters the engine's containers by it.
pub const FLEET: &str = "ecs-pipeline.fleet";
/// The app the container runs: the target group it joins.
pub const APP: &str = "ecs-pipeline.app";
/// The port the app listens on, on 127.0.0.1: where the target answers.
pub const PORT: &str = "ecs-pipeline.port";
/// The version (image tag) the container runs.
pub const VERSION: &str = "ecs-pipeline.version";
/// The local revision: 1 for `deployer up`, one more for every deploy.
pub const REVISION: &str = "ecs-pipeline.revision";

/// Every key of the contract, in the order above.
pub const ALL: [&str; 5] = [FLEET, APP, PORT, VERSION, REVISION];
