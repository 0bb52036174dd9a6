"""Static checks of the Helm chart's values: documented, schema-covered, typo-proof.

These need no helm binary: they read values.yaml and values.schema.json as data.
Rendering and schema enforcement by helm itself are in test_chart_render.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "assetcron"


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((CHART / "values.schema.json").read_text())
    return schema


def _declared_keys(
    node: yaml.Node, schema: dict[str, Any], prefix: str = ""
) -> Iterator[tuple[str, int]]:
    """(dotted path, 0-based line) of every key of ``node`` that the schema declares by name.

    Keys of typed maps (labels, annotations, resource quantities) are the user's data, not
    chart settings, so they are not yielded.
    """
    props = schema.get("properties")
    if isinstance(node, yaml.MappingNode) and props is not None:
        for key, value in node.value:
            path = f"{prefix}{key.value}"
            yield path, key.start_mark.line
            yield from _declared_keys(value, props.get(key.value, {}), f"{path}.")


def _object_nodes(schema: dict[str, Any], where: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every sub-schema of type object, with a JSONPath-like location."""
    if schema.get("type") == "object":
        yield where, schema
    for name, sub in schema.get("properties", {}).items():
        yield from _object_nodes(sub, f"{where}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _object_nodes(schema["items"], f"{where}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _object_nodes(schema["additionalProperties"], f"{where}.*")


def test_every_value_is_commented_starting_with_its_name() -> None:
    text = (CHART / "values.yaml").read_text()
    lines = text.splitlines()
    root = yaml.compose(text)
    assert root is not None
    undocumented = []
    for path, line in _declared_keys(root, _schema()):
        # The comment block right above the key; its first line must start with the name.
        start = line
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        if start == line or not lines[start].lstrip().startswith(f"# {path} "):
            undocumented.append(f"values.yaml:{line + 1}: {path}")
    assert undocumented == []


def _all_object_nodes(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Object sub-schemas of the values and of the shared definitions ($ref targets)."""
    yield from _object_nodes(schema)
    for name, sub in (schema.get("definitions") or {}).items():
        yield from _object_nodes(sub, f"#/definitions/{name}")


def test_schema_forbids_unknown_keys_at_every_object_level() -> None:
    loose = [
        where
        for where, node in _all_object_nodes(_schema())
        # Either a closed record, or a map whose values are themselves typed.
        if node.get("additionalProperties") is not False
        and not isinstance(node.get("additionalProperties"), dict)
    ]
    # Helm injects a parent chart's `global` into every subchart; its content is not ours.
    # A Kubernetes Volume has some 30 source types: extraVolumes items are checked for a
    # name here and validated whole by helm and the API server against the cluster's schema.
    assert loose == ["$.global", "$.extraVolumes[]"]


def test_schema_and_values_declare_the_same_keys() -> None:
    """A value missing from the schema would be rejected; one only in the schema is undocumented."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def walk(vals: dict[str, Any], schema: dict[str, Any], where: str) -> Iterator[str]:
        props = schema.get("properties")
        if props is None:  # a typed map (labels, annotations, ...): free keys by design
            return
        for extra in sorted(set(vals) - set(props)):
            yield f"{where}{extra}: in values.yaml, not in the schema"
        for extra in sorted(set(props) - set(vals)):
            yield f"{where}{extra}: in the schema, not in values.yaml"
        for key in sorted(set(vals) & set(props)):
            # An empty map is a value for the user to fill (affinity: a Kubernetes Affinity
            # whose fields the schema lists), not a group of chart settings.
            if isinstance(vals[key], dict) and vals[key]:
                yield from walk(vals[key], props[key], f"{where}{key}.")

    assert list(walk(values, _schema(), "")) == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # The contract with the operator's settings (DESIGN.md, "Operator settings").
        ("operator.runHistoryLimit", 10),
        ("operator.logFormat", "json"),
        ("operator.livenessPort", 8080),
        ("rbac.scope", "cluster"),
        ("crds.install", True),
        ("crds.keep", True),
        ("watchNamespaces", []),
        ("metrics.enabled", True),
        ("metrics.port", 8081),  # ASSETCRON_METRICS_PORT's default
    ],
)
def test_defaults_match_the_operator_contract(path: str, expected: object) -> None:
    node: Any = yaml.safe_load((CHART / "values.yaml").read_text())
    for part in path.split("."):
        node = node[part]
    assert node == expected
