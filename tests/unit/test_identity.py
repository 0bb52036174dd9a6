"""Provenance keys and code versions: what decides whether a stored value may be reused."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

from assetcron._identity import code_location_version, config_fingerprint, provenance_key


def _module(name: str, file: Path) -> ModuleType:
    module = ModuleType(name)
    module.__file__ = str(file)
    return module


def _package(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "sub" / "__init__.py").write_text("")
    (root / "definitions.py").write_text("X = 1\n")
    (root / "sub" / "helpers.py").write_text("def f():\n    return 1\n")
    return root


def test_a_package_version_changes_with_any_of_its_python_files(tmp_path: Path) -> None:
    root = _package(tmp_path)
    module = _module("shop.definitions", root / "definitions.py")
    first = code_location_version(module)
    assert first.startswith("sha256:")
    assert code_location_version(module) == first  # stable
    (root / "README.md").write_text("not code")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.py").write_text("cache")
    assert code_location_version(module) == first  # only source counts
    (root / "sub" / "helpers.py").write_text("def f():\n    return 2\n")  # a helper, not the module
    assert code_location_version(module) != first


def test_a_lone_module_is_its_own_file(tmp_path: Path) -> None:
    file = tmp_path / "flows.py"
    file.write_text("A = 1\n")
    (tmp_path / "other.py").write_text("B = 1\n")
    module = _module("flows", file)
    first = code_location_version(module)
    (tmp_path / "other.py").write_text("B = 2\n")
    assert code_location_version(module) == first
    file.write_text("A = 2\n")
    assert code_location_version(module) != first


class Cfg(BaseModel):
    region: str = "EU"


BASE = {
    "asset_key": "sales/daily",
    "partition_key": "2026-01-01",
    "config": config_fingerprint(Cfg()),
    "inputs": {"sales/raw": "m-1"},
    "code_version": "v1",
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("asset_key", "sales/weekly"),
        ("partition_key", "2026-01-02"),
        ("partition_key", None),
        ("config", config_fingerprint(Cfg(region="US"))),
        ("inputs", {"sales/raw": "m-2"}),
        ("inputs", {}),
        ("code_version", "v2"),
    ],
)
def test_each_thing_that_produced_a_value_is_in_its_provenance(field: str, value: object) -> None:
    assert provenance_key(**{**BASE, field: value}) != provenance_key(**BASE)  # type: ignore[arg-type]


def test_provenance_ignores_order_and_config_representation() -> None:
    two = {**BASE, "inputs": {"b": "m-2", "a": "m-1"}}
    swapped = {**BASE, "inputs": {"a": "m-1", "b": "m-2"}}
    assert provenance_key(**two) == provenance_key(**swapped)  # type: ignore[arg-type]
    assert config_fingerprint(Cfg(region="US")) == config_fingerprint({"region": "US"})
