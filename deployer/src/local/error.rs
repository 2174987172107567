//! What goes wrong in the local target, as values: each variant's message
//! is the sentence a person reads in a report or a log line.

/// An error of the local target.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The gateway, its admin API or the fleet's labels.
    #[error(transparent)]
    Gateway(#[from] local_gateway::Error),
    /// A new container stopped, or the engine could not say.
    #[error("{0}")]
    ContainerDied(String),
    /// The new targets were not healthy in time; why, target by target.
    #[error("{0}")]
    NotHealthy(String),
}
