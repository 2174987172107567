//! Signals during a deploy, and what is under way on ECS when they come.
//!
//! The first SIGINT or SIGTERM cancels a token: each app's deploy stops
//! following, rolls back within a short bounded time and reports outcome
//! `interrupted` (exit code 9). A second signal does not wait for that: the
//! process writes the result at once, saying for each app what is still in
//! flight (the rollout, or the rollback), and exits with code 9.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

/// What each app has under way, by app name.
static IN_FLIGHT: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

fn lock() -> std::sync::MutexGuard<'static, BTreeMap<String, String>> {
    IN_FLIGHT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `app` now has `what` under way (`rolling out service-b:7 ...`).
pub fn set(app: &str, what: String) {
    lock().insert(app.to_owned(), what);
}

/// `app` has nothing under way any more.
pub fn clear(app: &str) {
    lock().remove(app);
}

/// What is under way, by app.
pub fn snapshot() -> Vec<(String, String)> {
    lock().iter().map(|(a, w)| (a.clone(), w.clone())).collect()
}

/// Watches SIGINT and SIGTERM from now on: the first cancels `token`, the
/// second calls `on_second`, which is expected to end the process.
pub fn watch(
    token: CancellationToken,
    on_second: impl FnOnce() + Send + 'static,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut signals = service_core::shutdown::Signals::register()
        .map_err(|err| anyhow::anyhow!("cannot watch SIGINT and SIGTERM: {err}"))?;
    Ok(tokio::spawn(async move {
        let first = signals.recv().await;
        tracing::warn!(
            "{first}: stopping the deploy and rolling back (a second signal exits at once)"
        );
        token.cancel();
        let second = signals.recv().await;
        tracing::warn!("{second} again: exiting now");
        on_second();
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_in_flight_is_kept_by_app() {
        set("in-flight-test-a", "rolling out a:2".to_owned());
        set("in-flight-test-b", "rolling back to b:1".to_owned());
        clear("in-flight-test-a");
        let now = snapshot();
        assert!(now.iter().all(|(a, _)| a != "in-flight-test-a"));
        assert!(now
            .iter()
            .any(|(a, w)| a == "in-flight-test-b" && w == "rolling back to b:1"));
        clear("in-flight-test-b");
    }
}
