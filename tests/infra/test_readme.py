"""Each Terraform directory's README lists exactly its inputs and outputs."""

from conftest import assert_findings
from infra_checks import hcl, readme
from infra_checks.paths import FIXTURES, INFRA


def test_every_readme_matches_its_variables_and_outputs(dirs):
    assert {INFRA, INFRA / "bootstrap", INFRA / "modules" / "ecs"} <= dirs.keys()
    problems = readme.findings(dirs)
    assert not problems, "\n".join(problems) + "\n(tests/infra/fix regenerates the tables)"


def test_the_readme_check_catches_drift():
    module = FIXTURES / "wiring" / "modules" / "child"
    problems = readme.findings({module: hcl.load(module)[module]})
    where = "tests/infra/fixtures/wiring/modules/child/README.md"
    expected = [
        f"{where}: input `size` is missing from the table",
        f"{where}: the table lists input `colour`, which does not exist",
        f"{where}: input `optional`: Default says '`\"x\"`', the code says '`null`'",
        f"{where}: output `id`: Description says 'The ID.', the code says ''",
    ]
    assert_findings(problems, expected)
