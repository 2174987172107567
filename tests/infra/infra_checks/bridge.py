"""Runs bridge.js: HashiCorp's HCL parser and formatter, and the AWS
provider schema from @cdktf/provider-aws."""

import json
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from .paths import BRIDGE, TESTS


class BridgeError(RuntimeError):
    """bridge.js could not run (Node or its packages missing) or failed."""


def _run(command: str, args: list[str]) -> dict:
    node = shutil.which("node")
    if node is None:
        raise BridgeError("node is not on PATH; install Node.js 20 (tests/setup)")
    if not (TESTS / "node_modules").is_dir():
        raise BridgeError(f"{TESTS}/node_modules is missing; run tests/setup (npm ci)")
    proc = subprocess.run(
        [node, str(BRIDGE), command, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BridgeError(f"bridge.js {command} failed ({proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def parse(files: list[Path]) -> dict[Path, dict]:
    """Each file's body as JSON (`{"body": ...}`) or its parse error (`{"error": ...}`)."""
    out = _run("parse", [str(f) for f in files])
    return {Path(k): v for k, v in out.items()}


def format_(files: list[Path]) -> dict[Path, dict]:
    """Each file's canonical text (`{"formatted": ...}`) or its error."""
    out = _run("format", [str(f) for f in files])
    return {Path(k): v for k, v in out.items()}


@lru_cache(maxsize=None)
def _schemas(specs: tuple[str, ...]) -> dict:
    return _run("schema", list(specs))


def schemas(specs: set[str]) -> dict[str, dict]:
    """Schema of each `KIND:TYPE` (`resource:aws_lb`, `data:aws_region`,
    `provider:aws`): `{"arguments": {name: {"required"}}, "blocks": {name:
    {"required", "repeated", "arguments", "blocks"}}}`, or `{"error": ...}`."""
    return _schemas(tuple(sorted(specs)))
