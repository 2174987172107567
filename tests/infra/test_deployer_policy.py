"""The deployer policy allows what deployer does, on these resources, and
nothing else."""

import re

import botocore.session
from botocore import xform_name

from infra_checks import hcl
from infra_checks.paths import INFRA, REPO

ECR_PUSH = {
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
}
TASK_DEFINITIONS = {
    "ecs:RegisterTaskDefinition",
    "ecs:DeregisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
}
SERVICES = {
    "ecs:DescribeServices",
    "ecs:UpdateService",
    "ecs:DescribeClusters",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "ecs:TagResource",
    "ecs:ListTagsForResource",
}
TARGET_HEALTH = {"elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTargetGroups"}
SERVICE_DEPLOYMENTS = {
    "ecs:ListServiceDeployments",
    "ecs:DescribeServiceDeployments",
    "ecs:StopServiceDeployment",
}
# Prune reads every cluster of the account and region.
ACCOUNT_READ = {"ecs:ListClusters", "ecs:ListServices"}
EVERYTHING = (
    {"ecr:GetAuthorizationToken", "iam:PassRole"}
    | ECR_PUSH
    | TASK_DEFINITIONS
    | SERVICES
    | TARGET_HEALTH
    | SERVICE_DEPLOYMENTS
    | ACCOUNT_READ
)
# The only actions AWS does not let a policy scope to a resource (ListTasks
# and ListServices carry an ecs:cluster condition instead).
UNSCOPABLE = {"ecr:GetAuthorizationToken", "ecs:ListTasks"} | TASK_DEFINITIONS | TARGET_HEALTH | ACCOUNT_READ


def statements(dirs) -> list[dict]:
    iam = dirs[INFRA / "modules" / "iam"]
    docs = [b for b in iam.blocks("data") if b.labels == ("aws_iam_policy_document", "deployer")]
    assert len(docs) == 1, "modules/iam has no data.aws_iam_policy_document.deployer"
    return docs[0].body["statement"]


def allowed(dirs) -> set[str]:
    return {a for s in statements(dirs) for a in s["actions"]}


def test_the_policy_allows_exactly_what_deployer_does(dirs):
    actions = allowed(dirs)
    assert not EVERYTHING - actions, f"missing: {sorted(EVERYTHING - actions)}"
    assert not actions - EVERYTHING, f"more than deployer needs: {sorted(actions - EVERYTHING)}"


def test_only_unscopable_actions_apply_to_every_resource(dirs):
    for statement in statements(dirs):
        assert statement.get("effect", "Allow") == "Allow"
        if statement["resources"] == ["*"]:
            wide = set(statement["actions"]) - UNSCOPABLE
            assert not wide, f"statement {statement.get('sid')}: {sorted(wide)} on every resource"


def test_pass_role_is_limited_to_the_task_roles_and_to_ecs_tasks(dirs):
    [passrole] = [s for s in statements(dirs) if "iam:PassRole" in s["actions"]]
    assert passrole["actions"] == ["iam:PassRole"]
    resources = hcl.unwrap(passrole["resources"])
    assert "aws_iam_role.execution.arn" in resources and "aws_iam_role.task" in resources, resources
    assert "*" not in resources
    assert passrole["condition"] == [
        {"test": "StringEquals", "variable": "iam:PassedToService", "values": ["ecs-tasks.amazonaws.com"]}
    ]


def test_image_pushes_are_limited_to_the_apps_repositories(dirs):
    [push] = [s for s in statements(dirs) if "ecr:PutImage" in s["actions"]]
    assert hcl.unwrap(push["resources"]) == "var.repository_arns"


def sdk_calls() -> set[tuple[str, str]]:
    """(IAM prefix, operation) for each ECS, ECR or ELB API call in deployer's
    code, recognised by the SDKs' operation names (from botocore's models)."""
    session = botocore.session.get_session()
    operations: dict[str, set[str]] = {}
    for service, prefix in (("ecs", "ecs"), ("ecr", "ecr"), ("elbv2", "elasticloadbalancing")):
        for op in session.get_service_model(service).operation_names:
            operations.setdefault(xform_name(op), set()).add(f"{prefix}:{op}")
    source = "\n".join(p.read_text() for p in (REPO / "deployer" / "src").rglob("*.rs"))
    called = set(re.findall(r"\.\s*([a-z][a-z0-9_]*)\(\)", source))
    return {frozenset(operations[name]) for name in called if name in operations}


def test_every_aws_call_in_deployer_is_allowed(dirs):
    actions = allowed(dirs)
    calls = sdk_calls()
    # The image lookup at least calls ecr:DescribeImages; an empty set would
    # mean the scan found nothing.
    assert calls, "found no ECS, ECR or ELB call in deployer/src"
    missing = [sorted(c) for c in calls if not c & actions]
    assert not missing, f"deployer calls these, and the policy allows none of each: {missing}"
