"""The runner's JSON log lines (``--log-format json`` / ``ASSETCRON_LOG_FORMAT``)."""

from __future__ import annotations

import json
import logging
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from assetcron import _runlog
from assetcron.cli import main

LOCATION = """
from assetcron import AssetExecutionContext, DailyPartitionsDefinition, Definitions, asset

daily = DailyPartitionsDefinition(start_date="2015-01-01")


@asset(partitions_def=daily, key_prefix="p")
def a(context: AssetExecutionContext) -> int:
    context.log.info("computing a for %s", context.partition_key)
    print("a says hi")
    return 1


@asset(partitions_def=daily, key_prefix="p")
def b(a: int) -> int:
    raise ValueError("b refuses")


defs = Definitions(assets=[a, b])
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import os

    for name in list(os.environ):
        if name.startswith("ASSETCRON_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return tmp_path


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]  # every line is JSON


@pytest.mark.parametrize("how", ["flag", "env"])
def test_every_line_is_json_with_the_run_context(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    loc = workdir / f"loc_{uuid.uuid4().hex}.py"
    loc.write_text(textwrap.dedent(LOCATION))
    monkeypatch.setenv("ASSETCRON_JOB_NAME", f"weather-daily-{1433224800 // 60}")
    argv = ["asset", "materialize", "-f", str(loc), "--select", "*"]
    if how == "flag":
        argv += ["--log-format", "json"]
    else:
        monkeypatch.setenv("ASSETCRON_LOG_FORMAT", "json")
    assert main(argv) == 1
    captured = capsys.readouterr()
    out, err = _lines(captured.out), _lines(captured.err)
    assert out
    assert err
    run_ids = {line["runId"] for line in out + err}
    assert len(run_ids) == 1
    assert None not in run_ids
    for line in out + err:
        assert line["partitionKey"] == "2015-06-01"
        assert line["scheduledTime"] == "2015-06-02T06:00:00+00:00"
        assert line["jobName"] == "weather-daily-23887080"
        assert {"time", "level", "message", "assetKey"} <= line.keys()
    by_message = {line["message"]: line for line in out + err}
    # print() inside an asset, and context.log: both name the asset.
    assert by_message["a says hi"]["assetKey"] == "p/a"
    assert by_message["a says hi"]["stream"] == "stdout"
    logged = by_message["computing a for 2015-06-01"]
    assert (logged["assetKey"], logged["level"]) == ("p/a", "info")
    assert logged["logger"].startswith("assetcron.asset.")
    progress = [line for line in out if line["message"].startswith("[2/2] p/b ... FAILED")]
    assert progress[0]["assetKey"] == "p/b"
    # The failed asset's traceback is one record, in its exception field or message.
    failed = [line for line in err if line["assetKey"] == "p/b" and line["level"] == "error"]
    assert any("ValueError: b refuses" in (f.get("exception") or f["message"]) for f in failed)
    # The last line, outside any asset.
    assert out[-1]["message"].startswith("Failed: 1 materialized")
    assert out[-1]["assetKey"] is None
    # The streams are restored afterwards.
    assert not isinstance(sys.stdout, _runlog.JsonLines)


def test_text_stays_the_default(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loc = workdir / f"loc_{uuid.uuid4().hex}.py"
    loc.write_text(textwrap.dedent(LOCATION))
    main(["asset", "materialize", "-f", str(loc), "--select", "*",
          "--scheduled-time", "2015-06-02T06:00:00Z"])  # fmt: skip
    out = capsys.readouterr().out
    assert out.startswith("run ")
    assert "[1/2] p/a ... materialized" in out


def test_a_bad_format_is_bad_input(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETCRON_LOG_FORMAT", "xml")
    assert main(["asset", "materialize", "-m", "x", "--select", "*"]) == 2
    assert (
        capsys.readouterr().err
        == "error: ASSETCRON_LOG_FORMAT must be 'text' or 'json', not 'xml'\n"
    )
    assert main(["asset", "materialize", "-m", "x", "--select", "*", "--log-format", "yaml"]) == 2
    assert "--log-format must be" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "env", "expected"),
    [(None, {}, "text"), (None, {"ASSETCRON_LOG_FORMAT": "JSON"}, "json"),
     ("text", {"ASSETCRON_LOG_FORMAT": "json"}, "text")],
)  # fmt: skip
def test_resolve_log_format(flag: str | None, env: dict[str, str], expected: str) -> None:
    assert _runlog.resolve_log_format(flag, env) == expected


def test_formatter_keeps_extra_fields_and_the_context() -> None:
    _runlog.reset()
    _runlog.bind(runId="r1")
    record = logging.LogRecord("assetcron.x", logging.WARNING, __file__, 1, "hi %s", ("you",), None)
    record.rows = 3
    with _runlog.asset_scope("a/b"):
        line = json.loads(_runlog.JsonFormatter().format(record))
    assert line["message"] == "hi you"
    assert (line["level"], line["runId"], line["assetKey"], line["rows"]) == (
        "warning",
        "r1",
        "a/b",
        3,
    )
    assert line["partitionKey"] is None
    _runlog.reset()


def test_json_lines_wait_for_the_newline() -> None:
    import io

    raw = io.StringIO()
    stream = _runlog.JsonLines(raw, "stdout")  # type: ignore[arg-type]
    stream.write("par")
    assert raw.getvalue() == ""
    stream.write("tial\nerror: x\n")
    stream.write("tail")
    stream.flush()
    lines = _lines(raw.getvalue())
    assert [(x["message"], x["level"]) for x in lines] == [
        ("partial", "info"), ("error: x", "error"), ("tail", "info")
    ]  # fmt: skip
