//! The HTTP server and its graceful shutdown.
//!
//! On SIGTERM or SIGINT the server:
//!
//! 1. stops admitting connections without resetting any that clients
//!    already saw established (see [`crate::listener`]), and closes the
//!    listener;
//! 2. tells every open connection to finish: a request under way is
//!    answered (with `Connection: close`), an idle keep-alive connection
//!    is closed, and a connection that has not sent its first request yet
//!    gets [`FIRST_REQUEST_GRACE`] to send it;
//! 3. returns once every connection has finished, and the process exits 0.
//!
//! The drain is bounded by [`DRAIN_DEADLINE`], well inside the 30 s ECS
//! waits between SIGTERM and SIGKILL; a second signal ends it early.

use std::sync::Arc;
use std::time::Duration;

use crate::middleware::App;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::first_read::FirstRead;
use crate::listener::Listener;
use crate::shutdown::Signals;

/// The longest the server waits for open connections after a signal.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(20);

/// After refusing new connections, the accept queue counts as empty once
/// no connection has come out of it for this long. Handshakes under way
/// complete within one round trip, which on the same host or behind a load
/// balancer in the same VPC is far below this.
pub const QUEUE_QUIET: Duration = Duration::from_millis(100);

/// The longest the server takes connections from the accept queue after
/// refusing new ones.
pub const QUEUE_DRAIN_LIMIT: Duration = Duration::from_secs(1);

/// How long a connection established before the signal may take to send
/// its first request bytes during the drain.
pub const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(2);

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

/// Serves `app` on `listener` until a signal arrives, then drains.
pub async fn serve(listener: Listener, app: App, mut signals: Signals) -> Drained {
    let connections = Connections::new(app);

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
        tracing::info!(error = %err, "the kernel refused the SYN filter; closing after a last sweep of the accept queue");
    }
    // Bounded, for when the refusal failed and connections keep coming.
    let _ = tokio::time::timeout(QUEUE_DRAIN_LIMIT, async {
        while let Some(accepted) = listener.accept_queued(QUEUE_QUIET).await {
            match accepted {
                Ok(stream) => connections.serve(stream),
                Err(err) => accept_failed(&err).await,
            }
        }
    })
    .await;
    for stream in listener.close() {
        connections.serve(stream);
    }

    tracing::info!(
        open = connections.tasks.len(),
        deadline_s = DRAIN_DEADLINE.as_secs(),
        "listener closed; draining open connections"
    );
    connections.shutdown.cancel();
    connections.tasks.close();
    let why = tokio::select! {
        () = connections.tasks.wait() => {
            tracing::info!("drained: every connection finished");
            return Drained::Complete;
        }
        () = tokio::time::sleep(DRAIN_DEADLINE) => "the drain deadline passed",
        signal = signals.recv() => signal,
    };
    let cut = connections.tasks.len();
    tracing::warn!(why, cut, "stopping with connections still open");
    Drained::Cut(cut)
}

/// Accept errors are per connection (the peer left) or transient (out of
/// file descriptors); a short pause keeps the loop from spinning.
async fn accept_failed(err: &std::io::Error) {
    tracing::warn!(error = %err, "accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// The open connections: one task each, and the token that starts their
/// shutdown.
struct Connections {
    builder: http1::Builder,
    app: App,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl Connections {
    fn new(app: App) -> Connections {
        // HTTP/1.1 only: it is what the ALB speaks to its targets.
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT);
        Connections {
            builder,
            app,
            tasks: TaskTracker::new(),
            shutdown: CancellationToken::new(),
        }
    }

    fn serve(&self, stream: TcpStream) {
        // Small JSON answers: send each at once rather than wait for more.
        let _ = stream.set_nodelay(true);
        let (stream, first_read) = FirstRead::new(stream);
        let service = TowerToHyperService::new(self.app.clone());
        let connection = self.builder.serve_connection(TokioIo::new(stream), service);
        self.tasks
            .spawn(drive(connection, first_read, self.shutdown.clone()));
    }
}

/// Runs one connection; once `shutdown` fires, lets it finish gracefully.
///
/// The connection is hyper-util's [`GracefulConnection`], but not watched by
/// its `GracefulShutdown`: that signals every connection at the same moment,
/// and hyper closes at once a connection it has read nothing from, while a
/// connection here gets [`FIRST_REQUEST_GRACE`] to send its first request
/// before it is told to finish.
async fn drive<C>(connection: C, first_read: Arc<Notify>, shutdown: CancellationToken)
where
    C: GracefulConnection<Error = hyper::Error>,
{
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => return ended(result),
        () = shutdown.cancelled() => {}
    }
    // hyper would close a connection it has read nothing from at once; give
    // the client that saw it established a moment to send its request.
    tokio::select! {
        result = connection.as_mut() => return ended(result),
        () = first_read.notified() => {}
        () = tokio::time::sleep(FIRST_REQUEST_GRACE) => {}
    }
    connection.as_mut().graceful_shutdown();
    ended(connection.await);
}

fn ended(result: hyper::Result<()>) {
    if let Err(err) = result {
        tracing::debug!(error = %err, "connection ended with an error");
    }
}
