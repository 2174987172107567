//! The deployer's library: everything but argument parsing and the exit.
//!
//! * [`image`] builds and pushes images through the Docker engine (bollard).
//! * [`ecs`] renders, registers, rolls out, follows, rolls back and prunes
//!   on ECS.
//! * [`local`] runs the same apps on the local Docker engine behind a
//!   gateway that applies the load balancer's rules.
//! * [`cost`] prices the stack under a week of demand (`deployer cost`).

pub mod alarms;
pub mod apps;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod cost;
pub mod docker;
pub mod ecs;
pub mod exit;
pub mod image;
pub mod in_flight;
pub mod local;
pub mod logs;
pub mod output;
pub mod progress;
pub mod report;
pub mod taskdef;
