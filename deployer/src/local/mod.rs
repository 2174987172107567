//! The local target: the fleet on the local Docker engine behind a gateway
//! that applies the load balancer's rules. The gateway itself (rules,
//! health checks, target groups, discovery, the proxy and its admin API) is
//! the `local-gateway` crate; this module runs it and drives the fleet.
//!
//! * [`up`]: `deployer up` runs the fleet and its gateway; `deployer down`
//!   removes what a dead `up` left.
//! * [`rollout`]: `deployer <app> --target local`, the deploy cycle.
//! * [`status`]: `deployer status --target local`.
//!
//! The container controller: [`fleet`] (which fleet a command means, the
//! labels and names of its containers), [`container`] (task definition to
//! container) and [`images`]. What a person sees: [`table`] and [`live`].
//! And [`error`] (what goes wrong, as values).

pub mod container;
pub mod error;
pub mod fleet;
pub mod images;
pub mod live;
pub mod rollout;
pub mod status;
pub mod table;
#[cfg(test)]
mod testing;
pub mod up;

pub use error::Error;
pub use rollout::deploy;
pub use status::status;
pub use up::{down, up};

/// A report on `app` from the local platform, its outcome still to be set.
fn report(app: &str) -> crate::report::AppReport {
    crate::report::AppReport::new(app, crate::cli::Platform::Local.name())
}

/// The environment (`APP_ENV`) local containers run as, unless
/// `--environment` says otherwise.
const LOCAL_ENVIRONMENT: &str = "local";

/// What `deploy` and `status` start from: the apps named on the command
/// line, the fleet `DEPLOYER_GATEWAY` names, and the engine.
async fn open(
    global: &crate::cli::GlobalArgs,
    names: &[String],
) -> anyhow::Result<(Vec<crate::apps::ResolvedApp>, fleet::Fleet, bollard::Docker)> {
    let targets = crate::apps::resolve(global, names, LOCAL_ENVIRONMENT)?;
    let fleet = fleet::from_env()?;
    let docker = crate::docker::connect().await?;
    Ok((targets, fleet, docker))
}
