//! A typed client of the gateway's admin API ([`crate::api`]), for the
//! processes that deploy: one fleet's gateway, its answers as values.

use std::time::Duration;

use axum::http::{Method, Uri};
use serde::Deserialize;

use crate::api::{GatewayView, TargetStatus, PREFIX};
use crate::error::Error;
use crate::fleet::Fleet;
use crate::http::{self, Client};

/// How long one admin call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to the gateway of one fleet.
#[derive(Debug, Clone)]
pub struct AdminClient {
    fleet: Fleet,
    client: Client,
}

impl AdminClient {
    /// The admin endpoint of `fleet`'s gateway.
    pub fn new(fleet: Fleet) -> Self {
        AdminClient {
            fleet,
            client: http::client(true),
        }
    }

    fn uri(&self, path: &str) -> Result<Uri, Error> {
        format!("http://{}{PREFIX}{path}", self.fleet.gateway())
            .parse()
            .map_err(Error::AdminAddress)
    }

    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        method: Method,
        path: &str,
    ) -> Result<T, Error> {
        let gateway = self.fleet.gateway();
        let (status, body) = http::call(&self.client, method, self.uri(path)?, CALL_TIMEOUT)
            .await
            .map_err(|cause| Error::GatewayDown {
                gateway,
                cause: Box::new(cause),
            })?;
        if !status.is_success() {
            return Err(Error::GatewayRefused {
                gateway,
                path: format!("{PREFIX}{path}"),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).trim().to_owned(),
            });
        }
        serde_json::from_slice(&body).map_err(|source| Error::NotAGateway {
            gateway,
            path: format!("{PREFIX}{path}"),
            source,
        })
    }

    /// Every target and its state, from the gateway that serves this fleet.
    pub async fn view(&self) -> Result<GatewayView, Error> {
        let view: GatewayView = self.call(Method::GET, "/targets").await?;
        if view.fleet != self.fleet.label() {
            return Err(Error::OtherFleet {
                gateway: self.fleet.gateway(),
                serves: view.fleet,
                expected: self.fleet.label(),
            });
        }
        Ok(view)
    }

    /// Deregisters target `id`: it gets no new requests and starts draining.
    pub async fn deregister(&self, id: &str) -> Result<TargetStatus, Error> {
        self.call(Method::POST, &format!("/targets/{id}/deregister"))
            .await
    }
}
