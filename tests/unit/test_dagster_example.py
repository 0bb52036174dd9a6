"""examples/dagster_project: a Dagster project that Dagster runs, and assetcron runs unchanged.

First Dagster's own view of the project (its layout, ``materialize()``, its jobs and
schedules), then the differential: ``assetcron asset list`` resolves Dagster's own
selections, and ``assetcron asset materialize`` stores the values Dagster's
``materialize()`` computes. The last test runs the command and environment the operator
renders from the example's manifests, at a tick, and compares with what Dagster's own
``@schedule`` asks for at that tick: the manifests are a faithful translation.

The runner runs as a subprocess of the venv's ``assetcron`` with this checkout's sources
and the project's directory on ``PYTHONPATH``, as the image installs it.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
import warnings
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

dg = pytest.importorskip("dagster")

from assetcron import AssetKey, ObjectStorage  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "dagster_project"
MANIFESTS = PROJECT / "manifests"
ASSETCRON = Path(sys.executable).with_name("assetcron")
#: A tick of the daily schedule; it materializes the day before.
TICK = datetime(2024, 6, 4, 6, 0, tzinfo=UTC)
DAY = "2024-06-03"
HACKERNEWS = ["topstory_ids", "topstories", "most_frequent_words"]
SIGNUPS = ["signups", "signup_summary"]


@pytest.fixture(autouse=True)
def _project_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The project importable as ``dagster_project`` (as ``pip install -e .`` makes it);
    Dagster's own beta warnings (its selection parser warns about itself) not errors."""
    monkeypatch.setattr(sys, "path", [str(PROJECT), *sys.path])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        yield


def defs() -> Any:
    from dagster_project.definitions import defs

    return defs


def snapshot() -> dict[str, Any]:
    from dagster_project.resources import _load_snapshot

    return _load_snapshot("")


def dagster_materialize(
    select: str, partition: str | None = None, run_config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Values of Dagster's own ``materialize()`` of ``select``, by asset key."""
    d = defs()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            d.assets,
            selection=select,
            partition_key=partition,
            run_config=run_config or {},
            resources=d.resources,
            instance=instance,
        )
        assert result.success
        keys = dg.AssetSelection.from_string(select).resolve(d.resolve_asset_graph())
        return {k.to_user_string(): result.output_for_node(k.to_python_identifier()) for k in keys}


def assetcron(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run the venv's ``assetcron`` with this checkout and the project on the path."""
    path = [PROJECT, ROOT / "runner", ROOT / "operator", ROOT / "dev"]
    full_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "PYTHONPATH": os.pathsep.join(map(str, path)),
        **(env or {}),
    }
    proc = subprocess.run(
        [str(ASSETCRON), *args], cwd=cwd, env=full_env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def stored(storage: Path, key: str, partition: str | None) -> Any:
    return ObjectStorage.local(str(storage)).read(AssetKey((key,)), partition)


# ---------------------------------------------------------------- Dagster's own view
def test_the_project_is_in_dagsters_layout_and_imports_only_dagster() -> None:
    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    assert pyproject["tool"]["dagster"]["module_name"] == "dagster_project.definitions"
    assert pyproject["project"]["dependencies"] == ["dagster>=1.8"]
    package = PROJECT / "dagster_project"
    assert (package / "__init__.py").is_file()
    assert (package / "data" / "hackernews.json").is_file()
    stdlib = set(sys.stdlib_module_names)
    for source in package.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = {(node.module or "").split(".")[0]}
            else:
                continue
            assert tops <= stdlib | {"dagster"}, f"{source.name} imports {tops}"
    assert isinstance(defs(), dg.Definitions)


def test_dagster_loads_the_jobs_and_schedules() -> None:
    d = defs()
    graph = d.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == {*HACKERNEWS, *SIGNUPS}
    repo = d.get_repository_def()
    hourly = repo.get_schedule_def("hackernews_schedule")
    assert hourly.cron_schedule == "0 * * * *"
    assert hourly.job_name == "hackernews_job"
    job_keys = {
        k.to_user_string() for k in repo.get_job("hackernews_job").asset_layer.executable_asset_keys
    }
    assert job_keys == set(HACKERNEWS)
    daily = repo.get_schedule_def("signups_daily_schedule")
    assert (daily.cron_schedule, daily.execution_timezone) == ("0 6 * * *", "UTC")
    assert isinstance(repo.get_job("signups_job").partitions_def, dg.DailyPartitionsDefinition)


def schedule_request(tick: datetime) -> Any:
    """The RunRequest Dagster's own ``signups_daily_schedule`` makes at ``tick``."""
    repo = defs().get_repository_def()
    with dg.build_schedule_context(scheduled_execution_time=tick, repository_def=repo) as ctx:
        (request,) = repo.get_schedule_def("signups_daily_schedule").evaluate_tick(ctx).run_requests
    return request


def test_the_python_schedule_asks_for_the_day_before_with_a_dated_title() -> None:
    request = schedule_request(TICK)
    assert request.partition_key == DAY
    assert request.run_key == DAY
    assert request.run_config == {
        "ops": {"signup_summary": {"config": {"title": f"Signups on {DAY}"}}}
    }


def test_dagster_materializes_the_hackernews_assets_from_the_bundled_sample() -> None:
    values = dagster_materialize("group:hackernews")
    sample = snapshot()
    assert values["topstory_ids"] == sample["topstories"]
    assert [s["id"] for s in values["topstories"]] == sample["topstories"]
    assert [s["title"] for s in values["topstories"]] == [
        sample["items"][str(i)]["title"] for i in sample["topstories"]
    ]
    words = values["most_frequent_words"]
    assert len(words) == 25
    assert next(iter(words)) == "data"  # the sample's most frequent title word
    assert not {"a", "the", "of", "to", "and"} & set(words)  # stopwords
    assert list(words.values()) == sorted(words.values(), reverse=True)


def test_dagster_materializes_a_deterministic_signups_partition() -> None:
    config = {"ops": {"signup_summary": {"config": {"title": "t", "top_countries": 2}}}}
    first = dagster_materialize("group:signups", DAY, config)
    assert first == dagster_materialize("group:signups", DAY, config)
    rows, summary = first["signups"], first["signup_summary"]
    assert rows
    assert all(r["registered_at"].startswith(DAY) for r in rows)
    assert summary["day"] == DAY
    assert summary["title"] == "t"
    assert summary["signups"] == len(rows) == sum(summary["by_plan"].values())
    assert len(summary["top_countries"]) == 2
    other = dagster_materialize("group:signups", "2024-06-02")
    assert other["signups"] != rows


# ---------------------------------------------------------------- assetcron runs it
@pytest.mark.parametrize("select", ["*", "group:hackernews", "group:signups", "key:topstories+"])
def test_assetcron_list_resolves_dagsters_selection(tmp_path: Path, select: str) -> None:
    printed = assetcron(
        "asset", "list", "-m", "dagster_project.definitions", "--select", select, cwd=tmp_path
    )
    expected = dg.AssetSelection.from_string(select).resolve(defs().resolve_asset_graph())
    assert sorted(printed.split()) == sorted(k.to_user_string() for k in expected)


def test_assetcron_materialize_stores_dagsters_values(tmp_path: Path) -> None:
    out = assetcron(
        "asset", "materialize", "-m", "dagster_project.definitions",
        "--select", "group:hackernews", "--scheduled-time", TICK.isoformat(),
        "--storage", "storage", cwd=tmp_path,
    )  # fmt: skip
    assert "Succeeded: 3 materialized" in out
    expected = dagster_materialize("group:hackernews")
    assert {k: stored(tmp_path / "storage", k, None) for k in HACKERNEWS} == expected


def test_the_manifests_pod_stores_what_the_dagster_schedule_asks_for(tmp_path: Path) -> None:
    """The operator's CronJob for the example's manifests, its container run here at the
    tick: the values equal Dagster's ``materialize()`` of the RunRequest that the
    project's own ``@schedule`` returns at that tick."""
    from assetcron_operator import naming
    from assetcron_operator.render import merge_run_config, render_cronjob

    docs = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        docs[doc["kind"]] = doc
    schedule, job = docs["AssetSchedule"], docs["AssetJob"]
    schedule["metadata"] |= {"namespace": "ns", "uid": "u"}
    job["metadata"] |= {"namespace": "ns", "uid": "j"}
    cronjob = render_cronjob(schedule, job)
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"].endswith("assetcron-dagster-example:0.1.0")
    command = container["command"]
    assert command[0] == "assetcron"
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    # What the CronJob controller and the pod provide: the Job's name (the runner reads
    # the tick from it), the volume, the termination log.
    job_name = f"{naming.cronjob_name('signups-daily')}-{int(TICK.timestamp()) // 60}"
    env |= {
        "ASSETCRON_JOB_NAME": job_name,
        "ASSETCRON_STORAGE": str(tmp_path / "storage"),
        "ASSETCRON_TERMINATION_LOG": str(tmp_path / "termination.json"),
    }
    out = assetcron(*command[1:], cwd=tmp_path, env=env)
    assert f"partition {DAY} · 2 assets" in out

    request = schedule_request(TICK)
    # The job's static run config under the schedule's, as the operator merges them.
    run_config = merge_run_config(job["spec"]["runConfig"], request.run_config)
    expected = dagster_materialize("group:signups", request.partition_key, run_config)
    ours = {k: stored(tmp_path / "storage", k, request.partition_key) for k in SIGNUPS}
    assert ours == expected
    assert ours["signup_summary"]["title"] == f"Signups on {DAY}"


def test_the_projects_wheel_ships_the_package_and_its_sample(tmp_path: Path) -> None:
    """What ``pip install examples/dagster_project`` (the image's builder) installs: the
    package with its bundled data, and nothing else of the directory."""
    source = tmp_path / "src"
    shutil.copytree(PROJECT, source, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("dagster_project-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = {n for n in zf.namelist() if ".dist-info/" not in n}
    package = {f"dagster_project/{p.name}" for p in (PROJECT / "dagster_project").glob("*.py")}
    assert names == {*package, "dagster_project/data/hackernews.json"}


def test_the_sample_run_config_is_what_the_manifests_render_from() -> None:
    from assetcron_operator.render import merge_run_config

    docs = {d["kind"]: d for p in MANIFESTS.glob("*.yaml") for d in [yaml.safe_load(p.read_text())]}
    merged = merge_run_config(
        docs["AssetJob"]["spec"]["runConfig"], docs["AssetSchedule"]["spec"]["runConfig"]
    )
    assert yaml.safe_load((PROJECT / "run_config.yaml").read_text()) == merged


def test_the_manifests_pass_the_operators_checks() -> None:
    from assetcron_operator import validation

    docs = {d["kind"]: d for p in MANIFESTS.glob("*.yaml") for d in [yaml.safe_load(p.read_text())]}
    job = validation.parse_asset_job(docs["AssetJob"])
    schedule = validation.parse_asset_schedule(docs["AssetSchedule"])
    validation.validate_asset_job(job.spec)
    assert validation.validate_asset_schedule(schedule.spec, job.spec) == "0 6 * * *"
    assert schedule.spec.job_ref.name == job.metadata.name
    claim = docs["PersistentVolumeClaim"]["metadata"]["name"]
    volumes = job.spec.model_dump(by_alias=True)["template"]["volumes"]
    assert [v["persistentVolumeClaim"]["claimName"] for v in volumes] == [claim]
