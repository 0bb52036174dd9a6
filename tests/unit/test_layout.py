"""Guards for the repository layout that DESIGN.md fixes."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_operator_is_a_source_root_not_a_package() -> None:
    # A package named `operator` would shadow the standard library module.
    assert not (ROOT / "operator" / "__init__.py").exists()
    assert not (ROOT / "runner" / "__init__.py").exists()


def test_stdlib_operator_is_not_shadowed() -> None:
    import operator

    assert hasattr(operator, "itemgetter"), operator.__file__


def test_wheel_ships_exactly_the_three_import_packages(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("assetcron-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        top = {n.split("/")[0] for n in zf.namelist() if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"assetcron", "assetcron_operator", "assetcron_dev"}
