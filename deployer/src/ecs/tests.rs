//! The deploy cycle against the scripted fake: every rollout outcome, the
//! rollback target and its record, pruning's safety rules, the preflight,
//! and rendering that keeps every field. Time is paused, so that polls and
//! deadlines pass instantly.

use std::time::Duration;

use aws_sdk_ecs::types::{ContainerDefinition, TaskDefinition};
use aws_sdk_elasticloadbalancingv2::types::{
    TargetDescription, TargetHealth, TargetHealthDescription, TargetHealthStateEnum,
};

use super::api::EcsApi;
use super::deploy::{self, ImageChoice, Options};
use super::fake::{FakeEcs, Script};
use super::history::{self, History};
use super::render::tests::{debug_fields, everything_task_definition};
use super::rollback::{self, Pace};
use super::*;
use crate::exit::{self, Code};
use test_harness::ecs_standin::RolloutState;

const CLUSTER: &str = "C";
const SERVICE: &str = "S";
const FAMILY: &str = "service-b";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/service-b:v2";
const MUTATING: [&str; 4] = [
    "RegisterTaskDefinition",
    "UpdateService",
    "TagResource",
    "DeregisterTaskDefinition",
];

fn target_of(app: &str, service: &str) -> ResolvedApp {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let config = app_config::load_app(&dir, app).expect("shipped config loads");
    ResolvedApp {
        cluster: CLUSTER.to_owned(),
        service: service.to_owned(),
        environment: "staging".to_owned(),
        config_file: app_config::app_file(&dir, app),
        config,
    }
}

fn target() -> ResolvedApp {
    target_of("service-b", SERVICE)
}

/// A cluster with service S on `service-b:running`, revisions 1 to `count`
/// registered by deployer (each the full fixture), and the image in its
/// repository.
fn ecs(running: i32, count: i32) -> FakeEcs {
    let fake = FakeEcs::default();
    fake.cluster(CLUSTER, "ACTIVE");
    let (td, mut labels) = everything_task_definition();
    labels.push(owned_by(tags::MANAGED_BY_DEPLOYER));
    for n in 1..=count {
        fake.task_definition(FAMILY, n, &td, &labels);
    }
    fake.service(CLUSTER, SERVICE, &format!("{FAMILY}:{running}"), 2);
    fake.image(IMAGE);
    fake
}

fn owned_by(owner: &str) -> aws_sdk_ecs::types::Tag {
    aws_sdk_ecs::types::Tag::builder()
        .key(tags::MANAGED_BY)
        .value(owner)
        .build()
}

fn opts() -> Options<'static> {
    Options {
        interrupt: None,
        dry_run: false,
        pace: Pace {
            timeout: Duration::from_secs(60),
            poll: Duration::from_secs(5),
        },
        keep: 2,
        prune: true,
        check_image: true,
        inherit_environment: false,
    }
}

async fn deploy_with(fake: &FakeEcs, opts: Options<'_>) -> AppReport {
    let target = target();
    let image = ImageChoice::Given(IMAGE.to_owned());
    let mut report = base_report(&target);
    let result = deploy::deploy(fake, &target, &image, opts, &mut report).await;
    report.finished(result, Instant::now())
}

async fn deploy_it(fake: &FakeEcs) -> AppReport {
    deploy_with(fake, opts()).await
}

/// Deploys with `interrupt` as the signal.
async fn deploy_interruptible(
    fake: &FakeEcs,
    interrupt: &tokio_util::sync::CancellationToken,
) -> AppReport {
    deploy_with(
        fake,
        Options {
            interrupt: Some(interrupt),
            ..opts()
        },
    )
    .await
}

/// A deploy that preflight refuses, saying `why`, with nothing changed.
async fn refused_in_preflight(fake: &FakeEcs, why: &str) {
    let before = mutations(fake).len();
    let r = deploy_it(fake).await;
    assert_eq!(r.outcome, Outcome::PreflightFailed, "{}", r.message);
    assert!(r.message.contains(why), "{}", r.message);
    assert_eq!(mutations(fake).len(), before);
}

fn serving(fake: &FakeEcs) -> String {
    let svc = fake.peek(CLUSTER, SERVICE);
    revision::name(
        rollout::primary(&svc)
            .and_then(|d| d.task_definition())
            .expect("a PRIMARY deployment"),
    )
}

fn recorded(fake: &FakeEcs) -> String {
    History::of(&fake.peek(CLUSTER, SERVICE)).tag_value()
}

fn mutations(fake: &FakeEcs) -> Vec<String> {
    fake.calls()
        .into_iter()
        .filter(|c| MUTATING.iter().any(|m| c.starts_with(m)))
        .collect()
}

// ---- outcomes -------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_completed_rollout_serves_the_new_revision_and_records_the_old() {
    let fake = ecs(6, 6);
    fake.script("service-b:7", Script::Completes { after: 3 });
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Completed, "{}", r.message);
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.previous_revision.as_deref(), Some("service-b:6"));
    assert_eq!(r.new_revision.as_deref(), Some("service-b:7"));
    assert_eq!(r.image.as_deref(), Some(IMAGE));
    assert!(r
        .deployment_id
        .as_deref()
        .is_some_and(|d| d.starts_with("ecs-svc/")));
    assert_eq!(serving(&fake), "service-b:7");
    assert_eq!(recorded(&fake), "service-b:6");
    assert_eq!(
        fake.calls_of("UpdateService"),
        ["UpdateService S service-b:7"]
    );
    // The record is written before the update, so it survives a crash.
    let calls = fake.calls();
    let tagged = calls.iter().position(|c| c.starts_with("TagResource"));
    let updated = calls.iter().position(|c| c.starts_with("UpdateService"));
    assert!(tagged < updated, "{calls:?}");
}

#[tokio::test(start_paused = true)]
async fn a_circuit_breaker_rollback_is_a_failure_and_ends_on_the_previous_revision() {
    let fake = ecs(6, 6);
    fake.script("service-b:7", Script::FailsAndRollsBack { after: 2 });
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Failed, "{}", r.message);
    assert_eq!(r.exit_code(), Code::RolledBack.as_i32());
    assert_eq!(r.rolled_back_to.as_deref(), Some("service-b:6"));
    assert_eq!(serving(&fake), "service-b:6");
    // ECS is already going back; deployer follows that instead of
    // starting another deployment.
    assert_eq!(
        fake.calls_of("UpdateService").len(),
        1,
        "{:?}",
        fake.calls()
    );
    assert!(r.message.contains("circuit breaker"), "{}", r.message);
    assert!(
        r.message.contains("DATABASE_URL unset"),
        "names why tasks stopped: {}",
        r.message
    );
    assert!(
        r.message.contains("Rolled back to service-b:6"),
        "{}",
        r.message
    );
    assert!(
        fake.calls_of("DeregisterTaskDefinition").is_empty(),
        "no pruning after a failure"
    );
    assert_eq!(recorded(&fake), "", "the record is put back as it was");
}

#[tokio::test(start_paused = true)]
async fn a_rollback_seen_only_after_the_failed_deployment_drained_is_a_failure() {
    let fake = ecs(6, 6);
    fake.script("service-b:7", Script::RollsBackOutOfSight { after: 1 });
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Failed, "{}", r.message);
    assert!(
        r.message.contains("circuit breaker rollback"),
        "{}",
        r.message
    );
    assert_eq!(r.rolled_back_to.as_deref(), Some("service-b:6"));
    assert_eq!(fake.calls_of("UpdateService").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failure_without_ecs_rollback_is_rolled_back_by_deployer() {
    let fake = ecs(6, 6);
    fake.script("service-b:7", Script::Fails { after: 1 });
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Failed, "{}", r.message);
    assert_eq!(
        fake.calls_of("UpdateService"),
        ["UpdateService S service-b:7", "UpdateService S service-b:6"]
    );
    assert_eq!(serving(&fake), "service-b:6");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_rolls_back_against_a_real_deadline() {
    let fake = ecs(6, 6);
    fake.script("service-b:7", Script::Hangs);
    let started = tokio::time::Instant::now();
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Timeout, "{}", r.message);
    assert_eq!(r.exit_code(), Code::TimedOut.as_i32());
    assert_eq!(r.rolled_back_to.as_deref(), Some("service-b:6"));
    assert_eq!(serving(&fake), "service-b:6");
    assert!(
        r.message.contains("did not complete within 1m"),
        "{}",
        r.message
    );
    assert!(
        r.message.contains("0/2 running"),
        "says how far it got: {}",
        r.message
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(60) && waited < Duration::from_secs(75),
        "gave up after {waited:?}, not at the 60 s deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn another_deployment_taking_over_is_not_rolled_back() {
    let fake = ecs(6, 6);
    fake.script("service-b:7", Script::TakenOver { after: 2, by: 3 });
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Superseded, "{}", r.message);
    assert_eq!(r.exit_code(), Code::Superseded.as_i32());
    assert!(r.message.contains("service-b:3"), "{}", r.message);
    assert_eq!(fake.calls_of("UpdateService").len(), 1);
    assert_eq!(r.rolled_back_to, None);
    assert!(fake.calls_of("DeregisterTaskDefinition").is_empty());
}

#[tokio::test(start_paused = true)]
async fn desired_count_zero_is_scaled_to_zero_unverified_and_prunes_nothing() {
    let fake = ecs(6, 6);
    fake.edit_service(CLUSTER, SERVICE, |s| s.desired_count = 0);
    fake.script("service-b:7", Script::Hangs);
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::ScaledToZero, "{}", r.message);
    assert_eq!(r.exit_code(), 0);
    assert!(r.message.contains("desired count is 0"), "{}", r.message);
    assert_eq!(serving(&fake), "service-b:7");
    assert!(fake.calls_of("DeregisterTaskDefinition").is_empty());
}

// ---- positive evidence -----------------------------------------------------

#[tokio::test(start_paused = true)]
async fn stale_reads_after_the_update_are_not_taken_for_a_rollback() {
    let fake = ecs(6, 6);
    // The first three DescribeServices after UpdateService still show the
    // old deployment PRIMARY and ours not at all.
    fake.lag(3);
    fake.script("service-b:7", Script::Completes { after: 2 });
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Completed, "{}", r.message);
    assert_eq!(serving(&fake), "service-b:7");
    assert_eq!(fake.calls_of("UpdateService").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn stale_reads_do_not_fool_the_rollback_either() {
    let fake = ecs(6, 6);
    fake.lag(2);
    fake.script("service-b:7", Script::Hangs);
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Timeout, "{}", r.message);
    assert_eq!(r.rolled_back_to.as_deref(), Some("service-b:6"));
    assert_eq!(serving(&fake), "service-b:6");
    // The stale view (6 PRIMARY, from before the update) was not taken for
    // ECS going back: deployer started the rollback itself.
    assert_eq!(
        fake.calls_of("UpdateService"),
        ["UpdateService S service-b:7", "UpdateService S service-b:6"]
    );
}

#[tokio::test(start_paused = true)]
async fn the_service_deployments_api_decides_where_it_answers() {
    let fake = ecs(6, 6);
    fake.service_deployments_api(true);
    fake.script("service-b:7", Script::Completes { after: 2 });
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Completed, "{}", r.message);
    assert!(!fake.calls_of("ListServiceDeployments").is_empty());

    let fake = ecs(6, 6);
    fake.service_deployments_api(true);
    fake.script("service-b:7", Script::FailsAndRollsBack { after: 2 });
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Failed, "{}", r.message);
    assert!(r.message.contains("ROLLBACK_IN_PROGRESS"), "{}", r.message);
    assert_eq!(r.rolled_back_to.as_deref(), Some("service-b:6"));
    assert_eq!(
        fake.calls_of("UpdateService").len(),
        1,
        "ECS went back itself"
    );
}

#[tokio::test(start_paused = true)]
async fn without_the_service_deployments_api_describe_services_decides() {
    let fake = ecs(6, 6);
    fake.service_deployments_api(false);
    fake.script("service-b:7", Script::FailsAndRollsBack { after: 2 });
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Failed, "{}", r.message);
    assert!(r.message.contains("circuit breaker"), "{}", r.message);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // Asked once, then not again.
    assert_eq!(
        fake.calls_of("ListServiceDeployments").len(),
        2,
        "once per follow"
    );
}

#[tokio::test(start_paused = true)]
async fn an_alarm_rollback_names_the_alarm() {
    for api in [true, false] {
        let fake = ecs(6, 6);
        fake.service_deployments_api(api);
        fake.script(
            "service-b:7",
            Script::AlarmRollsBack {
                after: 2,
                alarm: "service-b-5xx",
            },
        );
        let r = deploy_it(&fake).await;
        assert_eq!(r.outcome, Outcome::Failed, "{}", r.message);
        assert!(
            r.message.contains("service-b-5xx"),
            "api {api}: {}",
            r.message
        );
        assert_eq!(serving(&fake), "service-b:6");
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_side_lookup_is_a_warning_and_never_rolls_back() {
    let fake = ecs(6, 6);
    fake.script("service-b:7", Script::StumblesThenCompletes { after: 3 });
    fake.fail("ListTasks", 1);
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Completed, "{}", r.message);
    assert_eq!(serving(&fake), "service-b:7");
    assert_eq!(fake.calls_of("UpdateService").len(), 1);
    assert!(
        r.warnings.iter().any(|w| w.contains("stopped tasks")),
        "{:?}",
        r.warnings
    );
    // Retried before it became a warning.
    assert!(fake.calls_of("ListTasks").len() >= 3);
}

#[tokio::test(start_paused = true)]
async fn the_same_image_during_a_rollout_is_busy_not_no_change() {
    let fake = ecs(6, 6);
    assert_eq!(deploy_it(&fake).await.outcome, Outcome::Completed);
    // A rerun after a killed job: 7 (this very image) is still rolling out.
    fake.script("service-b:7", Script::Hangs);
    fake.edit_deployments(CLUSTER, SERVICE, |ds| {
        ds[0].rollout_state = RolloutState::InProgress;
        let mut old = ds[0].clone();
        old.id = "ecs-svc/old".into();
        old.primary = false;
        old.task_definition = fake::td_arn("service-b:6");
        ds.push(old);
    });
    refused_in_preflight(&fake, "in the middle of a rollout").await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_primary_deployment_is_no_rollback_target() {
    let fake = ecs(6, 6);
    fake.edit_deployments(CLUSTER, SERVICE, |ds| {
        ds[0].rollout_state = RolloutState::Failed;
    });
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::PreflightFailed, "{}", r.message);
    assert!(r.message.contains("FAILED deployment"), "{}", r.message);
    assert!(mutations(&fake).is_empty(), "{:?}", fake.calls());
}

#[tokio::test(start_paused = true)]
async fn a_revision_terraform_registered_becomes_deployers_in_the_next_one() {
    let fake = ecs(6, 5);
    let (td, mut old_tags) = everything_task_definition();
    old_tags.push(owned_by(tags::MANAGED_BY_TERRAFORM));
    fake.task_definition(FAMILY, 6, &td, &old_tags);
    assert_eq!(deploy_it(&fake).await.outcome, Outcome::Completed);
    let sent = fake.registered().pop().expect("one registration");
    let owners: Vec<_> = sent
        .tags()
        .iter()
        .filter(|t| t.key() == Some(tags::MANAGED_BY))
        .map(|t| t.value().unwrap_or_default())
        .collect();
    assert_eq!(owners, [tags::MANAGED_BY_DEPLOYER]);
    assert!(sent.tags().iter().any(|t| t.key() == Some("team")));
}

// ---- native strategies ---------------------------------------------------

fn blue_green(fake: &FakeEcs, bake_minutes: i32) {
    fake.edit_service(CLUSTER, SERVICE, |s| {
        s.deployment_configuration = Some(
            aws_sdk_ecs::types::DeploymentConfiguration::builder()
                .strategy(aws_sdk_ecs::types::DeploymentStrategy::BlueGreen)
                .bake_time_in_minutes(bake_minutes)
                .build(),
        );
    });
    fake.service_deployments_api(true);
}

#[tokio::test(start_paused = true)]
async fn a_blue_green_deployment_is_followed_through_its_bake() {
    let fake = ecs(6, 6);
    blue_green(&fake, 1);
    fake.script("service-b:7", Script::Bakes { after: 2, bake: 4 });
    let started = tokio::time::Instant::now();
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Completed, "{}", r.message);
    assert_eq!(serving(&fake), "service-b:7");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(fake.calls_of("StopServiceDeployment").is_empty());
    // 2 polls of traffic shift and 4 of bake, 5 s apart: not before.
    assert!(
        started.elapsed() >= Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_blue_green_deployment_is_rolled_back_within_itself() {
    let fake = ecs(6, 6);
    blue_green(&fake, 5);
    // Still baking when the 1 minute deadline passes.
    fake.script(
        "service-b:7",
        Script::Bakes {
            after: 2,
            bake: 1000,
        },
    );
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Timeout, "{}", r.message);
    assert!(
        r.message.contains("BAKE_TIME"),
        "says the stage: {}",
        r.message
    );
    assert_eq!(r.rolled_back_to.as_deref(), Some("service-b:6"));
    assert_eq!(serving(&fake), "service-b:6");
    assert_eq!(fake.calls_of("StopServiceDeployment").len(), 1);
    assert_eq!(
        fake.calls_of("UpdateService").len(),
        1,
        "no second update: {:?}",
        fake.calls()
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("shorter than the BLUE_GREEN bake time (5m)")),
        "{:?}",
        r.warnings
    );
}

// ---- interrupts ----------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn an_interrupt_mid_rollout_rolls_back_and_says_so() {
    let fake = ecs(6, 6);
    fake.script("service-b:7", Script::Hangs);
    let token = tokio_util::sync::CancellationToken::new();
    let signal = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(12)).await;
        signal.cancel();
    });
    let started = tokio::time::Instant::now();
    let r = deploy_interruptible(&fake, &token).await;
    assert_eq!(r.outcome, Outcome::Interrupted, "{}", r.message);
    assert_eq!(r.exit_code(), 9);
    assert_eq!(r.rolled_back_to.as_deref(), Some("service-b:6"));
    assert_eq!(serving(&fake), "service-b:6");
    assert!(
        r.message.contains("rolled back to service-b:6"),
        "{}",
        r.message
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "stopped following at the signal, not at the deadline: {:?}",
        started.elapsed()
    );
    assert_eq!(recorded(&fake), "", "the record is put back as it was");
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_rollback_says_what_is_still_in_flight() {
    let fake = ecs(6, 6);
    fake.script("service-b:7", Script::Hangs);
    fake.script("service-b:6", Script::Hangs);
    let token = tokio_util::sync::CancellationToken::new();
    token.cancel();
    // Cancelled before the update: nothing changes on ECS.
    let r = deploy_interruptible(&fake, &token).await;
    assert_eq!(r.outcome, Outcome::Interrupted, "{}", r.message);
    assert!(fake.calls_of("UpdateService").is_empty());
    assert!(
        r.message.contains("service was not changed"),
        "{}",
        r.message
    );

    // 7 was registered and left alone; the next deploy registers 8.
    fake.script("service-b:8", Script::Hangs);
    let fresh = tokio_util::sync::CancellationToken::new();
    let signal = fresh.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(7)).await;
        signal.cancel();
    });
    let r = deploy_interruptible(&fake, &fresh).await;
    assert_eq!(r.outcome, Outcome::Interrupted, "{}", r.message);
    assert!(r.message.contains("still in flight"), "{}", r.message);
    assert_eq!(r.rolled_back_to, None);
}

// ---- rollback ------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn the_rollback_target_is_the_revision_primary_before_the_deploy() {
    // Revisions 7 to 9 were registered but never deployed: the service runs 5.
    let fake = ecs(5, 9);
    fake.script("service-b:10", Script::Fails { after: 2 });
    let r = deploy_it(&fake).await;
    assert_eq!(r.new_revision.as_deref(), Some("service-b:10"));
    assert_eq!(r.previous_revision.as_deref(), Some("service-b:5"));
    assert_eq!(r.rolled_back_to.as_deref(), Some("service-b:5"));
    assert_eq!(serving(&fake), "service-b:5");
}

#[tokio::test(start_paused = true)]
async fn a_failed_rollback_exits_7_and_asks_for_attention() {
    let fake = ecs(6, 6);
    fake.script("service-b:7", Script::Hangs);
    fake.fail("UpdateService", 2);
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::RollbackFailed, "{}", r.message);
    assert_eq!(r.exit_code(), Code::RollbackFailed.as_i32());
    assert!(r.message.contains("needs attention"), "{}", r.message);
    assert!(r.message.contains("--revision 6"), "{}", r.message);
    assert_eq!(
        recorded(&fake),
        "service-b:6",
        "the target stays recorded for `deployer rollback`"
    );
}

#[tokio::test(start_paused = true)]
async fn a_rollback_whose_own_rollout_hangs_exits_7() {
    let fake = ecs(6, 6);
    fake.script("service-b:7", Script::Fails { after: 1 });
    fake.script("service-b:6", Script::Hangs);
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::RollbackFailed, "{}", r.message);
    assert!(r.message.contains("timed out"), "{}", r.message);
}

#[tokio::test(start_paused = true)]
async fn losing_track_of_the_rollout_puts_the_service_back() {
    let fake = ecs(6, 6);
    fake.script("service-b:7", Script::Hangs);
    // Preflight and the first poll answer; then DescribeServices fails for
    // good, so the rollback cannot be followed either.
    fake.fail("DescribeServices", 3);
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::RollbackFailed, "{}", r.message);
    assert!(r.message.contains("lost track"), "{}", r.message);
}

#[tokio::test(start_paused = true)]
async fn rollback_goes_back_one_deploy_at_a_time() {
    let fake = ecs(5, 5);
    assert_eq!(deploy_it(&fake).await.outcome, Outcome::Completed); // 5 -> 6
    assert_eq!(
        deploy_with(&fake, Options { keep: 10, ..opts() })
            .await
            .outcome,
        Outcome::NoChange
    );
    fake.image("123456789012.dkr.ecr.us-east-1.amazonaws.com/service-b:v3");
    let target = target();
    let v3 = ImageChoice::Given("123456789012.dkr.ecr.us-east-1.amazonaws.com/service-b:v3".into());
    let mut r = base_report(&target);
    deploy::deploy(&fake, &target, &v3, Options { keep: 10, ..opts() }, &mut r)
        .await
        .expect("deploys");
    assert_eq!(serving(&fake), "service-b:7");
    assert_eq!(recorded(&fake), "service-b:6 service-b:5");

    let pace = opts().pace;
    let mut r = base_report(&target);
    rollback::rollback(&fake, &target, None, pace, &mut r)
        .await
        .expect("rolls back");
    assert_eq!(
        (r.outcome, r.rolled_back_to.as_deref()),
        (Outcome::Completed, Some("service-b:6"))
    );
    assert_eq!(serving(&fake), "service-b:6");
    assert_eq!(recorded(&fake), "service-b:5");

    let mut r = base_report(&target);
    rollback::rollback(&fake, &target, None, pace, &mut r)
        .await
        .expect("rolls back");
    assert_eq!(serving(&fake), "service-b:5");
    assert_eq!(recorded(&fake), "");

    let mut r = base_report(&target);
    let err = rollback::rollback(&fake, &target, None, pace, &mut r)
        .await
        .expect_err("nothing left to go back to");
    assert_eq!(exit::code_of(&err), Code::Preflight);
    assert!(err.to_string().contains("--revision"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn rollback_to_a_given_revision_checks_it_first() {
    let fake = ecs(6, 6);
    let target = target();
    let pace = opts().pace;
    let mut r = base_report(&target);
    rollback::rollback(&fake, &target, Some(3), pace, &mut r)
        .await
        .expect("rolls back");
    assert_eq!(serving(&fake), "service-b:3");

    let err = rollback::rollback(&fake, &target, Some(99), pace, &mut base_report(&target))
        .await
        .expect_err("no such revision");
    assert_eq!(exit::code_of(&err), Code::BadInput);

    fake.deregister(&fake::td_arn("service-b:2"))
        .await
        .expect("deregisters");
    let before = mutations(&fake).len();
    let err = rollback::rollback(&fake, &target, Some(2), pace, &mut base_report(&target))
        .await
        .expect_err("inactive");
    assert_eq!(exit::code_of(&err), Code::Preflight);
    assert!(err.to_string().contains("INACTIVE"), "{err}");
    assert_eq!(
        mutations(&fake).len(),
        before,
        "a refused rollback changes nothing"
    );
}

// ---- prune ---------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn pruning_after_success_spares_every_revision_in_use() {
    let fake = ecs(6, 6);
    // A stray task still runs revision 2; the record names 3 as an older
    // rollback target; a draining deployment still uses 4.
    fake.running_task(CLUSTER, "service-b:2");
    fake.edit_service(CLUSTER, SERVICE, |s| {
        s.tags = Some(vec![aws_sdk_ecs::types::Tag::builder()
            .key(history::TAG_KEY)
            .value("service-b:3")
            .build()]);
    });
    fake.script("service-b:7", Script::Completes { after: 1 });
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::Completed, "{}", r.message);
    // keep 2: 7 and 6 (also the rollback target); 3 recorded; 2 running.
    assert_eq!(r.pruned, ["service-b:5", "service-b:4", "service-b:1"]);
    assert_eq!(fake.active(FAMILY), [2, 3, 6, 7]);
    assert_eq!(recorded(&fake), "service-b:6 service-b:3");
}

#[tokio::test(start_paused = true)]
async fn prune_never_takes_a_revision_a_deployment_uses() {
    let fake = ecs(6, 6);
    // A rollout from 6 to 1 is under way: both are in use.
    fake.script("service-b:1", Script::Hangs);
    fake.update_service(CLUSTER, SERVICE, &fake::td_arn("service-b:1"))
        .await
        .expect("updates");
    let mut report = base_report(&target());
    prune_app(&fake, &target(), 0, false, &mut report)
        .await
        .expect("prunes");
    assert_eq!(fake.active(FAMILY), [1, 6]);
    assert_eq!(
        report.pruned,
        ["service-b:5", "service-b:4", "service-b:3", "service-b:2"]
    );
}

#[tokio::test(start_paused = true)]
async fn prune_spares_what_another_cluster_uses_and_what_terraform_owns() {
    let fake = ecs(6, 6);
    // Staging runs the same family under another service name, on 2, and
    // would roll back to 1; a task in a third cluster runs 4 by hand.
    fake.cluster("staging", "ACTIVE");
    fake.service("staging", "service-b-staging", "service-b:2", 1);
    fake.edit_service("staging", "service-b-staging", |s| {
        s.tags = Some(vec![aws_sdk_ecs::types::Tag::builder()
            .key(history::TAG_KEY)
            .value("service-b:1")
            .build()]);
    });
    fake.cluster("batch", "ACTIVE");
    fake.running_task("batch", "service-b:4");
    // Terraform registered 3.
    let (td, mut terraform_tags) = everything_task_definition();
    terraform_tags.push(owned_by(tags::MANAGED_BY_TERRAFORM));
    fake.task_definition(FAMILY, 3, &td, &terraform_tags);
    let mut report = base_report(&target());
    prune_app(&fake, &target(), 1, false, &mut report)
        .await
        .expect("prunes");
    assert_eq!(report.pruned, ["service-b:5"], "{}", report.message);
    assert_eq!(fake.active(FAMILY), [1, 2, 3, 4, 6]);
    let details = serde_json::to_value(report.details.as_ref().expect("the plan")).expect("json");
    let kept = &details["kept"];
    assert!(
        kept["service-b:2"]
            .as_str()
            .is_some_and(|w| w.contains("staging")),
        "{kept}"
    );
    assert!(
        kept["service-b:1"]
            .as_str()
            .is_some_and(|w| w.contains("rollback target")),
        "{kept}"
    );
    assert!(
        kept["service-b:3"]
            .as_str()
            .is_some_and(|w| w.contains("terraform")),
        "{kept}"
    );
    assert!(
        kept["service-b:4"]
            .as_str()
            .is_some_and(|w| w.contains("batch")),
        "{kept}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_prune_that_fails_halfway_says_what_it_deregistered() {
    let fake = ecs(6, 6);
    fake.fail("DeregisterTaskDefinition", 2);
    let mut report = base_report(&target());
    let err = prune_app(&fake, &target(), 1, false, &mut report)
        .await
        .expect_err("the second deregistration fails");
    assert_eq!(report.pruned, ["service-b:5"]);
    assert!(
        format!("{err:#}").contains("after deregistering service-b:5"),
        "{err:#}"
    );
    assert_eq!(fake.active(FAMILY), [1, 2, 3, 4, 6]);
}

#[tokio::test(start_paused = true)]
async fn prune_dry_run_changes_nothing() {
    let fake = ecs(6, 6);
    let mut report = base_report(&target());
    prune_app(&fake, &target(), 1, true, &mut report)
        .await
        .expect("plans");
    assert_eq!(report.outcome, Outcome::DryRun);
    assert!(
        report.message.contains("would deregister service-b:5"),
        "{}",
        report.message
    );
    assert_eq!(fake.active(FAMILY).len(), 6);
    assert!(mutations(&fake).is_empty());
}

#[tokio::test(start_paused = true)]
async fn no_prune_keeps_everything() {
    let fake = ecs(6, 6);
    let r = deploy_with(
        &fake,
        Options {
            prune: false,
            ..opts()
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::Completed);
    assert_eq!(fake.active(FAMILY).len(), 7);
}

// ---- preflight -----------------------------------------------------------

async fn refused(fake: &FakeEcs, needle: &str) {
    let r = deploy_it(fake).await;
    assert_eq!(r.outcome, Outcome::PreflightFailed, "{}", r.message);
    assert_eq!(r.exit_code(), 3);
    assert!(
        r.message.contains(needle),
        "`{needle}` not in: {}",
        r.message
    );
    assert!(
        mutations(fake).is_empty(),
        "changed something: {:?}",
        mutations(fake)
    );
}

#[tokio::test(start_paused = true)]
async fn preflight_refuses_a_missing_image() {
    let fake = ecs(6, 6);
    let target = target();
    let missing = ImageChoice::Given(format!("{IMAGE}-never-pushed"));
    let mut r = base_report(&target);
    let err = deploy::deploy(&fake, &target, &missing, opts(), &mut r)
        .await
        .expect_err("refused");
    assert_eq!(exit::code_of(&err), Code::Preflight);
    assert!(
        err.to_string().contains("does not exist in its repository"),
        "{err}"
    );
    assert!(mutations(&fake).is_empty());
}

#[tokio::test(start_paused = true)]
async fn preflight_refuses_a_missing_or_inactive_cluster() {
    let fake = FakeEcs::default();
    fake.image(IMAGE);
    refused(&fake, "cluster `C` does not exist").await;
    fake.cluster(CLUSTER, "INACTIVE");
    refused(&fake, "is INACTIVE").await;
}

#[tokio::test(start_paused = true)]
async fn preflight_refuses_a_missing_or_draining_service() {
    let fake = FakeEcs::default();
    fake.cluster(CLUSTER, "ACTIVE");
    fake.image(IMAGE);
    refused(&fake, "service `S` does not exist in cluster `C`").await;
    let fake = ecs(6, 6);
    fake.edit_service(CLUSTER, SERVICE, |s| s.status = Some("DRAINING".into()));
    refused(&fake, "is DRAINING").await;
}

#[tokio::test(start_paused = true)]
async fn preflight_refuses_a_task_definition_without_the_app_container() {
    let fake = ecs(6, 6);
    let td = TaskDefinition::builder()
        .container_definitions(ContainerDefinition::builder().name("web").build())
        .build();
    fake.task_definition(FAMILY, 6, &td, &[]);
    refused(&fake, "no container named `service-b`").await;
}

#[tokio::test(start_paused = true)]
async fn preflight_refuses_to_deploy_over_a_rollout_in_progress() {
    let fake = ecs(6, 6);
    fake.script("service-b:5", Script::Hangs);
    fake.update_service(CLUSTER, SERVICE, &fake::td_arn("service-b:5"))
        .await
        .expect("updates");
    refused_in_preflight(&fake, "in the middle of a rollout").await;
}

#[tokio::test(start_paused = true)]
async fn preflight_refuses_a_launch_type_the_service_does_not_run() {
    let fake = ecs(6, 6);
    // service-b's JSON says FARGATE.
    fake.edit_service(CLUSTER, SERVICE, |s| {
        s.launch_type = Some(aws_sdk_ecs::types::LaunchType::Ec2);
    });
    refused(&fake, "runs on launch type EC2").await;
    fake.edit_service(CLUSTER, SERVICE, |s| {
        s.launch_type = None;
        s.capacity_provider_strategy = Some(vec![
            aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                .capacity_provider("ecs-pipeline-asg")
                .build()
                .expect("strategy item"),
        ]);
    });
    refused(&fake, "capacity providers ecs-pipeline-asg").await;
    fake.edit_service(CLUSTER, SERVICE, |s| {
        s.capacity_provider_strategy = Some(vec![
            aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE_SPOT")
                .build()
                .expect("strategy item"),
        ]);
    });
    assert_eq!(deploy_it(&fake).await.outcome, Outcome::Completed);
}

#[tokio::test(start_paused = true)]
async fn preflight_refuses_other_deployment_controllers() {
    let fake = ecs(6, 6);
    fake.edit_service(CLUSTER, SERVICE, |s| {
        s.deployment_controller = Some(
            aws_sdk_ecs::types::DeploymentController::builder()
                .r#type(aws_sdk_ecs::types::DeploymentControllerType::CodeDeploy)
                .build()
                .expect("controller"),
        )
    });
    refused(&fake, "CODE_DEPLOY").await;
}

// ---- dry run, no change, rendering ----------------------------------------

#[tokio::test(start_paused = true)]
async fn a_dry_run_renders_and_diffs_and_changes_nothing() {
    let fake = ecs(6, 6);
    let r = deploy_with(
        &fake,
        Options {
            dry_run: true,
            ..opts()
        },
    )
    .await;
    assert_eq!(r.outcome, Outcome::DryRun, "{}", r.message);
    assert!(mutations(&fake).is_empty(), "{:?}", mutations(&fake));
    let details = serde_json::to_value(r.details.expect("details")).expect("json");
    let diff = details["diff"].as_str().expect("a diff");
    assert!(
        diff.contains(&format!("+      \"image\": \"{IMAGE}\"")),
        "{diff}"
    );
    assert_eq!(
        details["task_definition"]["containerDefinitions"][1]["name"],
        "envoy"
    );
}

#[tokio::test(start_paused = true)]
async fn deploying_what_already_runs_registers_nothing() {
    let fake = ecs(6, 6);
    assert_eq!(deploy_it(&fake).await.outcome, Outcome::Completed);
    let r = deploy_it(&fake).await;
    assert_eq!(r.outcome, Outcome::NoChange, "{}", r.message);
    assert_eq!(fake.calls_of("RegisterTaskDefinition").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_registered_revision_keeps_every_field_of_the_running_one() {
    let fake = ecs(6, 6);
    assert_eq!(deploy_it(&fake).await.outcome, Outcome::Completed);
    let (old, old_tags) = fake.revision(FAMILY, 6);
    let sent = fake.registered().pop().expect("one registration");
    // What the app's JSON sets; everything else must be as it was.
    let applied = [
        "family",
        "cpu",
        "memory",
        "network_mode",
        "requires_compatibilities",
        "container_definitions",
        "tags",
    ];
    let before = debug_fields(&render::register_input(&old, &old_tags).expect("renders"));
    let after = debug_fields(&sent);
    for (field, value) in &before {
        if !applied.contains(&field.as_str()) {
            assert_eq!(Some(value), after.get(field), "`{field}` changed");
        }
        assert!(!after[field].starts_with("None"), "`{field}` was dropped");
    }
    // Every tag kept (the fixture's revisions are deployer's already).
    assert_eq!(sent.tags.as_deref(), Some(old_tags.as_slice()));
    let containers = sent.container_definitions();
    let old_containers = old.container_definitions();
    assert_eq!(containers[1], old_containers[1], "the sidecar is untouched");
    let (app, old_app) = (&containers[0], &old_containers[0]);
    assert_eq!(app.image(), Some(IMAGE));
    let same_except = |c: &ContainerDefinition| {
        let mut c = c.clone();
        c.image = None;
        c.environment = None;
        c.port_mappings = None;
        c
    };
    assert_eq!(
        same_except(app),
        same_except(old_app),
        "secrets, health check, labels, mounts, logs kept"
    );
    assert!(app.secrets().iter().any(|s| s.name() == "DB_PASSWORD"));
}

// ---- several apps, status --------------------------------------------------

#[tokio::test(start_paused = true)]
async fn several_apps_roll_out_at_once_with_one_report_each() {
    let fake = ecs(6, 6);
    let (td, tags) = everything_task_definition();
    let mut td_a = td.clone();
    if let Some(c) = td_a
        .container_definitions
        .as_mut()
        .and_then(|c| c.first_mut())
    {
        c.name = Some("service-a".into());
    }
    fake.task_definition("service-a", 1, &td_a, &tags);
    fake.service(CLUSTER, "service-a", "service-a:1", 2);
    let image_a = "123456789012.dkr.ecr.us-east-1.amazonaws.com/service-a:v2";
    fake.image(image_a);
    fake.script("service-a:2", Script::Completes { after: 4 });
    fake.script("service-b:7", Script::Completes { after: 4 });
    let targets = [target_of("service-a", "service-a"), target()];
    let started = tokio::time::Instant::now();
    let reports = deploy_apps(
        &fake,
        &targets,
        |t: &ResolvedApp| {
            let image = if t.name() == "service-a" {
                image_a
            } else {
                IMAGE
            };
            async move { Ok(ImageChoice::Given(image.to_owned())) }
        },
        opts(),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(reports.len(), 2);
    assert_eq!(
        (reports[0].app.as_str(), reports[1].app.as_str()),
        ("service-a", "service-b")
    );
    assert!(
        reports.iter().all(|r| r.outcome == Outcome::Completed),
        "{reports:?}"
    );
    // Each rollout takes four 5 s polls: one after the other would be 40 s.
    assert!(
        took < Duration::from_secs(30),
        "apps ran one after the other ({took:?})"
    );
    let report = Report::new("deploy", reports, took);
    assert_eq!(report.code().as_i32(), 0);
}

#[tokio::test(start_paused = true)]
async fn status_shows_revision_image_counts_deployments_and_targets() {
    let fake = ecs(6, 6);
    let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/service-b/abc";
    fake.edit_service(CLUSTER, SERVICE, |s| {
        s.load_balancers = Some(vec![aws_sdk_ecs::types::LoadBalancer::builder()
            .target_group_arn(tg)
            .container_name("service-b")
            .container_port(5001)
            .build()]);
    });
    let target_health = |id: &str, state| {
        TargetHealthDescription::builder()
            .target(TargetDescription::builder().id(id).port(5001).build())
            .target_health(
                TargetHealth::builder()
                    .state(state)
                    .description("Health checks failed")
                    .build(),
            )
            .build()
    };
    fake.targets(
        tg,
        vec![
            target_health("10.0.1.5", TargetHealthStateEnum::Healthy),
            target_health("10.0.2.7", TargetHealthStateEnum::Unhealthy),
        ],
    );
    let s = status::status(&fake, &target()).await.expect("status");
    assert_eq!(s.revision.as_deref(), Some("service-b:6"));
    assert_eq!(
        s.image.as_deref(),
        Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/service-b:old")
    );
    assert_eq!((s.running, s.desired), (2, 2));
    assert_eq!(s.deployments[0].rollout_state.as_deref(), Some("COMPLETED"));
    assert_eq!(s.target_groups[0].states["healthy"], 1);
    assert_eq!(s.target_groups[0].states["unhealthy"], 1);
    assert!(
        s.target_groups[0].problems[0].contains("10.0.2.7:5001 unhealthy: Health checks failed")
    );
    let text = s.text("service-b");
    assert!(text.contains("1 healthy, 1 unhealthy"), "{text}");
}
