//! How the gateway learns its targets: from the engine, the way Traefik's
//! Docker provider does. Every container labelled with this fleet is a
//! target of its app (see [`crate::labels`]); a container event for the
//! fleet is the doorbell, and a fresh listing is the truth, so a missed or
//! reordered event costs nothing. A listing also runs every few seconds in
//! case the event stream itself breaks.
//!
//! A container stays registered while it exists, running or not: as on the
//! ALB, it is the health checks that take a dead target out of rotation.
//! It is deregistered when it is removed, or through the admin endpoint.
//!
//! Registrations and health changes are logged at debug level: the live
//! view of `deployer up` reports them itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::EventsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use crate::error;
use crate::fleet::{self, Fleet, FleetContainer};
use crate::health::Check;
use crate::http::Client;
use crate::labels;
use crate::targets::TargetGroups;

/// How often the targets are listed even without events.
const RESYNC_EVERY: Duration = Duration::from_secs(5);
/// How long to wait before reconnecting a broken event stream.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Keeps `registry` in step with the fleet's containers and runs a health
/// checker per target, until `stop` is cancelled.
pub async fn run(
    docker: Docker,
    fleet: Fleet,
    registry: Arc<TargetGroups>,
    probes: Client,
    stop: CancellationToken,
) {
    let mut checkers: HashMap<String, AbortHandle> = HashMap::new();
    let mut resync = tokio::time::interval(RESYNC_EVERY);
    'connect: while !stop.is_cancelled() {
        let filters = HashMap::from([
            ("type".to_owned(), vec!["container".to_owned()]),
            (
                "label".to_owned(),
                vec![format!("{}={}", labels::FLEET, fleet.label())],
            ),
        ]);
        let mut events = docker.events(Some(
            EventsOptionsBuilder::default().filters(&filters).build(),
        ));
        // Whatever happened while the stream was down is picked up here.
        sync(&docker, &fleet, &registry, &probes, &mut checkers).await;
        loop {
            tokio::select! {
                () = stop.cancelled() => break 'connect,
                _ = resync.tick() => {}
                event = events.next() => match event {
                    Some(Ok(_)) => {}
                    Some(Err(err)) => {
                        tracing::warn!(error = %err, "Docker event stream failed; reconnecting");
                        tokio::time::sleep(RECONNECT_AFTER).await;
                        continue 'connect;
                    }
                    None => {
                        tokio::time::sleep(RECONNECT_AFTER).await;
                        continue 'connect;
                    }
                },
            }
            sync(&docker, &fleet, &registry, &probes, &mut checkers).await;
        }
    }
    for (_, checker) in checkers {
        checker.abort();
    }
}

/// Lists the fleet, updates the registry, and starts or stops checkers.
async fn sync(
    docker: &Docker,
    fleet: &Fleet,
    registry: &Arc<TargetGroups>,
    probes: &Client,
    checkers: &mut HashMap<String, AbortHandle>,
) {
    let containers = match fleet::list(docker, fleet).await {
        Ok(containers) => containers,
        Err(err) => {
            tracing::warn!(error = %error::chain(&err), "cannot list the fleet's targets");
            return;
        }
    };
    let changes = registry.sync(containers);
    for gone in changes.removed {
        tracing::debug!(container = %gone.name, app = %gone.app, "target deregistered: container removed");
        if let Some(checker) = checkers.remove(&gone.id) {
            checker.abort();
        }
    }
    for ignored in changes.ignored {
        tracing::debug!(container = %ignored.name, app = %ignored.app, "no rules for this app; ignored");
    }
    for target in changes.added {
        let Some(check) = registry.check(&target.app).cloned() else {
            continue;
        };
        tracing::debug!(
            container = %target.name, app = %target.app, address = %target.address(),
            version = %target.version, "target registered"
        );
        let checker = tokio::spawn(check_forever(
            Arc::clone(registry),
            target.clone(),
            check,
            probes.clone(),
        ));
        checkers.insert(target.id, checker.abort_handle());
    }
}

/// Probes one target every interval, from the moment it is registered,
/// until it is deregistered (and this task aborted).
async fn check_forever(
    registry: Arc<TargetGroups>,
    target: FleetContainer,
    check: Check,
    client: Client,
) {
    let mut ticks = tokio::time::interval(check.interval());
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let verdict = check.probe(&client, target.address()).await;
        if let Some(change) = registry.record(&target.id, verdict) {
            let reason = change.reason.unwrap_or_default();
            tracing::debug!(
                container = %change.target.name, app = %change.target.app,
                health = ?change.health, %reason, "target health changed"
            );
        }
    }
}
