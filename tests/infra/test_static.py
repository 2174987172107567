"""Decisions the configuration must keep: the Terraform/deployer boundary,
the state backend, version pins, nothing account-, region- or AMI-specific
written down, and the apps described only by their JSON."""

import re

import pytest

from infra_checks import hcl
from infra_checks.paths import INFRA


def resources(dirs, type_):
    return [b for d in dirs.values() for b in d.blocks("resource") if b.labels[0] == type_]


def test_ecs_services_leave_revisions_and_counts_to_deployer(dirs):
    services = resources(dirs, "aws_ecs_service")
    assert services, "no aws_ecs_service in infra/"
    for service in services:
        ignored = {hcl.unwrap(e) for lc in service.body.get("lifecycle", []) for e in lc.get("ignore_changes", [])}
        assert {"task_definition", "desired_count"} <= ignored, f"{service.where}: ignore_changes is {sorted(ignored)}"
        breakers = service.body.get("deployment_circuit_breaker", [])
        assert breakers == [{"enable": True, "rollback": True}], f"{service.where}: circuit breaker {breakers}"


def test_the_state_backend_is_s3_with_its_own_lock_file(dirs):
    # A labelled block nested in a body: {"backend": {"s3": [body]}}
    backends = [t.body["backend"] for t in dirs[INFRA].blocks("terraform") if "backend" in t.body]
    assert len(backends) == 1 and list(backends[0]) == ["s3"], backends
    s3 = backends[0]["s3"][0]
    assert s3.get("use_lockfile") is True
    assert s3.get("encrypt") is True
    assert "dynamodb_table" not in s3
    # Bucket and region come from -backend-config, not from this file.
    assert "bucket" not in s3 and "region" not in s3


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def satisfies(version: str, constraints: str) -> bool:
    """Terraform's version constraint syntax, for the operators used here."""
    v = version_tuple(version)
    for constraint in constraints.split(","):
        op, bound = re.match(r"\s*(~>|>=|<=|!=|>|<|=)?\s*([\d.]+)", constraint).groups()
        b = version_tuple(bound)
        padded = b + (0,) * (len(v) - len(b))
        if op == "~>":
            # ~> 6.25 allows 6.25 up to (not including) 7.0
            upper = b[:-1][:-1] + (b[:-1][-1] + 1,) if len(b) > 1 else (b[0] + 1,)
            ok = v >= padded and v[: len(upper)] < upper
        else:
            ok = {
                ">=": v >= padded,
                "<=": v <= padded,
                ">": v > padded,
                "<": v < padded,
                "!=": v != padded,
                "=": v == padded,
                None: v == padded,
            }[op]
        if not ok:
            return False
    return True


def test_the_version_check_reads_constraints_right():
    assert satisfies("6.25.0", "~> 6.25") and satisfies("6.99.1", "~> 6.25")
    assert not satisfies("7.0.0", "~> 6.25") and not satisfies("6.24.0", "~> 6.25")
    assert satisfies("1.11.0", ">= 1.11") and not satisfies("1.10.5", ">= 1.11")


def test_every_directory_pins_terraform_and_the_aws_provider_6(dirs):
    for path, tf in dirs.items():
        blocks = list(tf.blocks("terraform"))
        assert blocks, f"{path}: no terraform block (versions.tf)"
        required_version = [b.body["required_version"] for b in blocks if "required_version" in b.body]
        # use_lockfile in the S3 backend is generally available from 1.11 on.
        assert required_version and not satisfies("1.10.9", required_version[0]), f"{path}: {required_version}"
        assert satisfies("1.11.0", required_version[0])
        aws = [p["aws"] for b in blocks for p in b.body.get("required_providers", [])]
        assert aws and aws[0]["source"] == "hashicorp/aws", f"{path}: {aws}"
        assert satisfies("6.25.0", aws[0]["version"]) and not satisfies("7.0.0", aws[0]["version"]), aws


HARD_CODED = {
    "account ID": re.compile(r"(?<![\d.])\d{12}(?![\d.])"),
    "region": re.compile(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx)-(?:north|south|east|west|central)(?:east|west)?-\d\b"),
    "AMI": re.compile(r"\bami-[0-9a-f]{8,17}\b"),
}


@pytest.mark.parametrize("what", HARD_CODED)
def test_nothing_account_region_or_ami_specific_is_hard_coded(what):
    hits = [
        f"{f.relative_to(INFRA)}:{n}: {line.strip()}"
        for f in INFRA.rglob("*.tf")
        for n, line in enumerate(f.read_text().splitlines(), 1)
        # Examples in descriptions and comments are not configuration.
        if HARD_CODED[what].search(line) and not line.strip().startswith(("description", "#"))
    ]
    assert not hits, f"hard-coded {what}:\n" + "\n".join(hits)


def test_the_hard_coded_patterns_match_what_they_should():
    assert HARD_CODED["account ID"].search('"arn:aws:iam::123456789012:role/x"')
    assert HARD_CODED["region"].search('region = "eu-west-1"')
    assert HARD_CODED["region"].search('"ap-southeast-2"')
    assert HARD_CODED["AMI"].search('image_id = "ami-0abcdef1234567890"')
    assert not HARD_CODED["account ID"].search("cidr = 10.0.0.0/16")


def test_the_apps_are_described_only_by_their_json(app_configs):
    """No .tf file names an app: everything about them comes from config/."""
    names = set(app_configs)
    hits = [
        f"{f.relative_to(INFRA)}: {name}"
        for f in INFRA.rglob("*.tf")
        for name in names
        if name in f.read_text()
    ]
    assert not hits, "\n".join(hits)
    apps_tf = (INFRA / "apps.tf").read_text()
    assert "jsondecode(file(" in apps_tf
