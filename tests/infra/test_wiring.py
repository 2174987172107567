"""Module calls pass what their modules declare and require; references name
outputs, variables and locals that exist."""

from conftest import assert_findings
from infra_checks import hcl, wiring
from infra_checks.paths import INFRA, FIXTURES


def test_every_module_call_and_reference_is_wired(dirs):
    calls = [c for d in dirs.values() for c in d.module_calls.values()]
    assert len(calls) >= 7, f"expected the root to call every module, found {len(calls)} calls"
    problems = wiring.findings(dirs)
    assert not problems, "\n".join(problems)


def test_the_root_calls_every_module(dirs):
    called = {wiring.module_dir(dirs[INFRA], hcl.unwrap(c.body["source"])) for c in dirs[INFRA].module_calls.values()}
    modules = {p for p in dirs if p.parent == INFRA / "modules"}
    assert modules and modules == called, f"not called: {sorted(map(str, modules - called))}"


def test_the_wiring_check_catches_the_planted_mistakes():
    problems = wiring.findings(hcl.load(FIXTURES / "wiring"))
    where = "tests/infra/fixtures/wiring/main.tf"
    expected = [
        f"{where}: module.child: passes `colour`, which tests/infra/fixtures/wiring/modules/child does not declare",
        f"{where}: module.child: does not pass `size`, which tests/infra/fixtures/wiring/modules/child requires",
        f"{where}: `module.child.idd`: tests/infra/fixtures/wiring/modules/child has no output `idd`",
        f"{where}: `var.nope` is not declared",
        f"{where}: `local.nothing` is not defined",
    ]
    assert_findings(problems, expected)
