"""The package's lazy exports (``assetcron.__getattr__``, PEP 562) and the custom
``AssetsDefinition.__init__``: cheap to import, and the same API as before."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import assetcron
from assetcron import AssetKey, AssetsDefinition

INIT = Path(assetcron.__file__)


def _type_checking_imports() -> dict[str, tuple[str, str]]:
    tree = ast.parse(INIT.read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )
    found: dict[str, tuple[str, str]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        assert node.module is not None
        for alias in node.names:
            found[alias.asname or alias.name] = (node.module, alias.name)
    return found


def test_the_type_checkers_imports_the_lazy_table_and_all_agree() -> None:
    assert _type_checking_imports() == assetcron._EXPORTS
    assert sorted(assetcron.__all__) == sorted(assetcron._EXPORTS)


@pytest.mark.parametrize("name", sorted(assetcron._EXPORTS))
def test_every_exported_name_is_the_object_its_module_defines(name: str) -> None:
    module, attr = assetcron._EXPORTS[name]
    assert getattr(assetcron, name) is getattr(sys.modules[module], attr)
    assert name in dir(assetcron)


def test_unknown_names_still_raise_attribute_error_and_dagster_names_say_why() -> None:
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        _ = assetcron.no_such_name
    with pytest.raises(ImportError, match="sensor"):
        from assetcron import sensor  # noqa: F401


def test_a_code_location_import_loads_the_sdk_but_not_the_test_helpers_or_templates() -> None:
    code = (
        "import sys\n"
        "from assetcron import Definitions, asset\n"
        "print(sorted(m for m in sys.modules if m.startswith('assetcron')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = ast.literal_eval(out)
    assert "assetcron._sdk" in loaded
    for lazy in ("assetcron._testing", "assetcron._templates", "assetcron._storage"):
        assert lazy not in loaded


_UNPARTITIONED_LOCATION = """\
from assetcron import AssetIn, Definitions, asset


@asset(group_name="g")
def raw() -> int:
    return 1


@asset(ins={"raw": AssetIn("raw")}, deps=["raw"])
def total(raw: int) -> int:
    return raw + 1


defs = Definitions(assets=[raw, total])
"""


def test_a_run_of_unpartitioned_assets_does_not_load_partitions_schedules_or_retries(
    tmp_path: Path,
) -> None:
    """Start-up cost (benchmarks/startup.py): these modules are imported where a
    definition uses them, so the usual run never pays for them."""
    (tmp_path / "location.py").write_text(_UNPARTITIONED_LOCATION)
    code = (
        "import sys\n"
        "from assetcron.cli import main\n"
        "rc = main(['asset', 'materialize', '-f', 'location.py', '--select', '*',"
        " '--scheduled-time', '2015-06-02T06:00:00Z', '--storage', 'store'])\n"
        "print(rc, sorted(m for m in sys.modules if m.startswith('assetcron') or m == 'random'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout
    rc, loaded = out.splitlines()[-1].split(" ", 1)
    assert rc == "0", out
    loaded_modules = ast.literal_eval(loaded)
    assert "assetcron._materialize" in loaded_modules
    for lazy in (
        "assetcron._partitions",
        "assetcron._partition_mappings",
        "assetcron._cron",
        "assetcron._schedules",
        "assetcron._policy",
        "assetcron._unsupported",
        "random",  # the lock wait's jitter: only a run that waits for a lock
    ):
        assert lazy not in loaded_modules


def test_assets_definition_init_takes_every_field_with_its_declared_default() -> None:
    params = inspect.signature(AssetsDefinition.__init__).parameters
    fields = dataclasses.fields(AssetsDefinition)
    assert [p for p in params if p != "self"] == [f.name for f in fields]
    key = AssetKey("a")

    def fn() -> int:
        return 1

    made = AssetsDefinition(key, fn)
    for f in fields[2:]:
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        assert getattr(made, f.name) == default, f.name
    # The frozen dataclass's replace() goes through the same __init__ and rebuilds the node.
    moved = dataclasses.replace(made, group_name="g")
    assert moved.group_name == "g"
    assert moved.node().group_name == "g"
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.group_name = "h"  # type: ignore[misc]
