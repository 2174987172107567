//! The HTTP client every part of the gateway uses: the proxy, the health
//! checks, and the admin client. It is hyper-util's pooled client, so keep-alive connections to
//! each target are reused under load.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, Uri};

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
/// The innermost cause of an error (`Connection refused (os error 111)`).
pub use service_core::client::innermost as describe;
use service_core::client::GetError;

use crate::error::Error;

/// The client type: plain HTTP on 127.0.0.1, axum bodies.
pub type Client = hyper_util::client::legacy::Client<HttpConnector, Body>;

/// How long establishing a connection may take. Every peer is on this
/// machine, so anything slower is a stuck process.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A client. `pooled` keeps idle keep-alive connections for reuse (the
/// proxy); without it every request opens a fresh connection, which is what
/// a health check should do, so that a target that stopped listening fails
/// its very next check.
pub fn client(pooled: bool) -> Client {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let mut builder = hyper_util::client::legacy::Client::builder(TokioExecutor::new());
    builder.pool_idle_timeout(Duration::from_secs(30));
    if !pooled {
        builder.pool_max_idle_per_host(0);
    }
    builder.build(connector)
}

/// Sends a body-less request and reads the whole answer, within `timeout`
/// (service-core's timed request). The error says what went wrong in words
/// fit for a health check reason.
pub async fn call(
    client: &Client,
    method: Method,
    uri: Uri,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), Error> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .map_err(Error::Request)?;
    service_core::client::send(client, request, timeout)
        .await
        .map_err(|err| match err {
            GetError::Timeout { timeout, .. } => Error::NoAnswer(timeout),
            GetError::Http { reason, .. } | GetError::Url { reason, .. } => Error::Exchange(reason),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_is_described_as_refused() {
        let closed = test_harness::closed_port();
        let uri: Uri = format!("http://{}/", closed.addr()).parse().expect("uri");
        let err = call(&client(false), Method::GET, uri, Duration::from_secs(2))
            .await
            .expect_err("nothing listens")
            .to_string();
        assert!(err.to_lowercase().contains("refused"), "{err}");
    }

    #[tokio::test]
    async fn a_silent_peer_times_out() {
        // Accepts connections (the kernel does) but never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let uri: Uri = format!("http://{}/", listener.local_addr().expect("addr"))
            .parse()
            .expect("uri");
        let err = call(&client(false), Method::GET, uri, Duration::from_millis(300))
            .await
            .expect_err("no answer")
            .to_string();
        assert!(err.starts_with("no answer within"), "{err}");
    }
}
