//! The app's JSON applied to a task definition.
//!
//! A deploy to ECS starts from the revision the service runs now and applies
//! the JSON on top ([`apply`]); the local fleet starts from the JSON alone
//! ([`baseline`]) and applies the same settings. Both paths go through
//! [`apply`], so a container started locally carries exactly the image,
//! environment and port an ECS deploy would register.

use app_config::LaunchType;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, KeyValuePair, NetworkMode, PortMapping, TransportProtocol,
};

use crate::apps::ResolvedApp;
use crate::exit::Failure;

/// The task definition the JSON alone describes: one essential container
/// with the app's image, port and environment. This is the shape Terraform
/// registers as the first revision; roles and logging come from there.
pub fn baseline(
    target: &ResolvedApp,
    image: &str,
    version: &str,
) -> Result<RegisterTaskDefinitionInput, Failure> {
    let container = ContainerDefinition::builder()
        .name(target.config.container_name())
        .essential(true)
        .build();
    let mut input = RegisterTaskDefinitionInput::builder()
        .family(target.config.family())
        .container_definitions(container)
        .build()
        .map_err(|err| Failure::bad_input(format!("cannot build a task definition: {err}")))?;
    apply(&mut input, target, image, version)?;
    Ok(input)
}

/// Applies the app's JSON to `input`: family, launch type, task size, and
/// on the app's container the image, the app port's mapping and the
/// environment. The network mode changes only where the JSON demands it
/// (Fargate runs awsvpc only; an EC2 task keeps bridge, host or awsvpc as it
/// was), and the container's other port mappings stay. Everything else
/// (secrets, sidecars, volumes, log configuration, health checks, labels,
/// tags...) is left as it is.
pub fn apply(
    input: &mut RegisterTaskDefinitionInput,
    target: &ResolvedApp,
    image: &str,
    version: &str,
) -> Result<(), Failure> {
    let cfg = &target.config;
    input.family = Some(cfg.family().to_owned());
    input.cpu = Some(cfg.cpu.to_string());
    input.memory = Some(cfg.memory.to_string());
    let demanded = NetworkMode::from(cfg.launch_type.network_mode());
    let network_mode = match (cfg.launch_type, input.network_mode.take()) {
        // An EC2 task may run bridge, host or awsvpc: keep the one it has.
        (LaunchType::Ec2, Some(kept)) if kept != NetworkMode::None => kept,
        _ => demanded,
    };
    input.network_mode = Some(network_mode.clone());
    let compatibility = match cfg.launch_type {
        LaunchType::Ec2 => Compatibility::Ec2,
        LaunchType::Fargate => Compatibility::Fargate,
    };
    let compatible = input
        .requires_compatibilities
        .as_ref()
        .is_some_and(|c| c.contains(&compatibility));
    if !compatible {
        input.requires_compatibilities = Some(vec![compatibility]);
    }

    let name = cfg.container_name();
    let containers = input.container_definitions.get_or_insert_with(Vec::new);
    let known: Vec<String> = containers.iter().filter_map(|c| c.name.clone()).collect();
    let container = containers
        .iter_mut()
        .find(|c| c.name.as_deref() == Some(name))
        .ok_or_else(|| {
            Failure::preflight(format!(
                "the task definition has no container named `{name}` (it has: {}); \
                 set `deploy.container` in {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                },
                target.config_file.display()
            ))
        })?;

    container.image = Some(image.to_owned());
    container.essential = Some(true);
    container.environment = Some(
        cfg.container_environment(&target.environment, version)
            .into_iter()
            .map(|(name, value)| KeyValuePair::builder().name(name).value(value).build())
            .collect(),
    );
    let mut mappings = container.port_mappings.take().unwrap_or_default();
    let app = port_mapping(&mappings, cfg.port, &network_mode);
    match mappings
        .iter_mut()
        .find(|m| m.container_port == app.container_port)
    {
        Some(existing) => *existing = app,
        None => mappings.insert(0, app),
    }
    container.port_mappings = Some(mappings);
    Ok(())
}

/// The app's port mapping. Bridge mode asks for a dynamic host port, so
/// that several tasks fit on one instance; awsvpc and host modes require the host port to equal the
/// container port. Fields an existing mapping of the same port carries
/// (name, app protocol) are kept.
fn port_mapping(existing: &[PortMapping], port: u16, network_mode: &NetworkMode) -> PortMapping {
    let port = i32::from(port);
    let mut mapping = existing
        .iter()
        .find(|m| m.container_port == Some(port))
        .cloned()
        .unwrap_or_else(|| PortMapping::builder().build());
    let host_port = match network_mode {
        NetworkMode::Bridge => 0,
        _ => port,
    };
    mapping.container_port = Some(port);
    mapping.host_port = Some(host_port);
    mapping.protocol = Some(TransportProtocol::Tcp);
    mapping
}

/// The tag part of an image reference: `repo:tag` gives `tag`, a digest
/// reference gives the digest, and a bare name gives `latest`.
pub fn version_of(image: &str) -> &str {
    if let Some((_, digest)) = image.split_once('@') {
        return digest;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, tag)| tag).unwrap_or("latest")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_comes_from_the_tag_not_the_registry_port() {
        assert_eq!(version_of("127.0.0.1:5050/service-b:abc1234"), "abc1234");
        assert_eq!(version_of("repo/service-b"), "latest");
        assert_eq!(version_of("r/s@sha256:ffff"), "sha256:ffff");
    }

    fn target(app: &str) -> ResolvedApp {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
        let config = app_config::load_app(&dir, app).expect("shipped config loads");
        ResolvedApp {
            cluster: config.deploy.cluster.clone(),
            service: config.service_name().to_owned(),
            environment: "staging".to_owned(),
            config_file: app_config::app_file(&dir, app),
            config,
        }
    }

    fn app_container(input: &RegisterTaskDefinitionInput, name: &str) -> ContainerDefinition {
        input
            .container_definitions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|c| c.name.as_deref() == Some(name))
            .cloned()
            .expect("app container")
    }

    fn env_of(c: &ContainerDefinition, name: &str) -> Option<String> {
        c.environment
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|kv| kv.name.as_deref() == Some(name))
            .and_then(|kv| kv.value.clone())
    }

    #[test]
    fn baseline_follows_each_launch_type() {
        let a = baseline(&target("service-a"), "repo/service-a:v1", "v1").expect("renders");
        assert_eq!(a.network_mode, Some(NetworkMode::Bridge));
        assert_eq!(a.requires_compatibilities, Some(vec![Compatibility::Ec2]));
        let c = app_container(&a, "service-a");
        let ports = c.port_mappings.clone().unwrap_or_default();
        assert_eq!(
            (ports[0].container_port, ports[0].host_port),
            (Some(5000), Some(0))
        );
        assert_eq!(env_of(&c, "APP_VERSION").as_deref(), Some("v1"));
        assert_eq!(env_of(&c, "APP_ENV").as_deref(), Some("staging"));

        let b = baseline(&target("service-b"), "repo/service-b:v2", "v2").expect("renders");
        assert_eq!(b.network_mode, Some(NetworkMode::Awsvpc));
        assert_eq!(
            b.requires_compatibilities,
            Some(vec![Compatibility::Fargate])
        );
        assert_eq!(
            (b.cpu.as_deref(), b.memory.as_deref()),
            (Some("256"), Some("512"))
        );
        let c = app_container(&b, "service-b");
        let ports = c.port_mappings.clone().unwrap_or_default();
        assert_eq!(
            (ports[0].container_port, ports[0].host_port),
            (Some(5001), Some(5001))
        );
        assert_eq!(c.image.as_deref(), Some("repo/service-b:v2"));
    }

    #[test]
    fn apply_leaves_other_containers_and_fields_alone() {
        let t = target("service-b");
        let mut input = baseline(&t, "old", "old").expect("renders");
        let sidecar = ContainerDefinition::builder()
            .name("envoy")
            .image("envoy:1")
            .build();
        input
            .container_definitions
            .get_or_insert_with(Vec::new)
            .push(sidecar.clone());
        if let Some(c) = input
            .container_definitions
            .as_mut()
            .and_then(|c| c.first_mut())
        {
            c.secrets = Some(vec![aws_sdk_ecs::types::Secret::builder()
                .name("DB_PASSWORD")
                .value_from("arn:aws:ssm:us-east-1:1:parameter/db")
                .build()
                .expect("secret")]);
        }
        apply(&mut input, &t, "repo/service-b:new", "new").expect("applies");
        let c = app_container(&input, "service-b");
        assert_eq!(c.image.as_deref(), Some("repo/service-b:new"));
        assert_eq!(c.secrets.as_ref().map(Vec::len), Some(1));
        assert_eq!(app_container(&input, "envoy"), sidecar);
    }

    #[test]
    fn a_missing_app_container_is_a_preflight_failure_naming_it() {
        let t = target("service-a");
        let mut input = RegisterTaskDefinitionInput::builder()
            .family("service-a")
            .container_definitions(ContainerDefinition::builder().name("web").build())
            .build()
            .expect("input");
        let err = apply(&mut input, &t, "x:1", "1").expect_err("no app container");
        assert_eq!(err.code, crate::exit::Code::Preflight);
        assert!(err.message.contains("`service-a`"), "{}", err.message);
        assert!(err.message.contains("web"), "{}", err.message);
    }

    #[test]
    fn the_running_network_mode_and_other_ports_are_kept() {
        // An EC2 service in awsvpc mode, with a second (admin) port.
        let t = target("service-a");
        let mut input = baseline(&t, "old", "old").expect("renders");
        input.network_mode = Some(NetworkMode::Awsvpc);
        if let Some(c) = input
            .container_definitions
            .as_mut()
            .and_then(|c| c.first_mut())
        {
            c.port_mappings = Some(vec![
                PortMapping::builder()
                    .container_port(5000)
                    .host_port(5000)
                    .name("http")
                    .build(),
                PortMapping::builder()
                    .container_port(9090)
                    .host_port(9090)
                    .name("admin")
                    .build(),
            ]);
        }
        apply(&mut input, &t, "repo/service-a:new", "new").expect("applies");
        assert_eq!(input.network_mode, Some(NetworkMode::Awsvpc));
        let ports = app_container(&input, "service-a")
            .port_mappings
            .unwrap_or_default();
        let pairs: Vec<_> = ports
            .iter()
            .map(|m| (m.container_port, m.host_port, m.name.clone()))
            .collect();
        assert_eq!(
            pairs,
            [
                (Some(5000), Some(5000), Some("http".to_owned())),
                (Some(9090), Some(9090), Some("admin".to_owned())),
            ]
        );

        // Fargate demands awsvpc, whatever the revision had.
        let t = target("service-b");
        let mut input = baseline(&t, "old", "old").expect("renders");
        input.network_mode = Some(NetworkMode::Bridge);
        apply(&mut input, &t, "repo/service-b:new", "new").expect("applies");
        assert_eq!(input.network_mode, Some(NetworkMode::Awsvpc));
    }
}
