//! `deployer status` shows each app's CloudWatch alarms and their states:
//! the real binary against moto, with the alarms named as
//! infra/modules/observability names them (`<cluster>-<app>-<what>`).

mod ecs_support;

use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use ecs_support::{json_of, rich_task_definition, Script, World, CLUSTER};

fn alarm(w: &World, cloudwatch: &aws_sdk_cloudwatch::Client, name: &str) {
    w.runtime
        .block_on(
            cloudwatch
                .put_metric_alarm()
                .alarm_name(name)
                .namespace("AWS/ECS")
                .metric_name("CPUUtilization")
                .statistic(Statistic::Average)
                .period(60)
                .evaluation_periods(3)
                .threshold(90.0)
                .comparison_operator(ComparisonOperator::GreaterThanThreshold)
                .send(),
        )
        .expect("put an alarm");
}

#[test]
fn status_lists_the_apps_alarms_with_their_states() {
    let Some(w) = World::start(Script::default()) else {
        return;
    };
    let image = w.image("service-b", "v1");
    let (td, tags) = rich_task_definition("service-b", 5001, &image);
    let arn = w.register(&td, &tags);
    w.service("service-b", &arn, 2);

    let config = w.runtime.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&w.moto.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load(),
    );
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    let rate = format!("{CLUSTER}-service-b-5xx-rate");
    let latency = format!("{CLUSTER}-service-b-latency-p99");
    // This app's two, another app's, and one of another cluster's.
    let others = [
        format!("{CLUSTER}-service-a-5xx-rate"),
        "other-service-b-5xx-rate".to_owned(),
    ];
    for name in [&rate, &latency].into_iter().chain(&others) {
        alarm(&w, &cloudwatch, name);
    }
    w.runtime
        .block_on(
            cloudwatch
                .set_alarm_state()
                .alarm_name(&latency)
                .state_value(StateValue::Alarm)
                .state_reason("p99 above 1 s")
                .send(),
        )
        .expect("set the alarm state");

    let out = w.deployer(&["status", "service-b", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let report = json_of(&out);
    let alarms = report["apps"][0]["details"]["alarms"]
        .as_array()
        .expect("alarms")
        .clone();
    let seen: Vec<(String, String)> = alarms
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap_or_default().to_owned(),
                a["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    // Only this app's alarms in this cluster, each with its own state.
    assert_eq!(
        seen,
        [
            (rate.clone(), "OK".to_owned()),
            (latency.clone(), "ALARM".to_owned())
        ],
        "{alarms:#?}"
    );
    assert_eq!(alarms[1]["reason"], "p99 above 1 s");

    let out = w.deployer(&["status", "service-b"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("  alarms     1 of 2 in ALARM\n"), "{text}");
    assert!(
        text.contains(&format!("    ALARM             {latency}\n")),
        "{text}"
    );
}
