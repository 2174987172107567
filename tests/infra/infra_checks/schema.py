"""Resources, data sources and providers against the AWS provider schema
(6.25.0, from @cdktf/provider-aws): unknown arguments or blocks, missing
required ones, blocks that may appear once appearing more often, and
`ignore_changes` naming something the resource does not have."""

from .bridge import schemas
from .hcl import Block, TfDir, unwrap

# Terraform's own arguments and blocks, valid on every resource or data source.
META = {
    "resource": {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"},
    "data": {"count", "for_each", "depends_on", "provider", "lifecycle"},
    "provider": {"alias", "version"},
}
LIFECYCLE = {
    "create_before_destroy",
    "prevent_destroy",
    "ignore_changes",
    "replace_triggered_by",
    "precondition",
    "postcondition",
}


def spec(block: Block) -> str | None:
    """`resource:aws_lb`, `data:aws_region`, `provider:aws`; None for other providers."""
    type_ = block.labels[0]
    if block.kind == "provider":
        return "provider:aws" if type_ == "aws" else None
    return f"{block.kind}:{type_}" if type_.startswith("aws_") else None


def is_block(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value) and bool(value)


def check_body(body: dict, schema: dict, where: str, meta: set[str]) -> list[str]:
    """Findings for one body against its schema, nested blocks included."""
    out = []
    dynamic = body.get("dynamic", {}) if "dynamic" not in schema["blocks"] else {}
    for key, value in body.items():
        if key in meta or (key == "dynamic" and dynamic):
            continue
        if key in schema["blocks"]:
            nested = schema["blocks"][key]
            if not is_block(value):
                out.append(f"{where}: {key} is a block, not an argument: write `{key} {{ ... }}`")
                continue
            if len(value) > 1 and not nested["repeated"]:
                out.append(f"{where}: block {key} may appear once, appears {len(value)} times")
            for item in value:
                out += check_body(item, nested, f"{where}.{key}", set())
        elif key not in schema["arguments"]:
            out.append(f"{where}: unknown argument or block `{key}`")
    for name, generated in dynamic.items():
        if name not in schema["blocks"]:
            out.append(f"{where}: dynamic block for unknown block `{name}`")
            continue
        for item in generated:
            for content in item.get("content", []):
                out += check_body(content, schema["blocks"][name], f"{where}.dynamic.{name}", set())
    for name, arg in schema["arguments"].items():
        if arg["required"] and name not in body:
            out.append(f"{where}: missing required argument `{name}`")
    for name, nested in schema["blocks"].items():
        if nested["required"] and name not in body and name not in dynamic:
            out.append(f"{where}: missing required block `{name}`")
    return out


def check_lifecycle(block: Block, schema: dict) -> list[str]:
    out = []
    for lifecycle in block.body.get("lifecycle", []):
        for key in lifecycle:
            if key not in LIFECYCLE:
                out.append(f"{block.where}: unknown lifecycle argument `{key}`")
        ignored = lifecycle.get("ignore_changes", [])
        for expr in ignored if isinstance(ignored, list) else []:
            top = unwrap(expr).split(".")[0].split("[")[0]
            if top not in schema["arguments"] and top not in schema["blocks"]:
                out.append(f"{block.where}: ignore_changes names `{top}`, which this resource does not have")
    return out


def findings(dirs: list[TfDir]) -> list[str]:
    blocks = [b for d in dirs for kind in ("resource", "data", "provider") for b in d.blocks(kind)]
    wanted = {s for b in blocks if (s := spec(b))}
    known = schemas(wanted)
    out = []
    for block in blocks:
        s = spec(block)
        if s is None:
            continue
        schema = known[s]
        if "error" in schema:
            out.append(f"{block.where}: {schema['error']}")
            continue
        out += check_body(block.body, schema, block.where, META[block.kind])
        if block.kind == "resource":
            out += check_lifecycle(block, schema)
    return out
