"""The contract between Terraform and deployer, read from both sides.

The Rust side: the AWS SDK calls under deployer/src (every call is written
`<client>.<operation>()` on a client named after its service, or names the
operation's module `aws_sdk_<service>::operation::<operation>`), and the tag
constants in deployer/src/ecs/tags.rs. The Terraform side: the deployer
policy in modules/iam and the provider's default_tags and ignore_tags.

Each function takes what it reads as arguments, so that the tests can run it
on planted drift as well as on the real tree.
"""

import re
from pathlib import Path

import botocore.session
from botocore import xform_name

from .paths import REPO

DEPLOYER_SRC = REPO / "deployer" / "src"
TAGS_RS = DEPLOYER_SRC / "ecs" / "tags.rs"

# Client variable (contract: the name says the service) -> botocore service
# name and IAM action prefix.
CLIENTS = {
    "ecs": ("ecs", "ecs"),
    "ecr": ("ecr", "ecr"),
    "elb": ("elbv2", "elasticloadbalancing"),
    "logs": ("logs", "logs"),
    "cloudwatch": ("cloudwatch", "cloudwatch"),
}
# SDK crate -> client variable name, for `aws_sdk_<crate>::operation::<op>`.
CRATES = {
    "ecs": "ecs",
    "ecr": "ecr",
    "elasticloadbalancingv2": "elb",
    "cloudwatchlogs": "logs",
    "cloudwatch": "cloudwatch",
}

CALL = re.compile(r"\b(" + "|".join(CLIENTS) + r")\s*\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)")
OPERATION_MODULE = re.compile(r"\baws_sdk_(" + "|".join(CRATES) + r")::operation::([a-z][a-z0-9_]*)\b")


# Operations the Rust SDK has and the pinned botocore's models (the version
# checkov requires) predate: ECS added StopServiceDeployment in 2025.
NEWER_THAN_BOTOCORE = {"ecs": {"StopServiceDeployment"}}


def _operations() -> dict[str, dict[str, str]]:
    """Per client name: snake_case operation -> IAM action, from botocore's models."""
    session = botocore.session.get_session()
    table: dict[str, dict[str, str]] = {}
    for client, (service, prefix) in CLIENTS.items():
        model = session.get_service_model(service)
        names = set(model.operation_names) | NEWER_THAN_BOTOCORE.get(client, set())
        table[client] = {xform_name(op): f"{prefix}:{op}" for op in names}
    return table


OPERATIONS = _operations()


def sdk_actions(src: Path = DEPLOYER_SRC) -> dict[str, set[str]]:
    """IAM action -> the files (relative to src) that call it. Names that are
    no operation of the client's service (a local `logs.next()` on a Docker
    stream) are not calls."""
    found: dict[str, set[str]] = {}
    for path in sorted(src.rglob("*.rs")):
        text = path.read_text()
        hits = [(c, op) for c, op in CALL.findall(text)]
        hits += [(CRATES[crate], op) for crate, op in OPERATION_MODULE.findall(text)]
        for client, op in hits:
            action = OPERATIONS[client].get(op)
            if action:
                found.setdefault(action, set()).add(str(path.relative_to(src)))
    return found


def policy_actions(statements: list[dict]) -> set[str]:
    return {a for s in statements for a in s["actions"]}


def policy_findings(
    called: set[str],
    implied: dict[str, set[str]],
    engine: set[str],
    ahead: set[str],
    granted: set[str],
) -> list[str]:
    """What differs between what deployer does and what the policy grants.

    called: actions of deployer's SDK calls; implied: action -> the actions
    AWS also evaluates for it (iam:PassRole for a task definition with
    roles...); engine: what the Docker engine calls with deployer's token;
    ahead: actions granted before the code calling them has landed.
    """
    needed = set(called) | set(engine)
    for action in called:
        needed |= implied.get(action, set())
    findings = [f"deployer calls {a}, and the deployer policy does not allow it" for a in sorted(needed - granted)]
    findings += [
        f"the deployer policy allows {a}, and no code uses it" for a in sorted(granted - needed - set(ahead))
    ]
    findings += [
        f"{a} is listed as granted ahead of the code, and deployer calls it now: remove it from the list"
        for a in sorted(set(ahead) & set(called))
    ]
    return findings


CONST = re.compile(r'^\s*pub\s+const\s+([A-Z][A-Z0-9_]*)\s*:\s*&str\s*=\s*"([^"]*)"\s*;', re.M)


def tag_constants(text: str) -> dict[str, str]:
    """Every `pub const NAME: &str = "value";` in tags.rs."""
    return dict(CONST.findall(text))


def tag_findings(
    constants: dict[str, str],
    ignore_prefixes: list[str],
    default_tags: dict[str, str],
    own_revision_keys: dict[str, str],
) -> list[str]:
    """The tag half of the contract.

    constants: tags.rs; ignore_prefixes: the provider's ignore_tags
    key_prefixes; default_tags: the provider's literal default tags;
    own_revision_keys: key constants deployer writes only on resources it
    creates itself (not Terraform's), each with the reason.
    """
    findings = []
    prefix = constants.get("PREFIX")
    if prefix is None:
        findings.append("tags.rs has no PREFIX")
    elif prefix not in ignore_prefixes:
        findings.append(f"the provider's ignore_tags key_prefixes {ignore_prefixes} do not hold tags.rs PREFIX {prefix!r}")
    # Values of a key are named after it: MANAGED_BY_DEPLOYER is a value of MANAGED_BY.
    keys = {
        name: value
        for name, value in constants.items()
        if name != "PREFIX" and not any(name.startswith(other + "_") for other in constants if other != name)
    }
    for name, key in sorted(keys.items()):
        if name in own_revision_keys:
            continue
        if not any(key.startswith(p) for p in ignore_prefixes):
            findings.append(
                f"tags.rs {name} = {key!r}: deployer writes it on Terraform-managed resources, "
                f"and the provider's ignore_tags {ignore_prefixes} do not cover it (start it with PREFIX)"
            )
    managed_by = constants.get("MANAGED_BY")
    ours, theirs = constants.get("MANAGED_BY_DEPLOYER"), constants.get("MANAGED_BY_TERRAFORM")
    if managed_by is None or ours is None or theirs is None:
        findings.append("tags.rs must define MANAGED_BY, MANAGED_BY_DEPLOYER and MANAGED_BY_TERRAFORM")
    else:
        if default_tags.get(managed_by) != theirs:
            findings.append(
                f"the provider's default tags set {managed_by} = {default_tags.get(managed_by)!r}, "
                f"not tags.rs MANAGED_BY_TERRAFORM {theirs!r}: Terraform's revision would not be marked as Terraform's"
            )
        if ours == theirs:
            findings.append(f"MANAGED_BY_DEPLOYER and MANAGED_BY_TERRAFORM are both {ours!r}")
        if any(managed_by.startswith(p) for p in ignore_prefixes):
            findings.append(f"{managed_by} is ignored by the provider: Terraform could not mark its revision")
    return findings


LITERAL_TAG = re.compile(r'^\s*"?([A-Za-z0-9_.:/=+@-]+)"?\s*=\s*"([^"]*)"\s*$', re.M)


def literal_tags(expression: str) -> dict[str, str]:
    """The `Key = "value"` lines of a default_tags expression."""
    return dict(LITERAL_TAG.findall(expression))
