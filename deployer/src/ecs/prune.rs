//! Deregistering old revisions, without ever touching one that is in use
//! anywhere in the account and region.
//!
//! Families are shared: the same family may run under another service name
//! in another cluster (staging beside production). So "in use" is read
//! across every cluster, not only the deploying service's. Of the family's
//! ACTIVE revisions, the `keep` newest stay. Of the others, a revision also
//! stays when:
//! * any service in any cluster (ACTIVE or DRAINING) points at it or uses
//!   it in any deployment (PRIMARY, ACTIVE, a rollout in progress);
//! * a task in any cluster runs it or is about to (desired status RUNNING,
//!   which covers PENDING tasks);
//! * the rollback record of any service names it ([`super::history`]);
//! * Terraform owns it: only revisions tagged `ManagedBy=deployer`
//!   ([`super::tags`]) are ever deregistered;
//! * the command says so (a deploy protects the revision it would roll
//!   back to, whether or not recording it on the service worked).
//!
//! The state is read right before deciding, not reused from earlier steps.
//! A prune that fails halfway reports exactly what it deregistered.

use std::collections::BTreeMap;

use serde::Serialize;

use super::api::{EcsApi, TaskFilter};
use super::history::History;
use super::revision;
use super::tags;

/// What pruning will do, and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// ARNs to deregister, newest first.
    pub deregister: Vec<String>,
    /// Revisions that stay, and why (`family:revision` -> reason).
    pub kept: BTreeMap<String, String>,
    /// Revisions deregistered (`family:revision`), in order; shorter than
    /// `deregister` when a call failed halfway, empty for a dry run.
    pub deregistered: Vec<String>,
}

/// Decides, from the family's ACTIVE revisions (ARNs), which to deregister:
/// everything beyond the `keep` newest that `in_use` does not name.
/// `in_use` maps `family:revision` to the reason it is in use.
pub fn plan(active: &[String], keep: usize, in_use: &BTreeMap<String, String>) -> Plan {
    let mut newest_first: Vec<&String> = active.iter().collect();
    newest_first.sort_by_key(|arn| std::cmp::Reverse(revision::number(arn).unwrap_or(i32::MAX)));
    let mut result = Plan::default();
    for (rank, arn) in newest_first.into_iter().enumerate() {
        let name = revision::name(arn);
        if rank < keep {
            result
                .kept
                .insert(name, format!("one of the {keep} newest"));
        } else if let Some(why) = in_use.get(&name) {
            result.kept.insert(name, why.clone());
        } else {
            result.deregister.push(arn.clone());
        }
    }
    result
}

/// The revisions of `family` in use anywhere in the account and region,
/// and why, as `plan` takes them. `extra` adds revisions the caller
/// protects.
pub(crate) async fn in_use(
    ecs: &impl EcsApi,
    family: &str,
    extra: &[(String, String)],
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut used = BTreeMap::new();
    let mut mark = |revision: &str, why: String| {
        if revision::family(revision) == family {
            used.entry(revision::name(revision)).or_insert(why);
        }
    };
    for (revision, why) in extra {
        mark(revision, why.clone());
    }
    for cluster in ecs.clusters().await? {
        let cluster_name = cluster.rsplit('/').next().unwrap_or(&cluster).to_owned();
        for svc in ecs.services_in(&cluster).await? {
            if !matches!(svc.status(), Some("ACTIVE" | "DRAINING")) {
                continue;
            }
            let name = svc.service_name().unwrap_or("?");
            if let Some(td) = svc.task_definition() {
                mark(
                    td,
                    format!("the task definition of service {name} in cluster {cluster_name}"),
                );
            }
            for d in svc.deployments() {
                if let Some(td) = d.task_definition() {
                    let status = d.status().unwrap_or("unknown");
                    mark(
                        td,
                        format!(
                            "used by deployment {} ({status}) of service {name} in cluster {cluster_name}",
                            d.id().unwrap_or("?")
                        ),
                    );
                }
            }
            for entry in History::of(&svc).entries() {
                mark(
                    entry,
                    format!(
                        "a rollback target recorded on service {name} in cluster {cluster_name}"
                    ),
                );
            }
        }
        for task in ecs
            .tasks(&cluster, TaskFilter::RunningOf { family })
            .await?
        {
            if let Some(td) = task.task_definition_arn() {
                let id = task
                    .task_arn()
                    .and_then(|a| a.rsplit('/').next())
                    .unwrap_or("?");
                mark(td, format!("run by task {id} in cluster {cluster_name}"));
            }
        }
    }
    Ok(used)
}

/// Plans, and unless `dry_run` deregisters, the family's unused revisions
/// that deployer registered. Returns the plan with what was deregistered,
/// and the error that stopped it, if any.
pub(crate) async fn prune(
    ecs: &impl EcsApi,
    family: &str,
    keep: usize,
    extra: &[(String, String)],
    dry_run: bool,
) -> (Plan, anyhow::Result<()>) {
    let mut plan = Plan::default();
    let result = async {
        let used = in_use(ecs, family, extra).await?;
        let active = ecs.active_revisions(family).await?;
        plan = self::plan(&active, keep, &used);
        // Only deployer's own revisions: Terraform's (ManagedBy=terraform),
        // and any revision whose owner is unknown, stay.
        let mut owned = Vec::with_capacity(plan.deregister.len());
        for arn in std::mem::take(&mut plan.deregister) {
            let labels = ecs
                .task_definition(&arn)
                .await?
                .map(|(_, labels)| labels)
                .unwrap_or_default();
            let owner = labels
                .iter()
                .find(|t| t.key() == Some(tags::MANAGED_BY))
                .and_then(|t| t.value());
            match owner {
                Some(tags::MANAGED_BY_DEPLOYER) => owned.push(arn),
                Some(other) => {
                    plan.kept.insert(
                        revision::name(&arn),
                        format!("registered by {other} ({}={other})", tags::MANAGED_BY),
                    );
                }
                None => {
                    plan.kept.insert(
                        revision::name(&arn),
                        format!("no {} tag: not known to be deployer's", tags::MANAGED_BY),
                    );
                }
            }
        }
        plan.deregister = owned;
        if !dry_run {
            for arn in plan.deregister.clone() {
                ecs.deregister(&arn).await?;
                plan.deregistered.push(revision::name(&arn));
            }
        }
        Ok::<(), anyhow::Error>(())
    }
    .await;
    let result = result.map_err(|err| {
        if plan.deregistered.is_empty() {
            err.context("pruning deregistered nothing")
        } else {
            err.context(format!(
                "pruning stopped after deregistering {}",
                plan.deregistered.join(", ")
            ))
        }
    });
    (plan, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arns(revs: impl IntoIterator<Item = i32>) -> Vec<String> {
        revs.into_iter()
            .map(|n| format!("arn:aws:ecs:us-east-1:123456789012:task-definition/svc:{n}"))
            .collect()
    }

    fn names(plan: &Plan) -> Vec<String> {
        plan.deregister.iter().map(|a| revision::name(a)).collect()
    }

    #[test]
    fn keeps_the_newest_and_everything_in_use() {
        let used = BTreeMap::from([
            ("svc:2".to_owned(), "run by task t1".to_owned()),
            ("svc:5".to_owned(), "a rollback target".to_owned()),
        ]);
        let p = plan(&arns([1, 2, 3, 4, 5, 6, 7, 8]), 2, &used);
        assert_eq!(names(&p), ["svc:6", "svc:4", "svc:3", "svc:1"]);
        assert_eq!(p.kept["svc:8"], "one of the 2 newest");
        assert_eq!(p.kept["svc:2"], "run by task t1");
        assert_eq!(p.kept["svc:5"], "a rollback target");
    }

    #[test]
    fn keep_zero_still_keeps_what_is_in_use() {
        let used = BTreeMap::from([("svc:3".to_owned(), "PRIMARY".to_owned())]);
        let p = plan(&arns([3, 1, 2]), 0, &used);
        assert_eq!(names(&p), ["svc:2", "svc:1"]);
    }

    #[test]
    fn order_is_by_revision_number_not_by_text() {
        let p = plan(&arns([9, 10, 11]), 1, &BTreeMap::new());
        assert_eq!(names(&p), ["svc:10", "svc:9"]);
    }

    #[test]
    fn nothing_to_do_when_few_revisions() {
        assert!(plan(&arns([1, 2]), 5, &BTreeMap::new())
            .deregister
            .is_empty());
    }
}
