"""The tag half of the contract with deployer, read from both sides: the tag
keys in deployer/src/ecs/tags.rs against the provider's ignore_tags and
default_tags; Terraform's task definition revision kept (by deployer's prune
and by Terraform), and its image kept by the ECR lifecycle policy."""

import json
import re

from conftest import CONTRACT_TAG
from infra_checks import deployer_contract as contract
from infra_checks import hcl
from infra_checks.paths import INFRA, REPO

# Keys deployer writes only on resources it creates itself, never on one
# Terraform manages, so the provider never sees them: the ManagedBy marker on
# the revisions deployer registers. (Terraform's own revision gets ManagedBy
# from the provider's default tags, which is why the key must not be ignored.)
OWN_REVISION_KEYS = {"MANAGED_BY": "only on the task definition revisions deployer registers"}

# tags.rs constants whose use lands with other changes (deployer's registration
# and prune). Remove each entry once deployer/src uses it; the test says so.
USED_AHEAD_OF_CODE: set[str] = set()


def provider(dirs) -> dict:
    [aws] = [b.body for b in dirs[INFRA].blocks("provider") if b.labels == ("aws",)]
    return aws


def ignore_prefixes(dirs) -> list[str]:
    return [p for block in provider(dirs).get("ignore_tags", []) for p in block.get("key_prefixes", [])]


def default_tags(dirs) -> dict[str, str]:
    [block] = provider(dirs)["default_tags"]
    return contract.literal_tags(block["tags"])


def tag_findings(dirs, constants=None, prefixes=None, defaults=None) -> list[str]:
    return contract.tag_findings(
        contract.tag_constants(contract.TAGS_RS.read_text()) if constants is None else constants,
        ignore_prefixes(dirs) if prefixes is None else prefixes,
        default_tags(dirs) if defaults is None else defaults,
        OWN_REVISION_KEYS,
    )


def test_the_tag_keys_deployer_writes_are_the_providers_to_ignore(dirs):
    problems = tag_findings(dirs)
    assert not problems, "\n".join(problems)


def test_tags_rs_is_read():
    constants = contract.tag_constants(contract.TAGS_RS.read_text())
    assert {"PREFIX", "ROLLBACK_HISTORY", "MANAGED_BY", "MANAGED_BY_DEPLOYER", "MANAGED_BY_TERRAFORM"} <= set(constants)


def test_a_new_key_without_the_prefix_is_caught(dirs):
    """Drift on the Rust side: a new key deployer writes that apply would remove."""
    text = contract.TAGS_RS.read_text() + '/// On the ECS service: the last deploy.\npub const LAST_DEPLOY: &str = "last-deploy";\n'
    problems = tag_findings(dirs, constants=contract.tag_constants(text))
    assert len(problems) == 1 and "LAST_DEPLOY = 'last-deploy'" in problems[0], problems


def test_a_narrower_ignore_tags_is_caught(dirs):
    """Drift on the Terraform side: ignore_tags no longer covers the prefix."""
    problems = tag_findings(dirs, prefixes=["deployer:rollback"])
    assert any("do not hold tags.rs PREFIX" in p for p in problems), problems


def test_terraform_revision_marker_drift_is_caught(dirs):
    defaults = {**default_tags(dirs), "ManagedBy": "platform"}
    problems = tag_findings(dirs, defaults=defaults)
    assert len(problems) == 1 and "MANAGED_BY_TERRAFORM" in problems[0], problems


def test_every_tag_constant_is_used_or_listed_as_ahead_of_the_code():
    constants = contract.tag_constants(contract.TAGS_RS.read_text())
    source = "\n".join(p.read_text() for p in contract.DEPLOYER_SRC.rglob("*.rs") if p != contract.TAGS_RS)
    used = {name for name in constants if re.search(rf"\btags::{name}\b", source)}
    unused = set(constants) - used - USED_AHEAD_OF_CODE - {"PREFIX"}
    assert not unused, f"tags.rs constants nothing uses: {sorted(unused)}"
    landed = used & USED_AHEAD_OF_CODE
    assert not landed, f"remove from USED_AHEAD_OF_CODE, deployer uses them now: {sorted(landed)}"


def resources(dirs, type_):
    return [b for d in dirs.values() for b in d.blocks("resource") if b.labels[0] == type_]


def test_terraform_keeps_its_replaced_revisions_registered(dirs):
    """skip_destroy: a replaced revision of Terraform's stays registered (a
    service or a rollback may use it); deployer's prune skips it by its
    ManagedBy tag. track_latest would make Terraform diff against deployer's
    newest revision and register a stale one on every apply."""
    [taskdef] = resources(dirs, "aws_ecs_task_definition")
    assert taskdef.body.get("skip_destroy") is True, taskdef.where
    assert taskdef.body.get("track_latest", False) is False, taskdef.where


def test_the_lifecycle_policy_keeps_the_image_terraforms_revision_runs(evaluated):
    """Evaluated with initial_image_tag = CONTRACT_TAG: the tag is selected by
    a rule of higher priority than the count rule (and so never expired by
    it), which itself keeps more images than any count below it."""
    # The apps' repositories; deployer's own image runs in no task definition.
    app_repositories = set()
    for path in (REPO / "config").glob("*.json"):
        cfg = json.loads(path.read_text())
        if "app" not in cfg:  # the JSON Schema
            continue
        app_repositories.add(cfg.get("deploy", {}).get("repository") or cfg["app"])
    policies = [p for p in evaluated.resources("aws_ecr_lifecycle_policy") if p["repository"] in app_repositories]
    assert len(policies) == len(app_repositories), f"no lifecycle policy on some of {sorted(app_repositories)}"
    for policy in policies:
        rules = sorted(json.loads(policy["policy"])["rules"], key=lambda r: r["rulePriority"])
        keeping = [
            r
            for r in rules
            if r["selection"].get("tagStatus") == "tagged"
            and CONTRACT_TAG in r["selection"].get("tagPatternList", r["selection"].get("tagPrefixList", []))
        ]
        assert keeping, f"no rule selects {CONTRACT_TAG}: {rules}"
        rule = keeping[0]
        assert rules.index(rule) == 0, f"the rule keeping {CONTRACT_TAG} is not first: {rules}"
        # Tags are immutable, so one image carries the tag: a count above 1 never expires it.
        assert rule["selection"]["countType"] == "imageCountMoreThan" and rule["selection"]["countNumber"] > 1, rule


def test_the_services_let_the_capacity_provider_strategy_change(dirs):
    """Provider 6.x: changing capacity_provider_strategy in place needs
    force_new_deployment, or the plan fails."""
    for service in resources(dirs, "aws_ecs_service"):
        assert service.body.get("force_new_deployment") is True, service.where


def test_ec2_placement_spreads_before_it_packs(dirs, evaluated):
    """ECS applies ordered_placement_strategy in order; a dynamic block over
    a map would iterate in key order (binpack first)."""
    [service] = resources(dirs, "aws_ecs_service")
    [dynamic] = service.body["dynamic"]["ordered_placement_strategy"]
    assert "local.ec2_placement" in hcl.unwrap(dynamic["for_each"]), dynamic
    placement = evaluated.locals("module.ecs")["ec2_placement"]
    assert isinstance(placement, list), placement
    assert [(s["type"], s["field"]) for s in placement] == [
        ("spread", "attribute:ecs.availability-zone"),
        ("binpack", "memory"),
    ]


def test_target_groups_are_replaced_before_they_are_destroyed(dirs):
    [tg] = resources(dirs, "aws_lb_target_group")
    assert "name" not in tg.body and "name_prefix" in tg.body, tg.where
    lifecycle = tg.body.get("lifecycle", [{}])[0]
    assert lifecycle.get("create_before_destroy") is True, tg.where


def test_the_ignore_tags_prefix_is_the_rust_one(dirs):
    assert contract.tag_constants(contract.TAGS_RS.read_text())["PREFIX"] in ignore_prefixes(dirs)
    assert hcl.unwrap(provider(dirs)["region"]) == "var.region"
