"""Inline checkov skips: `#checkov:skip=ID:reason`, each with a real reason,
and cost trade-offs (KMS keys, WAF, replication) named as such."""

import re
from pathlib import Path

from .paths import relative

SKIP = re.compile(r"checkov:skip=([^:\s]*)(?::(.*))?")
WELL_FORMED = re.compile(r"^\s*#checkov:skip=(CKV2?_AWS_\d+):(.+)$")
# Checks whose only remedy is a paid service: their skips must say so.
COST_CHECKS = {
    "CKV_AWS_136": "customer-managed KMS key for ECR",
    "CKV_AWS_145": "customer-managed KMS key for S3",
    "CKV_AWS_158": "customer-managed KMS key for CloudWatch Logs",
    "CKV2_AWS_28": "AWS WAF",
    "CKV_AWS_144": "cross-region replication",
}
COST_PREFIX = "Cost trade-off:"
MIN_WORDS = 8


def findings_in(file: Path, text: str) -> list[str]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not SKIP.search(line):
            continue
        where = f"{relative(file)}:{number}"
        match = WELL_FORMED.match(line)
        if match is None:
            out.append(f"{where}: write skips as `#checkov:skip=CKV_AWS_N:reason` on their own line")
            continue
        check, reason = match.group(1), match.group(2).strip()
        if len(reason.split()) < MIN_WORDS:
            out.append(f"{where}: the reason for skipping {check} is too short to explain anything")
        if check in COST_CHECKS and not reason.startswith(COST_PREFIX):
            out.append(f"{where}: {check} ({COST_CHECKS[check]}) is a cost trade-off: start the reason with `{COST_PREFIX}`")
    return out


def skipped(files: list[Path]) -> list[tuple[Path, str]]:
    """Every (file, check ID) skipped inline."""
    out = []
    for file in files:
        for line in file.read_text().splitlines():
            if match := WELL_FORMED.match(line):
                out.append((file, match.group(1)))
    return out
