"""The deployer policy allows what deployer does, on these resources, and
nothing else: read from deployer's source (its AWS SDK calls) and from
modules/iam, so that drift on either side fails here."""

import shutil

from infra_checks import deployer_contract as contract
from infra_checks import hcl
from infra_checks.paths import INFRA

# What AWS evaluates besides the action of the call itself.
IMPLIED = {
    # A task definition naming a task role and an execution role passes
    # them to ECS; registering it with tags is also tagging on create,
    # which ECS authorises as ecs:TagResource on the new revision.
    "ecs:RegisterTaskDefinition": {"iam:PassRole", "ecs:TagResource"},
    # deployer reads the service with its tags (the rollback record): with
    # tags, DescribeServices also needs ListTagsForResource (deployer/README.md,
    # "AWS permissions").
    "ecs:DescribeServices": {"ecs:ListTagsForResource"},
}

# Calls the Docker engine makes to ECR with the token deployer gets from
# ecr:GetAuthorizationToken: the registry API of `deployer push` (layer
# upload, manifest put, and the manifest reads a push starts with), and of
# the preflight platform check (manifest, then the image config blob).
# Stated here rather than read from modules/iam: read from the policy, every
# action of its ECR statements would count as called, and the check that the
# policy allows nothing more than deployer and its engine use could not fail.
ENGINE = {
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
}

# Granted ahead of the code: actions the shared contract gives deployer
# whose calls land with other changes. Remove each entry when its call
# appears in deployer/src (the test says so).
AHEAD_OF_CODE: set[str] = set()

# Actions AWS does not let a policy scope to a resource ("*" is the only
# resource they accept).
UNSCOPABLE = {
    "ecr:GetAuthorizationToken",
    "ecs:RegisterTaskDefinition",
    "ecs:DeregisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
    "ecs:ListClusters",
    "elasticloadbalancing:DescribeTargetHealth",
}
# On "*" too, but only with an ecs:cluster condition keeping them to this
# account's and region's clusters: ListTasks filtered by service or family
# is evaluated against "*", and ListServices has no resource type.
UNSCOPABLE_WITH_CLUSTER_CONDITION = {"ecs:ListTasks", "ecs:ListServices"}


def statements(dirs) -> list[dict]:
    iam = dirs[INFRA / "modules" / "iam"]
    docs = [b for b in iam.blocks("data") if b.labels == ("aws_iam_policy_document", "deployer")]
    assert len(docs) == 1, "modules/iam has no data.aws_iam_policy_document.deployer"
    return docs[0].body["statement"]


def findings(called: set[str], granted: set[str], ahead: set[str] = AHEAD_OF_CODE) -> list[str]:
    return contract.policy_findings(called, IMPLIED, ENGINE, ahead, granted)


def test_deployer_source_is_read():
    called = contract.sdk_actions()
    # One call of each client deployer has on every branch; an empty or
    # short set would mean the scan found nothing.
    for action in ("ecs:UpdateService", "ecs:RegisterTaskDefinition", "ecr:DescribeImages", "elasticloadbalancing:DescribeTargetHealth"):
        assert action in called, f"the scan of deployer/src did not find {action}: {sorted(called)}"


def test_the_policy_allows_exactly_what_deployer_does(dirs):
    problems = findings(set(contract.sdk_actions()), contract.policy_actions(statements(dirs)))
    assert not problems, "\n".join(problems)


def test_a_new_sdk_call_missing_from_the_policy_is_caught(dirs, tmp_path):
    """Drift on the Rust side: deployer starts calling an action the policy lacks."""
    src = tmp_path / "src"
    shutil.copytree(contract.DEPLOYER_SRC, src)
    (src / "planted.rs").write_text(
        "async fn planted(c: &Clients) {\n    let _ = c\n        .ecs\n        .delete_service()\n        .send()\n        .await;\n}\n"
    )
    problems = findings(set(contract.sdk_actions(src)), contract.policy_actions(statements(dirs)))
    assert problems == ["deployer calls ecs:DeleteService, and the deployer policy does not allow it"]


def test_a_policy_action_no_code_uses_is_caught(dirs):
    """Drift on the Terraform side: the policy grants an action nothing calls."""
    granted = contract.policy_actions(statements(dirs)) | {"ecs:DeleteCluster"}
    problems = findings(set(contract.sdk_actions()), granted)
    assert problems == ["the deployer policy allows ecs:DeleteCluster, and no code uses it"]


def test_an_action_granted_ahead_that_lands_must_leave_the_list(dirs):
    called = set(contract.sdk_actions())
    problems = findings(called, contract.policy_actions(statements(dirs)), ahead={"ecs:ListClusters"})
    assert problems == [
        "ecs:ListClusters is listed as granted ahead of the code, and deployer calls it now: remove it from the list"
    ]


def test_a_removed_policy_action_is_caught(dirs):
    granted = contract.policy_actions(statements(dirs)) - {"ecs:DescribeTasks"}
    problems = findings(set(contract.sdk_actions()), granted)
    assert problems == ["deployer calls ecs:DescribeTasks, and the deployer policy does not allow it"]


def test_the_scan_reads_multi_line_calls_and_operation_modules(tmp_path):
    (tmp_path / "a.rs").write_text(
        "let out = self\n    .ecs\n    .describe_services()\n    .send();\n"
        "use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;\n"
        "let mut logs = docker.logs(id, None); logs.next();\n"
        "let s = self.logs.start_live_tail().send();\n"
    )
    assert set(contract.sdk_actions(tmp_path)) == {
        "ecs:DescribeServices",
        "ecs:RegisterTaskDefinition",
        "logs:StartLiveTail",
    }


def test_only_unscopable_actions_apply_to_every_resource(dirs):
    for statement in statements(dirs):
        assert statement.get("effect", "Allow") == "Allow"
        if statement["resources"] == ["*"]:
            actions = set(statement["actions"])
            wide = actions - UNSCOPABLE - UNSCOPABLE_WITH_CLUSTER_CONDITION
            assert not wide, f"statement {statement.get('sid')}: {sorted(wide)} on every resource"
            if actions & UNSCOPABLE_WITH_CLUSTER_CONDITION:
                conditions = statement.get("condition", [])
                assert any(c["variable"] == "ecs:cluster" and c["test"] == "ArnLike" for c in conditions), (
                    f"statement {statement.get('sid')}: {sorted(actions)} on * without an ecs:cluster condition"
                )


def test_list_tasks_is_on_every_resource_with_the_cluster_condition(dirs):
    """ListTasks filtered by service or family is evaluated against "*": a
    container-instance ARN denies it."""
    [list_tasks] = [s for s in statements(dirs) if "ecs:ListTasks" in s["actions"]]
    assert list_tasks["resources"] == ["*"]
    [condition] = list_tasks["condition"]
    assert condition["test"] == "ArnLike" and condition["variable"] == "ecs:cluster"
    assert hcl.unwrap(condition["values"][0]).endswith(":cluster/*"), condition


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
