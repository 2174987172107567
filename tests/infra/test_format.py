"""Every HCL file under infra/ parses (HashiCorp's parser) and is in
canonical format (HashiCorp's formatter, as `terraform fmt` writes it)."""

from infra_checks import bridge, formatting, hcl
from infra_checks.paths import FIXTURES


def test_every_hcl_file_parses():
    files = hcl.hcl_files()
    assert any(f.suffix == ".tf" for f in files), "no .tf files found under infra/"
    errors = {f: r["error"] for f, r in bridge.parse(files).items() if "error" in r}
    assert not errors, "\n".join(f"{f}: {e}" for f, e in errors.items())


def test_every_hcl_file_is_canonically_formatted():
    problems = formatting.findings(hcl.hcl_files())
    assert not problems, "\n".join(problems)


def test_the_format_check_catches_a_misformatted_and_a_broken_file():
    misformatted = FIXTURES / "format" / "misformatted.tf"
    broken = FIXTURES / "format" / "broken.tf"
    problems = formatting.findings([misformatted])
    assert len(problems) == 1 and "not canonically formatted" in problems[0], problems
    assert "force_destroy" in problems[0], "the finding shows the offending line"
    parsed = bridge.parse([broken])
    assert "error" in parsed[broken], "an unclosed block must not parse"
