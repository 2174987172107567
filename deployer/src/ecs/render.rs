//! From the revision a service runs to the request that registers the next
//! one.
//!
//! DescribeTaskDefinition returns more than RegisterTaskDefinition accepts
//! (the ARN, the revision, the status, registration times...). Other tools
//! convert between the two through a hand-kept JSON field list and lose
//! whatever the list forgot: secrets, sidecars, ephemeral storage, runtime
//! platform, tags. Here both sides are the SDK's own types (container
//! definitions are the same type on both), every field register accepts is
//! copied, and the tests below fail as soon as the SDK grows a field that
//! is neither copied nor knowingly dropped.
//!
//! The JSON that `render` prints is the SDK's own serialisation of the
//! request, captured before it is sent: exactly the body deployer would
//! send, and valid input for `aws ecs register-task-definition
//! --cli-input-json`.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use aws_sdk_ecs::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ecs::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionInputBuilder;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::{Tag, TaskDefinition};

/// What DescribeTaskDefinition returns but RegisterTaskDefinition does not
/// accept: ECS sets these itself.
pub const DESCRIBE_ONLY: [&str; 9] = [
    "task_definition_arn",
    "revision",
    "status",
    "requires_attributes",
    "compatibilities",
    "registered_at",
    "registered_by",
    "deregistered_at",
    "delete_requested_at",
];

/// The request that registers `td` again, with its `tags` (which
/// DescribeTaskDefinition returns beside the definition, with `include
/// TAGS`).
// Elastic Inference is retired and its SDK members are deprecated, but a
// revision that still names accelerators must keep them: dropping a field
// silently is what this module exists to prevent.
#[allow(deprecated)]
pub fn register_input(
    td: &TaskDefinition,
    tags: &[Tag],
) -> anyhow::Result<RegisterTaskDefinitionInput> {
    // One line per field RegisterTaskDefinition accepts. The tests check
    // this list against the SDK's types and the ECS service model.
    let td = td.clone();
    let input = RegisterTaskDefinitionInput::builder()
        .set_family(td.family)
        .set_task_role_arn(td.task_role_arn)
        .set_execution_role_arn(td.execution_role_arn)
        .set_network_mode(td.network_mode)
        .set_container_definitions(td.container_definitions)
        .set_volumes(td.volumes)
        .set_placement_constraints(td.placement_constraints)
        .set_requires_compatibilities(td.requires_compatibilities)
        .set_cpu(td.cpu)
        .set_memory(td.memory)
        .set_tags((!tags.is_empty()).then(|| tags.to_vec()))
        .set_pid_mode(td.pid_mode)
        .set_ipc_mode(td.ipc_mode)
        .set_proxy_configuration(td.proxy_configuration)
        .set_inference_accelerators(td.inference_accelerators)
        .set_ephemeral_storage(td.ephemeral_storage)
        .set_runtime_platform(td.runtime_platform)
        .set_enable_fault_injection(td.enable_fault_injection);
    input
        .build()
        .context("cannot build a RegisterTaskDefinition request")
}

/// The builder that sends `input` (the SDK sends builders, and has no
/// conversion back from an input).
#[allow(deprecated)] // inference accelerators: see register_input()
pub fn request_builder(input: RegisterTaskDefinitionInput) -> RegisterTaskDefinitionInputBuilder {
    RegisterTaskDefinitionInput::builder()
        .set_family(input.family)
        .set_task_role_arn(input.task_role_arn)
        .set_execution_role_arn(input.execution_role_arn)
        .set_network_mode(input.network_mode)
        .set_container_definitions(input.container_definitions)
        .set_volumes(input.volumes)
        .set_placement_constraints(input.placement_constraints)
        .set_requires_compatibilities(input.requires_compatibilities)
        .set_cpu(input.cpu)
        .set_memory(input.memory)
        .set_tags(input.tags)
        .set_pid_mode(input.pid_mode)
        .set_ipc_mode(input.ipc_mode)
        .set_proxy_configuration(input.proxy_configuration)
        .set_inference_accelerators(input.inference_accelerators)
        .set_ephemeral_storage(input.ephemeral_storage)
        .set_runtime_platform(input.runtime_platform)
        .set_enable_fault_injection(input.enable_fault_injection)
}

/// The JSON body RegisterTaskDefinition would send for `input`, written by
/// the SDK's own serialiser. Nothing is sent: the request is captured right
/// after serialisation and the call stops there.
pub async fn request_json(
    input: &RegisterTaskDefinitionInput,
) -> anyhow::Result<serde_json::Value> {
    let capture = CaptureBody::default();
    let config = aws_sdk_ecs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("unused", "unused", None, None, "render"))
        .interceptor(capture.clone())
        .build();
    let client = aws_sdk_ecs::Client::from_conf(config);
    let sent = request_builder(input.clone()).send_with(&client).await;
    let body = capture
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    match (body, sent) {
        (Some(body), _) => {
            serde_json::from_slice(&body).context("the SDK serialised a request that is not JSON")
        }
        (None, Err(err)) => {
            Err(anyhow::Error::new(err).context("cannot serialise the task definition"))
        }
        (None, Ok(_)) => anyhow::bail!("the task definition request was not captured"),
    }
}

/// Keeps the serialised request body and stops the call before anything is
/// signed or sent.
#[derive(Debug, Clone, Default)]
struct CaptureBody(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for CaptureBody {
    fn name(&self) -> &'static str {
        "CaptureBody"
    }

    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let body = context.request().body().bytes().map(<[u8]>::to_vec);
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = body;
        Err("captured for rendering; not sent".into())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! The guard against losing fields: a task definition with every field
    //! set must come out of rendering with every field set, unchanged; and
    //! the field lists must match the SDK's types and the ECS service model.

    use std::collections::BTreeMap;

    use aws_sdk_ecs::types::*;
    use aws_smithy_types::DateTime;

    use super::*;

    /// Top-level fields of a struct and their values, from its pretty
    /// `Debug` output (the SDK derives `Debug` on every type, listing every
    /// field, so this follows the SDK as it grows).
    pub(crate) fn debug_fields(value: &impl std::fmt::Debug) -> BTreeMap<String, String> {
        let text = format!("{value:#?}");
        let mut fields = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in text.lines().skip(1) {
            if let Some(rest) = line.strip_prefix("    ").filter(|r| !r.starts_with(' ')) {
                if let Some((name, value)) = rest.split_once(": ") {
                    fields.insert(name.to_owned(), value.to_owned());
                    current = Some(name.to_owned());
                    continue;
                }
            }
            if let Some(name) = &current {
                if let Some(value) = fields.get_mut(name) {
                    value.push('\n');
                    value.push_str(line);
                }
            }
        }
        fields
    }

    fn camel_case(snake: &str) -> String {
        let mut out = String::new();
        let mut upper = false;
        for c in snake.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.push(c.to_ascii_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    }

    fn kv(name: &str, value: &str) -> KeyValuePair {
        KeyValuePair::builder().name(name).value(value).build()
    }

    /// A task definition as DescribeTaskDefinition could return it, with
    /// every field set to a value of its own.
    #[allow(deprecated)] // inference accelerators: set like every field
    pub(crate) fn everything_task_definition() -> (TaskDefinition, Vec<Tag>) {
        let app = ContainerDefinition::builder()
            .name("service-b")
            .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/service-b:old")
            .essential(true)
            .cpu(128)
            .memory_reservation(256)
            .port_mappings(
                PortMapping::builder()
                    .container_port(5001)
                    .host_port(5001)
                    .protocol(TransportProtocol::Tcp)
                    .name("http")
                    .app_protocol(ApplicationProtocol::Http)
                    .build(),
            )
            .environment(kv("APP_VERSION", "old"))
            .environment(kv("FEATURE_FLAG", "on"))
            .secrets(
                Secret::builder()
                    .name("DB_PASSWORD")
                    .value_from("arn:aws:ssm:us-east-1:123456789012:parameter/db")
                    .build()
                    .expect("secret"),
            )
            .health_check(
                HealthCheck::builder()
                    .command("CMD-SHELL")
                    .command("curl -f http://127.0.0.1:5001/finance/health")
                    .interval(10)
                    .retries(3)
                    .build()
                    .expect("health check"),
            )
            .docker_labels("team", "payments")
            .log_configuration(
                LogConfiguration::builder()
                    .log_driver(LogDriver::Awslogs)
                    .options("awslogs-group", "/ecs/service-b")
                    .build()
                    .expect("log configuration"),
            )
            .mount_points(
                MountPoint::builder()
                    .source_volume("scratch")
                    .container_path("/scratch")
                    .build(),
            )
            .depends_on(
                ContainerDependency::builder()
                    .container_name("envoy")
                    .condition(ContainerCondition::Healthy)
                    .build()
                    .expect("dependency"),
            )
            .build();
        let sidecar = ContainerDefinition::builder()
            .name("envoy")
            .image("public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29")
            .essential(true)
            .user("1337")
            .build();
        let td = TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/service-b:7")
            .container_definitions(app)
            .container_definitions(sidecar)
            .family("service-b")
            .task_role_arn("arn:aws:iam::123456789012:role/service-b-task")
            .execution_role_arn("arn:aws:iam::123456789012:role/service-b-exec")
            .network_mode(NetworkMode::Awsvpc)
            .revision(7)
            .volumes(Volume::builder().name("scratch").build())
            .status(TaskDefinitionStatus::Active)
            .requires_attributes(
                Attribute::builder()
                    .name("com.amazonaws.ecs.capability.docker-remote-api.1.18")
                    .build()
                    .expect("attribute"),
            )
            .placement_constraints(
                TaskDefinitionPlacementConstraint::builder()
                    .r#type(TaskDefinitionPlacementConstraintType::MemberOf)
                    .expression("attribute:ecs.availability-zone in [us-east-1a]")
                    .build(),
            )
            .compatibilities(Compatibility::Ec2)
            .compatibilities(Compatibility::Fargate)
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(CpuArchitecture::Arm64)
                    .operating_system_family(OsFamily::Linux)
                    .build(),
            )
            .requires_compatibilities(Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .inference_accelerators(
                InferenceAccelerator::builder()
                    .device_name("device1")
                    .device_type("eia2.medium")
                    .build()
                    .expect("accelerator"),
            )
            .pid_mode(PidMode::Task)
            .ipc_mode(IpcMode::Task)
            .proxy_configuration(
                ProxyConfiguration::builder()
                    .container_name("envoy")
                    .properties(kv("ProxyIngressPort", "15000"))
                    .build()
                    .expect("proxy configuration"),
            )
            .registered_at(DateTime::from_secs(1_700_000_000))
            .deregistered_at(DateTime::from_secs(1_700_000_100))
            .delete_requested_at(DateTime::from_secs(1_700_000_200))
            .registered_by("arn:aws:iam::123456789012:user/ci")
            .ephemeral_storage(EphemeralStorage::builder().size_in_gib(50).build())
            .enable_fault_injection(true)
            .build();
        let tags = vec![
            Tag::builder().key("team").value("payments").build(),
            Tag::builder().key("cost-centre").value("42").build(),
        ];
        (td, tags)
    }

    #[test]
    fn the_fixture_sets_every_field_of_the_sdk_type() {
        let (td, _) = everything_task_definition();
        let unset: Vec<_> = debug_fields(&td)
            .into_iter()
            .filter(|(_, v)| v == "None" || v == "None,")
            .map(|(k, _)| k)
            .collect();
        assert!(
            unset.is_empty(),
            "the SDK's TaskDefinition has fields this fixture does not set: {unset:?}; \
             set them here, then copy them in register_input() or list them in DESCRIBE_ONLY"
        );
    }

    #[test]
    fn every_describe_field_is_copied_or_knowingly_dropped() {
        let described = debug_fields(&TaskDefinition::builder().build());
        let registered = debug_fields(
            &RegisterTaskDefinitionInput::builder()
                .build()
                .expect("input"),
        );
        for field in described.keys() {
            assert!(
                registered.contains_key(field) || DESCRIBE_ONLY.contains(&field.as_str()),
                "TaskDefinition.{field} is neither accepted by RegisterTaskDefinition nor listed in \
                 DESCRIBE_ONLY: decide whether a deploy must carry it"
            );
        }
        for field in DESCRIBE_ONLY {
            assert!(
                described.contains_key(field),
                "DESCRIBE_ONLY names `{field}`, which the SDK no longer has"
            );
            assert!(
                !registered.contains_key(field),
                "`{field}` is now accepted by RegisterTaskDefinition: copy it"
            );
        }
        for field in registered.keys() {
            assert!(
                described.contains_key(field) || field == "tags",
                "RegisterTaskDefinition takes `{field}`, which describe does not return"
            );
        }
    }

    #[test]
    fn rendering_keeps_every_field_unchanged() {
        let (td, tags) = everything_task_definition();
        let input = register_input(&td, &tags).expect("renders");
        let source = debug_fields(&td);
        let rendered = debug_fields(&input);
        for (field, value) in &rendered {
            assert!(
                !value.starts_with("None"),
                "register_input() leaves `{field}` unset although the task definition has it"
            );
            if field == "tags" {
                assert_eq!(input.tags.as_deref(), Some(tags.as_slice()));
            } else {
                assert_eq!(
                    Some(value),
                    source.get(field),
                    "register_input() changes `{field}`"
                );
            }
        }
        // The whole containers, sidecar included, are the same values.
        assert_eq!(input.container_definitions, td.container_definitions);
    }

    #[tokio::test]
    async fn the_request_body_carries_every_field() {
        let (td, tags) = everything_task_definition();
        let input = register_input(&td, &tags).expect("renders");
        let body = request_json(&input).await.expect("serialises");
        let keys: Vec<String> = body
            .as_object()
            .expect("a JSON object")
            .keys()
            .cloned()
            .collect();
        for field in debug_fields(&input).keys() {
            let member = camel_case(field);
            assert!(
                keys.contains(&member),
                "request_builder() drops `{field}`: the request body has no `{member}` ({keys:?})"
            );
        }
        let app = &body["containerDefinitions"][0];
        assert_eq!(app["secrets"][0]["name"], "DB_PASSWORD");
        assert_eq!(body["containerDefinitions"][1]["name"], "envoy");
        assert_eq!(body["ephemeralStorage"]["sizeInGiB"], 50);
        assert_eq!(body["runtimePlatform"]["cpuArchitecture"], "ARM64");
    }

    /// The ECS service model botocore ships (the same model the SDK is
    /// generated from): every member of the RegisterTaskDefinition request
    /// must be one the renderer sets.
    #[tokio::test]
    async fn the_renderer_covers_the_service_model() {
        let Some(model) = service_model() else {
            return;
        };
        let (td, tags) = everything_task_definition();
        let body = request_json(&register_input(&td, &tags).expect("renders"))
            .await
            .expect("serialises");
        let register = model["register"].as_array().expect("register members");
        for member in register {
            let member = member.as_str().expect("a member name");
            assert!(
                body.get(member).is_some(),
                "the ECS model's RegisterTaskDefinition takes `{member}`, which rendering does not carry"
            );
        }
        let described = model["describe"].as_array().expect("describe members");
        for member in described {
            let member = member.as_str().expect("a member name");
            let dropped = DESCRIBE_ONLY.iter().any(|f| camel_case(f) == member);
            assert!(
                dropped || register.iter().any(|m| m == member),
                "the ECS model's TaskDefinition has `{member}`: copy it or list it in DESCRIBE_ONLY"
            );
        }
    }

    /// The member names of the request and of TaskDefinition, read from
    /// botocore by the Python on PATH (the test venv).
    fn service_model() -> Option<serde_json::Value> {
        const SCRIPT: &str = "import json, botocore.session as s\n\
            m = s.get_session().get_service_model('ecs')\n\
            print(json.dumps({'register': list(m.operation_model('RegisterTaskDefinition').input_shape.members),\n\
            'describe': list(m.shape_for('TaskDefinition').members)}))";
        let out = std::process::Command::new("python3")
            .args(["-c", SCRIPT])
            .output();
        match out {
            Ok(out) if out.status.success() => {
                Some(serde_json::from_slice(&out.stdout).expect("the script prints JSON"))
            }
            _ if std::env::var(test_harness::REQUIRE_VAR).is_ok_and(|v| v == "1") => {
                panic!("this test needs python3 with botocore (tests/requirements.txt) on PATH")
            }
            _ => {
                eprintln!("SKIPPED: no python3 with botocore on PATH (tests/run provides it)");
                None
            }
        }
    }
}
