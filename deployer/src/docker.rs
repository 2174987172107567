//! The connection to the Docker engine, shared by image builds and the
//! local fleet.
//!
//! `DOCKER_HOST` picks the engine as the docker CLI does; with
//! `DOCKER_TLS_VERIFY` set, the connection uses TLS with the client
//! certificates in `DOCKER_CERT_PATH` (a `docker:dind` sidecar, say). The API
//! version is negotiated, so older engines work too.

use std::time::Duration;

use anyhow::Context;
use bollard::Docker;

/// Long enough for a cold release build streamed through one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Connects to the engine and agrees on an API version with it.
pub async fn connect() -> anyhow::Result<Docker> {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let tls = std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty() && v != "0");
    let docker = if tls {
        Docker::connect_with_ssl_defaults()
    } else {
        Docker::connect_with_defaults()
    }
    .with_context(|| format!("cannot connect to the Docker engine at {host} (DOCKER_HOST)"))?
    .with_timeout(REQUEST_TIMEOUT);
    docker
        .negotiate_version()
        .await
        .with_context(|| format!("the Docker engine at {host} (DOCKER_HOST) does not answer"))
}
