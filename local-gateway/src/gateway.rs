//! The gateway: the local stand-in for the ALB. An axum server whose only
//! route of its own is the admin endpoint; everything else goes through the
//! listener rules to a healthy target of the matching app, proxied with
//! hyper-util's client, or gets the rules' fixed response.
//!
//! Like the ALB it adds `X-Forwarded-For`, `-Proto` and `-Port`, answers
//! `502` when a target cannot be reached, `503` when an app has no target to
//! send to, and `504` when a target takes longer than the idle timeout.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{StatusCode, Uri, Version};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body_util::BodyExt;
use tokio::net::TcpListener;

use crate::admin::{self, Admin};
use crate::http::{self, Client};
use crate::rules::{self, Rules};
use crate::targets::TargetGroups;

/// The ALB's default idle timeout: how long a target may take to answer.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What every request handler needs.
#[derive(Debug)]
pub struct Gateway {
    /// The fleet's label value, reported by the admin endpoint.
    pub fleet: String,
    /// The port the gateway listens on, for `X-Forwarded-Port`.
    pub port: u16,
    /// The listener rules.
    pub rules: Rules,
    /// The target groups.
    pub registry: Arc<TargetGroups>,
    /// Pooled connections to the targets.
    pub client: Client,
}

/// The gateway's router: the admin endpoint, and the proxy for the rest.
pub fn router(gateway: Arc<Gateway>) -> Router {
    let admin = Admin {
        fleet: gateway.fleet.clone(),
        registry: Arc::clone(&gateway.registry),
    };
    admin::routes(admin).fallback(proxy).with_state(gateway)
}

/// Serves `gateway` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        // Small requests and answers: send them at once.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        router(gateway).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Routes one request by the listener rules and proxies it.
async fn proxy(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let Some(app) = gateway.rules.route(request.uri().path()) else {
        return rules::fixed_response();
    };
    let Some(lease) = gateway.registry.pick(app) else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable");
    };
    let target = lease.address();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let uri: Uri = match format!("http://{target}{path}").parse() {
        Ok(uri) => uri,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "Bad request"),
    };
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    strip_hop_by_hop(request.headers_mut());
    forwarded_headers(request.headers_mut(), peer, gateway.port);

    let answer = tokio::time::timeout(IDLE_TIMEOUT, gateway.client.request(request)).await;
    match answer {
        Ok(Ok(response)) => {
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            // The lease rides along with the body, so the target counts the
            // request in flight until the last byte has gone to the client.
            let body = body.map_frame(move |frame| {
                let _in_flight = &lease;
                frame
            });
            Response::from_parts(parts, Body::new(body))
        }
        Ok(Err(err)) => {
            tracing::warn!(%target, app, error = %http::describe(&err), "target did not answer");
            plain(StatusCode::BAD_GATEWAY, "Bad gateway")
        }
        Err(_) => {
            tracing::warn!(%target, app, "target did not answer within the idle timeout");
            plain(StatusCode::GATEWAY_TIMEOUT, "Gateway timeout")
        }
    }
}

/// A short text answer, as the ALB gives its own errors.
fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// Headers that describe one connection, not the message: a proxy must not
/// pass them on (RFC 9110, section 7.6.1), nor any header `Connection` names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

/// The headers the ALB adds: the client's address appended to
/// `X-Forwarded-For`, the protocol and the listener's port.
fn forwarded_headers(headers: &mut HeaderMap, peer: SocketAddr, listener_port: u16) {
    let forwarded_for = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(chain) => format!("{chain}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&forwarded_for) {
        headers.insert("x-forwarded-for", value);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
    headers.insert("x-forwarded-port", HeaderValue::from(listener_port));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::FleetContainer;
    use crate::health::Verdict;
    use axum::http::Method;

    /// An upstream that echoes what the gateway forwarded.
    async fn upstream() -> SocketAddr {
        let app = Router::new().fallback(|headers: HeaderMap, uri: Uri| async move {
            let forwarded = headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            format!("{} from {forwarded}", uri)
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    /// A gateway for service-b with one target at `target`, healthy or not.
    async fn gateway(target: SocketAddr, healthy: bool) -> (SocketAddr, Arc<TargetGroups>) {
        let app = crate::testing::shipped("service-b");
        let registry = Arc::new(TargetGroups::new(std::slice::from_ref(&app)));
        registry.sync(vec![FleetContainer {
            name: "service-b-1".into(),
            ..crate::testing::container("t1", "service-b", target.port())
        }]);
        if healthy {
            for _ in 0..app.health_check.healthy_threshold {
                registry.record("t1", Verdict::Pass);
            }
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let gateway = Arc::new(Gateway {
            fleet: addr.to_string(),
            port: addr.port(),
            rules: Rules::new(&[app]).expect("rules"),
            registry: Arc::clone(&registry),
            client: http::client(true),
        });
        tokio::spawn(serve(listener, gateway, std::future::pending::<()>()));
        (addr, registry)
    }

    async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        let uri: Uri = format!("http://{addr}{path}").parse().expect("uri");
        let (status, body) = http::call(
            &http::client(false),
            Method::GET,
            uri,
            Duration::from_secs(5),
        )
        .await
        .expect("the gateway answers");
        (status.as_u16(), String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn requests_reach_a_healthy_target_and_nothing_reaches_a_new_one() {
        let target = upstream().await;
        let (healthy, _) = gateway(target, true).await;
        assert_eq!(
            get(healthy, "/finance/x?y=1").await,
            (200, "/finance/x?y=1 from 127.0.0.1".to_owned())
        );
        assert_eq!(
            get(healthy, "/other").await,
            (404, rules::FIXED_RESPONSE_BODY.to_owned())
        );

        let (initial, registry) = gateway(target, false).await;
        assert_eq!(
            get(initial, "/finance").await.0,
            503,
            "no healthy target yet"
        );
        registry.deregister("t1", std::time::Instant::now());
        assert_eq!(get(initial, "/finance").await.0, 503);
    }

    #[tokio::test]
    async fn a_target_that_refuses_gets_a_502() {
        let closed = test_harness::closed_port();
        let (addr, _) = gateway(closed.addr(), true).await;
        assert_eq!(get(addr, "/payment").await, (502, "Bad gateway".to_owned()));
    }

    #[tokio::test]
    async fn the_admin_endpoint_reports_and_deregisters_targets() {
        let target = upstream().await;
        let (addr, _) = gateway(target, true).await;
        let admin = crate::client::AdminClient::new(crate::fleet::Fleet::new(addr));
        let view = admin.view().await.expect("view");
        assert_eq!(view.fleet, addr.to_string());
        assert_eq!(view.targets.len(), 1);
        assert_eq!(view.targets[0].state, crate::api::TargetState::Healthy);
        let status = admin.deregister("t1").await.expect("deregistered");
        assert_eq!(
            status.state,
            crate::api::TargetState::Unused,
            "idle: drained at once"
        );
        assert_eq!(get(addr, "/finance").await.0, 503);
        let err = admin
            .deregister("ghost")
            .await
            .expect_err("unknown target")
            .to_string();
        assert!(
            err.contains("HTTP 404") && err.contains("no target ghost"),
            "{err}"
        );
    }

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key(header::CONTENT_TYPE));
    }

    #[test]
    fn forwarded_for_appends_the_client() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        let peer: SocketAddr = "127.0.0.1:5555".parse().expect("addr");
        forwarded_headers(&mut headers, peer, 8080);
        assert_eq!(headers["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(headers["x-forwarded-proto"], "http");
        assert_eq!(headers["x-forwarded-port"], "8080");
    }
}
