//! What the ECS integration tests share: a moto server of the test's own,
//! the rollout proxy in front of it ([`proxy`]), AWS clients for setting up
//! and checking (they talk to moto directly, so the proxy counts only
//! deployer's calls), and the real `deployer` binary.

#![allow(dead_code, unused_imports)] // each test file uses its own part

pub mod proxy;

use std::path::PathBuf;
use std::process::{Command, Output};

use aws_config::BehaviorVersion;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, EphemeralStorage, HealthCheck,
    KeyValuePair, LogConfiguration, LogDriver, MountPoint, NetworkMode, OsFamily, PortMapping,
    RuntimePlatform, Secret, Tag, TaskDefinition, TransportProtocol, Volume,
};
use serde_json::Value;

pub use proxy::{Behaviour, RolloutProxy, Script};

pub const ACCOUNT: &str = "123456789012";
pub const CLUSTER: &str = "C";
pub const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// One test's AWS: moto, the proxy, clients.
pub struct World {
    pub moto: test_harness::Moto,
    pub proxy: RolloutProxy,
    pub runtime: tokio::runtime::Runtime,
    pub ecs: aws_sdk_ecs::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub dir: tempfile::TempDir,
}

impl World {
    /// A fresh moto with an empty ACTIVE cluster `C`, behind a proxy that
    /// plays `script`. `None` when moto is not installed and services are
    /// optional.
    pub fn start(script: Script) -> Option<World> {
        let moto = test_harness::Moto::start()?;
        let proxy = RolloutProxy::start(&moto.endpoint, script);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(&moto.endpoint)
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                    "testing", "testing", None, None, "test",
                ))
                .load(),
        );
        let world = World {
            ecs: aws_sdk_ecs::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            moto,
            proxy,
            runtime,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        world
            .runtime
            .block_on(world.ecs.create_cluster().cluster_name(CLUSTER).send())
            .expect("create the cluster");
        Some(world)
    }

    /// Pushes an image into a moto ECR repository (created when missing)
    /// and returns its URI.
    pub fn image(&self, repository: &str, tag: &str) -> String {
        self.runtime.block_on(async {
            let _ = self
                .ecr
                .create_repository()
                .repository_name(repository)
                .send()
                .await;
            // A manifest of its own per tag, so that every tag has a digest.
            let manifest = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "size": 7, "digest": format!("sha256:{:0>64}", tag.len())},
                "layers": [],
                "annotations": {"tag": tag}
            });
            self.ecr
                .put_image()
                .repository_name(repository)
                .image_tag(tag)
                .image_manifest(manifest.to_string())
                .send()
                .await
                .expect("put the image");
        });
        format!("{REGISTRY}/{repository}:{tag}")
    }

    /// Registers `td` and returns its ARN.
    pub fn register(&self, td: &TaskDefinition, tags: &[Tag]) -> String {
        let out = self
            .runtime
            .block_on(
                aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput::builder()
                    .set_family(td.family.clone())
                    .set_container_definitions(td.container_definitions.clone())
                    .set_volumes(td.volumes.clone())
                    .set_requires_compatibilities(td.requires_compatibilities.clone())
                    .set_network_mode(td.network_mode.clone())
                    .set_cpu(td.cpu.clone())
                    .set_memory(td.memory.clone())
                    .set_task_role_arn(td.task_role_arn.clone())
                    .set_execution_role_arn(td.execution_role_arn.clone())
                    .set_ephemeral_storage(td.ephemeral_storage.clone())
                    .set_runtime_platform(td.runtime_platform.clone())
                    .set_tags(Some(tags.to_vec()))
                    .send_with(&self.ecs),
            )
            .expect("register a task definition");
        out.task_definition
            .and_then(|t| t.task_definition_arn)
            .expect("an ARN")
    }

    /// Creates service `name` in `C` on `task_definition`, with the launch
    /// type the task definition is for (moto would default to EC2).
    pub fn service(&self, name: &str, task_definition: &str, desired: i32) {
        let (td, _) = self.describe(task_definition);
        let launch_type = if td.requires_compatibilities().contains(&Compatibility::Ec2) {
            aws_sdk_ecs::types::LaunchType::Ec2
        } else {
            aws_sdk_ecs::types::LaunchType::Fargate
        };
        self.runtime
            .block_on(
                self.ecs
                    .create_service()
                    .cluster(CLUSTER)
                    .service_name(name)
                    .task_definition(task_definition)
                    .desired_count(desired)
                    .launch_type(launch_type)
                    .send(),
            )
            .expect("create the service");
    }

    /// A task definition as moto describes it, with its tags.
    pub fn describe(&self, task_definition: &str) -> (TaskDefinition, Vec<Tag>) {
        let out = self
            .runtime
            .block_on(
                self.ecs
                    .describe_task_definition()
                    .task_definition(task_definition)
                    .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
                    .send(),
            )
            .expect("describe the task definition");
        (
            out.task_definition.expect("a task definition"),
            out.tags.unwrap_or_default(),
        )
    }

    /// The ACTIVE revision numbers of a family.
    pub fn active(&self, family: &str) -> Vec<i64> {
        let out = self
            .runtime
            .block_on(
                self.ecs
                    .list_task_definitions()
                    .family_prefix(family)
                    .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
                    .send(),
            )
            .expect("list task definitions");
        let mut revs: Vec<i64> = out
            .task_definition_arns()
            .iter()
            .filter_map(|a| a.rsplit(':').next()?.parse().ok())
            .collect();
        revs.sort_unstable();
        revs
    }

    /// The service's tags, in moto.
    pub fn service_tags(&self, name: &str) -> Vec<Tag> {
        let out = self
            .runtime
            .block_on(
                self.ecs
                    .describe_services()
                    .cluster(CLUSTER)
                    .services(name)
                    .include(aws_sdk_ecs::types::ServiceField::Tags)
                    .send(),
            )
            .expect("describe the service");
        out.services()
            .first()
            .map(|s| s.tags().to_vec())
            .unwrap_or_default()
    }

    /// The revision the service runs, as deployer sees it (through the
    /// proxy, which knows the rollouts).
    pub fn running(&self, name: &str) -> String {
        let out = self.deployer(&[
            "status",
            "service-b",
            "--service-name",
            name,
            "--output",
            "json",
        ]);
        let report = json_of(&out);
        report["apps"][0]["details"]["revision"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs the real `deployer` against the proxy, on cluster `C`.
    pub fn deployer(&self, args: &[&str]) -> Output {
        self.deployer_in(CLUSTER, args)
    }

    /// Starts the real `deployer` against the proxy, on cluster `C`, with
    /// stdout and stderr in files of the world's directory.
    pub fn spawn_deployer(&self, args: &[&str]) -> test_harness::ChildGuard {
        let mut cmd = self.command(CLUSTER, args);
        let log = |name: &str| {
            std::fs::File::create(self.dir.path().join(name)).expect("create a log file")
        };
        cmd.stdout(log("deployer.stdout"))
            .stderr(log("deployer.stderr"));
        test_harness::ChildGuard::spawn("deployer", &mut cmd)
    }

    /// Runs the real `deployer` against the proxy, on `cluster`.
    pub fn deployer_in(&self, cluster: &str, args: &[&str]) -> Output {
        test_harness::run_echoed(&mut self.command(cluster, args), args)
    }

    fn command(&self, cluster: &str, args: &[&str]) -> Command {
        let mut cmd = test_harness::deployer_command(env!("CARGO_BIN_EXE_deployer"), args);
        cmd.args(["--cluster", cluster])
            .env("DEPLOYER_CONFIG_DIR", config_dir());
        for (key, value) in self.moto.env() {
            cmd.env(key, value);
        }
        cmd.env("AWS_ENDPOINT_URL", &self.proxy.endpoint);
        cmd
    }
}

/// The shipped app files.
pub fn config_dir() -> PathBuf {
    test_harness::repo_root().join("config")
}

/// stdout as the JSON result.
pub fn json_of(out: &Output) -> Value {
    test_harness::json_report(&out.stdout)
}

fn kv(name: &str, value: &str) -> KeyValuePair {
    KeyValuePair::builder().name(name).value(value).build()
}

/// The revision Terraform and earlier deploys left: the app container with
/// secrets, a health check, labels, logs and a volume; an Envoy sidecar;
/// ephemeral storage, a runtime platform, roles and tags.
pub fn rich_task_definition(app: &str, port: i32, image: &str) -> (TaskDefinition, Vec<Tag>) {
    let container = ContainerDefinition::builder()
        .name(app)
        .image(image)
        .essential(true)
        .port_mappings(
            PortMapping::builder()
                .container_port(port)
                .host_port(port)
                .protocol(TransportProtocol::Tcp)
                .build(),
        )
        .environment(kv("APP_VERSION", "v1"))
        .environment(kv("APP_ENV", "staging"))
        .secrets(
            Secret::builder()
                .name("DB_PASSWORD")
                .value_from(format!(
                    "arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/{app}/db"
                ))
                .build()
                .expect("secret"),
        )
        .health_check(
            HealthCheck::builder()
                .command("CMD-SHELL")
                .command(format!("curl -fs http://127.0.0.1:{port}/health || exit 1"))
                .interval(15)
                .retries(3)
                .build()
                .expect("health check"),
        )
        .docker_labels("team", "payments")
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", format!("/ecs/{app}"))
                .options("awslogs-region", "us-east-1")
                .build()
                .expect("log configuration"),
        )
        .mount_points(
            MountPoint::builder()
                .source_volume("scratch")
                .container_path("/scratch")
                .build(),
        )
        .build();
    let sidecar = ContainerDefinition::builder()
        .name("envoy")
        .image("public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod")
        .essential(true)
        .memory_reservation(64)
        .user("1337")
        .environment(kv("APPMESH_RESOURCE_ARN", "mesh/payments/virtualNode/b"))
        .build();
    let td = TaskDefinition::builder()
        .family(app)
        .container_definitions(container)
        .container_definitions(sidecar)
        .volumes(Volume::builder().name("scratch").build())
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .task_role_arn(format!("arn:aws:iam::{ACCOUNT}:role/{app}-task"))
        .execution_role_arn(format!("arn:aws:iam::{ACCOUNT}:role/{app}-execution"))
        .ephemeral_storage(EphemeralStorage::builder().size_in_gib(40).build())
        .runtime_platform(
            RuntimePlatform::builder()
                .cpu_architecture(CpuArchitecture::X8664)
                .operating_system_family(OsFamily::Linux)
                .build(),
        )
        .build();
    // As deployer registers them: prune deregisters only revisions that
    // say they are deployer's.
    let tags = vec![
        Tag::builder().key("team").value("payments").build(),
        Tag::builder().key("cost-centre").value("4711").build(),
        Tag::builder().key("ManagedBy").value("deployer").build(),
    ];
    (td, tags)
}
