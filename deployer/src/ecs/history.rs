//! Where `deployer rollback <app>` goes back to, kept on the service itself.
//!
//! The service carries the tag `deployer:rollback-history`: the revisions
//! it ran before, newest first, separated by spaces (`service-b:6
//! service-b:4`), at most [`LIMIT`] of them. A tag lives as long as the
//! service, is visible to anyone with `ecs:ListTagsForResource`, and needs
//! no other storage.
//!
//! * A deploy records the revision that was PRIMARY before it, on top,
//!   *before* it updates the service, so the record exists even if the
//!   process dies mid-rollout. If the rollout fails and the rollback
//!   succeeds, the record is put back as it was.
//! * `deployer rollback <app>` takes the top entry (skipping entries equal
//!   to the running revision), and on success removes it. A second
//!   `rollback` therefore goes one more deploy back, not forth again.
//! * `deployer rollback <app> --revision N` leaves the record alone,
//!   except that it removes N if N is on top.
//! * Pruning never deregisters a revision the record names.

use aws_sdk_ecs::types::Service;

use super::revision;

/// The tag key.
pub const TAG_KEY: &str = super::tags::ROLLBACK_HISTORY;

/// How many revisions the record keeps.
pub const LIMIT: usize = 5;

/// ECS tag values are at most this long.
const TAG_VALUE_MAX: usize = 256;

/// The recorded revisions, newest first, as `family:revision`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History(Vec<String>);

impl History {
    /// The record on `service` (empty when it has none). Entries that are
    /// not `family:revision` are ignored, with a warning.
    pub fn of(service: &Service) -> Self {
        let value = service
            .tags()
            .iter()
            .find(|t| t.key() == Some(TAG_KEY))
            .and_then(|t| t.value())
            .unwrap_or_default();
        Self::parse(value)
    }

    /// Parses a tag value.
    pub fn parse(value: &str) -> Self {
        let entries = value
            .split_whitespace()
            .filter(|entry| {
                let ok = revision::number(entry).is_some() && !revision::family(entry).is_empty();
                if !ok {
                    tracing::warn!("tag {TAG_KEY}: ignoring `{entry}`, not family:revision");
                }
                ok
            })
            .map(str::to_owned)
            .collect();
        History(entries)
    }

    /// The tag value.
    pub fn tag_value(&self) -> String {
        self.0.join(" ")
    }

    /// The revisions, newest first.
    pub fn entries(&self) -> &[String] {
        &self.0
    }

    /// The record after a deploy away from `previous`.
    pub fn pushed(&self, previous: &str) -> Self {
        let previous = revision::name(previous);
        let mut entries = vec![previous.clone()];
        entries.extend(self.0.iter().filter(|e| **e != previous).cloned());
        entries.truncate(LIMIT);
        while entries.join(" ").len() > TAG_VALUE_MAX && entries.len() > 1 {
            entries.pop();
        }
        History(entries)
    }

    /// Where `rollback` goes from `running`: the newest entry that is not
    /// the running revision, and the record once it has gone there.
    pub fn target(&self, running: &str) -> Option<(String, History)> {
        let skip = self
            .0
            .iter()
            .take_while(|e| revision::same(e, running))
            .count();
        let target = self.0.get(skip)?.clone();
        Some((target, History(self.0[skip + 1..].to_vec())))
    }

    /// The record after a rollback to `revision` chosen by hand: `revision`
    /// leaves the top if it was there.
    pub fn without_top(&self, revision: &str) -> Self {
        match self.0.first() {
            Some(top) if revision::same(top, revision) => History(self.0[1..].to_vec()),
            _ => self.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploys_push_and_rollbacks_pop() {
        let h = History::default().pushed("arn:aws:ecs:r:1:task-definition/svc:1");
        let h = h.pushed("svc:2");
        assert_eq!(h.tag_value(), "svc:2 svc:1");
        let (target, rest) = h.target("svc:3").expect("a target");
        assert_eq!(target, "svc:2");
        assert_eq!(rest.tag_value(), "svc:1");
        let (target, rest) = rest.target("svc:2").expect("a target");
        assert_eq!((target.as_str(), rest.entries().len()), ("svc:1", 0));
        assert_eq!(rest.target("svc:1"), None);
    }

    #[test]
    fn the_running_revision_is_never_the_target() {
        let h = History::parse("svc:5 svc:4");
        let (target, rest) = h.target("svc:5").expect("a target");
        assert_eq!((target.as_str(), rest.tag_value().as_str()), ("svc:4", ""));
    }

    #[test]
    fn the_record_is_bounded_and_without_duplicates() {
        let mut h = History::default();
        for n in 1..=9 {
            h = h.pushed(&format!("svc:{n}"));
        }
        h = h.pushed("svc:7");
        assert_eq!(h.tag_value(), "svc:7 svc:9 svc:8 svc:6 svc:5");
        let long = "f".repeat(120);
        let h = History::default()
            .pushed(&format!("{long}:1"))
            .pushed(&format!("{long}:2"))
            .pushed(&format!("{long}:3"));
        assert!(h.tag_value().len() <= TAG_VALUE_MAX);
        assert_eq!(h.entries().len(), 2);
    }

    #[test]
    fn garbage_is_ignored() {
        assert_eq!(
            History::parse("svc:3 nonsense svc:x :4").tag_value(),
            "svc:3"
        );
        assert_eq!(
            History::parse("svc:3 svc:2")
                .without_top("svc:3")
                .tag_value(),
            "svc:2"
        );
        assert_eq!(
            History::parse("svc:3 svc:2")
                .without_top("svc:2")
                .tag_value(),
            "svc:3 svc:2"
        );
    }
}
