//! `deployer logs` against moto's CloudWatch Logs: the real binary reads
//! the app's log group (`/ecs/<app>`) as ECS's awslogs driver fills it,
//! one stream per task (`ecs/<container>/<task ID>`).

use std::process::Output;

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use serde_json::Value;

const GROUP: &str = "/ecs/service-a";
const TASK_1: &str = "0a1b2c3d4e5f";
const TASK_2: &str = "9f8e7d6c5b4a";

struct Logs {
    moto: test_harness::Moto,
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_cloudwatchlogs::Client,
}

impl Logs {
    fn start() -> Option<Logs> {
        let moto = test_harness::Moto::start()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let config = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(&moto.endpoint)
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new(
                    "testing", "testing", None, None, "test",
                ))
                .load(),
        );
        Some(Logs {
            client: aws_sdk_cloudwatchlogs::Client::new(&config),
            moto,
            runtime,
        })
    }

    fn group(&self, name: &str) {
        self.runtime
            .block_on(self.client.create_log_group().log_group_name(name).send())
            .expect("create the log group");
    }

    /// Puts `lines` (milliseconds ago, message) on one task's stream.
    fn put(&self, task: &str, lines: &[(i64, &str)]) {
        let stream = format!("ecs/service-a/{task}");
        let now = now_ms();
        self.runtime.block_on(async {
            self.client
                .create_log_stream()
                .log_group_name(GROUP)
                .log_stream_name(&stream)
                .send()
                .await
                .expect("create the stream");
            let events = lines
                .iter()
                .map(|(ago, message)| {
                    InputLogEvent::builder()
                        .timestamp(now - ago)
                        .message(*message)
                        .build()
                        .expect("an event")
                })
                .collect::<Vec<_>>();
            self.client
                .put_log_events()
                .log_group_name(GROUP)
                .log_stream_name(&stream)
                .set_log_events(Some(events))
                .send()
                .await
                .expect("put the events");
        });
    }

    fn deployer(&self, args: &[&str]) -> Output {
        let mut cmd = test_harness::deployer_command(env!("CARGO_BIN_EXE_deployer"), args);
        cmd.env(
            "DEPLOYER_CONFIG_DIR",
            test_harness::repo_root().join("config"),
        );
        for (key, value) in self.moto.env() {
            cmd.env(key, value);
        }
        test_harness::run_echoed(&mut cmd, args)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .expect("a clock after 1970")
}

fn stdout_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn messages(out: &Output) -> Vec<String> {
    stdout_lines(out)
        .iter()
        .map(|line| {
            let json: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            json["message"].as_str().expect("a message").to_owned()
        })
        .collect()
}

#[test]
fn logs_reads_the_log_group_merged_in_time_order_by_task_filter_and_since() {
    let Some(logs) = Logs::start() else {
        return;
    };
    logs.group(GROUP);
    let json = |level: &str, message: &str| {
        format!(
            r#"{{"timestamp":"t","level":"{level}","message":"{message}","target":"service_core"}}"#
        )
    };
    let old = json("INFO", "too old");
    let first = json("INFO", "listening");
    let second = json("ERROR", "upstream failed");
    let third = json("INFO", "request served");
    // Two tasks, their lines interleaved in time; one line older than --since.
    logs.put(
        TASK_1,
        &[(40 * 60_000, &old), (50_000, &first), (10_000, &third)],
    );
    logs.put(TASK_2, &[(30_000, &second), (5_000, "a plain line")]);

    let out = logs.deployer(&["logs", "service-a", "--since", "15m", "--output", "json"]);
    assert!(out.status.success(), "logs failed");
    let lines = stdout_lines(&out);
    // JSON lines pass through untouched, newest last; the plain one is wrapped.
    assert_eq!(
        lines[..3],
        [first.clone(), second.clone(), third.clone()],
        "{lines:#?}"
    );
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let wrapped: Value = serde_json::from_str(&lines[3]).expect("JSON");
    assert_eq!(wrapped["message"], "a plain line");
    assert_eq!(wrapped["source"], format!("ecs/service-a/{TASK_2}"));

    // --since reaches back further.
    let out = logs.deployer(&["logs", "service-a", "--since", "1h", "--output", "json"]);
    assert_eq!(messages(&out)[0], "too old");

    // One task, by ID or by ARN.
    let out = logs.deployer(&["logs", "service-a", "--task", TASK_1, "--output", "json"]);
    assert_eq!(messages(&out), ["listening", "request served"]);
    let arn = format!("arn:aws:ecs:us-east-1:123456789012:task/ecs-pipeline/{TASK_2}");
    let out = logs.deployer(&["logs", "service-a", "--task", &arn, "--output", "json"]);
    assert_eq!(messages(&out), ["upstream failed", "a plain line"]);

    // A CloudWatch filter pattern.
    let out = logs.deployer(&[
        "logs",
        "service-a",
        "--filter",
        "upstream",
        "--output",
        "json",
    ]);
    assert_eq!(messages(&out), ["upstream failed"]);

    // Text mode renders level, source and message.
    let out = logs.deployer(&["logs", "service-a", "--task", TASK_2]);
    assert!(out.status.success(), "logs failed");
    let text = stdout_lines(&out);
    assert_eq!(text.len(), 2, "{text:#?}");
    assert_eq!(
        text[0],
        format!("t ERROR ecs/service-a/{TASK_2} upstream failed")
    );
    assert!(
        text[1].ends_with(&format!(" ecs/service-a/{TASK_2} a plain line")),
        "{}",
        text[1]
    );
}

#[test]
fn logs_names_a_missing_log_group_and_a_bad_since() {
    let Some(logs) = Logs::start() else {
        return;
    };
    let out = logs.deployer(&["logs", "service-b"]);
    assert_eq!(out.status.code(), Some(2), "bad input");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("log group /ecs/service-b does not exist"),
        "{stderr}"
    );

    let out = logs.deployer(&["logs", "service-a", "--since", "soon"]);
    assert_eq!(out.status.code(), Some(2), "bad input");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--since soon"), "{stderr}");
}
