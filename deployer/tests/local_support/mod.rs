//! What the local-fleet tests share: the test images, a fleet of the test's
//! own (its own gateway port, config and containers, removed when the test
//! ends, pass or fail), the real `deployer` binary, and a bounded load.
//!
//! The images package the apps' own binaries, as cargo built them for the
//! tests, into `FROM debian:bookworm-slim`: the Dockerfiles' images take
//! minutes to build here (the image tests cover them), and these tests are
//! about the gateway and the rollout. The broken image never listens.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use test_harness::ChildGuard;

/// The version `up` starts with.
pub const V1: &str = "lt-v1";
/// The version a deploy rolls out.
pub const V2: &str = "lt-v2";
/// An image whose containers run but never answer.
pub const NEVER_HEALTHY: &str = "lt-never-healthy";

/// The apps and their microservices, as the shipped JSON names them.
pub const MICROSERVICES: [(&str, &str); 4] = [
    ("medical", "service-a"),
    ("security", "service-a"),
    ("finance", "service-b"),
    ("payment", "service-b"),
];

/// Health check settings of the test fleet: the fastest the JSON allows,
/// so that the tests spend seconds, not minutes, waiting for thresholds.
pub const INTERVAL: Duration = Duration::from_secs(5);
pub const UNHEALTHY_THRESHOLD: u32 = 2;
pub const DEREGISTRATION_DELAY_SECONDS: u32 = 5;

/// Runs `docker` with the test's engine; panics with its output on failure.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run the docker CLI");
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An app's binary, built by `cargo test --workspace` for the apps' own
/// tests; running this package's tests alone does not build it, hence the
/// hint.
fn app_binary(app: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let binary = profile_dir.join(app);
    assert!(
        binary.is_file(),
        "no {app} binary at {}: run `cargo build -p {app}` (or `cargo test --workspace`) first",
        binary.display()
    );
    binary
}

/// Builds the test images once per test binary.
pub fn images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        for app in ["service-a", "service-b"] {
            let dir = tempfile::tempdir().expect("temp dir");
            std::fs::copy(app_binary(app), dir.path().join("app")).expect("copy the app");
            std::fs::write(
                dir.path().join("Dockerfile"),
                "FROM debian:bookworm-slim\nCOPY app /usr/local/bin/app\nUSER 65534\nCMD [\"/usr/local/bin/app\"]\n",
            )
            .expect("write Dockerfile");
            let tags: Vec<String> = [V1, V2].iter().map(|v| format!("{app}:{v}")).collect();
            let mut args = vec!["build", "-q", "--network", "host"];
            for tag in &tags {
                args.extend(["-t", tag.as_str()]);
            }
            args.push(dir.path().to_str().expect("utf-8 path"));
            docker(&args);
        }

        let broken = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            broken.path().join("Dockerfile"),
            "FROM debian:bookworm-slim\nCMD [\"sleep\", \"infinity\"]\n",
        )
        .expect("write Dockerfile");
        let tag = format!("service-b:{NEVER_HEALTHY}");
        docker(&[
            "build",
            "-q",
            "--network",
            "host",
            "-t",
            &tag,
            broken.path().to_str().expect("utf-8 path"),
        ]);
    });
}

/// A fleet of the test's own: gateway port, config directory, log files,
/// and its containers, which are removed when it is dropped.
pub struct TestFleet {
    /// The gateway's port.
    pub port: u16,
    /// `127.0.0.1:<port>`: the fleet label, and `DEPLOYER_GATEWAY`.
    pub gateway: String,
    dir: tempfile::TempDir,
    http: reqwest::blocking::Client,
    _reserved: test_harness::HeldPort,
    /// Dropped after the containers are removed (`Drop` runs first).
    _turn: MutexGuard<'static, ()>,
}

/// One fleet at a time in a test binary. A fleet's containers take ports
/// that `deployer` found free, and a container that never binds its port
/// (the [`NEVER_HEALTHY`] revision) leaves it free for another fleet's
/// container to take; this fleet's gateway then checks, and routes to,
/// the other fleet's app. Two tests of one binary did exactly that: the
/// never-healthy revision passed its health checks and answered 476
/// requests as the other test's `lt-v2`, then 1,832 requests failed when
/// that container left. Tests take turns here; the gateway trusting
/// whatever answers on a port is the deployer's to fix.
static FLEETS: Mutex<()> = Mutex::new(());

impl TestFleet {
    /// A new fleet on a free port, with the shipped JSON made quicker.
    pub fn new() -> Self {
        // A test that failed holding the turn leaves nothing running: its
        // fleet's drop removed its containers.
        let turn = FLEETS.lock().unwrap_or_else(PoisonError::into_inner);
        images();
        let reserved = test_harness::reserve_port();
        let port = reserved.port;
        let dir = tempfile::tempdir().expect("temp dir");
        let config_dir = dir.path().join("config");
        std::fs::create_dir(&config_dir).expect("config dir");
        for app in ["service-a", "service-b"] {
            let shipped = test_harness::repo_root()
                .join("config")
                .join(format!("{app}.json"));
            let text = std::fs::read_to_string(&shipped).expect("read the shipped JSON");
            let mut json: Value = serde_json::from_str(&text).expect("JSON");
            if let Some(fields) = json.as_object_mut() {
                fields.remove("$schema");
            }
            json["health_check"]["interval_seconds"] = INTERVAL.as_secs().into();
            json["health_check"]["timeout_seconds"] = 2.into();
            json["health_check"]["healthy_threshold"] = 2.into();
            json["health_check"]["unhealthy_threshold"] = UNHEALTHY_THRESHOLD.into();
            json["deploy"]["deregistration_delay_seconds"] = DEREGISTRATION_DELAY_SECONDS.into();
            std::fs::write(
                config_dir.join(format!("{app}.json")),
                serde_json::to_string_pretty(&json).expect("JSON"),
            )
            .expect("write the test JSON");
        }
        TestFleet {
            port,
            gateway: format!("127.0.0.1:{port}"),
            dir,
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
            _reserved: reserved,
            _turn: turn,
        }
    }

    /// The gateway's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.gateway)
    }

    /// The `deployer` binary, pointed at this fleet and its config.
    pub fn deployer(&self) -> Command {
        let mut cmd = test_harness::deployer_command(env!("CARGO_BIN_EXE_deployer"), &[]);
        cmd.env("DEPLOYER_GATEWAY", &self.gateway)
            .env("DEPLOYER_CONFIG_DIR", self.dir.path().join("config"))
            .env("RUST_LOG", "info");
        cmd
    }

    /// Runs `deployer args...` to the end; its stderr is echoed.
    pub fn run(&self, args: &[&str]) -> Output {
        test_harness::run_echoed(self.deployer().args(args), args)
    }

    /// Starts `deployer up --no-build --tag <tag> <apps>`; its output goes
    /// to a log file that [`TestFleet::up_log`] reads.
    pub fn up(&self, apps: &[&str], tag: &str) -> ChildGuard {
        let log = std::fs::File::create(self.dir.path().join("up.log")).expect("log file");
        let mut cmd = self.deployer();
        cmd.args(["up", "--no-build", "--tag", tag])
            .args(apps)
            .stdout(Stdio::null())
            .stderr(log);
        ChildGuard::spawn("deployer up", &mut cmd)
    }

    /// What `up` has logged so far.
    pub fn up_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("up.log")).unwrap_or_default()
    }

    /// `GET path` through the gateway: status, content type and body.
    pub fn get(&self, path: &str) -> (u16, String, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.url()))
            .send()
            .unwrap_or_else(|err| panic!("GET {path} through the gateway: {err}"));
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (status, content_type, response.text().unwrap_or_default())
    }

    /// `GET path` through the gateway, which must answer 200 with JSON.
    pub fn get_json(&self, path: &str) -> Value {
        let (status, _, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|err| panic!("GET {path}: {err}: {body}"))
    }

    /// The gateway's targets, from its admin endpoint.
    pub fn targets(&self) -> Vec<Value> {
        let view: Value = self
            .http
            .get(format!("{}/_gateway/targets", self.url()))
            .send()
            .and_then(|r| r.json())
            .unwrap_or(Value::Null);
        view["targets"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `count` targets of each of `apps` are healthy.
    pub fn wait_healthy(&self, apps: &[&str], count: usize, timeout: Duration) {
        let ready = wait_for(timeout, || {
            let targets = self.targets();
            apps.iter().all(|app| {
                targets
                    .iter()
                    .filter(|t| t["app"] == *app && t["state"] == "healthy")
                    .count()
                    == count
            })
        });
        assert!(
            ready,
            "{apps:?} did not get {count} healthy targets each within {timeout:?}: {:#?}\n{}",
            self.targets(),
            self.up_log()
        );
    }

    /// The fleet's containers, as `name revision version state` lines.
    pub fn containers(&self) -> Vec<String> {
        let filter = format!("label=ecs-pipeline.fleet={}", self.gateway);
        let out = docker(&[
            "ps",
            "-a",
            "--filter",
            &filter,
            "--format",
            "{{.Names}} {{.Label \"ecs-pipeline.revision\"}} {{.Label \"ecs-pipeline.version\"}} {{.State}}",
        ]);
        let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    }
}

impl Drop for TestFleet {
    fn drop(&mut self) {
        // Whatever the test did, nothing of this fleet stays behind.
        let filter = format!("label=ecs-pipeline.fleet={}", self.gateway);
        let ids = Command::new("docker")
            .args(["ps", "-aq", "--filter", &filter])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let _ = Command::new("docker")
                .args(["rm", "-f"])
                .args(&ids)
                .stdout(Stdio::null())
                .status();
        }
    }
}

/// Polls `condition` every 200 ms until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What a load run saw.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Requests answered 200.
    pub ok: usize,
    /// Everything else, with what went wrong.
    pub failures: Vec<String>,
    /// How many answers each version gave.
    pub versions: BTreeMap<String, usize>,
}

/// A steady, bounded load through the gateway: `workers` threads, each
/// sending one request after another round the `paths`, until stopped, or
/// at the latest after `MAX_RUN` or `MAX_REQUESTS` requests each.
pub struct Load {
    stop: Arc<AtomicBool>,
    result: Arc<Mutex<LoadResult>>,
    workers: Vec<JoinHandle<()>>,
}

const MAX_RUN: Duration = Duration::from_secs(240);
const MAX_REQUESTS: usize = 200_000;

impl Load {
    /// Starts the load.
    pub fn start(base: &str, paths: &[&str], workers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let result = Arc::new(Mutex::new(LoadResult::default()));
        let handles = (0..workers)
            .map(|worker| {
                let stop = Arc::clone(&stop);
                let result = Arc::clone(&result);
                let urls: Vec<String> = paths.iter().map(|p| format!("{base}{p}")).collect();
                std::thread::spawn(move || {
                    let client = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .expect("http client");
                    let started = Instant::now();
                    let mut sent = 0;
                    while !stop.load(Ordering::SeqCst)
                        && started.elapsed() < MAX_RUN
                        && sent < MAX_REQUESTS
                    {
                        let url = &urls[(worker + sent) % urls.len()];
                        sent += 1;
                        let outcome =
                            client
                                .get(url)
                                .send()
                                .map_err(|e| e.to_string())
                                .and_then(|r| {
                                    let status = r.status();
                                    let body = r.text().map_err(|e| e.to_string())?;
                                    if status.as_u16() == 200 {
                                        let json: Value = serde_json::from_str(&body)
                                            .map_err(|e| e.to_string())?;
                                        Ok(json["version"].as_str().unwrap_or("?").to_owned())
                                    } else {
                                        Err(format!("HTTP {status}: {body}"))
                                    }
                                });
                        let mut result = result.lock().expect("load result");
                        match outcome {
                            Ok(version) => {
                                result.ok += 1;
                                *result.versions.entry(version).or_default() += 1;
                            }
                            Err(err) => result.failures.push(format!("{url}: {err}")),
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            result,
            workers: handles,
        }
    }

    /// Stops the load and returns what it saw.
    pub fn stop(self) -> LoadResult {
        self.stop.store(true, Ordering::SeqCst);
        for worker in self.workers {
            worker.join().expect("load worker");
        }
        let mut result = self.result.lock().expect("load result");
        std::mem::take(&mut *result)
    }
}

/// The JSON report `deployer --output json` printed.
pub fn report(out: &Output) -> Value {
    test_harness::json_report(&out.stdout)
}
