"""The loader imports a code location with the garbage collector paused (issue 15: half
of a 20,000-asset load was collections), and leaves the collector as it found it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetcron import CodeLocationError, Definitions
from assetcron._loader import load_code_location

LOCATION = """\
import gc

from assetcron import Definitions, asset

COLLECTOR_ENABLED_DURING_IMPORT = gc.isenabled()


@asset
def one() -> int:
    return 1


defs = Definitions(assets=[one])
"""


@pytest.fixture
def collector() -> Iterator[None]:
    """Restore the collector's state and unfreeze what a test froze."""
    was_enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return str(path)


@pytest.mark.usefixtures("collector")
@pytest.mark.parametrize("enabled", [True, False])
def test_import_pauses_the_collector_and_restores_it(tmp_path: Path, enabled: bool) -> None:
    (gc.enable if enabled else gc.disable)()
    path = write(tmp_path, f"gc_location_{enabled}", LOCATION)
    defs, _ = load_code_location(python_file=path)
    module = __import__(f"gc_location_{enabled}")
    assert module.COLLECTOR_ENABLED_DURING_IMPORT is False
    assert gc.isenabled() is enabled
    assert isinstance(defs, Definitions)
    assert defs.get_asset("one").key.path == ("one",)


@pytest.mark.usefixtures("collector")
def test_a_failing_import_restores_the_collector(tmp_path: Path) -> None:
    gc.enable()
    path = write(tmp_path, "gc_broken_location", "raise RuntimeError('boom')\n")
    with pytest.raises(CodeLocationError, match="RuntimeError: boom"):
        load_code_location(python_file=path)
    assert gc.isenabled()


@pytest.mark.usefixtures("collector")
def test_permanent_freezes_what_the_import_made(tmp_path: Path) -> None:
    gc.enable()
    gc.unfreeze()
    load_code_location(python_file=write(tmp_path, "gc_kept_location", LOCATION), permanent=True)
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()
