"""Dagster code locations run unchanged (``assetcron[dagster]``, :mod:`assetcron._dagster`).

Differential where it can be: ``asset list`` against Dagster's own selection resolution,
the tick's partition against Dagster's own schedule for a partitioned job, and the
stored values of ``asset materialize`` against Dagster's own ``materialize()`` with the
same partition and run config. Then what a native run promises too: a failing asset
exits 1 and skips its downstream, a retry resumes from failure (counted through the
fixture's ``calls.log``), bad input exits 2 with one line, and the run's Dagster
instance survives in an object store between attempts.

The CLI runs in-process (``assetcron.cli.main``) on ``tests/unit/dagster_code``, a code
location written as Dagster's docs write them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

dg = pytest.importorskip("dagster")

from assetcron import AssetKey, ObjectStorage  # noqa: E402
from assetcron.cli import main  # noqa: E402

LOCATION = Path(__file__).parent / "dagster_code" / "definitions.py"
TICK = "2015-06-02T06:00:00Z"
RUN_CONFIG = """
ops:
  greeting:
    config:
      greeting: "hi {{ scheduled_date }}"
      repeat: 2
"""


@pytest.fixture
def fixture_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the ``ASSETCRON_*`` environment cleared, the fixture's
    ``DAGSTER_FIXTURE_DIR`` (calls.log, fail) and a termination log."""
    import os

    for name in list(os.environ):
        if name.startswith(("ASSETCRON_", "DAGSTER_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    directory = tmp_path / "fixture"
    directory.mkdir()
    monkeypatch.setenv("DAGSTER_FIXTURE_DIR", str(directory))
    monkeypatch.setenv("ASSETCRON_TERMINATION_LOG", str(tmp_path / "termination.json"))
    return directory


def defs() -> Any:
    from tests.unit.dagster_code import definitions

    return definitions.defs


def materialize(*extra: str, select: str = "*") -> int:
    return main(
        [
            "asset", "materialize", "-f", str(LOCATION), "--select", select,
            "--scheduled-time", TICK, "--storage", "storage", *extra,
        ]
    )  # fmt: skip


def summary(directory: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((directory.parent / "termination.json").read_text())
    return loaded


def calls(directory: Path) -> Counter[str]:
    log = directory / "calls.log"
    return Counter(log.read_text().split()) if log.exists() else Counter()


def stored(key: str, partition: str | None) -> Any:
    return ObjectStorage.local("storage").read(AssetKey(tuple(key.split("/"))), partition)


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


# ---------------------------------------------------------------- detection
def test_native_runs_never_import_dagster(tmp_path: Path) -> None:
    """Detection looks at the object's type, so a native code location's run (and the
    runner's own modules) never load Dagster."""
    native = tmp_path / "native_loc.py"
    native.write_text(
        "from assetcron import Definitions, asset\n"
        "@asset\ndef one() -> int:\n    return 1\n"
        "defs = Definitions(assets=[one])\n"
    )
    code = textwrap.dedent(
        f"""
        import sys
        from assetcron.cli import main
        rc = main(["asset", "materialize", "-f", {str(native)!r}, "--select", "*",
                   "--scheduled-time", "{TICK}", "--storage", {str(tmp_path / "st")!r}])
        assert rc == 0, rc
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "dagster")
        assert not loaded, loaded
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=tmp_path)


def test_missing_extra_is_one_line_exit_2(
    fixture_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = fixture_dir / f"loc_{uuid.uuid4().hex}.py"
    path.write_text("import dagster as dg\ndefs = dg.Definitions()\n")
    monkeypatch.setitem(sys.modules, "dagster", None)  # as if assetcron[dagster] were absent
    assert main(["asset", "list", "-f", str(path)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "imports dagster, which is not installed: install assetcron[dagster]" in line


def test_other_dagster_objects_are_refused(
    fixture_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = fixture_dir / f"loc_{uuid.uuid4().hex}.py"
    path.write_text("import dagster as dg\n@dg.asset\ndef one() -> int:\n    return 1\n")
    assert main(["asset", "list", "-f", str(path), "-a", "one"]) == 2
    assert "not dagster.Definitions" in one_error_line(capsys.readouterr().err)


def test_load_definitions_refuses_dagster_code_locations(fixture_dir: Path) -> None:
    """The operator's helpers need native Definitions; they say so."""
    from assetcron import CodeLocationError, load_definitions

    with pytest.raises(CodeLocationError, match=r"is a dagster\.Definitions"):
        load_definitions(python_file=str(LOCATION))


# ---------------------------------------------------------------- selection
SELECTIONS = [
    "*",
    "group:raw",
    "key:totals+",
    "+key:warehouse/report",
    'key:"warehouse/report"',
    "tag:tier=gold",
    "tag:tier=bronze or kind:python",
    'owner:"team:ingest"',
    "kind:duckdb",
    "sinks(*)",
    "roots(+key:after_flaky)",
    "key:daily_*",
    "not group:daily",
    "group:raw or group:daily",
    "2+key:after_flaky",
    "key:totals+1",
    "group:derived and not kind:python",
    "(group:fragile or key:numbers)+",
]


@pytest.mark.parametrize("selection", SELECTIONS)
def test_list_gives_dagsters_own_keys(
    fixture_dir: Path, capsys: pytest.CaptureFixture[str], selection: str
) -> None:
    graph = defs().resolve_asset_graph()
    expected = dg.AssetSelection.from_string(selection).resolve(graph)
    assert expected, f"the table's {selection!r} should select something"
    assert main(["asset", "list", "-f", str(LOCATION), "--select", selection]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(printed) == sorted(k.to_user_string() for k in expected)
    position = {key: i for i, key in enumerate(printed)}
    for key in expected:  # plan order: every asset after its selected parents
        for parent in graph.get(key).parent_keys & set(expected):
            assert position[parent.to_user_string()] < position[key.to_user_string()]


def test_runner_silences_dagsters_beta_warnings(
    fixture_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dagster warns about its own parser's beta parameter; were the warning an error
    (as under pytest), ``from_string`` would fall back to its legacy syntax and refuse
    ``group:``. The runner silences those warnings itself."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["asset", "list", "-f", str(LOCATION), "--select", "group:daily"]) == 0
    assert capsys.readouterr().out.split() == ["daily_events", "daily_summary"]


def test_list_json_rows(fixture_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["asset", "list", "-f", str(LOCATION), "--select", "key:warehouse/report", "--json"]
    assert main(args) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row == {
        "key": "warehouse/report",
        "opName": "warehouse__report",
        "group": "derived",
        "deps": ["greeting", "totals"],
        "tags": {},
        "owners": [],
        "kinds": ["duckdb", "python"],
        "description": None,
        "partitioned": False,
    }


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("key:(", "selection 'key:(': Invalid selection string"),
        ("key:totls", "matched no asset; did you mean 'totals'?"),
        ("group:nothing", "selection 'group:nothing' matched no asset"),
    ],
)
def test_bad_selection_is_one_line_exit_2(
    fixture_dir: Path, capsys: pytest.CaptureFixture[str], selection: str, message: str
) -> None:
    assert main(["asset", "list", "-f", str(LOCATION), "--select", selection]) == 2
    assert message in one_error_line(capsys.readouterr().err)
    assert materialize(select=selection) == 2
    assert message in one_error_line(capsys.readouterr().err)
    assert message in summary(fixture_dir)["message"]
    assert not Path("storage").exists()


# ---------------------------------------------------------------- partitions
@pytest.fixture(autouse=True)
def _dagster_beta_warnings_are_not_errors() -> Iterator[None]:
    """Dagster's selection parser passes its own beta parameter and warns about it; with
    warnings as errors, ``AssetSelection.from_string`` would fall back to its legacy
    parser. The runner silences them the same way (``assetcron._dagster._quiet``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        yield


def dagster_schedule_partition(tick: datetime) -> str:
    """The partition Dagster's own schedule for the daily assets targets at ``tick``."""
    job = dg.define_asset_job("daily_job", selection="group:daily")
    schedule = dg.build_schedule_from_partitioned_job(job)
    repo = dg.Definitions(
        assets=defs().assets, resources=defs().resources, jobs=[job], schedules=[schedule]
    ).get_repository_def()
    with (
        dg.build_schedule_context(scheduled_execution_time=tick, repository_def=repo) as ctx,
        warnings.catch_warnings(),
    ):
        # Dagster's schedule calls its own deprecated JobDefinition.run_request_for_partition.
        warnings.simplefilter("ignore", DeprecationWarning)
        (request,) = repo.get_schedule_def(schedule.name).evaluate_tick(ctx).run_requests
    key: str = request.partition_key
    return key


@pytest.mark.parametrize(
    "tick", ["2015-06-02T06:00:00+00:00", "2015-06-02T00:00:00+00:00", "2015-06-01T23:59:00+00:00"]
)
def test_tick_partition_is_dagsters_schedule_rule(
    fixture_dir: Path, capsys: pytest.CaptureFixture[str], tick: str
) -> None:
    expected = dagster_schedule_partition(datetime.fromisoformat(tick))
    args = ["asset", "materialize", "-f", str(LOCATION), "--select", "key:daily_events"]
    assert main([*args, "--scheduled-time", tick, "--storage", "storage"]) == 0
    assert summary(fixture_dir)["partitionKey"] == expected
    assert stored("daily_events", expected) == {"day": expected, "hours": 24.0}


def test_explicit_partition_key_wins(fixture_dir: Path) -> None:
    assert materialize("--partition-key", "2015-03-01", select="group:daily") == 0
    assert summary(fixture_dir)["partitionKey"] == "2015-03-01"
    assert stored("daily_summary", "2015-03-01") == "2015-03-01: 24.0 h"


def test_partition_key_outside_the_definition_is_exit_2(
    fixture_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert materialize("--partition-key", "2014-12-31", select="group:daily") == 2
    assert "not a partition of the selected assets' DailyPartitionsDefinition" in one_error_line(
        capsys.readouterr().err
    )


PARTITIONS = """
import dagster as dg

static = dg.StaticPartitionsDefinition(["eu", "us"])
weekly = dg.WeeklyPartitionsDefinition(start_date="2015-01-01")


@dg.asset(partitions_def=static)
def regional(context: dg.AssetExecutionContext) -> str:
    return context.partition_key


@dg.asset(partitions_def=weekly)
def weekly_total() -> int:
    return 7


defs = dg.Definitions(assets=[regional, weekly_total])
"""


@pytest.mark.parametrize(
    ("select", "extra", "message"),
    [
        ("key:regional", (), "launches one run per partition"),
        ("*", (), "different partitions definitions"),
    ],
)
def test_partition_refusals(
    fixture_dir: Path,
    capsys: pytest.CaptureFixture[str],
    select: str,
    extra: tuple[str, ...],
    message: str,
) -> None:
    path = fixture_dir / f"loc_{uuid.uuid4().hex}.py"
    path.write_text(PARTITIONS)
    args = ["asset", "materialize", "-f", str(path), "--select", select]
    assert main([*args, "--scheduled-time", TICK, "--storage", "storage", *extra]) == 2
    assert message in one_error_line(capsys.readouterr().err)


def test_static_partitions_with_an_explicit_key(fixture_dir: Path) -> None:
    path = fixture_dir / f"loc_{uuid.uuid4().hex}.py"
    path.write_text(PARTITIONS)
    args = ["asset", "materialize", "-f", str(path), "--select", "key:regional"]
    args += ["--scheduled-time", TICK, "--storage", "storage", "--partition-key", "eu"]
    assert main(args) == 0
    assert stored("regional", "eu") == "eu"


# ---------------------------------------------------------------- values
def dagster_values(
    select: str, partition: str | None, run_config: dict[str, Any]
) -> dict[str, Any]:
    """What Dagster's own ``materialize()`` computes for ``select``."""
    from tests.unit.dagster_code.definitions import Recorder

    directory = Path("dagster-own")
    directory.mkdir(exist_ok=True)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            defs().assets,
            selection=select,
            partition_key=partition,
            run_config=run_config,
            resources={"recorder": Recorder(directory=str(directory))},
            instance=instance,
        )
        assert result.success
        return {
            k.to_user_string(): result.output_for_node(k.to_python_identifier())
            for k in dg.AssetSelection.from_string(select).resolve(defs().resolve_asset_graph())
        }


@pytest.mark.parametrize(
    ("select", "partition"),
    [("group:raw or group:derived", None), ("group:daily", "2015-06-01")],
)
def test_values_match_dagsters_materialize(
    fixture_dir: Path, select: str, partition: str | None
) -> None:
    Path("run_config.yaml").write_text(RUN_CONFIG)
    assert materialize("-c", "run_config.yaml", select=select) == 0
    # The template names an asset outside group:daily: ignored, as for native runs.
    rendered = {"ops": {"greeting": {"config": {"greeting": "hi 2015-06-02", "repeat": 2}}}}
    run_config = rendered if "derived" in select else {}
    expected = dagster_values(select, partition, run_config)
    ours = {key: stored(key, partition if "daily" in key else None) for key in expected}
    assert ours == expected
    assert summary(fixture_dir)["counts"]["materialized"] == len(expected)
    if "derived" in select:
        assert ours["greeting"] == "hi 2015-06-02 asset cron hi 2015-06-02 asset cron"


def test_bad_run_config_is_exit_2_and_stores_nothing(
    fixture_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("run_config.yaml").write_text("ops:\n  greeting:\n    config:\n      nope: 1\n")
    assert materialize("-c", "run_config.yaml") == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("error: run config: ")
    assert "nope" in line
    assert not calls(fixture_dir)
    assert not Path("storage").exists()


# ---------------------------------------------------------------- failure and resume
def test_failure_skips_downstream_and_a_retry_resumes_from_failure(
    fixture_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (fixture_dir / "fail").write_text("flaky")
    assert materialize() == 1
    first = summary(fixture_dir)
    outcomes = {a["key"]: a for a in first["assets"]}
    assert first["result"] == "Failed"
    assert first["counts"] == {"materialized": 7, "reused": 0, "failed": 1, "skipped": 1}
    assert outcomes["flaky"]["error"] == "RuntimeError: flaky was told to fail"
    assert outcomes["after_flaky"]["outcome"] == "Skipped"
    out = capsys.readouterr().out
    assert "[9/9] after_flaky ... skipped (upstream 'flaky' did not materialize)" in out

    # The retried pod: same Job name, so the same run id; the failure is gone.
    (fixture_dir / "fail").unlink()
    assert materialize() == 0
    second = summary(fixture_dir)
    assert second["runId"] == first["runId"]
    assert second["counts"] == {"materialized": 2, "reused": 7, "failed": 0, "skipped": 0}
    computed = calls(fixture_dir)
    assert computed.pop("flaky") == 2  # failed once, then succeeded
    assert set(computed.values()) == {1}, computed  # nothing that succeeded ran again
    assert stored("after_flaky", None) == 101
    assert not list(Path("storage/dagster/runs").iterdir())  # nothing left to resume

    # --force starts afresh.
    assert materialize("--force") == 0
    assert summary(fixture_dir)["counts"]["materialized"] == 9


def test_resume_from_an_object_store(fixture_dir: Path) -> None:
    """On an object store the run's Dagster instance is copied back between attempts."""
    from assetcron._dagster import DagsterCodeLocation
    from assetcron._locks import PartitionLocks

    storage = ObjectStorage.in_memory()
    plan = DagsterCodeLocation.wrap(defs(), "fixture").plan(
        "group:raw or key:totals or group:fragile"
    )
    tick = datetime(2015, 6, 2, 6, tzinfo=UTC)

    def attempt() -> list[str]:
        result = plan.execute(
            run_id="run-1",
            scheduled=tick,
            partition_key=None,
            run_config=plan.run_config({}),
            storage=storage,
            locks=PartitionLocks(storage, run_id="run-1"),
        )
        return [f"{o.key}={o.outcome}" for o in result.outcomes]

    (fixture_dir / "fail").write_text("after_flaky")
    assert "after_flaky=Failed" in attempt()
    assert any(p.endswith(".db") for p in storage.list_paths("dagster/runs/run-1/"))
    (fixture_dir / "fail").unlink()
    assert attempt() == [
        "numbers=Reused", "words=Reused", "totals=Reused", "flaky=Reused",
        "after_flaky=Materialized",
    ]  # fmt: skip
    assert calls(fixture_dir)["after_flaky"] == 2
    assert calls(fixture_dir)["flaky"] == 1
    assert storage.read(AssetKey(("after_flaky",)), None) == 101
    assert not list(storage.list_paths("dagster/runs/"))
