"""``assetcron asset status``: per-partition status from the records, table and JSON.

Runs the CLI in-process on a code location in ``tmp_path`` with a local storage (real
records written by real ``asset materialize`` runs), plus the pure derivation and
formatting of :mod:`assetcron._partition_status` and the run-config variables of a
partition's window.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assetcron import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    StaticPartitionsDefinition,
)
from assetcron._partition_status import asset_status, describe_partitions, format_table
from assetcron._records import MaterializationRecord, PartitionState
from assetcron.cli import main

LOCATION = """
import json, os
from pathlib import Path
from assetcron import *

daily = DailyPartitionsDefinition("2024-03-01", end_date="2024-03-12", timezone="America/New_York")
regions = StaticPartitionsDefinition(["eu", "us", "apac"])


@asset(partitions_def=daily)
def events(context) -> str:
    if context.partition_key == "2024-03-05":
        raise ValueError("boom")
    return context.partition_key


@asset(partitions_def=regions)
def region(context) -> str:
    return context.partition_key


@asset(partitions_def=daily, output_format="json")
def window(context) -> dict:
    return {"config": context.op_config}


@asset
def summary() -> int:
    return 1


defs = Definitions(assets=[events, region, window, summary])
"""
TICK = "2024-03-21T00:00:00Z"


@pytest.fixture
def location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import os

    for name in list(os.environ):
        if name.startswith("ASSETCRON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return _write(tmp_path, LOCATION)


def _write(tmp_path: Path, text: str) -> Path:
    """A code location file with a name of its own (the loader keeps modules by name)."""
    path = tmp_path / f"defs_{uuid.uuid4().hex}.py"
    path.write_text(textwrap.dedent(text))
    return path


def materialize(location: Path, select: str, key: str, *extra: str) -> int:
    return main(
        [
            "asset", "materialize", "-f", str(location), "--select", select,
            "--partition-key", key, "--scheduled-time", TICK, "--storage", "st", *extra,
        ]
    )  # fmt: skip


def status(location: Path, *extra: str) -> list[str]:
    return ["asset", "status", "-f", str(location), "--storage", "st", "--at", TICK, *extra]


def test_status_shows_which_partitions_are_materialized(
    location: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for day in ("01", "02", "03", "05", "07"):
        materialize(location, "events", f"2024-03-{day}")
    assert materialize(location, "region", "us") == 0
    capsys.readouterr()
    assert main(status(location, "--json")) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    events = rows["events"]
    assert events["counts"] == {"Materialized": 4, "Failed": 1, "InProgress": 0, "Missing": 6}
    by_key = {p["key"]: p["status"] for p in events["partitions"]}
    assert list(by_key)[:3] == ["2024-03-01", "2024-03-02", "2024-03-03"]
    assert by_key["2024-03-05"] == "Failed"
    assert by_key["2024-03-04"] == "Missing"
    assert events["lastMaterialized"] is not None
    assert rows["region"]["counts"]["Materialized"] == 1
    assert rows["summary"]["partitions"] == [{"key": None, "status": "Missing", "stored": False}]

    assert main(status(location)) == 0
    out = capsys.readouterr().out
    assert "materialized  2024-03-01..2024-03-03, 2024-03-07" in out
    assert "failed        2024-03-05" in out
    assert "missing       eu, apac" in out


def test_a_later_success_replaces_a_failure(
    location: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert materialize(location, "events", "2024-03-05") == 1
    fixed = _write(location.parent, LOCATION.replace('raise ValueError("boom")', "pass"))
    assert materialize(fixed, "events", "2024-03-05", "--force") == 0
    capsys.readouterr()
    main(status(location, "--json", "--select", "events"))
    (row,) = json.loads(capsys.readouterr().out)
    assert {p["key"]: p["status"] for p in row["partitions"]}["2024-03-05"] == "Materialized"


def test_status_bad_input_exits_2(location: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(status(location, "--select", "nope")) == 2
    assert main([*status(location)[:-2], "--at", "2024-03-21"]) == 2
    assert "needs an offset" in capsys.readouterr().err


def test_partition_window_reaches_run_config(
    location: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "rc.yaml"
    cfg.write_text(
        "ops:\n  window:\n    config:\n"
        "      start: '{{ partition_start.isoformat() }}'\n"
        "      end: '{{ partition_end.isoformat() }}'\n"
        "      month: '{{ partition_start | start_of_month | ds }}'\n"
    )
    assert materialize(location, "window", "2024-03-10", "-c", str(cfg)) == 0
    stored = json.loads((tmp_path / "st" / "assets" / "window" / "2024-03-10.json").read_text())
    assert stored["config"] == {
        "start": "2024-03-10T00:00:00-05:00",
        "end": "2024-03-11T00:00:00-04:00",
        "month": "2024-03-01",
    }


def _state(status: str, stored: bool) -> PartitionState:
    when = datetime(2024, 3, 1, tzinfo=UTC)
    return PartitionState(MaterializationRecord("r", "a", "k", status, when, when), stored)


def test_status_derivation_and_table() -> None:
    pd = HourlyPartitionsDefinition("2024-03-10-00:00", timezone="America/New_York")
    now = datetime(2024, 3, 10, 10, tzinfo=UTC)  # 06:00 EDT: 5 hours (02:00 does not exist)
    states = {
        "2024-03-10-00:00": _state("Materialized", True),
        "2024-03-10-01:00": _state("Materialized", False),  # value deleted
        "2024-03-10-03:00": _state("Started", False),
        "2024-03-10-04:00": _state("Interrupted", True),
        "2024-03-11-00:00": _state("Materialized", True),  # explicit, not listed yet
    }
    row = asset_status("a", pd, states, now)
    assert row.statuses == {
        "2024-03-10-00:00": "Materialized",
        "2024-03-10-01:00": "Missing",
        "2024-03-10-03:00": "InProgress",
        "2024-03-10-04:00": "Failed",
        "2024-03-10-05:00": "Missing",
        "2024-03-11-00:00": "Materialized",
    }
    table = format_table([row])
    assert "hourly from 2024-03-10-00:00 (America/New_York): 6" in table
    assert "materialized  2024-03-10-00:00, 2024-03-11-00:00" in table
    assert "in progress   2024-03-10-03:00" in table


def test_describe_partitions() -> None:
    assert describe_partitions(None) == "unpartitioned"
    assert describe_partitions(StaticPartitionsDefinition(["a", "b"])) == "static (2 keys)"
    assert describe_partitions(MonthlyPartitionsDefinition("2024-01-01")) == (
        "monthly from 2024-01-01 (UTC)"
    )
    assert describe_partitions(DailyPartitionsDefinition("2024-01-01", end_date="2024-02-01")) == (
        "daily from 2024-01-01 until 2024-02-01 (UTC)"
    )


STATIC = """
from assetcron import *

regions = StaticPartitionsDefinition(["eu", "us"])


@asset(partitions_def=regions)
def region(context) -> str:
    return context.partition_key


job = define_asset_job("regions", selection="*", partitions_def=regions)
defs = Definitions(
    assets=[region],
    jobs=[job],
    schedules=[build_schedule_from_partitioned_job(job, cron_schedule="0 6 * * *")],
)
"""


def test_static_partitions_on_a_schedule_need_an_explicit_key(
    location: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(location.parent, STATIC)
    args = ["--schedule", "regions_schedule"]
    assert materialize(path, "*", "eu", *args) == 0
    capsys.readouterr()
    code = main(
        [
            "asset", "materialize", "-f", str(path), "--select", "*", "--scheduled-time", TICK,
            "--storage", "st", *args,
        ]
    )  # fmt: skip
    assert code == 2
    assert "set the partition key explicitly" in capsys.readouterr().err
