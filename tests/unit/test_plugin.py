"""``kubectl assetcron`` / ``assetcron schedule``: argument parsing and the tables
(pure; the commands against a real cluster are in tests/e2e/test_operations_e2e.py)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

import pytest

from assetcron_operator import cli, plugin
from assetcron_operator.tables import (
    format_duration,
    render_table,
    run_result,
    runs_table,
    schedule_detail,
    schedules_table,
)

NOW = datetime(2026, 11, 21, 14, 5, tzinfo=UTC)

SUCCEEDED = {
    "name": "weather-daily-29384160",
    "trigger": "Scheduled",
    "phase": "Succeeded",
    "scheduledTime": "2026-11-21T14:00:00Z",
    "startTime": "2026-11-21T14:00:02Z",
    "completionTime": "2026-11-21T14:00:43Z",
    "counts": {"materialized": 5, "reused": 0, "failed": 0, "skipped": 0},
    "assets": [{"key": "weather/raw", "outcome": "Materialized"}],
}
FAILED = {
    "name": "weather-daily-manual-ab12",
    "trigger": "Backfill",
    "phase": "Failed",
    "scheduledTime": "2015-06-02T13:00:00Z",
    "startTime": "2026-11-21T13:00:00Z",
    "completionTime": "2026-11-21T13:02:05Z",
    "counts": {"materialized": 1, "reused": 1, "failed": 1, "skipped": 2},
    "assets": [
        {"key": "weather/raw", "outcome": "Reused"},
        {"key": "weather/daily", "outcome": "Failed", "error": "KeyError: 'temp_max'"},
    ],
}
RUNNING = {"name": "r-3", "trigger": "Manual", "phase": "Running",
           "startTime": "2026-11-21T14:03:00Z"}  # fmt: skip


def test_runs_table_has_times_durations_results_and_counts() -> None:
    text = runs_table([RUNNING, SUCCEEDED, FAILED], NOW)
    lines = text.splitlines()
    assert lines[0].split() == [
        "RUN", "TRIGGER", "SCHEDULED", "STARTED", "DURATION", "RESULT",
        "MATERIALIZED", "REUSED", "FAILED", "SKIPPED", "MESSAGE",
    ]  # fmt: skip
    running, ok, bad = lines[1:]
    assert "2m (running)" in running
    assert ok.split()[:8] == [
        "weather-daily-29384160", "Scheduled", "2026-11-21", "14:00:00Z",
        "2026-11-21", "14:00:02Z", "41s", "Succeeded",
    ]  # fmt: skip
    assert ok.split()[8:12] == ["5", "0", "0", "0"]
    assert bad.split()[6:12] == ["2m5s", "Failed", "1", "1", "1", "2"]
    assert bad.endswith("asset weather/daily failed: KeyError: 'temp_max'")
    # The columns line up: every row's RESULT starts where the header's does.
    col = lines[0].index("RESULT")
    assert ok[col:].startswith("Succeeded")
    assert runs_table([], NOW) == "No runs yet.\n"


def test_render_table_pads_and_says_none() -> None:
    assert render_table(["a", "bb"], [["xyz", None], ["", "1"]]) == (
        "A        BB\nxyz      <none>\n<none>   1\n"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (41, "41s"), (125, "2m5s"), (600, "10m"), (3 * 3600 + 240, "3h4m"),
     (20 * 3600, "20h"), (3 * 86400 + 3600, "3d1h"), (400 * 86400, "400d")],
)  # fmt: skip
def test_format_duration_is_kubectls(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def _schedule(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "weather-daily", "namespace": "weather"},
        "spec": {"jobRef": {"name": "weather"}, "cronSchedule": "0 6 * * *",
                 "timeZone": "America/Los_Angeles"},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled",
                                   "message": "ok"}], **status},
    }  # fmt: skip


def test_schedules_table_and_detail() -> None:
    body = _schedule(
        nextRuns=["2026-11-22T14:00:00Z"],
        lastResult="Succeeded",
        lastRunTime="2026-11-21T14:00:02Z",
        lastSuccessfulTime="2026-11-21T14:00:43Z",
        recentRuns=[SUCCEEDED],
    )
    table = schedules_table([body], NOW, all_namespaces=True).splitlines()
    assert table[0].split()[:3] == ["NAMESPACE", "NAME", "JOB"]
    assert table[1].split()[:7] == ["weather", "weather-daily", "weather", "0", "6", "*", "*"]
    # next run, last result, last run, last success (kubectl's ages)
    assert table[1].split()[-9:] == [
        "false", "True", "in", "23h", "Succeeded", "4m58s", "ago", "4m17s", "ago",
    ]  # fmt: skip
    detail = schedule_detail(body, NOW)
    assert "Schedule:      0 6 * * * (America/Los_Angeles)" in detail
    assert "weather-daily-29384160" in detail
    assert schedules_table([], NOW) == "No AssetSchedules found.\n"


def test_run_result_lists_each_asset() -> None:
    text = run_result(FAILED, NOW)
    assert text.splitlines() == [
        "job/weather-daily-manual-ab12 Failed in 2m5s: 1 materialized, 1 reused, 1 failed,"
        " 2 skipped",
        "  asset weather/daily failed: KeyError: 'temp_max'",
        "  weather/raw     Reused",
        "  weather/daily   Failed: KeyError: 'temp_max'",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["-n", "data", "--context", "ctx", "runs", "weather-daily"],
        ["runs", "weather-daily", "-n", "data", "--context", "ctx"],
        ["--context", "ctx", "runs", "-n", "data", "weather-daily"],
    ],
)
def test_plugin_reads_kubectls_flags_before_or_after_the_command(argv: list[str]) -> None:
    args = plugin.build_parser().parse_args(argv)
    assert args.func is cli.cmd_runs
    assert (args.namespace, args.context, args.name) == ("data", "ctx", "weather-daily")
    assert args.kubeconfig is None


def test_assetcron_schedule_has_the_same_commands() -> None:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    for command in ("status", "runs", "logs", "trigger", "suspend", "resume", "preview"):
        plugin_args = plugin.build_parser().parse_args([command, "x"])
        ours = parser.parse_args(["schedule", command, "x"])
        assert ours.func is plugin_args.func
    args = parser.parse_args(["schedule", "trigger", "x", "--wait"])
    assert args.wait == cli.DEFAULT_WAIT
    assert args.until == "finished"
    assert not hasattr(args, "namespace")  # read with _opt: no default overwrote it
    assert parser.parse_args(["schedule", "suspend", "x"]).suspend is True
    assert parser.parse_args(["schedule", "resume", "x"]).suspend is False


def test_the_package_installs_the_plugin_as_kubectl_expects() -> None:
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    scripts = pyproject["project"]["scripts"]
    # kubectl runs `kubectl-<name>` from PATH as `kubectl <name>` (krew naming).
    assert scripts["kubectl-assetcron"] == "assetcron_operator.plugin:entry"
    assert callable(plugin.entry)
