//! The app's containers on the local engine, started from the task
//! definition an ECS deploy would register ([`crate::taskdef::baseline`]):
//! its image, environment, command, size and stop timeout carry over as
//! they are.
//!
//! One thing cannot: the engine has no bridge network, so every container
//! runs on the host's network and the replicas of one app cannot share the
//! app's port. Each container gets a free port of its own instead, through
//! `APP_PORT` (and `APP_BIND=127.0.0.1`), which is what ECS bridge mode does
//! with a dynamic host port; the port goes on a label for the gateway.

use std::net::TcpListener;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use local_gateway::labels;

use super::fleet::{self, Fleet, FleetContainer};
use crate::apps::ResolvedApp;
use crate::exit::Failure;

/// The network every container joins: the host's (see the module docs).
pub const NETWORK_MODE: &str = "host";

/// ECS's default stop timeout: SIGTERM, then SIGKILL this much later.
const DEFAULT_STOP_TIMEOUT_SECONDS: i64 = 30;

/// Log lines quoted when a container dies.
const LOG_LINES: &str = "5";

/// Where one container goes.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Container name.
    pub name: String,
    /// The port it listens on.
    pub port: u16,
    /// The local revision.
    pub revision: u32,
}

/// The engine's container config for the app's container of `taskdef`,
/// placed as `placement` says in `fleet`.
pub fn create_body(
    taskdef: &RegisterTaskDefinitionInput,
    target: &ResolvedApp,
    fleet: &Fleet,
    placement: &Placement,
) -> Result<ContainerCreateBody, Failure> {
    let container_name = target.config.container_name();
    let definition = taskdef
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(container_name))
        .ok_or_else(|| {
            Failure::preflight(format!(
                "the task definition has no container named `{container_name}`"
            ))
        })?;
    let image = definition
        .image()
        .ok_or_else(|| Failure::preflight("the task definition's container has no image"))?;

    let mut environment: Vec<(String, String)> = definition
        .environment()
        .iter()
        .filter_map(|kv| Some((kv.name()?.to_owned(), kv.value().unwrap_or("").to_owned())))
        .filter(|(name, _)| {
            name != app_config::vars::APP_PORT && name != app_config::vars::APP_BIND
        })
        .collect();
    let version = environment
        .iter()
        .find(|(name, _)| name == app_config::vars::APP_VERSION)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| crate::taskdef::version_of(image).to_owned());
    environment.push((
        app_config::vars::APP_PORT.into(),
        placement.port.to_string(),
    ));
    environment.push((app_config::vars::APP_BIND.into(), fleet::BIND.to_string()));

    // Container-level sizes win over the task's, as on ECS.
    let cpu_units = match definition.cpu() {
        0 => taskdef.cpu().and_then(|c| c.parse::<i64>().ok()),
        units => Some(i64::from(units)),
    };
    let memory_mib = definition
        .memory()
        .map(i64::from)
        .or_else(|| taskdef.memory().and_then(|m| m.parse::<i64>().ok()));

    let non_empty = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());
    Ok(ContainerCreateBody {
        image: Some(image.to_owned()),
        env: Some(
            environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        cmd: non_empty(definition.command()),
        entrypoint: non_empty(definition.entry_point()),
        working_dir: definition.working_directory().map(str::to_owned),
        user: definition.user().map(str::to_owned),
        labels: Some(fleet::labels(
            fleet,
            target.name(),
            placement.port,
            &version,
            placement.revision,
        )),
        stop_timeout: Some(
            definition
                .stop_timeout()
                .map(i64::from)
                .unwrap_or(DEFAULT_STOP_TIMEOUT_SECONDS),
        ),
        host_config: Some(HostConfig {
            network_mode: Some(NETWORK_MODE.to_owned()),
            // 1024 CPU units are one CPU.
            nano_cpus: cpu_units.map(|units| units * 1_000_000_000 / 1024),
            memory: memory_mib.map(|mib| mib * 1024 * 1024),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// Where the containers' ports come from: below Linux's default ephemeral
/// range (32768-60999, `net.ipv4.ip_local_port_range`). The app in the
/// container binds its port a moment after [`free_port`] checked it, and
/// in between the kernel could hand a port from the ephemeral range to
/// anything on the machine that binds port 0 or connects out. It never
/// hands out these.
const CONTAINER_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A TCP port on 127.0.0.1 from [`CONTAINER_PORTS`] that nothing listens
/// on, starting the search at a random place so that two fleets on one
/// machine rarely look at the same ports.
pub fn free_port() -> anyhow::Result<u16> {
    use std::hash::{BuildHasher, Hasher};
    let span = CONTAINER_PORTS.end - CONTAINER_PORTS.start;
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let offset = u16::try_from(random % u64::from(span)).unwrap_or(0);
    (0..span)
        .map(|i| CONTAINER_PORTS.start + (offset + i) % span)
        .find(|port| TcpListener::bind((fleet::BIND, *port)).is_ok())
        .with_context(|| {
            format!(
                "no free port on 127.0.0.1 between {} and {}",
                CONTAINER_PORTS.start, CONTAINER_PORTS.end
            )
        })
}

/// Starts `count` containers of `target`'s `revision` running `image` as
/// `version`, and returns them. If one cannot start, the ones already
/// created are removed again: nothing is left half-done.
pub async fn start_revision(
    docker: &Docker,
    fleet: &Fleet,
    target: &ResolvedApp,
    image: &str,
    version: &str,
    revision: u32,
    count: u32,
) -> anyhow::Result<Vec<FleetContainer>> {
    let taskdef = crate::taskdef::baseline(target, image, version)?;
    let mut started: Vec<FleetContainer> = Vec::new();
    for index in 1..=count {
        match start_one(docker, fleet, target, &taskdef, revision, index as usize).await {
            Ok(container) => started.push(container),
            Err(err) => {
                remove(docker, &started).await;
                return Err(err);
            }
        }
    }
    Ok(started)
}

async fn start_one(
    docker: &Docker,
    fleet: &Fleet,
    target: &ResolvedApp,
    taskdef: &RegisterTaskDefinitionInput,
    revision: u32,
    index: usize,
) -> anyhow::Result<FleetContainer> {
    let placement = Placement {
        name: fleet::container_name(fleet, target.name(), revision, index),
        port: free_port()?,
        revision,
    };
    let body = create_body(taskdef, target, fleet, &placement)?;
    let image = body.image.clone().unwrap_or_default();
    let version = body
        .labels
        .as_ref()
        .and_then(|l| l.get(labels::VERSION).cloned())
        .unwrap_or_default();
    let options = CreateContainerOptionsBuilder::default()
        .name(&placement.name)
        .build();
    let created = docker
        .create_container(Some(options), body)
        .await
        .with_context(|| format!("cannot create container {} from {image}", placement.name))?;
    let container = FleetContainer {
        id: created.id,
        name: placement.name,
        app: target.name().to_owned(),
        port: placement.port,
        version,
        revision,
        image,
        state: "created".to_owned(),
    };
    if let Err(err) = docker.start_container(&container.id, None).await {
        remove(docker, std::slice::from_ref(&container)).await;
        return Err(
            anyhow::Error::new(err).context(format!("cannot start container {}", container.name))
        );
    }
    Ok(FleetContainer {
        state: "running".to_owned(),
        ..container
    })
}

/// Stops `containers` the way ECS stops a task (SIGTERM, then SIGKILL
/// after the stop timeout), all at once, then removes them. Failures are
/// logged: a container that is already gone is what was wanted.
pub async fn stop_and_remove(docker: &Docker, containers: &[FleetContainer]) {
    let stops = containers.iter().map(|c| async move {
        if let Err(err) = docker.stop_container(&c.id, None).await {
            if !is_gone(&err) {
                tracing::warn!(container = %c.name, error = %err, "cannot stop container");
            }
        }
    });
    futures_util::future::join_all(stops).await;
    remove(docker, containers).await;
}

/// Removes `containers` at once (SIGKILL): for containers that never
/// served, or whose stop already ran.
pub async fn remove(docker: &Docker, containers: &[FleetContainer]) {
    let removals = containers.iter().map(|c| async move {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        if let Err(err) = docker.remove_container(&c.id, Some(options)).await {
            if !is_gone(&err) {
                tracing::warn!(container = %c.name, error = %err, "cannot remove container");
            }
        }
    });
    futures_util::future::join_all(removals).await;
}

/// Whether an engine error says the container is already stopped or gone.
fn is_gone(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError { status_code, .. }
            if *status_code == 304 || *status_code == 404 || *status_code == 409
    )
}

/// Why a container is not running, with the last lines it logged; `None`
/// while it runs.
pub async fn exit_cause(
    docker: &Docker,
    container: &FleetContainer,
) -> anyhow::Result<Option<String>> {
    let inspected = docker
        .inspect_container(&container.id, None)
        .await
        .with_context(|| format!("cannot inspect container {}", container.name))?;
    let state = inspected.state.unwrap_or_default();
    if state.running == Some(true) {
        return Ok(None);
    }
    let mut cause = format!(
        "container {} exited with code {}",
        container.name,
        state.exit_code.unwrap_or_default()
    );
    if state.oom_killed == Some(true) {
        cause.push_str(", killed for running out of memory");
    }
    if let Some(error) = state.error.filter(|e| !e.is_empty()) {
        cause.push_str(&format!(" ({error})"));
    }
    let logs = last_log_lines(docker, &container.id).await;
    if !logs.is_empty() {
        cause.push_str(&format!("; its last log lines: {logs}"));
    }
    Ok(Some(cause))
}

async fn last_log_lines(docker: &Docker, id: &str) -> String {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(LOG_LINES)
        .build();
    let mut lines = Vec::new();
    let mut logs = docker.logs(id, Some(options));
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout(Duration::from_secs(2), logs.next()).await
    {
        lines.push(chunk.to_string().trim_end().to_owned());
    }
    lines.join(" | ")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::local::testing::target;

    /// The environment of a create body as a map.
    fn environment_of(body: &ContainerCreateBody) -> HashMap<String, String> {
        body.env
            .iter()
            .flatten()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn container_ports_are_free_and_outside_the_ephemeral_range() {
        let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|r| {
                let mut n = r.split_whitespace().map(|n| n.parse::<u16>());
                Some((n.next()?.ok()?, n.next()?.ok()?))
            })
            .unwrap_or((32768, 60999));
        for _ in 0..20 {
            let port = free_port().expect("a free port");
            assert!(CONTAINER_PORTS.contains(&port), "{port}");
            assert!(
                !(ephemeral.0..=ephemeral.1).contains(&port),
                "{port} is in the ephemeral range {ephemeral:?}"
            );
        }
    }

    #[test]
    fn the_container_carries_the_task_definition_with_its_own_port() {
        let t = target("service-b");
        let taskdef = crate::taskdef::baseline(&t, "service-b:v7", "v7").expect("renders");
        let fleet = Fleet::new(fleet::DEFAULT_GATEWAY);
        let placement = Placement {
            name: "service-b-8080-r3-1".into(),
            port: 41234,
            revision: 3,
        };
        let body = create_body(&taskdef, &t, &fleet, &placement).expect("translates");
        assert_eq!(body.image.as_deref(), Some("service-b:v7"));

        let env = environment_of(&body);
        let rendered = t.config.container_environment("local", "v7");
        for (name, value) in &rendered {
            if name != app_config::vars::APP_PORT {
                assert_eq!(
                    env.get(name),
                    Some(value),
                    "{name} comes from the task definition"
                );
            }
        }
        assert_eq!(env["APP_PORT"], "41234");
        assert_eq!(env["APP_BIND"], "127.0.0.1");
        assert_eq!(env.len(), rendered.len() + 1);

        let host = body.host_config.clone().expect("host config");
        assert_eq!(host.network_mode.as_deref(), Some("host"));
        assert_eq!(
            host.nano_cpus,
            Some(250_000_000),
            "256 units = a quarter CPU"
        );
        assert_eq!(host.memory, Some(512 * 1024 * 1024));
        assert_eq!(body.stop_timeout, Some(30));

        let labels = body.labels.expect("labels");
        assert_eq!(labels[labels::FLEET], "127.0.0.1:8080");
        assert_eq!(labels[labels::APP], "service-b");
        assert_eq!(labels[labels::PORT], "41234");
        assert_eq!(labels[labels::VERSION], "v7");
        assert_eq!(labels[labels::REVISION], "3");
    }

    #[test]
    fn container_level_settings_of_the_definition_carry_over() {
        let t = target("service-a");
        let mut taskdef = crate::taskdef::baseline(&t, "service-a:v1", "v1").expect("renders");
        if let Some(c) = taskdef
            .container_definitions
            .as_mut()
            .and_then(|c| c.first_mut())
        {
            c.command = Some(vec!["serve".into(), "--fast".into()]);
            c.memory = Some(300);
            c.cpu = 512;
            c.stop_timeout = Some(10);
        }
        let placement = Placement {
            name: "x".into(),
            port: 1,
            revision: 1,
        };
        let body = create_body(
            &taskdef,
            &t,
            &Fleet::new(fleet::DEFAULT_GATEWAY),
            &placement,
        )
        .expect("translates");
        assert_eq!(
            body.cmd,
            Some(vec!["serve".to_owned(), "--fast".to_owned()])
        );
        assert_eq!(body.entrypoint, None);
        let host = body.host_config.expect("host config");
        assert_eq!(host.memory, Some(300 * 1024 * 1024));
        assert_eq!(host.nano_cpus, Some(500_000_000));
        assert_eq!(body.stop_timeout, Some(10));
    }
}
