"""Reuse across runs only when what produced a value is the same (issue 11, part 1).

A value is reused when its provenance (config, the materialization ids of its inputs,
partition, code version) matches; anything else recomputes. Real local object storage
(obstore's LocalStore on ``tmp_path``).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from assetcron import Definitions, ObjectStorage, asset, plan
from assetcron._materialize import materialize, validate_run_config
from assetcron._records import RecordStore

TICK = datetime(2015, 6, 2, 6, tzinfo=UTC)
ASSETCRON = str(Path(sys.executable).parent / "assetcron")


class Region(BaseModel):
    """Config of ``sales``."""

    region: str = "EU"


def _defs(calls: Counter[str], *, code_version: str | None = None) -> Definitions:
    @asset(code_version=code_version)
    def sales(config: Region) -> dict[str, Any]:
        calls["sales"] += 1
        return {"region": config.region, "n": calls["sales"]}

    @asset
    def report(sales: dict[str, Any]) -> str:
        calls["report"] += 1
        return f"{sales['region']}#{sales['n']}"

    return Definitions(assets=[sales, report])


def _run(
    defs: Definitions,
    storage: ObjectStorage,
    run_id: str,
    *,
    config: Any = None,
    force: bool = False,
) -> dict[str, str]:
    run_config = {"ops": {"sales": {"config": config}}} if config else {}
    keys = plan(defs.graph, "*")
    result = materialize(
        defs, keys, run_id=run_id, scheduled_time=TICK, partition_key=None,
        run_config=run_config, configs=validate_run_config(defs, keys, run_config),
        storage=storage, force=force,
    )  # fmt: skip
    return {o.key: o.outcome for o in result.outcomes}


def test_the_same_inputs_reuse_and_each_change_recomputes_what_it_touches(tmp_path: Path) -> None:
    storage = ObjectStorage.local(tmp_path)
    calls: Counter[str] = Counter()
    defs = _defs(calls)
    assert _run(defs, storage, "r1") == {"sales": "Materialized", "report": "Materialized"}
    # Another run (another schedule, tick or trigger), same config, inputs and code.
    assert _run(defs, storage, "r2") == {"sales": "Reused", "report": "Reused"}
    # A changed run config recomputes the asset, and what reads it.
    assert _run(defs, storage, "r3", config={"region": "US"}) == {
        "sales": "Materialized", "report": "Materialized",
    }  # fmt: skip
    assert storage.read(*_key("report")) == "US#2"  # never the stored EU value
    # Back to EU: the stored value is US, so EU is computed again (no stale reuse).
    assert _run(defs, storage, "r4") == {"sales": "Materialized", "report": "Materialized"}
    assert storage.read(*_key("report")) == "EU#3"
    # --force recomputes everything.
    assert _run(defs, storage, "r5", force=True) == {
        "sales": "Materialized", "report": "Materialized",
    }  # fmt: skip
    assert calls == {"sales": 4, "report": 4}


def test_a_changed_input_recomputes_even_when_its_config_did_not_change(tmp_path: Path) -> None:
    storage = ObjectStorage.local(tmp_path)
    calls: Counter[str] = Counter()
    defs = _defs(calls)
    _run(defs, storage, "r1")
    # sales alone is recomputed (forced) by another run: its value changed (n=2) ...
    keys = plan(defs.graph, "sales")
    materialize(
        defs, keys, run_id="only-sales", scheduled_time=TICK, partition_key=None, run_config={},
        configs=validate_run_config(defs, keys, {}), storage=storage, force=True,
    )  # fmt: skip
    # ... so report, whose input is now another materialization, recomputes.
    assert _run(defs, storage, "r2") == {"sales": "Reused", "report": "Materialized"}
    assert storage.read(*_key("report")) == "EU#2"
    rec = RecordStore(storage).get("r2", "report", None)
    assert rec is not None
    current = RecordStore(storage).current("sales", None)
    assert current is not None
    assert rec.inputs == {"sales": current.materialization_id}


def test_a_changed_code_version_recomputes(tmp_path: Path) -> None:
    storage = ObjectStorage.local(tmp_path)
    calls: Counter[str] = Counter()
    _run(_defs(calls, code_version="1"), storage, "r1")
    assert _run(_defs(calls, code_version="1"), storage, "r2") == {
        "sales": "Reused", "report": "Reused",
    }  # fmt: skip
    assert _run(_defs(calls, code_version="2"), storage, "r3") == {
        "sales": "Materialized", "report": "Materialized",
    }  # fmt: skip


def test_an_edit_to_the_code_location_recomputes(tmp_path: Path) -> None:
    loc = tmp_path / "loc.py"
    source = "from assetcron import Definitions, asset\n\n\n@asset\ndef one() -> int:\n    return {}\n\n\ndefs = Definitions(assets=[one])\n"  # noqa: E501
    argv = [ASSETCRON, "asset", "materialize", "--select", "*", "-f", str(loc),
            "--scheduled-time", "2015-06-02T06:00:00Z",
            "--storage", str(tmp_path / "s")]  # fmt: skip

    def run() -> str:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    loc.write_text(source.format(1))
    assert "one ... materialized" in run()
    assert "one ... reused" in run()
    loc.write_text(source.format(2))  # no code_version: the file's content is the version
    assert "one ... materialized" in run()


def _key(name: str) -> tuple[Any, None]:
    from assetcron import AssetKey

    return AssetKey(name), None
