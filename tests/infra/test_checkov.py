"""checkov over infra/: zero failed checks, and every skip inline with a
real reason."""

import json
import shutil
import subprocess
import pytest

from infra_checks import hcl, skips
from infra_checks.paths import INFRA, relative


@pytest.fixture(scope="module")
def report() -> dict:
    checkov = shutil.which("checkov")
    assert checkov, "checkov is not on PATH (tests/setup installs it into .venv)"
    proc = subprocess.run(
        # --skip-download: no network; the checks themselves ship with checkov.
        [checkov, "--directory", str(INFRA), "--framework", "terraform", "--output", "json", "--skip-download", "--compact"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.strip(), f"checkov printed nothing; stderr:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout)


def test_checkov_reports_zero_failed_checks(report):
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}): {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert summary["passed"] > 100, f"checkov passed only {summary['passed']} checks: did it scan infra/?"
    assert summary["failed"] == 0, "\n".join(failed)


def test_every_inline_skip_is_used(report):
    """A skip whose check no longer fires is stale: remove it."""
    # checkov names files relative to the scanned directory: /modules/alb/main.tf
    used = {(INFRA / c["file_path"].lstrip("/"), c["check_id"]) for c in report["results"]["skipped_checks"]}
    stale = [
        f"{relative(f)}: {check}"
        for f, check in skips.skipped([p for p in hcl.hcl_files() if p.suffix == ".tf"])
        if (f, check) not in used
    ]
    assert not stale, "skips that suppress nothing:\n" + "\n".join(stale)


def test_every_skip_gives_a_real_reason():
    problems = [p for f in hcl.hcl_files() for p in skips.findings_in(f, f.read_text())]
    assert not problems, "\n".join(problems)


def test_the_skip_check_catches_bad_skips():
    text = "\n".join(
        [
            "  #checkov:skip=CKV_AWS_158:Not needed.",
            "  #checkov:skip=CKV2_AWS_28:The apps are internal tools behind the load balancer only anyway.",
            "  # checkov:skip=CKV_AWS_91",
            "  #checkov:skip=CKV_AWS_158:Cost trade-off: a customer-managed key costs a monthly fee per key.",
        ]
    )
    problems = skips.findings_in(INFRA / "planted.tf", text)
    assert problems == [
        "infra/planted.tf:1: the reason for skipping CKV_AWS_158 is too short to explain anything",
        "infra/planted.tf:1: CKV_AWS_158 (customer-managed KMS key for CloudWatch Logs) is a cost trade-off: start the reason with `Cost trade-off:`",
        "infra/planted.tf:2: CKV2_AWS_28 (AWS WAF) is a cost trade-off: start the reason with `Cost trade-off:`",
        "infra/planted.tf:3: write skips as `#checkov:skip=CKV_AWS_N:reason` on their own line",
    ]
