//! What goes wrong in the gateway and its client, as values: each variant's
//! message is the sentence a person reads in a report or a log line.

use std::net::SocketAddr;
use std::time::Duration;

/// An error of the gateway or of its admin client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request could not be built.
    #[error("bad request: {0}")]
    Request(#[source] axum::http::Error),
    /// The peer did not answer before the deadline.
    #[error("no answer within {}", humantime::format_duration(*.0))]
    NoAnswer(Duration),
    /// The connection or the exchange failed; the innermost cause, which is
    /// the one a person recognises (`Connection refused (os error 111)`).
    #[error("{0}")]
    Exchange(String),
    /// The gateway's admin address is not a URI.
    #[error("bad admin address: {0}")]
    AdminAddress(#[source] axum::http::uri::InvalidUri),
    /// Nothing answers on the gateway's admin endpoint.
    #[error("the gateway at {gateway} does not answer ({cause}): is `deployer up` running?")]
    GatewayDown {
        /// The gateway.
        gateway: SocketAddr,
        /// Why the call failed.
        cause: Box<Error>,
    },
    /// The admin endpoint refused a call.
    #[error("the gateway at {gateway} answered {path} with HTTP {status}: {body}")]
    GatewayRefused {
        /// The gateway.
        gateway: SocketAddr,
        /// The admin path called.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The answer's body, trimmed.
        body: String,
    },
    /// The answer is not the admin API's JSON.
    #[error("the gateway at {gateway} is not a deployer gateway: {path}: {source}")]
    NotAGateway {
        /// The gateway.
        gateway: SocketAddr,
        /// The admin path called.
        path: String,
        /// Why the answer does not parse.
        source: serde_json::Error,
    },
    /// The gateway at the address serves another fleet.
    #[error("the gateway at {gateway} serves the fleet {serves}, not {expected}")]
    OtherFleet {
        /// The gateway.
        gateway: SocketAddr,
        /// The fleet it serves.
        serves: String,
        /// The fleet asked for.
        expected: String,
    },
    /// A container of the fleet lacks one of its labels.
    #[error("label {0} is missing")]
    MissingLabel(String),
    /// A container label holds something else than it should.
    #[error("label {key}={value} is not {expected}")]
    BadLabel {
        /// The label.
        key: String,
        /// Its value.
        value: String,
        /// What it should be (`a number`, `a port`).
        expected: &'static str,
    },
    /// The engine listed a container without an id.
    #[error("the engine gave no id")]
    NoContainerId,
    /// The engine could not list the fleet's containers.
    #[error("cannot list the containers of the fleet at {fleet}")]
    ListFleet {
        /// The fleet's label value.
        fleet: String,
        /// The engine's error.
        source: bollard::errors::Error,
    },
    /// Two listener rules share a priority, which makes the order ambiguous
    /// (and the ALB refuses it).
    #[error(
        "listener rule priority {priority} is used by both {first} ({first_app}) and \
         {second} ({second_app}): priorities must be unique across apps"
    )]
    SharedPriority {
        /// The priority.
        priority: u32,
        /// The first rule's microservice.
        first: String,
        /// Its app.
        first_app: String,
        /// The second rule's microservice.
        second: String,
        /// Its app.
        second_app: String,
    },
}

/// `err` and its causes on one line, outermost first, as `anyhow` writes
/// them with `{:#}`.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
