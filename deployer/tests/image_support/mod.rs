//! Shared by the image tests: throwaway apps (a JSON file and a build
//! context), the real `deployer` binary, and a few direct engine and
//! registry look-ups to check what it did.
//!
//! Every build runs with `DEPLOYER_BUILD_NETWORK=host`: the engine these
//! tests use has no bridge network.

#![allow(dead_code)] // each test file uses its own part of this module

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::TryStreamExt;

/// A base image every test engine has (a local stand-in, never pulled).
pub const BASE_IMAGE: &str = "debian:bookworm-slim";

/// A name no other test or run uses: `prefix-<pid>-<n>-<time>`.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

/// The engine's classic builder, looking for a cached step, goes through
/// every image made from the step's parent, and fails the build ("unable to
/// find image sha256:...") when one of them is removed meanwhile. The tests
/// of one binary run on parallel threads, all build from [`BASE_IMAGE`],
/// and remove their images as they end, so one test's clean-up could fail
/// another's build. A test therefore builds and removes images only during
/// its turn at the engine ([`engine_turn`]): every [`TestApp`] holds one
/// for its life, and [`ImageCleanup`] takes one to remove its images.
static ENGINE: Mutex<()> = Mutex::new(());

thread_local! {
    /// How many turns this thread holds, and the lock while it holds any.
    static TURNS: Cell<usize> = const { Cell::new(0) };
    static HELD: RefCell<Option<MutexGuard<'static, ()>>> = const { RefCell::new(None) };
}

/// This thread's turn at the engine; see [`ENGINE`]. A thread may hold
/// several at once (a test's app and its clean-up); the engine is free again
/// when the last one drops.
pub struct EngineTurn {
    /// A turn belongs to the thread that took it.
    _thread: PhantomData<*const ()>,
}

/// Waits for this thread's turn at the engine, unless it holds one already.
pub fn engine_turn() -> EngineTurn {
    TURNS.with(|turns| {
        if turns.get() == 0 {
            // A test that failed during its turn leaves the lock poisoned;
            // the engine itself is fine.
            let guard = ENGINE.lock().unwrap_or_else(PoisonError::into_inner);
            HELD.with(|held| *held.borrow_mut() = Some(guard));
        }
        turns.set(turns.get() + 1);
    });
    EngineTurn {
        _thread: PhantomData,
    }
}

impl Drop for EngineTurn {
    fn drop(&mut self) {
        TURNS.with(|turns| {
            turns.set(turns.get() - 1);
            if turns.get() == 0 {
                HELD.with(|held| drop(held.borrow_mut().take()));
            }
        });
    }
}

/// A throwaway app: `config/<app>.json` (a copy of service-b's with its own
/// name, repository and Dockerfile) and a build context.
pub struct TestApp {
    /// App name, also its repository name.
    pub name: String,
    /// Holds `config/` and `context/`.
    pub dir: tempfile::TempDir,
    /// Builds of this app happen during this test's turn at the engine.
    _turn: EngineTurn,
}

impl TestApp {
    /// An app built from `files` (path, content) with `dockerfile` as its
    /// Dockerfile path.
    pub fn new(dockerfile: &str, files: &[(&str, &str)]) -> Self {
        let turn = engine_turn();
        let name = unique("imgtest");
        let dir = tempfile::tempdir().expect("create a temp dir");
        let mut app: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(test_harness::repo_root().join("config/service-b.json"))
                .expect("read config/service-b.json"),
        )
        .expect("parse config/service-b.json");
        app["app"] = name.clone().into();
        app["deploy"]["dockerfile"] = dockerfile.into();
        app["deploy"]["repository"] = format!("deployer-tests/{name}").into();
        app.as_object_mut().expect("object").remove("$schema");
        let config = dir.path().join("config");
        std::fs::create_dir_all(&config).expect("create config/");
        std::fs::write(
            config.join(format!("{name}.json")),
            serde_json::to_string_pretty(&app).expect("serialise"),
        )
        .expect("write the app JSON");
        let test_app = TestApp {
            name,
            dir,
            _turn: turn,
        };
        for (path, content) in files {
            test_app.write(path, content);
        }
        test_app
    }

    /// The repository name the JSON sets.
    pub fn repository(&self) -> String {
        format!("deployer-tests/{}", self.name)
    }

    /// The local image name a build with `tag` makes.
    pub fn local_image(&self, tag: &str) -> String {
        format!("{}:{tag}", self.repository())
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn context(&self) -> PathBuf {
        self.dir.path().join("context")
    }

    /// Writes a file into the build context.
    pub fn write(&self, path: &str, content: &str) {
        let file = self.context().join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("create dirs");
        std::fs::write(file, content).expect("write a context file");
    }

    /// Runs `deployer <command> <app> --config-dir ... --context ... <extra>`.
    pub fn deployer(&self, command: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
        let mut args = vec![command, self.name.as_str()];
        let config_dir = self.config_dir();
        let context = self.context();
        let config_dir = config_dir.to_str().expect("utf-8 path");
        let context = context.to_str().expect("utf-8 path");
        args.extend(["--config-dir", config_dir, "--context", context]);
        args.extend(extra);
        deployer(&args, env)
    }
}

/// A finished `deployer` run.
pub struct Run {
    pub output: Output,
    pub stderr: String,
    pub stdout: String,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// Asserts the exit code, showing stderr when it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(code),
            "deployer exited {:?}, expected {code}\nstderr:\n{}\nstdout:\n{}",
            self.code(),
            self.stderr,
            self.stdout
        );
        self
    }

    /// Asserts that stderr contains `text`, showing it when it does not.
    pub fn expect_stderr(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks `{text}`:\n{}",
            self.stderr
        );
        self
    }

    /// The `--output json` report.
    pub fn report(&self) -> serde_json::Value {
        test_harness::json_report(self.stdout.as_bytes())
    }
}

/// Runs the real binary with the test engine and host-network builds.
pub fn deployer(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = test_harness::deployer_command(env!("CARGO_BIN_EXE_deployer"), args);
    command.env("DEPLOYER_BUILD_NETWORK", "host");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run deployer");
    Run {
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        output,
    }
}

/// A runtime for the engine look-ups below.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

pub async fn engine() -> bollard::Docker {
    deployer::docker::connect()
        .await
        .expect("connect to the test engine (DOCKER_HOST)")
}

/// The engine's view of `image`.
pub fn inspect(image: &str) -> bollard::models::ImageInspect {
    runtime().block_on(async {
        engine()
            .await
            .inspect_image(image)
            .await
            .unwrap_or_else(|err| panic!("inspect {image}: {err}"))
    })
}

/// The paths under `dir` inside `image`, read from a created (never
/// started) container.
pub fn files_in_image(image: &str, dir: &str) -> Vec<String> {
    use bollard::query_parameters::{
        CreateContainerOptions, DownloadFromContainerOptionsBuilder, RemoveContainerOptionsBuilder,
    };
    runtime().block_on(async {
        let docker = engine().await;
        let config = bollard::models::ContainerCreateBody {
            image: Some(image.to_owned()),
            host_config: Some(bollard::models::HostConfig {
                network_mode: Some("host".to_owned()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = docker
            .create_container(None::<CreateContainerOptions>, config)
            .await
            .unwrap_or_else(|err| panic!("create a container from {image}: {err}"));
        let tar: Vec<u8> = docker
            .download_from_container(
                &created.id,
                Some(DownloadFromContainerOptionsBuilder::new().path(dir).build()),
            )
            .map_ok(|chunk| chunk.to_vec())
            .try_concat()
            .await
            .unwrap_or_else(|err| panic!("copy {dir} out of {image}: {err}"));
        docker
            .remove_container(
                &created.id,
                Some(RemoveContainerOptionsBuilder::new().force(true).build()),
            )
            .await
            .expect("remove the container");
        let mut archive = tar::Archive::new(tar.as_slice());
        archive
            .entries()
            .expect("read the tar")
            .map(|e| {
                let entry = e.expect("a tar entry");
                entry.path().expect("a path").to_string_lossy().into_owned()
            })
            .collect()
    })
}

/// Removes images by name when dropped, so that the shared engine does
/// not fill up with test images.
pub struct ImageCleanup(pub Vec<String>);

impl Drop for ImageCleanup {
    fn drop(&mut self) {
        use bollard::query_parameters::RemoveImageOptionsBuilder;
        let names = std::mem::take(&mut self.0);
        let _turn = engine_turn();
        runtime().block_on(async {
            let docker = engine().await;
            for name in names {
                let _ = docker
                    .remove_image(
                        &name,
                        Some(RemoveImageOptionsBuilder::new().force(true).build()),
                        None,
                    )
                    .await;
            }
        });
    }
}

/// A registry v2 manifest look-up: the status and `Docker-Content-Digest`.
pub fn manifest(registry: &str, repository: &str, reference: &str) -> (u16, Option<String>) {
    let client = reqwest::blocking::Client::new();
    let response = client
        .head(format!(
            "http://{registry}/v2/{repository}/manifests/{reference}"
        ))
        .header(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json, \
             application/vnd.oci.image.manifest.v1+json",
        )
        .send()
        .unwrap_or_else(|err| panic!("ask {registry} for {repository}:{reference}: {err}"));
    let digest = response
        .headers()
        .get("Docker-Content-Digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response.status().as_u16(), digest)
}

/// Writes `files` under `root`.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("create dirs");
        std::fs::write(file, content).expect("write a file");
    }
}

/// A started container, force-removed when dropped.
pub struct Container {
    pub id: String,
}

impl Container {
    /// Starts `image` on the host network with `env` (`NAME=value`).
    pub fn start(image: &str, env: Vec<String>) -> Self {
        use bollard::query_parameters::CreateContainerOptionsBuilder;
        runtime().block_on(async {
            let docker = engine().await;
            let config = bollard::models::ContainerCreateBody {
                image: Some(image.to_owned()),
                env: Some(env),
                host_config: Some(bollard::models::HostConfig {
                    network_mode: Some("host".to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let name = unique("imgtest-run");
            let created = docker
                .create_container(
                    Some(CreateContainerOptionsBuilder::new().name(&name).build()),
                    config,
                )
                .await
                .unwrap_or_else(|err| panic!("create a container from {image}: {err}"));
            docker
                .start_container(
                    &created.id,
                    None::<bollard::query_parameters::StartContainerOptions>,
                )
                .await
                .unwrap_or_else(|err| panic!("start {image}: {err}"));
            Container { id: created.id }
        })
    }

    /// The container's output so far, for failure messages.
    pub fn logs(&self) -> String {
        use bollard::query_parameters::LogsOptionsBuilder;
        runtime().block_on(async {
            engine()
                .await
                .logs(
                    &self.id,
                    Some(LogsOptionsBuilder::new().stdout(true).stderr(true).build()),
                )
                .map_ok(|chunk| chunk.to_string())
                .try_collect::<Vec<_>>()
                .await
                .map(|lines| lines.concat())
                .unwrap_or_else(|err| format!("(no logs: {err})"))
        })
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        use bollard::query_parameters::RemoveContainerOptionsBuilder;
        let id = self.id.clone();
        runtime().block_on(async {
            let _ = engine()
                .await
                .remove_container(
                    &id,
                    Some(RemoveContainerOptionsBuilder::new().force(true).build()),
                )
                .await;
        });
    }
}
