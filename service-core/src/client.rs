//! A small HTTP GET with a deadline, for the ECS task metadata endpoint and
//! the `healthcheck` probe. Plain HTTP only: both talk to a local endpoint.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::StatusCode;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Why a GET got no answer.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    /// The URL cannot be parsed.
    #[error("invalid URL `{url}`: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// No complete answer before the deadline.
    #[error("no answer from {url} within {timeout:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The deadline.
        timeout: Duration,
    },
    /// The connection or the exchange failed.
    #[error("GET {url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// GETs `url` and returns the status and the whole body, or fails once
/// `timeout` has passed.
pub async fn get(url: &str, timeout: Duration) -> Result<(StatusCode, Bytes), GetError> {
    let uri: hyper::Uri =
        url.parse()
            .map_err(|err: hyper::http::uri::InvalidUri| GetError::Url {
                url: url.to_owned(),
                reason: err.to_string(),
            })?;
    let http_error = |reason: String| GetError::Http {
        url: url.to_owned(),
        reason,
    };
    let exchange = async {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let response = client
            .get(uri)
            .await
            .map_err(|err| http_error(err.to_string()))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|err| http_error(err.to_string()))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| GetError::Timeout {
            url: url.to_owned(),
            timeout,
        })?
}
