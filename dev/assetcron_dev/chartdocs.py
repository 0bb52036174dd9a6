"""Generate docs/chart-values.md, the chart's values reference, from its own sources.

``python -m assetcron_dev.chartdocs`` (``make chart-docs``) reads

* ``charts/assetcron/values.yaml``: every key, its default, and the comment block right
  above it (the chart's convention: it starts with the key's dotted name; checked by
  tests/unit/test_chart_values.py), and
* ``charts/assetcron/values.schema.json``: each key's type (and allowed values),

and writes one section per key. Comment lines indented further than the text (``#   ...``)
are examples and become code blocks. ``--check`` writes nothing and exits 1 when the
committed file differs from a fresh generation (tests/unit/test_chart_docs.py runs the
same comparison).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["OUTPUT", "Entry", "entries", "main", "render"]

CHART = Path("charts/assetcron")
OUTPUT = Path("docs/chart-values.md")

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_]+):(?: |$)")


@dataclass(frozen=True)
class Entry:
    """One key of values.yaml.

    Attributes:
        path: the dotted key, e.g. ``leaderElection.enabled``.
        comment: the comment block above it, one string per line, ``# `` removed.
        default: the value in values.yaml (any YAML value).
        schema: the key's node in values.schema.json (``{}`` when it declares none).
    """

    path: str
    comment: tuple[str, ...]
    default: Any
    schema: dict[str, Any]

    @property
    def depth(self) -> int:
        """0 for a top-level key."""
        return self.path.count(".")


def entries(values_text: str, schema: dict[str, Any]) -> Iterator[Entry]:
    """The keys of ``values_text`` in file order, with their comments, defaults and schema.

    Only keys the schema declares by name are listed (keys inside a free-form map, such as
    an example's labels, are data); a key's comment block is the run of ``#`` lines right
    above it at the same indentation.
    """
    values = yaml.safe_load(values_text) or {}
    lines = values_text.splitlines()
    stack: list[tuple[int, str, dict[str, Any]]] = []  # (indent, path, schema)
    for number, line in enumerate(lines):
        match = _KEY.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent_schema = stack[-1][2] if stack else schema
        props = parent_schema.get("properties")
        if props is None or match["key"] not in props:
            continue
        path = f"{stack[-1][1]}.{match['key']}" if stack else match["key"]
        node = props[match["key"]]
        stack.append((indent, path, node))
        comment: list[str] = []
        above = number - 1
        while above >= 0 and lines[above].startswith(" " * indent + "#"):
            comment.insert(0, lines[above][indent + 1 :].removeprefix(" "))
            above -= 1
        yield Entry(path, tuple(comment), _lookup(values, path), node)


def _lookup(values: Any, path: str) -> Any:
    for part in path.split("."):
        values = values[part]
    return values


def _type(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    """A short Markdown type: ``string``, ``list of object``, the enum's values, ..."""
    if "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_type(option, defs) for option in schema["anyOf"])
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items") or {}
        return f"list of {_type(items, defs)}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        values = schema["additionalProperties"]
        return f"map of {_type(values, defs)}" if values else "object"
    return str(kind or "any")


def _paragraphs(comment: Sequence[str]) -> list[str]:
    """Comment lines to Markdown: prose joined, ``  ``-indented lines as a YAML block."""
    out: list[str] = []
    prose: list[str] = []
    code: list[str] = []

    def flush_prose() -> None:
        if prose:
            out.append(" ".join(prose))
            prose.clear()

    def flush_code() -> None:
        if code:
            indent = min(len(c) - len(c.lstrip()) for c in code)
            out.append("```yaml\n" + "\n".join(c[indent:] for c in code) + "\n```")
            code.clear()

    for line in comment:
        if line.startswith("  "):
            flush_prose()
            code.append(line)
        else:
            flush_code()
            if line.strip():
                prose.append(line.strip())
            else:
                flush_prose()
    flush_prose()
    flush_code()
    return out


def render(values_text: str, schema: dict[str, Any]) -> str:
    """The whole Markdown reference for ``values_text`` and ``schema``."""
    items = list(entries(values_text, schema))
    defs = schema.get("definitions") or {}
    # A group is a key with keys of its own in values.yaml (an empty map is a value).
    groups = {item.path.rsplit(".", 1)[0] for item in items if "." in item.path}
    out = [
        "# Chart values reference",
        "",
        "<!-- Generated by `make chart-docs` (python -m assetcron_dev.chartdocs) from",
        "     charts/assetcron/values.yaml and values.schema.json. Do not edit by hand. -->",
        "",
        "Every value of the `assetcron` Helm chart, in the order of",
        "[values.yaml](../charts/assetcron/values.yaml), with its type (from",
        "[values.schema.json](../charts/assetcron/values.schema.json), which refuses unknown",
        "keys) and default. Set them with `--set key=value` or `-f my-values.yaml`; see",
        "[install.md](install.md#the-chart) for the chart's story.",
        "",
        "| Key | Type | Default |",
        "|---|---|---|",
    ]
    for item in items:
        if item.path in groups:
            continue
        anchor = item.path.lower().replace(".", "")
        default = json.dumps(item.default, ensure_ascii=False)
        out.append(f"| [`{item.path}`](#{anchor}) | {_type(item.schema, defs)} | `{default}` |")
    for item in items:
        out += ["", f"{'#' * min(2 + item.depth, 4)} {item.path}", ""]
        if item.path not in groups:
            default = json.dumps(item.default, ensure_ascii=False)
            out += [f"Type: {_type(item.schema, defs)}. Default: `{default}`.", ""]
        for paragraph in _paragraphs(item.comment):
            out += [paragraph, ""]
        while out[-1] == "":
            out.pop()
    return "\n".join(out) + "\n"


def generate(root: Path) -> str:
    """The reference for the chart under ``root`` (the repository root)."""
    chart = root / CHART
    return render(
        (chart / "values.yaml").read_text(encoding="utf-8"),
        json.loads((chart / "values.schema.json").read_text(encoding="utf-8")),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check``, compare) docs/chart-values.md; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m assetcron_dev.chartdocs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--root", type=Path, default=Path(), help="repository root")
    args = parser.parse_args(argv)
    text = generate(args.root)
    target = args.root / OUTPUT
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            sys.stderr.write(f"{target} is stale: run `make chart-docs`\n")
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote: {target}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
