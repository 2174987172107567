//! The gateway's target groups: which containers each app has, how healthy
//! they are, which are draining, and whose turn it is.
//!
//! Everything here is plain data behind one mutex, held only for a few
//! comparisons, so that the proxy, the health checkers, discovery and the
//! admin endpoint see one consistent picture. In particular a request picks
//! its target and counts itself in flight under the same lock that
//! [`TargetGroups::deregister`] takes: once a deregistration returns, no new
//! request can reach that target, and its in-flight count only goes down.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use app_config::AppConfig;

use crate::api::{TargetState, TargetStatus};
use crate::fleet::FleetContainer;
use crate::health::{Check, Health, HealthState, Verdict};

/// What one app's target group is configured with.
#[derive(Debug, Clone)]
struct AppSettings {
    check: Check,
    deregistration_delay: Duration,
}

#[derive(Debug)]
struct Entry {
    container: FleetContainer,
    health: HealthState,
    /// Set by a deregistration: the moment the delay runs out.
    drain_until: Option<Instant>,
    in_flight: Arc<AtomicUsize>,
}

impl Entry {
    fn status(&self, now: Instant) -> TargetStatus {
        let in_flight = self.in_flight.load(Ordering::SeqCst);
        let state = match self.drain_until {
            // The ALB ends draining early once a target has nothing in flight.
            Some(until) if in_flight > 0 && now < until => TargetState::Draining,
            Some(_) => TargetState::Unused,
            None => self.health.health.into(),
        };
        TargetStatus {
            id: self.container.id.clone(),
            name: self.container.name.clone(),
            app: self.container.app.clone(),
            address: self.container.address(),
            version: self.container.version.clone(),
            revision: self.container.revision,
            container_state: self.container.state.clone(),
            state,
            reason: match state {
                TargetState::Draining | TargetState::Unused => Some("deregistered".to_owned()),
                _ => self.health.reason.clone(),
            },
            in_flight,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    targets: BTreeMap<String, Entry>,
    /// Round-robin position per app.
    cursors: HashMap<String, usize>,
}

/// A request's hold on its target: while it lives, the target counts the
/// request as in flight.
#[derive(Debug)]
pub struct Lease {
    address: SocketAddr,
    in_flight: Arc<AtomicUsize>,
}

impl Lease {
    /// Where to send the request.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How the targets changed in one [`TargetGroups::sync`].
#[derive(Debug, Default)]
pub struct Changes {
    /// Newly registered: their health checks must start.
    pub added: Vec<FleetContainer>,
    /// Gone from the engine: their health checks must stop.
    pub removed: Vec<FleetContainer>,
    /// Containers of apps this gateway has no rules for.
    pub ignored: Vec<FleetContainer>,
}

/// A health state change, for the log.
#[derive(Debug)]
pub struct Transition {
    /// The target.
    pub target: FleetContainer,
    /// Its new state.
    pub health: Health,
    /// The last failure, when it failed.
    pub reason: Option<String>,
}

/// Every app's targets.
#[derive(Debug)]
pub struct TargetGroups {
    apps: HashMap<String, AppSettings>,
    inner: Mutex<Inner>,
}

impl TargetGroups {
    /// Empty target groups for `apps`.
    pub fn new(apps: &[AppConfig]) -> Self {
        TargetGroups {
            apps: apps
                .iter()
                .map(|app| {
                    let settings = AppSettings {
                        check: Check::of(app),
                        deregistration_delay: Duration::from_secs(u64::from(
                            app.deploy.deregistration_delay_seconds,
                        )),
                    };
                    (app.app.clone(), settings)
                })
                .collect(),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the plain data inside
        // half-updated in a way that matters more than stopping traffic would.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The health check of `app`'s target group.
    pub fn check(&self, app: &str) -> Option<&Check> {
        self.apps.get(app).map(|s| &s.check)
    }

    /// Makes the registered targets the fleet's `containers`: new ones are
    /// registered (in the initial state), vanished ones deregistered, and
    /// known ones keep their health and drain state.
    pub fn sync(&self, containers: Vec<FleetContainer>) -> Changes {
        let mut changes = Changes::default();
        let mut inner = self.lock();
        let mut seen = std::collections::HashSet::new();
        for container in containers {
            if !self.apps.contains_key(&container.app) {
                changes.ignored.push(container);
                continue;
            }
            seen.insert(container.id.clone());
            match inner.targets.get_mut(&container.id) {
                Some(entry) => entry.container = container,
                None => {
                    changes.added.push(container.clone());
                    inner.targets.insert(
                        container.id.clone(),
                        Entry {
                            container,
                            health: HealthState::default(),
                            drain_until: None,
                            in_flight: Arc::new(AtomicUsize::new(0)),
                        },
                    );
                }
            }
        }
        let gone: Vec<String> = inner
            .targets
            .keys()
            .filter(|id| !seen.contains(*id))
            .cloned()
            .collect();
        for id in gone {
            if let Some(entry) = inner.targets.remove(&id) {
                changes.removed.push(entry.container);
            }
        }
        changes
    }

    /// The next target for a request to `app`, round robin over its healthy
    /// targets. Like the ALB, when none is healthy it fails open over the
    /// unhealthy ones; targets still in their initial checks or deregistered
    /// never get traffic. `None` when there is nobody to send to.
    pub fn pick(&self, app: &str) -> Option<Lease> {
        let mut inner = self.lock();
        let Inner { targets, cursors } = &mut *inner;
        let serving = |health: Health| -> Vec<&Entry> {
            targets
                .values()
                .filter(|e| {
                    e.container.app == app && e.drain_until.is_none() && e.health.health == health
                })
                .collect()
        };
        let mut candidates = serving(Health::Healthy);
        if candidates.is_empty() {
            candidates = serving(Health::Unhealthy);
        }
        if candidates.is_empty() {
            return None;
        }
        let cursor = cursors.entry(app.to_owned()).or_insert(0);
        let entry = candidates[*cursor % candidates.len()];
        *cursor = cursor.wrapping_add(1);
        entry.in_flight.fetch_add(1, Ordering::SeqCst);
        Some(Lease {
            address: entry.container.address(),
            in_flight: Arc::clone(&entry.in_flight),
        })
    }

    /// Counts one health check of target `id`. Returns the change of state,
    /// if any.
    pub fn record(&self, id: &str, verdict: Verdict) -> Option<Transition> {
        let mut inner = self.lock();
        let entry = inner.targets.get_mut(id)?;
        let settings = &self.apps.get(&entry.container.app)?.check.settings;
        let health = entry.health.record(verdict, settings)?;
        Some(Transition {
            target: entry.container.clone(),
            health,
            reason: entry.health.reason.clone(),
        })
    }

    /// Deregisters target `id`: from now on it gets no new requests, and it
    /// drains for its app's deregistration delay, or less if it has nothing
    /// in flight. Deregistering twice keeps the first deadline.
    pub fn deregister(&self, id: &str, now: Instant) -> Option<TargetStatus> {
        let mut inner = self.lock();
        let entry = inner.targets.get_mut(id)?;
        let delay = self
            .apps
            .get(&entry.container.app)
            .map(|s| s.deregistration_delay)
            .unwrap_or_default();
        entry.drain_until.get_or_insert(now + delay);
        Some(entry.status(now))
    }

    /// Every target, ordered by app, revision and name.
    pub fn snapshot(&self, now: Instant) -> Vec<TargetStatus> {
        let inner = self.lock();
        let mut targets: Vec<TargetStatus> =
            inner.targets.values().map(|e| e.status(now)).collect();
        targets.sort_by(|a, b| (&a.app, a.revision, &a.name).cmp(&(&b.app, b.revision, &b.name)));
        targets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str, delay: u32) -> AppConfig {
        let mut cfg = crate::testing::shipped("service-b");
        cfg.app = name.to_owned();
        cfg.deploy.deregistration_delay_seconds = delay;
        cfg.health_check.healthy_threshold = 2;
        cfg.health_check.unhealthy_threshold = 2;
        cfg
    }

    use crate::testing::container;

    fn healthy(registry: &TargetGroups, id: &str) {
        registry.record(id, Verdict::Pass);
        registry.record(id, Verdict::Pass);
    }

    fn ports(registry: &TargetGroups, app: &str, n: usize) -> Vec<u16> {
        (0..n)
            .map(|_| registry.pick(app).map(|l| l.address().port()).unwrap_or(0))
            .collect()
    }

    #[test]
    fn only_healthy_targets_get_traffic_in_turn() {
        let r = TargetGroups::new(&[app("b", 15)]);
        let changes = r.sync(vec![
            container("1", "b", 1001),
            container("2", "b", 1002),
            container("3", "b", 1003),
            container("x", "other", 9),
        ]);
        assert_eq!(changes.added.len(), 3);
        assert_eq!(changes.ignored.len(), 1);
        assert!(r.pick("b").is_none(), "initial targets get nothing");
        healthy(&r, "1");
        healthy(&r, "3");
        assert_eq!(ports(&r, "b", 4), vec![1001, 1003, 1001, 1003]);
        assert!(r.pick("nope").is_none());
    }

    #[test]
    fn an_unhealthy_target_leaves_rotation_and_all_unhealthy_fails_open() {
        let r = TargetGroups::new(&[app("b", 15)]);
        r.sync(vec![container("1", "b", 1001), container("2", "b", 1002)]);
        healthy(&r, "1");
        healthy(&r, "2");
        let fail = || Verdict::Fail("refused".into());
        assert!(r.record("2", fail()).is_none());
        let t = r.record("2", fail()).expect("a transition");
        assert_eq!(t.health, Health::Unhealthy);
        assert_eq!(ports(&r, "b", 3), vec![1001, 1001, 1001]);
        r.record("1", fail());
        r.record("1", fail());
        let mut both = ports(&r, "b", 4);
        both.sort_unstable();
        assert_eq!(both, vec![1001, 1001, 1002, 1002], "fails open");
    }

    #[test]
    fn a_deregistered_target_gets_nothing_new_and_drains() {
        let r = TargetGroups::new(&[app("b", 15)]);
        r.sync(vec![
            container("t1-old", "b", 1001),
            container("t2-new", "b", 1002),
        ]);
        healthy(&r, "t1-old");
        healthy(&r, "t2-new");
        let t0 = Instant::now();
        let in_flight = r.pick("b").expect("a target");
        assert_eq!(in_flight.address().port(), 1001);
        let status = r.deregister("t1-old", t0).expect("known");
        assert_eq!((status.state, status.in_flight), (TargetState::Draining, 1));
        assert_eq!(ports(&r, "b", 3), vec![1002, 1002, 1002]);
        let state = |at| {
            r.snapshot(at)
                .into_iter()
                .find(|t| t.id == "t1-old")
                .map(|t| t.state)
        };
        assert_eq!(
            state(t0 + Duration::from_secs(1)),
            Some(TargetState::Draining)
        );
        assert_eq!(
            state(t0 + Duration::from_secs(16)),
            Some(TargetState::Unused),
            "delay over"
        );
        drop(in_flight);
        assert_eq!(
            state(t0),
            Some(TargetState::Unused),
            "idle ends draining early"
        );
        r.deregister("t1-old", t0 + Duration::from_secs(100));
        assert!(r.deregister("ghost", t0).is_none());
    }

    #[test]
    fn sync_keeps_health_and_forgets_removed_containers() {
        let r = TargetGroups::new(&[app("b", 15)]);
        r.sync(vec![container("1", "b", 1001), container("2", "b", 1002)]);
        healthy(&r, "1");
        let mut stopped = container("1", "b", 1001);
        stopped.state = "exited".into();
        let changes = r.sync(vec![stopped]);
        assert!(changes.added.is_empty());
        assert_eq!(changes.removed.len(), 1);
        let snapshot = r.snapshot(Instant::now());
        assert_eq!(snapshot.len(), 1);
        assert_eq!(
            snapshot[0].state,
            TargetState::Healthy,
            "health checks, not Docker, decide"
        );
        assert_eq!(snapshot[0].container_state, "exited");
    }
}
