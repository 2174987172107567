"""The Terraform directories under infra/, parsed by HashiCorp's HCL parser.

A body is hcl2json's JSON: a block is a list of objects, an attribute is
its value, and an expression is a string `${...}` holding its source text.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from . import bridge
from .paths import INFRA, relative

# Files in HCL syntax besides *.tf: examples users copy, held to the same format.
HCL_EXAMPLES = ("*.tfvars.example", "*.hcl.example")


@dataclass(frozen=True)
class Block:
    """One labelled block (`resource "aws_lb" "this"`), with the file it is in."""

    file: Path
    kind: str
    labels: tuple[str, ...]
    body: dict

    @property
    def address(self) -> str:
        return ".".join((self.kind, *self.labels))

    @property
    def where(self) -> str:
        return f"{relative(self.file)}: {self.address}"


@dataclass
class TfDir:
    """One Terraform directory (a root or a module): its files' bodies."""

    path: Path
    bodies: dict[Path, dict] = field(default_factory=dict)
    errors: dict[Path, str] = field(default_factory=dict)

    def blocks(self, kind: str) -> Iterator[Block]:
        """Every block of a kind. Resources and data sources have two labels,
        variables, outputs, modules and providers one, locals none."""
        for file, body in sorted(self.bodies.items()):
            section = body.get(kind)
            if section is None:
                continue
            if kind in ("resource", "data"):
                for type_, named in section.items():
                    for name, bodies in named.items():
                        for b in bodies:
                            yield Block(file, kind, (type_, name), b)
            elif kind in ("locals", "terraform"):
                for b in section:
                    yield Block(file, kind, (), b)
            else:
                for name, bodies in section.items():
                    for b in bodies:
                        yield Block(file, kind, (name,), b)

    def named(self, kind: str) -> dict[str, Block]:
        return {b.labels[0]: b for b in self.blocks(kind)}

    @property
    def variables(self) -> dict[str, Block]:
        return self.named("variable")

    @property
    def outputs(self) -> dict[str, Block]:
        return self.named("output")

    @property
    def module_calls(self) -> dict[str, Block]:
        return self.named("module")

    @property
    def local_names(self) -> set[str]:
        return {name for b in self.blocks("locals") for name in b.body}


def tf_dirs(root: Path = INFRA) -> list[Path]:
    """Every directory under root holding .tf files (not .terraform caches)."""
    dirs = {p.parent for p in root.rglob("*.tf") if ".terraform" not in p.parts}
    return sorted(dirs)


def hcl_files(root: Path = INFRA) -> list[Path]:
    """Every file in HCL syntax under root: the .tf files and the examples."""
    files = [p for p in root.rglob("*.tf")]
    for pattern in HCL_EXAMPLES:
        files += root.rglob(pattern)
    return sorted(p for p in files if ".terraform" not in p.parts)


def load(root: Path = INFRA) -> dict[Path, TfDir]:
    """Parses every Terraform directory under root in one run of the parser."""
    files = [p for p in hcl_files(root) if p.suffix == ".tf"]
    parsed = bridge.parse(files)
    dirs = {d: TfDir(d) for d in tf_dirs(root)}
    for file, result in parsed.items():
        tf = dirs[file.parent]
        if "error" in result:
            tf.errors[file] = result["error"]
        else:
            tf.bodies[file] = result["body"]
    return dirs


def expressions(value) -> Iterator[str]:
    """Every string in a body, nested ones included: where the references are."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from expressions(v)
    elif isinstance(value, list):
        for v in value:
            yield from expressions(v)


def unwrap(expr) -> str:
    """The source text of an expression: `${var.x}` gives `var.x`."""
    if isinstance(expr, str) and expr.startswith("${") and expr.endswith("}"):
        return expr[2:-1]
    return str(expr)
