"""Names AWS limits: each variable that names something checks the limit
AWS enforces, and its error names the variable. The patterns are read from
the HCL and run here on names at, and just past, each limit."""

import re

import pytest

from infra_checks import hcl
from infra_checks.paths import INFRA

REGEX = re.compile(r'regex\("((?:[^"\\]|\\.)*)"')


def validation(dirs, module: str, variable: str, index: int = 0) -> tuple[re.Pattern, str]:
    path = INFRA / module if module else INFRA
    block = dirs[path].variables[variable]
    rule = block.body["validation"][index]
    [pattern] = REGEX.findall(rule["condition"])
    return re.compile(pattern.encode().decode("unicode_escape")), rule["error_message"]


# (module, variable, validation index, names AWS accepts, names it refuses,
#  the name the error must mention)
CASES = [
    pytest.param(
        "",
        "cluster_name",
        0,
        ["a", "ecs-pipeline", "a" * 32, "A1-b2"],
        ["", "a" * 33, "-edge", "edge-", "under_score", "dot.name"],
        "cluster_name",
        id="cluster-name-is-an-alb-name",
    ),
    pytest.param(
        "modules/alb",
        "name",
        0,
        ["ecs-pipeline", "b" * 32],
        ["b" * 33, "x-", "a b"],
        "name",
        id="alb-name",
    ),
    pytest.param(
        "modules/iam",
        "name",
        0,
        ["ecs-pipeline", "a+b=c,d.e@f_g-h", "c" * 32],
        ["c" * 33, "slash/name", "space name", ""],
        "name",
        id="iam-name-prefix",
    ),
    pytest.param(
        "modules/ecs",
        "apps",
        2,
        ["/ecs/service-a", "/ecs/a_b.c#d"],
        ["/ecs/with space", "/ecs/colon:x", "/" + "l" * 512],
        "log_group",
        id="log-group",
    ),
]


@pytest.mark.parametrize("module, variable, index, good, bad, named", CASES)
def test_name_limits_are_aws_limits(dirs, module, variable, index, good, bad, named):
    pattern, message = validation(dirs, module, variable, index)
    for name in good:
        assert pattern.search(name), f"{module or '.'} var.{variable} refuses {name!r}, which AWS accepts"
    for name in bad:
        assert not pattern.search(name), f"{module or '.'} var.{variable} accepts {name!r}, which AWS refuses"
    assert message.startswith(named) or f" {named} " in message, message


def test_generated_names_fit_their_limits(dirs):
    """Names built from others are cut to their limit: the flow-logs role's
    name_prefix (38) and the target groups' name_prefix (6)."""
    network = {b.labels: b.body for b in dirs[INFRA / "modules" / "network"].blocks("resource")}
    prefix = network[("aws_iam_role", "flow_logs")]["name_prefix"]
    match = re.fullmatch(r"\$\{substr\(var\.name, 0, (\d+)\)\}(.*)", prefix)
    assert match, prefix
    assert int(match.group(1)) + len(match.group(2)) <= 38, prefix
    alb = {b.labels: b.body for b in dirs[INFRA / "modules" / "alb"].blocks("resource")}
    tg_prefix = alb[("aws_lb_target_group", "this")]["name_prefix"]
    match = re.fullmatch(r'\$\{substr\(replace\(each\.key, "[^"]*", ""\), 0, (\d+)\)\}(.*)', tg_prefix)
    assert match, tg_prefix
    assert int(match.group(1)) + len(match.group(2)) <= 6, tg_prefix


def test_iam_role_names_carry_the_region_and_are_checked_against_64(dirs):
    iam = dirs[INFRA / "modules" / "iam"]
    [locals_] = [b.body for b in iam.blocks("locals")]
    assert "local.region" in locals_["prefix"], locals_["prefix"]
    assert "> 64" in locals_["long_role_names"], locals_["long_role_names"]
    roles = [b for b in iam.blocks("resource") if b.labels[0] == "aws_iam_role"]
    assert roles and all("local.role_names" in b.body["name"] for b in roles), [b.body["name"] for b in roles]
