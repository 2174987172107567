"""Every HCL file parses and is in canonical format (HashiCorp's hclwrite,
the formatter behind `terraform fmt`)."""

import difflib
from pathlib import Path

from . import bridge
from .paths import relative

# A finding shows at most this many diff lines, enough to see the problem.
DIFF_LINES = 12


def findings(files: list[Path]) -> list[str]:
    out = []
    for file, result in sorted(bridge.format_(files).items()):
        if "error" in result:
            out.append(f"{relative(file)}: does not parse: {result['error']}")
            continue
        text = file.read_text()
        if result["formatted"] != text:
            diff = difflib.unified_diff(
                text.splitlines(),
                result["formatted"].splitlines(),
                "as written",
                "canonical",
                lineterm="",
            )
            shown = "\n    ".join(list(diff)[:DIFF_LINES])
            out.append(f"{relative(file)}: not canonically formatted (tests/infra/fix rewrites it):\n    {shown}")
    return out


def rewrite(files: list[Path]) -> list[Path]:
    """Writes the canonical text back; returns the files that changed."""
    changed = []
    for file, result in sorted(bridge.format_(files).items()):
        if "formatted" in result and result["formatted"] != file.read_text():
            file.write_text(result["formatted"])
            changed.append(file)
    return changed
