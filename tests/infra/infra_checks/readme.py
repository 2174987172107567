"""Each Terraform directory's README.md lists its inputs and outputs in two
tables (under `## Inputs` and `## Outputs`), and they must say what
variables.tf and outputs.tf say: name, description, type, default, and
whether the input is required."""

import json
import re
from pathlib import Path

from .hcl import TfDir, unwrap
from .paths import relative

INPUT_HEADER = ["Name", "Description", "Type", "Default", "Required"]
OUTPUT_HEADER = ["Name", "Description"]
CELL_SPLIT = re.compile(r"(?<!\\)\|")


def one_line(type_expr: str) -> str:
    """A type constraint on one line: `map(object({ a = string, b = number }))`."""
    lines = [line.strip() for line in unwrap(type_expr).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    for line in lines[1:]:
        glue = " " if text.endswith(("{", "(")) or line.startswith(("}", ")")) else ", "
        text += glue + line
    return text


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def input_rows(tf: TfDir) -> list[list[str]]:
    rows = []
    for name, var in sorted(tf.variables.items()):
        body = var.body
        has_default = "default" in body
        rows.append(
            [
                f"`{name}`",
                cell(body.get("description", "")),
                f"`{cell(one_line(body.get('type', 'any')))}`",
                f"`{cell(json.dumps(body['default']))}`" if has_default else "n/a",
                "no" if has_default else "yes",
            ]
        )
    return rows


def output_rows(tf: TfDir) -> list[list[str]]:
    return [[f"`{name}`", cell(out.body.get("description", ""))] for name, out in sorted(tf.outputs.items())]


def render(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def table_span(lines: list[str], heading: str) -> tuple[int, int] | None:
    """Line range [start, end) of the table under `heading`, if there is one."""
    try:
        start = lines.index(heading) + 1
    except ValueError:
        return None
    while start < len(lines) and not lines[start].startswith("|"):
        if lines[start].startswith("#"):
            return None
        start += 1
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return (start, end) if end > start else None


def parse_rows(lines: list[str]) -> list[list[str]]:
    """A markdown table's body rows (header and separator dropped) as cells."""
    rows = []
    for line in lines[2:]:
        cells = CELL_SPLIT.split(line.strip())[1:-1]
        rows.append([c.strip() for c in cells])
    return rows


def compare(where: str, what: str, header: list[str], documented: list[list[str]], actual: list[list[str]]) -> list[str]:
    out = []
    doc_by_name = {row[0]: row for row in documented}
    act_by_name = {row[0]: row for row in actual}
    for name in act_by_name.keys() - doc_by_name.keys():
        out.append(f"{where}: {what} {name} is missing from the table")
    for name in doc_by_name.keys() - act_by_name.keys():
        out.append(f"{where}: the table lists {what} {name}, which does not exist")
    for name in sorted(doc_by_name.keys() & act_by_name.keys()):
        doc, act = doc_by_name[name], act_by_name[name]
        if len(doc) != len(header):
            out.append(f"{where}: {what} {name}: the row has {len(doc)} cells, not {len(header)}")
            continue
        for column, d, a in zip(header[1:], doc[1:], act[1:]):
            if d != a:
                out.append(f"{where}: {what} {name}: {column} says {d!r}, the code says {a!r}")
    return sorted(out)


def findings_for(tf: TfDir) -> list[str]:
    path = tf.path / "README.md"
    where = relative(path)
    if not path.exists():
        return [f"{where}: missing (every Terraform directory documents its inputs and outputs)"]
    lines = path.read_text().splitlines()
    out = []
    for heading, what, header, actual in (
        ("## Inputs", "input", INPUT_HEADER, input_rows(tf)),
        ("## Outputs", "output", OUTPUT_HEADER, output_rows(tf)),
    ):
        span = table_span(lines, heading)
        if span is None:
            if actual:
                out.append(f"{where}: no table under `{heading}`")
            continue
        table = lines[span[0] : span[1]]
        if [c.strip() for c in CELL_SPLIT.split(table[0])[1:-1]] != header:
            out.append(f"{where}: the table under `{heading}` must have the columns {' | '.join(header)}")
            continue
        out += compare(where, what, header, parse_rows(table), actual)
    return out


def findings(dirs: dict[Path, TfDir]) -> list[str]:
    return [f for tf in dirs.values() for f in findings_for(tf)]


def rewrite(dirs: dict[Path, TfDir]) -> list[Path]:
    """Regenerates the tables under the headings (appending the sections
    when missing); returns the READMEs that changed."""
    changed = []
    for tf in dirs.values():
        path = tf.path / "README.md"
        old = path.read_text() if path.exists() else f"# {tf.path.name}\n"
        lines = old.rstrip("\n").splitlines()
        for heading, header, rows in (
            ("## Inputs", INPUT_HEADER, input_rows(tf)),
            ("## Outputs", OUTPUT_HEADER, output_rows(tf)),
        ):
            table = render(header, rows)
            span = table_span(lines, heading)
            if span is not None:
                lines[span[0] : span[1]] = table
            elif heading in lines:
                at = lines.index(heading) + 1
                lines[at:at] = ["", *table]
            else:
                lines += ["", heading, "", *table]
        new = "\n".join(lines) + "\n"
        if new != old:
            path.write_text(new)
            changed.append(path)
    return changed
