"""Resources, data sources and providers against the AWS provider 6.25.0
schema (from the @cdktf/provider-aws type declarations)."""

import json
from pathlib import Path

from conftest import assert_findings
from infra_checks import bridge, hcl, schema
from infra_checks.paths import FIXTURES, TESTS


def test_the_schema_is_the_one_for_provider_6_25_0():
    package = json.loads((TESTS / "node_modules/@cdktf/provider-aws/package.json").read_text())
    assert package["cdktf"]["provider"] == {"name": "registry.terraform.io/hashicorp/aws", "version": "6.25.0"}


def test_every_block_matches_the_provider_schema(dirs):
    checked = [b for d in dirs.values() for k in ("resource", "data", "provider") for b in d.blocks(k)]
    assert len(checked) > 50, f"only {len(checked)} blocks found: is infra/ there?"
    problems = schema.findings(list(dirs.values()))
    assert not problems, "\n".join(problems)


def test_the_schema_knows_required_and_single_blocks():
    known = bridge.schemas({"resource:aws_ecs_service", "resource:aws_lb_listener"})
    service = known["resource:aws_ecs_service"]
    assert service["arguments"]["name"]["required"] is True
    assert service["blocks"]["load_balancer"]["repeated"] is True
    assert service["blocks"]["deployment_circuit_breaker"]["repeated"] is False
    assert known["resource:aws_lb_listener"]["blocks"]["default_action"]["required"] is True


def test_the_schema_check_catches_the_planted_mistakes():
    fixture = FIXTURES / "schema"
    problems = schema.findings(list(hcl.load(fixture).values()))
    where = "tests/infra/fixtures/schema/main.tf"
    expected = [
        f"{where}: resource.aws_lb_target_group.misspelt: unknown argument or block `nmae`",
        f"{where}: resource.aws_lb_target_group.misspelt: block health_check may appear once, appears 2 times",
        f"{where}: resource.aws_lb_listener.incomplete: missing required argument `load_balancer_arn`",
        f"{where}: resource.aws_lb_listener.incomplete.default_action: unknown argument or block `fixed_respons`",
        f"{where}: resource.aws_lb_listener.incomplete: ignore_changes names `task_definition`, which this resource does not have",
        f"{where}: resource.aws_ecs_service.dynamic_content.dynamic.load_balancer: missing required argument `container_port`",
        f"{where}: resource.aws_ecs_servic.typo: the AWS provider has no resource type aws_ecs_servic",
    ]
    assert_findings(problems, expected)
