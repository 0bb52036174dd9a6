"""``assetcron asset list|materialize``: output, exit codes and every bad-input case.

The CLI runs in-process (``assetcron.cli.main``) in a temporary working directory with
the ``ASSETCRON_*`` environment cleared, so the default storage lands in ``tmp_path``.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from assetcron.cli import main

LOCATION = """
from pydantic import BaseModel
from assetcron import AssetExecutionContext, DailyPartitionsDefinition, Definitions, asset

daily = DailyPartitionsDefinition(start_date="2015-01-01")


class Cfg(BaseModel):
    label: str = "none"
    limit: int = 1


@asset(partitions_def=daily, group_name="g", key_prefix="p")
def a(context: AssetExecutionContext) -> str:
    return context.partition_key or ""


@asset(partitions_def=daily, group_name="g", key_prefix="p", output_format="json")
def b(a: str, config: Cfg) -> dict:
    return {"a": a, "label": config.label, "limit": config.limit}


@asset(partitions_def=daily, group_name="h", key_prefix="p", tags={"fail": "yes"})
def broken(b: dict) -> None:
    raise RuntimeError("boom")


@asset(partitions_def=daily, group_name="h", key_prefix="p")
def other() -> int:
    return 1


defs = Definitions(assets=[a, b, broken, other])
"""

CYCLE = """
from assetcron import Definitions, asset
x = asset(name="x", deps=["y"])(lambda: 0)
y = asset(name="y", deps=["x"])(lambda: 0)
defs = Definitions(assets=[x, y])
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


def write_location(directory: Path, source: str = LOCATION) -> str:
    path = directory / f"loc_{uuid.uuid4().hex}.py"  # unique module name per test
    path.write_text(textwrap.dedent(source))
    return str(path)


def nothing_written(directory: Path) -> bool:
    return not (directory / ".assetcron").exists() and not (directory / "term.log").exists()


def nothing_stored(directory: Path) -> bool:
    return not (directory / ".assetcron").exists()


def termination_summary(directory: Path) -> dict[str, object]:
    summary: dict[str, object] = json.loads((directory / "term.log").read_text())
    return summary


def test_list_prints_keys_in_plan_order(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    loc = write_location(workdir)
    assert main(["asset", "list", "-f", loc]) == 0
    assert capsys.readouterr().out == "p/a\np/b\np/broken\np/other\n"
    assert main(["asset", "list", "-f", loc, "--select", "+key:p/b and group:g"]) == 0
    assert capsys.readouterr().out == "p/a\np/b\n"
    assert main(["asset", "list", "-f", loc, "--select", "key:p/b", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["key"] == "p/b"
    assert row["opName"] == "p__b"
    assert row["deps"] == ["p/a"]
    assert row["group"] == "g"
    assert row["partitioned"] is True


def test_materialize_output_summary_and_termination_log(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    loc = write_location(workdir)
    log = workdir / "term.log"
    monkeypatch.setenv("ASSETCRON_TERMINATION_LOG", str(log))
    monkeypatch.setenv("ASSETCRON_JOB_NAME", f"weather-daily-{1433224800 // 60}")
    monkeypatch.setenv(
        "ASSETCRON_RUN_CONFIG",
        json.dumps({"ops": {"p__b": {"config": {"label": "env", "limit": 5}}}}),
    )
    cfg = workdir / "run.yaml"
    cfg.write_text("ops:\n  p__b:\n    config:\n      label: 'day {{ partition_key }}'\n")
    code = main(["asset", "materialize", "-f", loc, "--select", "*", "-c", str(cfg)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1  # p/broken fails
    assert out[0].endswith("scheduled 2015-06-02T06:00:00+00:00 · partition 2015-06-01 · 4 assets")
    assert out[1].startswith("[1/4] p/a ... materialized (")
    assert out[3].startswith("[3/4] p/broken ... FAILED (")
    assert out[3].endswith("RuntimeError: boom")
    assert out[4].startswith("[4/4] p/other ... materialized")
    assert out[5].startswith("Failed: 3 materialized, 0 reused, 1 failed, 0 skipped in ")
    stored = workdir / ".assetcron" / "storage" / "assets" / "p" / "b" / "2015-06-01.json"
    # env run config deep-merged with the -c file: the file wins for label, env keeps limit
    assert json.loads(stored.read_text()) == {
        "a": "2015-06-01",
        "label": "day 2015-06-01",
        "limit": 5,
    }
    summary = json.loads(log.read_text())
    assert summary["result"] == "Failed"
    assert summary["partitionKey"] == "2015-06-01"
    assert summary["counts"] == {"materialized": 3, "reused": 0, "failed": 1, "skipped": 0}

    code = main(["asset", "materialize", "-f", loc, "--select", "group:g", "-c", str(cfg)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    # A different selection is a new run, but its assets were stored with the same config,
    # inputs and code: they are reused, not recomputed.
    assert out[-1].startswith("Succeeded: 0 materialized, 2 reused")


def test_rerun_reuses_and_partition_key_template(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    loc = write_location(workdir)
    monkeypatch.setenv("ASSETCRON_PARTITION_KEY", "{{ scheduled_time | days_ago(3) | ds }}")
    args = [
        "asset",
        "materialize",
        "-f",
        loc,
        "--select",
        "group:g",
        "--scheduled-time",
        "2015-06-02T06:00:00Z",
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "partition 2015-05-30" in first
    assert main(args) == 0
    second = capsys.readouterr().out
    assert "[1/2] p/a ... reused" in second
    assert "Succeeded: 0 materialized, 2 reused" in second
    assert main([*args, "--force"]) == 0
    assert "Succeeded: 2 materialized" in capsys.readouterr().out


MAT = ["asset", "materialize", "--scheduled-time", "2015-06-02T06:00:00Z"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--select", "key:"], "selection syntax error"),
        (["--select", "key:p/a+++"], "selection syntax error"),
        (["--select", "(key:p/a or key:p/b"], "selection syntax error"),
        (["--select", "key:p/aa"], "unknown asset key 'p/aa'; did you mean 'p/a'"),
        (["--select", "group:nope"], "matched no asset"),
        (["--select", "*", "--timezone", "Mars/Olympus"], "invalid time zone 'Mars/Olympus'"),
        (["--select", "*", "-a", "nope"], "has no attribute 'nope'"),
        (["--select", "*", "--partition-key", "2014-01-01"], "before the first partition"),
        (["--select", "*", "--storage", "ftp://host/x"], "unsupported storage URI"),
        (["--select", "*", "--storage", "s3:///x"], "names no bucket"),
        (["--select", "*", "--lock-wait", "soon"], "--lock-wait must be a number of seconds"),
    ],
)
def test_bad_input_exits_2_with_one_line_stores_nothing_and_says_why(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("ASSETCRON_TERMINATION_LOG", str(workdir / "term.log"))
    loc = write_location(workdir)
    assert main([*MAT, "-f", loc, *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("error: ")
    assert message in captured.err
    assert nothing_stored(workdir)
    # The operator shows why in the run's status: the same line as stderr.
    summary = termination_summary(workdir)
    assert summary["result"] == "Failed"
    assert summary["message"] == captured.err.removeprefix("error: ").rstrip("\n")
    assert summary["counts"] == {"materialized": 0, "reused": 0, "failed": 0, "skipped": 0}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"ops": {"p__b": {"config": {"limit": "many"}}}},
            "asset 'p/b' (ops.p__b.config): field 'limit'",
        ),
        ({"ops": {"p__b": {"config": {"label": "{{ tomorrow }}"}}}}, "'tomorrow' is undefined"),
        ({"ops": {"p__b": {"config": {"label": "{{ scheduled_time.__class__ }}"}}}}, "unsafe"),
        ({"ops": {"b": {"config": {}}}}, "did you mean 'p__b'"),
    ],
)
def test_bad_run_config_exits_2(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    config: dict[str, object],
    message: str,
) -> None:
    monkeypatch.setenv("ASSETCRON_RUN_CONFIG", json.dumps(config))
    loc = write_location(workdir)
    assert main([*MAT, "-f", loc, "--select", "*"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert nothing_written(workdir)


def test_bad_code_locations_exit_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (["-m", "no_such_module_for_assetcron"], "No module named 'no_such_module_for_assetcron'"),
        (["-f", "missing.py"], "no such file"),
        (["-f", write_location(workdir, CYCLE)], "dependency cycle: x -> y -> x"),
        (["-f", write_location(workdir, "defs = 3\n")], "not assetcron.Definitions"),
        (
            ["-f", write_location(workdir, "raise ValueError('bad module')\n")],
            "ValueError: bad module",
        ),
    ]
    for args, message in cases:
        assert main([*MAT, *args, "--select", "*"]) == 2, args
        err = capsys.readouterr().err
        assert message in err, (args, err)
        assert err.count("\n") == 1
    assert nothing_written(workdir)


def test_scheduled_time_is_required_and_job_name_must_carry_minutes(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    loc = write_location(workdir)
    args = ["asset", "materialize", "-f", loc, "--select", "*"]
    assert main(args) == 2
    assert "no scheduled time" in capsys.readouterr().err
    monkeypatch.setenv("ASSETCRON_JOB_NAME", "weather-daily-manual")
    assert main(args) == 2
    assert "no '-<unix minutes>' suffix" in capsys.readouterr().err
    assert nothing_written(workdir)


def test_console_script_end_to_end(workdir: Path) -> None:
    import subprocess

    loc = write_location(workdir)
    proc = subprocess.run(
        [Path(sys.executable).parent / "assetcron", *MAT, "-f", loc, "--select", "group:g"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
        cwd=workdir,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Succeeded: 2 materialized" in proc.stdout


def test_storage_from_env_and_file_uri(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    loc = write_location(workdir)
    monkeypatch.setenv("ASSETCRON_STORAGE", str(workdir / "from-env"))
    assert main([*MAT, "-f", loc, "--select", "key:p/other"]) == 0
    assert (workdir / "from-env" / "assets" / "p" / "other" / "2015-06-01.pickle").is_file()
    uri = (workdir / "from-flag").as_uri()
    assert main([*MAT, "-f", loc, "--select", "key:p/other", "--storage", uri]) == 0
    (record,) = (workdir / "from-flag" / "records").rglob("*.json")
    assert json.loads(record.read_text())["status"] == "Materialized"
    assert not (workdir / ".assetcron").exists()
    capsys.readouterr()


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(sub.choices)


def test_a_plugin_whose_package_is_not_installed_is_left_out() -> None:
    # The container image is built without assetcron_dev, but the distribution's metadata
    # still declares its `dev` entry point: `assetcron --help` must work there.
    from importlib.metadata import EntryPoint

    from assetcron.cli import PLUGIN_GROUP, build_parser

    ghost = EntryPoint(name="ghost", value="assetcron_ghost_pkg.cli:register", group=PLUGIN_GROUP)
    assert _subcommands(build_parser(with_plugins=True, plugins=[ghost])) == {"asset"}


def test_a_plugin_missing_another_module_still_fails(workdir: Path) -> None:
    # Only the plugin's own package may be absent; a broken plugin is not hidden.
    from importlib.metadata import EntryPoint

    from assetcron.cli import PLUGIN_GROUP, build_parser

    module = f"plugin_{uuid.uuid4().hex}"
    (workdir / f"{module}.py").write_text("import assetcron_no_such_dependency\n")
    sys.path.insert(0, str(workdir))  # the fixture restores sys.path
    broken = EntryPoint(name="broken", value=f"{module}:register", group=PLUGIN_GROUP)
    with pytest.raises(ModuleNotFoundError, match="assetcron_no_such_dependency"):
        build_parser(with_plugins=True, plugins=[broken])


def test_installed_plugins_are_loaded() -> None:
    from assetcron.cli import build_parser

    assert {"asset", "dev", "schedule"} <= _subcommands(build_parser(with_plugins=True))


# ------------------------------------------------ every exit says why, without secrets

SECRET = "pa55w0rd-from-a-secretKeyRef"

LEAKY = """
import os
from assetcron import Definitions, asset


@asset
def first() -> int:
    return 1


@asset(deps=[first])
def leaky() -> None:
    raise ConnectionError(f"login as app:{os.environ['DB_PASSWORD']} refused")


defs = Definitions(assets=[first, leaky])
"""

TERMINATED = """
import os
import signal
import time
from assetcron import Definitions, asset


@asset
def first() -> int:
    return 1


@asset(deps=[first])
def slow() -> None:
    os.kill(os.getpid(), signal.SIGTERM)  # as the kubelet does when the pod is deleted
    try:
        time.sleep(30)
    except Exception:  # asset code catching Exception must not swallow the signal
        pass


@asset(deps=[slow])
def after() -> int:
    return 2


defs = Definitions(assets=[first, slow, after])
"""


def test_an_asset_error_quoting_a_secret_is_redacted_in_the_summary_only(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETCRON_TERMINATION_LOG", str(workdir / "term.log"))
    monkeypatch.setenv("DB_PASSWORD", SECRET)
    loc = write_location(workdir, LEAKY)
    assert main([*MAT, "-f", loc, "--select", "*"]) == 1
    captured = capsys.readouterr()
    assert SECRET in captured.out  # the pod log keeps it: readable only with pod access
    text = (workdir / "term.log").read_text()
    assert SECRET not in text
    (entry,) = [a for a in json.loads(text)["assets"] if a["key"] == "leaky"]
    assert entry["error"] == "ConnectionError: login as app:*** refused"


def test_bad_input_quoting_a_secret_is_redacted_in_the_summary(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETCRON_TERMINATION_LOG", str(workdir / "term.log"))
    monkeypatch.setenv("API_TOKEN", SECRET)
    loc = write_location(workdir, "import os\nraise ValueError(os.environ['API_TOKEN'])\n")
    assert main([*MAT, "-f", loc, "--select", "*"]) == 2
    assert SECRET in capsys.readouterr().err
    message = termination_summary(workdir)["message"]
    assert isinstance(message, str)
    assert message.endswith("ValueError: ***")


def test_an_unexpected_error_exits_1_with_the_traceback_and_one_line_summary(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assetcron import _records

    def broken_disk(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_records.RecordStore, "__init__", broken_disk)
    monkeypatch.setenv("ASSETCRON_TERMINATION_LOG", str(workdir / "term.log"))
    loc = write_location(workdir)
    assert main([*MAT, "-f", loc, "--select", "group:g"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    summary = termination_summary(workdir)
    assert summary["result"] == "Failed"
    assert summary["runId"]
    assert summary["message"] == (
        "unexpected error while opening the run records: "
        "OSError: [Errno 28] No space left on device"
    )


def test_sigterm_writes_why_the_run_stopped_and_exits_143(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    monkeypatch.setenv("ASSETCRON_TERMINATION_LOG", str(workdir / "term.log"))
    loc = write_location(workdir, TERMINATED)
    before = signal.getsignal(signal.SIGTERM)
    assert main([*MAT, "-f", loc, "--select", "*"]) == 143
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is the run's only
    captured = capsys.readouterr()
    assert "[1/3] first ... materialized" in captured.out
    assert "error: terminated by SIGTERM after 0 s while materializing slow" in captured.err
    summary = termination_summary(workdir)
    assert summary["result"] == "Failed"
    assert summary["message"] == "terminated by SIGTERM after 0 s while materializing slow"
    assert summary["counts"] == {"materialized": 1, "reused": 0, "failed": 0, "skipped": 0}
    assert summary["assets"] == [{"key": "first", "outcome": "Materialized"}]
    # On the way out the running asset's record says Interrupted, the run's locks are
    # released and no staging file is left.
    storage = workdir / ".assetcron" / "storage"
    statuses = {
        p.parent.parent.name: json.loads(p.read_text())["status"]
        for p in (storage / "records").rglob("*.json")
    }
    assert statuses == {"first": "Materialized", "slow": "Interrupted"}
    (slow,) = (storage / "records" / "slow").rglob("*.json")
    assert json.loads(slow.read_text())["error"] == "interrupted: terminated by SIGTERM"
    assert not list(storage.rglob("*.lock"))
    assert not [p for p in storage.rglob("*") if "#" in p.name or ".stale" in p.name]
    calm = TERMINATED.replace("os.kill(os.getpid(), signal.SIGTERM)", "pass")
    loc_calm = write_location(workdir, calm.replace("time.sleep(30)", "pass"))
    assert main([*MAT, "-f", loc_calm, "--select", "*"]) == 0
    assert "[1/3] first ... materialized" in capsys.readouterr().out  # another module: new run


def test_sigterm_to_the_console_script(workdir: Path) -> None:
    import subprocess

    loc = write_location(workdir, TERMINATED)
    log = workdir / "term.log"
    proc = subprocess.run(
        [Path(sys.executable).parent / "assetcron", *MAT, "-f", loc, "--select", "*"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "ASSETCRON_TERMINATION_LOG": str(log)},
        cwd=workdir,
    )
    assert proc.returncode == 143, proc.stderr
    assert json.loads(log.read_text())["message"].startswith("terminated by SIGTERM after ")
    storage = workdir / ".assetcron" / "storage"
    assert (storage / "locks").is_dir()  # the run held locks ...
    assert not list(storage.rglob("*.lock"))  # ... and released them
