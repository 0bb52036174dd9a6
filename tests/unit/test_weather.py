"""The weather example on the real NOAA data shipped in vega_datasets."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pytest

from assetcron.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = str(ROOT / "examples" / "weather" / "definitions.py")
RUN_CONFIG = str(ROOT / "examples" / "weather" / "run_config.yaml")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("ASSETCRON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(ROOT / "examples"), *sys.path])
    return tmp_path


def csv_row(day: str) -> dict[str, str]:
    from weather.resources import vega_datasets_csv

    with vega_datasets_csv().open(newline="") as fh:
        (row,) = [r for r in csv.DictReader(fh) if r["date"] == day.replace("-", "/")]
    return row


def test_must_show_run_twice_and_compare_the_table_with_the_csv(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["asset", "materialize", "-f", DEFINITIONS, "--select", "*"]
    args += ["--scheduled-time", "2015-06-02T06:00:00Z", "-c", RUN_CONFIG]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "partition 2015-06-01 · 5 assets" in first
    assert "Succeeded: 5 materialized, 0 reused, 0 failed, 0 skipped" in first

    assert main(args) == 0
    second = capsys.readouterr().out
    assert "Succeeded: 0 materialized, 5 reused, 0 failed, 0 skipped" in second
    assert second.count("... reused") == 5

    import duckdb

    storage = workdir / ".assetcron" / "storage"
    con = duckdb.connect(str(storage / "weather.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT CAST(date AS VARCHAR), precipitation_mm, temp_max_c, temp_min_c, wind_m_s, "
            "weather, precipitation_7d_mm FROM daily_weather"
        ).fetchall()
    finally:
        con.close()
    raw = csv_row("2015-06-01")
    assert rows == [
        (
            "2015-06-01",
            float(raw["precipitation"]),
            float(raw["temp_max"]),
            float(raw["temp_min"]),
            float(raw["wind"]),
            raw["weather"],
            pytest.approx(
                sum(float(csv_row(f"2015-05-{d}")["precipitation"]) for d in range(26, 32))
                + float(raw["precipitation"])
            ),
        )
    ]
    report = (storage / "reports" / "weather" / "2015-06-01.csv").read_text().splitlines()
    assert (
        report[0]
        == "title,Seattle weather for 2015-06-01 (7 days from 2015-05-26; tick 2015-06-02)"
    )
    assert f"temp_max_c,{float(raw['temp_max'])}" in report


def test_a_day_outside_the_data_fails_clearly_and_skips_downstream(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["asset", "materialize", "-f", DEFINITIONS, "--select", "*"]
    assert main([*args, "--scheduled-time", "2016-01-06T06:00:00Z"]) == 1
    captured = capsys.readouterr()
    assert "weather/raw_observations ... FAILED" in captured.out
    assert "no observations for 2016-01-05" in captured.out
    assert captured.out.count("... skipped") == 4
    assert "Traceback" not in captured.err


def test_importable_as_a_module_with_examples_on_the_path(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            ["asset", "list", "-m", "weather.definitions", "--select", "key:weather/daily_weather+"]
        )
        == 0
    )
    assert capsys.readouterr().out.split() == [
        "weather/daily_weather",
        "weather/rolling_7d_summary",
        "weather/weather_report",
        "weather/weather_table",
    ]
