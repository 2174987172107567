//! The HTTP server and its graceful shutdown.
//!
//! On SIGTERM or SIGINT the server stops admitting connections without
//! resetting any that clients already saw established (see
//! [`crate::listener`]), closes the listener, and lets every open
//! connection finish the request it is on; idle keep-alive connections are
//! closed at once. It then returns, and the process exits 0. The drain is
//! bounded by [`DRAIN_DEADLINE`], well inside the 30 s ECS waits between
//! SIGTERM and SIGKILL; a second signal ends it early.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

use crate::listener::Listener;
use crate::shutdown::Signals;

/// The longest the server waits for open connections after a signal.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(20);

/// After refusing new connections, the accept queue counts as empty once
/// no connection has come out of it for this long. Handshakes under way
/// complete within one round trip, which on the same host or behind a load
/// balancer in the same VPC is far below this.
pub const QUEUE_QUIET: Duration = Duration::from_millis(100);

/// How long a connection may take to send a request's headers, idle
/// keep-alive time included. Longer than the ALB's default 60 s idle
/// timeout, so that the load balancer, not the app, closes idle
/// connections and never sends a request on one the app just closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(75);

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every connection finished.
    Complete,
    /// The deadline or a second signal cut this many connections.
    Cut(usize),
}

/// Serves `router` on `listener` until a signal arrives, then drains.
pub async fn serve(listener: Listener, router: Router, mut signals: Signals) -> Drained {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connections = Connections {
        builder,
        graceful: GracefulShutdown::new(),
        open: Arc::new(()),
        router,
    };

    let signal = loop {
        tokio::select! {
            signal = signals.recv() => break signal,
            accepted = listener.accept() => match accepted {
                Ok(stream) => connections.serve(stream),
                Err(err) => accept_failed(&err).await,
            },
        }
    };

    tracing::info!(signal, "shutting down: refusing new connections");
    if let Err(err) = listener.refuse_new_connections() {
        tracing::warn!(error = %err, "cannot refuse new connections first; connections still queued will be reset");
    }
    while let Some(accepted) = listener.accept_queued(QUEUE_QUIET).await {
        match accepted {
            Ok(stream) => connections.serve(stream),
            Err(err) => accept_failed(&err).await,
        }
    }
    drop(listener);

    let Connections { graceful, open, .. } = connections;
    let still_open = || Arc::strong_count(&open) - 1;
    tracing::info!(
        open = still_open(),
        deadline_s = DRAIN_DEADLINE.as_secs(),
        "listener closed; draining open connections"
    );
    let why = tokio::select! {
        () = graceful.shutdown() => {
            tracing::info!("drained: every connection finished");
            return Drained::Complete;
        }
        () = tokio::time::sleep(DRAIN_DEADLINE) => "the drain deadline passed",
        signal = signals.recv() => signal,
    };
    let cut = still_open();
    tracing::warn!(why, cut, "stopping with connections still open");
    Drained::Cut(cut)
}

/// Accept errors are per connection (the peer left) or transient (out of
/// file descriptors); a short pause keeps the loop from spinning.
async fn accept_failed(err: &std::io::Error) {
    tracing::warn!(error = %err, "accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

struct Connections {
    builder: auto::Builder<TokioExecutor>,
    graceful: GracefulShutdown,
    /// One clone per live connection: the strong count less one is how
    /// many are open.
    open: Arc<()>,
    router: Router,
}

impl Connections {
    fn serve(&self, stream: tokio::net::TcpStream) {
        // Small JSON answers: send each at once rather than wait for more.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(self.router.clone());
        let connection = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = self.graceful.watch(connection);
        let open = Arc::clone(&self.open);
        tokio::spawn(async move {
            let _open = open;
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
}
