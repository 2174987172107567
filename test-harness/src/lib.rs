//! Helpers for integration tests across the workspace.
//!
//! Tests that need an outside service (a Docker engine, a registry, a moto
//! server) ask for it through [`require`]. `tests/run` provides them all and
//! sets `ECS_PIPELINE_REQUIRE_SERVICES=1`, so that there a missing service
//! fails the test instead of skipping it. A bare `cargo test` on a laptop
//! without Docker skips those tests with a message that says so.

pub mod app_checks;
pub mod ecs_standin;
pub mod load;
pub mod service;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Set by `tests/run`: every service must be present.
pub const REQUIRE_VAR: &str = "ECS_PIPELINE_REQUIRE_SERVICES";

/// The value of `var`, which names an outside service a test needs.
/// `None` (and a message on stderr) when it is unset and services are
/// optional; a panic when `tests/run` requires them.
pub fn require(var: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") => {
            panic!("{var} is unset but {REQUIRE_VAR}=1: this test needs {what}")
        }
        _ => {
            eprintln!("SKIPPED: {var} is unset; this test needs {what} (tests/run provides it)");
            None
        }
    }
}

/// The Docker engine (`DOCKER_HOST`), when there is one.
pub fn docker_host() -> Option<String> {
    require("DOCKER_HOST", "a Docker engine")
}

/// The local registry standing in for ECR (`TEST_REGISTRY`, `host:port`).
pub fn registry() -> Option<String> {
    require("TEST_REGISTRY", "a local registry")
}

/// The JSON report `deployer --output json` printed on stdout; a panic
/// that shows stdout when it is not one.
pub fn json_report(stdout: &[u8]) -> serde_json::Value {
    serde_json::from_slice(stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is not deployer's JSON report ({err}):\n{}",
            String::from_utf8_lossy(stdout)
        )
    })
}

/// The environment variables that steer `deployer` and that a test must
/// not inherit from the shell that runs it.
pub const DEPLOYER_ENV: [&str; 8] = [
    "DEPLOYER_TARGET",
    "DEPLOYER_CONFIG_DIR",
    "DEPLOYER_REGISTRY",
    "DEPLOYER_GATEWAY",
    "ECS_CLUSTER",
    "ECS_SERVICE",
    "DEPLOY_ENV",
    "IMAGE_TAG",
];

/// A command that runs the `deployer` binary at `bin` with `args`: text
/// logs, and none of [`DEPLOYER_ENV`] from the shell; the test sets what it
/// needs on it.
pub fn deployer_command(bin: &str, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(bin);
    command.args(args).env("LOG_FORMAT", "text");
    for var in DEPLOYER_ENV {
        command.env_remove(var);
    }
    command
}

/// Runs `command` (a `deployer` given `args`) to the end, and echoes its
/// exit, stdout and stderr on the test's output, where a failing test shows
/// them.
pub fn run_echoed(command: &mut std::process::Command, args: &[&str]) -> std::process::Output {
    let out = command.output().expect("run deployer");
    eprintln!(
        "$ deployer {}\n--- exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A TCP port on 127.0.0.1 held by a socket that is bound but not
/// listening, for as long as the value lives.
///
/// A port that is released and expected to stay free is a race: any other
/// test may be handed it in between. A held port is not. The kernel never
/// picks it for another `bind` to port 0 nor as the source port of an
/// outgoing connection, and a connection to it is refused while nothing
/// listens on it.
#[derive(Debug)]
pub struct HeldPort {
    socket: socket2::Socket,
    /// The port number.
    pub port: u16,
}

impl HeldPort {
    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Lets go of the port (it may be taken by anyone from then on).
    pub fn release(self) {
        drop(self.socket);
    }
}

fn hold(reusable: bool) -> HeldPort {
    use socket2::{Domain, Protocol, Socket, Type};
    let held = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).and_then(|socket| {
        socket.set_reuse_address(reusable)?;
        socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
        let port = socket
            .local_addr()?
            .as_socket()
            .map(|addr| addr.port())
            .ok_or_else(|| std::io::Error::other("not an IP socket"))?;
        Ok(HeldPort { socket, port })
    });
    held.expect("bind an ephemeral port on 127.0.0.1")
}

/// A port on 127.0.0.1 that nothing listens on and nobody else can bind
/// while the value lives: connections to it are refused.
pub fn closed_port() -> HeldPort {
    hold(false)
}

/// A port on 127.0.0.1 reserved for a server the test starts. The holding
/// socket has `SO_REUSEADDR`, so a server that sets it too (service-core,
/// tokio's `TcpListener::bind`, Python's `http.server`, hence moto) can bind
/// the port while the reservation lives; nobody else is handed it. Keep the
/// value for as long as the server runs.
pub fn reserve_port() -> HeldPort {
    hold(true)
}

/// A child process that is killed when dropped, so that a failing test
/// leaves nothing running.
#[derive(Debug)]
pub struct ChildGuard {
    /// The process.
    pub child: Child,
    /// What it is, for messages.
    pub name: String,
}

impl ChildGuard {
    /// Starts `cmd` and guards it.
    pub fn spawn(name: &str, cmd: &mut Command) -> Self {
        let child = cmd
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name}: {err}"));
        ChildGuard {
            child,
            name: name.to_owned(),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (such as `"TERM"` or `"INT"`) with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {} failed", self.name);
    }

    /// Waits up to `timeout` for the process to exit, returning its status.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => return None,
            }
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `url` until it answers 200 or `timeout` passes.
pub fn wait_http_ok(url: &str, timeout: Duration) -> bool {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("http client");
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if client
            .get(url)
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A moto server of this test's own, on 127.0.0.1 and a free port, stopped
/// when dropped. Each test gets a fresh account state this way.
#[derive(Debug)]
pub struct Moto {
    /// The endpoint, for `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    _process: ChildGuard,
    _port: HeldPort,
}

impl Moto {
    /// Starts one, or returns `None` when `moto_server` is not installed
    /// and services are optional.
    pub fn start() -> Option<Moto> {
        let bin = std::env::var("MOTO_SERVER_BIN").unwrap_or_else(|_| "moto_server".to_owned());
        let found = Command::new(&bin)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            require("MOTO_SERVER_BIN", "moto_server (PyPI moto[server]) on PATH")?;
        }
        let reserved = reserve_port();
        let port = reserved.port;
        // moto logs every request; a file keeps a full pipe from stalling it.
        let log_path = std::env::temp_dir().join(format!("moto-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("create the moto log file");
        let mut cmd = Command::new(&bin);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log);
        let process = ChildGuard::spawn("moto_server", &mut cmd);
        let endpoint = format!("http://127.0.0.1:{port}");
        if !wait_http_ok(&format!("{endpoint}/moto-api/"), Duration::from_secs(30)) {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("moto_server did not come up on {endpoint}:\n{log}");
        }
        Some(Moto {
            endpoint,
            _process: process,
            _port: reserved,
        })
    }

    /// Environment for an AWS SDK or CLI process talking to this server:
    /// the endpoint, a region and dummy credentials.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }
}
