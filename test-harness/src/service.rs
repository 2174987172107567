//! A service binary under test: started on 127.0.0.1 and a free port,
//! logging JSON to a file, stopped by a signal; and the checks every app's
//! routes must pass, shared by the binary tests and the image test.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use app_config::AppConfig;
use serde_json::Value;

use crate::{repo_root, reserve_port, wait_http_ok, ChildGuard, HeldPort};

/// The app's JSON from `config/<app>.json`.
pub fn app_config(app: &str) -> AppConfig {
    let dir = repo_root().join(app_config::DEFAULT_DIR);
    app_config::load_app(&dir, app).unwrap_or_else(|err| panic!("load {app}'s JSON: {err}"))
}

/// A file under the temporary directory that no other test uses.
pub fn scratch_file(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("ecs-pipeline-{}-{n}-{name}", std::process::id()))
}

/// A running service binary.
#[derive(Debug)]
pub struct Service {
    process: ChildGuard,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    log: PathBuf,
    valve: Option<LogValve>,
    _reserved: HeldPort,
}

impl Service {
    /// Starts `bin` on 127.0.0.1 and a free port with JSON logs, plus
    /// `env`, and waits until `ready_path` answers 200.
    pub fn start(bin: &str, env: &[(&str, &str)], ready_path: &str) -> Service {
        Service::launch(bin, env, ready_path, false)
    }

    /// As [`Service::start`], but its stderr is a pipe that a thread of
    /// this process copies to the log file, through a [`LogValve`] the
    /// test can close ([`Service::log_valve`]): a log reader that stops
    /// reading, as a busy log driver does.
    pub fn start_with_log_valve(bin: &str, env: &[(&str, &str)], ready_path: &str) -> Service {
        Service::launch(bin, env, ready_path, true)
    }

    fn launch(bin: &str, env: &[(&str, &str)], ready_path: &str, valve: bool) -> Service {
        let reserved = reserve_port();
        let port = reserved.port;
        let log = scratch_file("service.log");
        let log_file = std::fs::File::create(&log).expect("create the service log file");
        let mut cmd = Command::new(bin);
        cmd.env("APP_BIND", "127.0.0.1")
            .env("APP_PORT", port.to_string())
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env_remove("APP_CONFIG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if valve {
            cmd.stderr(Stdio::piped());
        } else {
            cmd.stderr(log_file.try_clone().expect("clone the log file"));
        }
        let mut process = ChildGuard::spawn(bin, &mut cmd);
        let valve = process
            .child
            .stderr
            .take()
            .map(|stderr| LogValve::start(stderr, log_file));
        let service = Service {
            process,
            port,
            log,
            valve,
            _reserved: reserved,
        };
        let url = service.url(ready_path);
        if !wait_http_ok(&url, Duration::from_secs(20)) {
            panic!(
                "{bin} did not answer {url} within 20 s; its log:\n{}",
                service.log_text()
            );
        }
        service
    }

    /// The valve of a service started with [`Service::start_with_log_valve`].
    pub fn log_valve(&mut self) -> &mut LogValve {
        self.valve
            .as_mut()
            .expect("the service was started without a log valve")
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The address it listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`).
    pub fn signal(&self, signal: &str) {
        self.process.signal(signal);
    }

    /// Waits up to `timeout` for the exit; returns the status and how long
    /// the wait took.
    pub fn wait_exit(&mut self, timeout: Duration) -> (Option<ExitStatus>, Duration) {
        let started = Instant::now();
        let status = self.process.wait_timeout(timeout);
        (status, started.elapsed())
    }

    /// Everything it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its log lines, each parsed as JSON; panics on a line that is not.
    pub fn log_lines(&self) -> Vec<Value> {
        json_lines(&self.log_text())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Copies a process's stderr to its log file while open; closed, it reads
/// nothing, so the pipe fills and the process's writes to stderr wait.
#[derive(Debug)]
pub struct LogValve {
    open: Arc<(Mutex<bool>, Condvar)>,
    copier: Option<JoinHandle<()>>,
}

impl LogValve {
    fn start(mut stderr: std::process::ChildStderr, mut file: std::fs::File) -> LogValve {
        let open = Arc::new((Mutex::new(true), Condvar::new()));
        let copier = std::thread::spawn({
            let open = open.clone();
            move || {
                let mut chunk = vec![0u8; 64 * 1024];
                loop {
                    {
                        let (lock, turned) = &*open;
                        let mut is_open = lock.lock().expect("valve");
                        while !*is_open {
                            is_open = turned.wait(is_open).expect("valve");
                        }
                    }
                    match std::io::Read::read(&mut stderr, &mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if std::io::Write::write_all(&mut file, &chunk[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        LogValve {
            open,
            copier: Some(copier),
        }
    }

    fn turn(&self, to: bool) {
        let (lock, turned) = &*self.open;
        *lock.lock().expect("valve") = to;
        turned.notify_all();
    }

    /// Stops reading after the read under way.
    pub fn close(&self) {
        self.turn(false);
    }

    /// Reads again.
    pub fn open(&self) {
        self.turn(true);
    }

    /// Opens the valve and waits until the process's end of the pipe is
    /// closed and everything in it is in the log file.
    pub fn drain(&mut self) {
        self.open();
        if let Some(copier) = self.copier.take() {
            copier.join().expect("the log copier panicked");
        }
    }
}

impl Drop for LogValve {
    fn drop(&mut self) {
        // Never leave the copier waiting on a closed valve.
        self.open();
    }
}

/// Parses every non-empty line as a JSON object; panics naming the first
/// line that is not one.
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(value) if value.is_object() => value,
            _ => panic!("log line is not a JSON object: {line}"),
        })
        .collect()
}

/// The access-log line of the request with `request_id`, checked for every
/// field CloudWatch queries rely on.
pub fn assert_access_logged(
    lines: &[Value],
    request_id: &str,
    method: &str,
    path: &str,
    status: u16,
) {
    let line = lines
        .iter()
        .find(|l| l["request_id"] == request_id)
        .unwrap_or_else(|| panic!("no log line with request_id {request_id} in {lines:#?}"));
    assert_eq!(line["method"], method, "{line}");
    assert_eq!(line["path"], path, "{line}");
    assert_eq!(line["status"], status, "{line}");
    let latency = line["latency_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("latency_ms is not a number: {line}"));
    assert!((0.0..10_000.0).contains(&latency), "{line}");
    let micros = latency * 1000.0;
    assert!(
        (micros - micros.round()).abs() < 1e-6,
        "latency_ms in whole microseconds: {line}"
    );
    assert!(
        line["timestamp"].is_string() && line["level"] == "INFO",
        "{line}"
    );
}

/// What the info routes must report.
#[derive(Debug, Clone)]
pub struct Expected {
    /// `app`.
    pub app: String,
    /// `launch_type`.
    pub launch_type: String,
    /// `environment`.
    pub environment: String,
    /// `port`.
    pub port: u16,
    /// `version`.
    pub version: String,
}

impl Expected {
    /// What an app started with only `APP_ENV`, `APP_VERSION` and
    /// `APP_PORT` reports: the rest comes from its JSON.
    pub fn from_json(app: &AppConfig, environment: &str, version: &str, port: u16) -> Expected {
        Expected {
            app: app.app.clone(),
            launch_type: app.launch_type.as_str().to_owned(),
            environment: environment.to_owned(),
            port,
            version: version.to_owned(),
        }
    }
}

/// Headers every response carries, errors included.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("cache-control", "no-store"),
];

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// Sends `method path` with a request id and checks what every answer
/// shares: the status, a JSON body, the security headers, the echoed id.
pub fn call(base: &str, method: &str, path: &str, status: u16) -> Value {
    let request_id = format!("check-{method}-{path}");
    let method_value = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let response = http()
        .request(method_value, format!("{base}{path}"))
        .header("x-request-id", &request_id)
        .send()
        .unwrap_or_else(|err| panic!("{method} {base}{path}: {err}"));
    assert_eq!(response.status().as_u16(), status, "{method} {path}");
    let headers = response.headers().clone();
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{method} {path}: header {name}"
        );
    }
    assert_eq!(
        headers.get("x-request-id").and_then(|v| v.to_str().ok()),
        Some(request_id.as_str()),
        "{method} {path}: the request id must come back"
    );
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "{method} {path}"
    );
    let body: Value = response
        .json()
        .unwrap_or_else(|err| panic!("{method} {path}: body is not JSON: {err}"));
    body
}

/// Checks every route `app`'s JSON defines, and the answers to everything
/// else, against a server at `base`.
pub fn assert_serves_app(base: &str, app: &AppConfig, expected: &Expected) {
    for ms in &app.microservices {
        let info = call(base, "GET", &format!("/{}", ms.name), 200);
        assert_eq!(info["microservice"], ms.name.as_str(), "{info}");
        assert_eq!(info["app"], expected.app.as_str(), "{info}");
        assert_eq!(info["launch_type"], expected.launch_type.as_str(), "{info}");
        assert_eq!(info["environment"], expected.environment.as_str(), "{info}");
        assert_eq!(info["port"], expected.port, "{info}");
        assert_eq!(info["version"], expected.version.as_str(), "{info}");
        assert!(
            info["host"].as_str().is_some_and(|h| !h.is_empty()),
            "{info}"
        );

        let health = call(base, "GET", &ms.health_path(), 200);
        assert_eq!(health["status"], "ok", "{health}");
        assert_eq!(health["microservice"], ms.name.as_str(), "{health}");

        for path in [format!("/{}/nope", ms.name), format!("/{}/", ms.name)] {
            let missing = call(base, "GET", &path, 404);
            assert!(missing["error"].is_string(), "{missing}");
        }
        for method in ["POST", "PUT", "DELETE"] {
            let wrong = call(base, method, &format!("/{}", ms.name), 405);
            assert!(wrong["error"].is_string(), "{wrong}");
        }
    }
    call(base, "GET", &app.health_check_path(), 200);
    for path in ["/", "/nope", "/medicalx", "/..%2f..%2fetc/passwd"] {
        let missing = call(base, "GET", path, 404);
        assert_eq!(missing["status"], 404, "{missing}");
    }
}

/// Runs `bin` with `env` until it exits (it must, within 10 s) and returns
/// its status and stderr. For configurations that must stop the process.
pub fn run_to_exit(bin: &str, env: &[(&str, &str)]) -> (ExitStatus, String) {
    let stderr = scratch_file("stderr.log");
    let file = std::fs::File::create(&stderr).expect("create stderr file");
    let reserved = reserve_port();
    let mut cmd = Command::new(bin);
    cmd.env_remove("APP_CONFIG")
        // Should the configuration be accepted after all, serve somewhere
        // harmless until the guard kills it.
        .env("APP_BIND", "127.0.0.1")
        .env("APP_PORT", reserved.port.to_string())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file);
    let mut process = ChildGuard::spawn(bin, &mut cmd);
    let status = process.wait_timeout(Duration::from_secs(10));
    let text = std::fs::read_to_string(&stderr).unwrap_or_default();
    let _ = std::fs::remove_file(&stderr);
    match status {
        Some(status) => (status, text),
        None => panic!("{bin} with {env:?} kept running instead of exiting; stderr:\n{text}"),
    }
}

/// A copy of `app`'s JSON with `edit` applied, written to a scratch file.
pub fn edited_config(app: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let source = repo_root()
        .join(app_config::DEFAULT_DIR)
        .join(format!("{app}.json"));
    let text = std::fs::read_to_string(&source).expect("read the app JSON");
    let mut json: Value = serde_json::from_str(&text).expect("parse the app JSON");
    edit(&mut json);
    // The `$schema` hint is relative to config/; drop it in the copy.
    if let Some(map) = json.as_object_mut() {
        map.remove("$schema");
    }
    let file = scratch_file(&format!("{app}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(&json).expect("serialize")).expect("write");
    file
}

/// `path` as a string, for environment values.
pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}
