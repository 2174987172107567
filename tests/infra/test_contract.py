"""Each app's JSON against infra/ evaluated with it: target group type for
its launch type, a listener rule for each path pattern at its priority, CPU
and memory policies at its targets, the health check it asks for, and the
names, size, ports and environment deployer expects."""

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from conftest import CONTRACT_ENV, CONTRACT_TAG, CONTRACT_TFVARS
from infra_checks import contract, evaluate, hcl, paths
from infra_checks.hcl import unwrap

APPS = [p.stem for p in paths.app_files()]


@pytest.mark.parametrize("app", APPS)
def test_each_app_gets_what_its_json_asks_for(app, app_configs, evaluated):
    problems = contract.findings(evaluated, [app_configs[app]], CONTRACT_ENV, CONTRACT_TAG)
    assert not problems, "\n".join(problems)


def test_the_real_apps_cover_both_launch_types(app_configs):
    assert {cfg["launch_type"] for cfg in app_configs.values()} == {"EC2", "FARGATE"}


def test_nothing_is_deployed_that_no_json_describes(app_configs, evaluated):
    services = sorted(s["name"] for s in evaluated.resources("aws_ecs_service"))
    wanted = sorted((cfg["deploy"].get("service") or cfg["app"]) for cfg in app_configs.values())
    assert services == wanted


@pytest.fixture(scope="module")
def defaults_config(tmp_path_factory) -> Path:
    """Two apps that leave most fields to their defaults and rename
    everything deploy lets them rename, beside the real JSON Schema (which
    infra/apps.tf must skip)."""
    config = tmp_path_factory.mktemp("config")
    for file in (paths.FIXTURES / "config-defaults").glob("*.json"):
        shutil.copy(file, config)
    shutil.copy(paths.SCHEMA_FILE, config)
    return config


def test_the_fixture_apps_are_valid_app_files(defaults_config):
    schema = json.loads(paths.SCHEMA_FILE.read_text())
    for file in paths.app_files(defaults_config):
        jsonschema.validate(json.loads(file.read_text()), schema)


def test_defaults_and_renames_are_applied_as_the_config_crate_applies_them(defaults_config):
    apps = [json.loads(p.read_text()) for p in paths.app_files(defaults_config)]
    assert [a["app"] for a in apps] == ["service-c", "service-d"]
    evaluated = evaluate.evaluate(config_dir=defaults_config, tfvars=CONTRACT_TFVARS)
    problems = contract.findings(evaluated, apps, CONTRACT_ENV, CONTRACT_TAG)
    assert not problems, "\n".join(problems)


# Mistakes planted in a copy of infra/, each with the finding it must cause
# when that copy is evaluated with the real config/.
MISTAKES = [
    pytest.param(
        "apps.tf",
        'target_type  = app.launch_type == "EC2" ? "instance" : "ip"',
        'target_type  = "ip"',
        "service-a: the target group type is 'ip', the JSON asks for 'instance'",
        id="ip-target-group-for-ec2",
    ),
    pytest.param(
        "apps.tf",
        "host_port    = app.launch_type == \"EC2\" ? 0 : app.port",
        "host_port    = app.port",
        "service-a: the container's port mappings (container, host) is [(5000, 5000)], the JSON asks for [(5000, 0)]",
        id="static-host-port-in-bridge-mode",
    ),
    pytest.param(
        "modules/alb/main.tf",
        "values = each.value.path_patterns",
        "values = slice(each.value.path_patterns, 0, 1)",
        "service-b: no listener rule forwards /payment/* to its target group",
        id="dropped-path-pattern",
    ),
    pytest.param(
        "modules/ecs/main.tf",
        'metric = "ECSServiceAverageMemoryUtilization", target = cfg.memory_target',
        'metric = "ECSServiceAverageMemoryUtilization", target = 50',
        "service-b: the ECSServiceAverageMemoryUtilization target is 50, the JSON asks for 75",
        id="memory-target-ignored",
    ),
    pytest.param(
        "apps.tf",
        "interval            = try(app.health_check.interval_seconds, local.defaults.health_interval)",
        "interval            = local.defaults.health_interval",
        "service-a: the health check's interval is 15, the JSON asks for 10",
        id="health-check-interval-ignored",
    ),
    pytest.param(
        "modules/alb/main.tf",
        "priority     = each.value.priority",
        "priority     = each.value.priority + 1",
        "service-a: the priority of the rule for /medical is [101], the JSON asks for [100]",
        id="renumbered-priority",
    ),
    pytest.param(
        "modules/ecs/main.tf",
        "cpu_architecture        = each.value.cpu_architecture",
        'cpu_architecture        = "ARM64"',
        "service-b: the task's CPU architecture is 'ARM64', the JSON asks for 'X86_64'",
        id="cpu-architecture-ignored",
    ),
    pytest.param(
        "modules/observability/main.tf",
        "threshold           = each.value.error_rate_percent",
        "threshold           = 10",
        "service-a: the 5xx-rate alarm's threshold is 10, the JSON asks for 5.0",
        id="error-rate-threshold-ignored",
    ),
    pytest.param(
        "modules/observability/main.tf",
        'expression  = "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)"',
        'expression  = "errors"',
        "service-b: the 5xx-rate alarm returns no metric-math rate",
        id="error-count-instead-of-rate",
    ),
    pytest.param(
        "apps.tf",
        'names    = ["${local.cluster_name}-${name}-5xx-rate", "${local.cluster_name}-${name}-latency-p99"]',
        'names    = ["${local.cluster_name}-${name}-5xx-rate", "${local.cluster_name}-${name}-latency"]',
        "service-a: deployment alarm 'ecs-pipeline-service-a-latency' is no alarm of the stack",
        id="deployment-alarm-that-does-not-exist",
    ),
    pytest.param(
        "apps.tf",
        "} if app.alarms.enabled",
        "} if app.alarms.enabled && app.launch_type == \"EC2\"",
        "service-b: the service has no deployment alarms",
        id="service-without-deployment-alarms",
    ),
    pytest.param(
        "modules/observability/main.tf",
        '{ stat = "p99", label = "p99" }',
        '{ stat = "p90", label = "p90" }',
        "service-b: the dashboard has no TargetResponseTime p99 widget",
        id="dashboard-without-p99",
    ),
]


@pytest.mark.parametrize("file, original, planted, finding", MISTAKES)
def test_the_contract_catches_a_planted_mistake(tmp_path, file, original, planted, finding):
    infra = tmp_path / "infra"
    shutil.copytree(paths.INFRA, infra, ignore=shutil.ignore_patterns(".terraform"))
    target = infra / file
    text = target.read_text()
    assert original in text, f"{file} no longer contains {original!r}: update this mistake"
    target.write_text(text.replace(original, planted))
    apps = [json.loads(p.read_text()) for p in paths.app_files()]
    problems = contract.findings(evaluate.evaluate(infra_dir=infra, tfvars=CONTRACT_TFVARS), apps, CONTRACT_ENV, CONTRACT_TAG)
    assert finding in problems, "\n".join(problems)


def test_a_default_that_drifts_from_the_config_crate_is_caught(tmp_path, defaults_config):
    infra = tmp_path / "infra"
    shutil.copytree(paths.INFRA, infra, ignore=shutil.ignore_patterns(".terraform"))
    apps_tf = infra / "apps.tf"
    text = apps_tf.read_text()
    assert "health_interval      = 15" in text
    apps_tf.write_text(text.replace("health_interval      = 15", "health_interval      = 30"))
    apps = [json.loads(p.read_text()) for p in paths.app_files(defaults_config)]
    evaluated = evaluate.evaluate(config_dir=defaults_config, infra_dir=infra, tfvars=CONTRACT_TFVARS)
    problems = contract.findings(evaluated, apps, CONTRACT_ENV, CONTRACT_TAG)
    assert "service-c: the health check's interval is 30, the JSON asks for 15" in problems, "\n".join(problems)


def service_alarms_findings(dirs, infra: Path = paths.INFRA) -> list[str]:
    """The ECS service renders its `alarms` block from the module's
    `deployment_alarms`, for its own app, with the names and rollback given
    and the alarms enabled. (The evaluator drops this dynamic block, so the
    contract above checks the values passed in; this checks that they land.)"""
    ecs = dirs[infra / "modules" / "ecs"]
    services = [b for b in ecs.blocks("resource") if b.labels[0] == "aws_ecs_service"]
    if len(services) != 1:
        return [f"modules/ecs: expected one aws_ecs_service, found {len(services)}"]
    dynamic = (services[0].body.get("dynamic") or {}).get("alarms") or []
    if len(dynamic) != 1:
        return ["modules/ecs: the service has no dynamic `alarms` block"]
    block = dynamic[0]
    problems = []
    for_each = unwrap(block.get("for_each", ""))
    if "var.deployment_alarms" not in for_each or "each.key" not in for_each:
        problems.append(f"modules/ecs: the alarms block does not iterate var.deployment_alarms for its own app: {for_each}")
    content = (block.get("content") or [{}])[0]
    if unwrap(str(content.get("alarm_names", ""))) != "alarms.value.names":
        problems.append(f"modules/ecs: alarm_names is {content.get('alarm_names')!r}, not the names given")
    if unwrap(str(content.get("rollback", ""))) != "alarms.value.rollback":
        problems.append(f"modules/ecs: rollback is {content.get('rollback')!r}, not the JSON's alarms.rollback")
    if content.get("enable") is not True:
        problems.append(f"modules/ecs: enable is {content.get('enable')!r}")
    return problems


def test_each_service_renders_its_deployment_alarms(dirs):
    problems = service_alarms_findings(dirs)
    assert not problems, "\n".join(problems)


def test_the_service_alarms_check_catches_a_planted_mistake(tmp_path):
    infra = tmp_path / "infra"
    shutil.copytree(paths.INFRA, infra, ignore=shutil.ignore_patterns(".terraform"))
    main = infra / "modules" / "ecs" / "main.tf"
    text = main.read_text()
    assert "rollback    = alarms.value.rollback" in text
    main.write_text(text.replace("rollback    = alarms.value.rollback", "rollback    = false"))
    dirs = hcl.load(infra)
    assert service_alarms_findings(dirs, infra) == ["modules/ecs: rollback is False, not the JSON's alarms.rollback"]
