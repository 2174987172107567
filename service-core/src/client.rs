//! HTTP requests with a deadline: [`get`] for the ECS task metadata endpoint
//! and the `healthcheck` probe (plain HTTP to a local endpoint), and
//! [`send`], the same on a client the caller keeps.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Body, Bytes};
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::connect::Connect;
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

/// GETs `url` on a fresh connection and returns the status and the whole
/// body, or fails once `timeout` has passed.
pub async fn get(url: &str, timeout: Duration) -> Result<(StatusCode, Bytes), GetError> {
    let uri: hyper::Uri =
        url.parse()
            .map_err(|err: hyper::http::uri::InvalidUri| GetError::Url {
                url: url.to_owned(),
                reason: err.to_string(),
            })?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let request = Request::get(uri)
        .body(Empty::new())
        .map_err(|err| GetError::Url {
            url: url.to_owned(),
            reason: err.to_string(),
        })?;
    send(&client, request, timeout).await
}

/// Sends `request` on `client` and returns the status and the whole body,
/// or fails once `timeout` has passed. The one timed request: the services'
/// probes above and deployer's local gateway and health checks use it.
pub async fn send<C, B>(
    client: &Client<C, B>,
    request: Request<B>,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), GetError>
where
    C: Connect + Clone + Send + Sync + 'static,
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let url = request.uri().to_string();
    let http_error = |err: &(dyn std::error::Error + 'static)| GetError::Http {
        url: url.clone(),
        reason: innermost(err),
    };
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|err| http_error(&err))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|err| http_error(&err))?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| GetError::Timeout {
            url: url.clone(),
            timeout,
        })?
}

/// The innermost cause of an error, which is the one a person recognises
/// (`Connection refused (os error 111)` rather than `client error (Connect)`).
pub fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = err;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}
