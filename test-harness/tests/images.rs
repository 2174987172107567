//! Both apps' images, built from their Dockerfiles on the real engine with
//! the docker CLI and run as containers on a read-only root filesystem:
//! at most [`MAX_IMAGE_BYTES`], every route served, a non-root user, a
//! working health check, `docker stop` ending in exit code 0 with the JSON
//! logs delivered.
//!
//! The engine has no bridge network, so containers use the host's network
//! and listen on 127.0.0.1 and a free port. Release builds take minutes on
//! a small machine: each image is built once per run, one at a time, so
//! that the second build reuses the dependency layer both share.

use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use test_harness::service::{
    app_config, assert_access_logged, assert_serves_app, json_lines, Expected,
};

/// Builds run one at a time: the second reuses the first's shared layers.
static BUILDS: Mutex<()> = Mutex::new(());

/// The user the Dockerfiles run as.
const USER: &str = "10001";

/// The largest an app's image may be: 15 MB. The images are `scratch`
/// plus one static binary; build tools or a base image leaking in would
/// be ten times that.
const MAX_IMAGE_BYTES: u64 = 15_000_000;

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run docker {args:?}: {err}"))
}

fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Builds `app`'s image from the Dockerfile its JSON names.
fn build(app: &str, dockerfile: &str, tag: &str) {
    let _one_at_a_time = BUILDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let root = test_harness::repo_root();
    let started = Instant::now();
    let out = Command::new("docker")
        .args([
            "build",
            "--network",
            "host",
            "-f",
            dockerfile,
            "-t",
            tag,
            ".",
        ])
        .current_dir(&root)
        .output()
        .expect("run docker build");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "docker build of {app} failed:\n{log}");
    eprintln!("built {tag} in {:?}", started.elapsed());
}

/// A container removed when dropped, whatever the test's outcome.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.0]);
    }
}

fn image_size(image: &str) -> u64 {
    docker_ok(&["image", "inspect", "-f", "{{.Size}}", image])
        .parse()
        .expect("image size is a number")
}

fn wait_healthy(name: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let status = docker_ok(&["inspect", "-f", "{{.State.Health.Status}}", name]);
        if status == "healthy" || Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn image_serves_its_app(app: &str) {
    if test_harness::docker_host().is_none() {
        return;
    }
    let cfg = app_config(app);
    let version = format!("test-{}", std::process::id());
    // One fixed tag: a rebuild replaces it, and its layers stay cached for
    // the next run and for bench/services.sh.
    let tag = format!("ecs-pipeline-test/{app}:latest");
    build(app, &cfg.deploy.dockerfile, &tag);

    let size = image_size(&tag);
    assert!(
        size <= MAX_IMAGE_BYTES,
        "{tag} is {size} bytes, over {MAX_IMAGE_BYTES}: a base image or build tools in the runtime image?"
    );

    let reserved = test_harness::reserve_port();
    let port = reserved.port;
    let name = format!("ecs-pipeline-test-{app}-{}", std::process::id());
    let container = Container(name.clone());
    let _ = docker(&["rm", "-f", &name]);
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "host",
        // As ECS runs it with `readonlyRootFilesystem`: nothing is written.
        "--read-only",
        "-e",
        "APP_BIND=127.0.0.1",
        "-e",
        &format!("APP_PORT={port}"),
        "-e",
        "APP_ENV=ci",
        "-e",
        &format!("APP_VERSION={version}"),
        &tag,
    ]);
    let base = format!("http://127.0.0.1:{port}");
    let health = format!("{base}{}", cfg.health_check_path());
    if !test_harness::wait_http_ok(&health, Duration::from_secs(60)) {
        let logs = docker(&["logs", &name]);
        panic!(
            "{app}'s container never answered {health}:\n{}",
            String::from_utf8_lossy(&logs.stderr)
        );
    }

    assert_serves_app(
        &base,
        &cfg,
        &Expected::from_json(&cfg, "ci", &version, port),
    );

    assert_eq!(
        docker_ok(&["inspect", "-f", "{{.Config.User}}", &name]),
        format!("{USER}:{USER}")
    );
    // The image has no `id` to exec: ask the engine for the process's uid.
    let top = docker_ok(&["top", &name, "-o", "pid,uid"]);
    let uids: Vec<&str> = top
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().nth(1))
        .collect();
    assert_eq!(uids, [USER], "the process must not run as root: {top}");
    let status = wait_healthy(&name, Duration::from_secs(45));
    assert_eq!(
        status, "healthy",
        "the image's HEALTHCHECK (`app healthcheck`)"
    );

    let stopping = Instant::now();
    docker_ok(&["stop", "-t", "30", &name]);
    let stop_took = stopping.elapsed();
    assert_eq!(
        docker_ok(&["inspect", "-f", "{{.State.ExitCode}}", &name]),
        "0"
    );
    assert!(
        stop_took < Duration::from_secs(20),
        "docker stop took {stop_took:?}"
    );

    let logs = docker(&["logs", &name]);
    let lines = json_lines(&String::from_utf8_lossy(&logs.stderr));
    let first = format!("/{}", cfg.microservices[0].name);
    assert_access_logged(&lines, &format!("check-GET-{first}"), "GET", &first, 200);
    assert!(
        lines.iter().any(
            |l| l["message"] == "shutting down: refusing new connections"
                && l["signal"] == "SIGTERM"
        ),
        "the SIGTERM from docker stop must be logged: {lines:#?}"
    );
    assert!(lines
        .iter()
        .any(|l| l["message"] == "drained: every connection finished"));

    drop(container);
}

#[test]
fn service_a_image_serves_medical_and_security() {
    image_serves_its_app("service-a");
}

#[test]
fn service_b_image_serves_finance_and_payment() {
    image_serves_its_app("service-b");
}
