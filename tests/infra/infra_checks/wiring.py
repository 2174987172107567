"""Module calls and references: a call passes only the variables its module
declares and every one without a default; `module.x.y` names a call and one
of its module's outputs; `var.x` and `local.x` name something declared."""

import re
from pathlib import Path

from .hcl import TfDir, expressions, unwrap
from .paths import relative

CALL_META = {"source", "version", "count", "for_each", "depends_on", "providers"}
NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
MODULE_REF = re.compile(rf"\bmodule\.({NAME})(?:\[[^\]]*\])?\.({NAME})")
VAR_REF = re.compile(rf"(?<![\w.])var\.({NAME})")
LOCAL_REF = re.compile(rf"(?<![\w.])local\.({NAME})")


def module_dir(caller: TfDir, source: str) -> Path | None:
    """The directory a local `source` points at; None for registry modules."""
    if not source.startswith(("./", "../")):
        return None
    return (caller.path / source).resolve()


def call_findings(caller: TfDir, dirs: dict[Path, TfDir]) -> list[str]:
    out = []
    for name, call in caller.module_calls.items():
        source = unwrap(call.body.get("source", ""))
        target_path = module_dir(caller, source)
        if target_path is None:
            out.append(f"{call.where}: source `{source}` is not a local module")
            continue
        target = dirs.get(target_path)
        if target is None:
            out.append(f"{call.where}: source `{source}` holds no Terraform module")
            continue
        declared = target.variables
        passed = {k for k in call.body if k not in CALL_META}
        for arg in sorted(passed - declared.keys()):
            out.append(f"{call.where}: passes `{arg}`, which {relative(target.path)} does not declare")
        for var, block in sorted(declared.items()):
            if "default" not in block.body and var not in passed:
                out.append(f"{call.where}: does not pass `{var}`, which {relative(target.path)} requires")
    return out


def reference_findings(tf: TfDir, dirs: dict[Path, TfDir]) -> list[str]:
    out = []
    calls = tf.module_calls
    variables = tf.variables.keys()
    local_names = tf.local_names
    for file, body in sorted(tf.bodies.items()):
        where = relative(file)
        for expr in expressions(body):
            for name, output in MODULE_REF.findall(expr):
                call = calls.get(name)
                if call is None:
                    out.append(f"{where}: `module.{name}.{output}`: no module `{name}` here")
                    continue
                target = dirs.get(module_dir(tf, unwrap(call.body.get("source", ""))) or Path())
                if target is not None and output not in target.outputs:
                    out.append(f"{where}: `module.{name}.{output}`: {relative(target.path)} has no output `{output}`")
            for var in VAR_REF.findall(expr):
                if var not in variables:
                    out.append(f"{where}: `var.{var}` is not declared")
            for local in LOCAL_REF.findall(expr):
                if local not in local_names:
                    out.append(f"{where}: `local.{local}` is not defined")
    return sorted(set(out))


def findings(dirs: dict[Path, TfDir]) -> list[str]:
    out = []
    for tf in dirs.values():
        out += call_findings(tf, dirs)
        out += reference_findings(tf, dirs)
    return out
