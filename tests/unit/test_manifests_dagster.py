"""A Dagster code location's jobs and schedules → AssetJob/AssetSchedule manifests, its
schedules evaluated at run time by Dagster's own ``evaluate_tick``, and previewed (issue
12, parts 1, 3 and 4, for ``dagster.Definitions``). Differential where Dagster decides:
the written selection resolves to the keys of Dagster's job, and a tick's partition and
run config are those of Dagster's own schedule evaluation."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import yaml

from assetcron_operator import validation
from assetcron_operator.manifests import manifests_for
from assetcron_operator.preview import preview_ticks

ASSETCRON = str(Path(sys.executable).parent / "assetcron")

CODE = textwrap.dedent(
    """
    import dagster as dg


    class DayConfig(dg.Config):
        day: str = "none"


    @dg.asset(group_name="sales")
    def orders(config: DayConfig) -> dict:
        return {"day": config.day}


    @dg.asset(group_name="sales")
    def revenue(orders: dict) -> str:
        return "revenue for " + orders["day"]


    daily_parts = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="Europe/Paris")


    @dg.asset(partitions_def=daily_parts, group_name="events")
    def clicks(context: dg.AssetExecutionContext) -> str:
        return "clicks of " + context.partition_key


    @dg.op
    def say_hello() -> None:
        pass


    @dg.job
    def hello_job() -> None:
        say_hello()


    sales_job = dg.define_asset_job(
        "sales_job", selection=dg.AssetSelection.groups("sales"), tags={"team": "bi"}
    )
    clicks_job = dg.define_asset_job("clicks_job", selection=[clicks])

    hourly = dg.ScheduleDefinition(
        name="hourly_sales", cron_schedule="0 * * * *", job=sales_job,
        run_config={"ops": {"orders": {"config": {"day": "static"}}}},
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


    @dg.schedule(cron_schedule="0 6 * * *", job=sales_job, execution_timezone="Europe/Paris")
    def daily_sales(context: dg.ScheduleEvaluationContext):
        day = context.scheduled_execution_time.date()
        if day.weekday() == 6:
            return dg.SkipReason("no sales on Sundays")
        return dg.RunRequest(run_config={"ops": {"orders": {"config": {"day": day.isoformat()}}}})


    @dg.schedule(cron_schedule="0 7 * * *", job=sales_job)
    def twice(context: dg.ScheduleEvaluationContext):
        yield dg.RunRequest(run_key="a")
        yield dg.RunRequest(run_key="b")


    clicks_schedule = dg.build_schedule_from_partitioned_job(clicks_job, hour_of_day=2)
    hello_schedule = dg.ScheduleDefinition(job=hello_job, cron_schedule="* * * * *")

    defs = dg.Definitions(
        assets=[orders, revenue, clicks],
        jobs=[sales_job, clicks_job, hello_job],
        schedules=[hourly, daily_sales, twice, clicks_schedule, hello_schedule],
    )
    """
)


@pytest.fixture
def location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "shop_dagster.py").write_text(CODE)
    monkeypatch.syspath_prepend(str(tmp_path))
    from assetcron._loader import load_code_location

    loaded, _ = load_code_location(module_name="shop_dagster")
    return loaded


def _docs(location: Any, left_out: list[str] | None = None) -> dict[tuple[str, str], Any]:
    docs = manifests_for(
        location, module="shop_dagster", attribute="defs", image="img:1", namespace="bi",
        storage="s3://bucket/shop", env_from_secret="s3", left_out=left_out,
    )  # fmt: skip
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def test_dagster_jobs_and_schedules_become_valid_custom_resources(location: Any) -> None:
    left_out: list[str] = []
    docs = _docs(location, left_out)
    assert sorted(docs) == [
        ("AssetJob", "clicks-job"),
        ("AssetJob", "sales-job"),
        ("AssetSchedule", "clicks-job-schedule"),
        ("AssetSchedule", "daily-sales"),
        ("AssetSchedule", "hourly-sales"),
        ("AssetSchedule", "twice"),
    ]
    # The op job and its schedule are not written, and stderr's lines say why.
    assert len(left_out) == 2
    assert "job hello_job: an op job" in left_out[0]
    assert "hello_job" in left_out[1]
    sales = docs[("AssetJob", "sales-job")]["spec"]
    assert sales["tags"] == {"team": "bi"}
    assert sales["template"] == {
        "env": [{"name": "ASSETCRON_STORAGE", "value": "s3://bucket/shop"}],
        "envFrom": [{"secretRef": {"name": "s3"}}],
    }
    # Differential: each written selection resolves, with Dagster's selection, to the
    # keys of Dagster's own job.
    defs = location.defs
    for name in ("sales_job", "clicks_job"):
        spec = docs[("AssetJob", name.replace("_", "-"))]["spec"]
        written = location.plan(spec["selection"]).keys
        dagster_job = defs.resolve_job_def(name)
        assert set(written) == set(dagster_job.asset_layer.executable_asset_keys)
    hourly = docs[("AssetSchedule", "hourly-sales")]["spec"]
    assert hourly["suspend"] is False  # RUNNING
    # Every Dagster schedule is evaluated per tick by Dagster: static run config too.
    assert hourly["scheduleDefinition"] == "hourly_sales"
    daily = docs[("AssetSchedule", "daily-sales")]["spec"]
    assert daily["timeZone"] == "Europe/Paris"
    assert daily["suspend"] is True  # Dagster's default STOPPED
    clicks = docs[("AssetSchedule", "clicks-job-schedule")]["spec"]
    assert clicks["cronSchedule"] == "0 2 * * *"
    assert clicks["timeZone"] == "Europe/Paris"  # the partitions' zone, as Dagster builds it
    for (kind, _), doc in docs.items():
        if kind == "AssetJob":
            validation.validate_asset_job(validation.parse_asset_job(doc).spec)
    for (kind, _), doc in docs.items():
        if kind == "AssetSchedule":
            job = docs[("AssetJob", doc["spec"]["jobRef"]["name"])]
            validation.validate_asset_schedule(
                validation.parse_asset_schedule(doc).spec, validation.parse_asset_job(job).spec
            )


# Dagster's partitioned schedule calls its own deprecated run_request_for_partition.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_tick_is_what_dagsters_own_evaluation_asks_for(location: Any) -> None:
    defs = location.defs
    for name, when in [
        ("daily_sales", datetime(2026, 3, 2, 5, tzinfo=UTC)),
        ("hourly_sales", datetime(2026, 3, 2, 5, tzinfo=UTC)),
        ("clicks_job_schedule", datetime(2026, 3, 29, 0, tzinfo=UTC)),  # DST day in Paris
    ]:
        ours = location.evaluate_schedule(name, when)
        schedule = defs.resolve_schedule_def(name)
        tz = schedule.execution_timezone or "UTC"
        context = dg.build_schedule_context(
            scheduled_execution_time=when.astimezone(ZoneInfo(tz)),
            repository_def=defs.get_repository_def(),
        )
        (theirs,) = schedule.evaluate_tick(context).run_requests
        assert ours.run_config == dict(theirs.run_config), name
        assert ours.partition_key == theirs.partition_key, name
    dst_day = location.evaluate_schedule("clicks_job_schedule", datetime(2026, 3, 29, tzinfo=UTC))
    assert dst_day.partition_key == "2026-03-28"
    skipped = location.evaluate_schedule("daily_sales", datetime(2026, 3, 1, 5, tzinfo=UTC))
    assert skipped == "no sales on Sundays"


def test_several_run_requests_and_unknown_schedules_are_refused_with_reasons(
    location: Any,
) -> None:
    from assetcron._dagster import DagsterLocationError

    with pytest.raises(DagsterLocationError, match="asked for 2 runs in one tick"):
        location.evaluate_schedule("twice", datetime(2026, 3, 2, 7, tzinfo=UTC))
    with pytest.raises(DagsterLocationError, match="did you mean 'daily_sales'"):
        location.evaluate_schedule("daily_sale", datetime(2026, 3, 2, 7, tzinfo=UTC))


def _materialize(tmp_path: Path, schedule: str, select: str, when: str) -> Any:
    (tmp_path / "shop_dagster.py").write_text(CODE)
    log = tmp_path / "termination.log"
    env = {"PATH": "/usr/bin:/bin", "ASSETCRON_TERMINATION_LOG": str(log),
           "ASSETCRON_SCHEDULE_DEFINITION": schedule}  # fmt: skip
    proc = subprocess.run(
        [ASSETCRON, "asset", "materialize", "-m", "shop_dagster", "--select", select,
         "--scheduled-time", when, "--storage", str(tmp_path / "store")],
        capture_output=True, text=True, check=False, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, json.loads(log.read_text())


def _stored(tmp_path: Path, key: str, partition: str | None) -> Any:
    from assetcron import AssetKey, ObjectStorage

    return ObjectStorage.local(tmp_path / "store").read(AssetKey(key), partition)


def test_the_run_pod_evaluates_a_dagster_function_schedule_for_its_tick(tmp_path: Path) -> None:
    _, summary = _materialize(tmp_path, "daily_sales", 'group:"sales"', "2026-03-02T06:00:00+01:00")
    assert summary["result"] == "Succeeded"
    assert _stored(tmp_path, "revenue", None) == "revenue for 2026-03-02"


def test_a_dagster_skip_reason_skips_the_tick_and_says_why(tmp_path: Path) -> None:
    proc, summary = _materialize(
        tmp_path, "daily_sales", 'group:"sales"', "2026-03-01T06:00:00+01:00"
    )
    assert "skipped by schedule daily_sales: no sales on Sundays" in proc.stdout
    assert summary["result"] == "Skipped"
    assert not (tmp_path / "store" / "assets").exists()


def test_a_partitioned_job_schedule_materializes_dagsters_partition(tmp_path: Path) -> None:
    # 2026-03-29 02:00 Europe/Paris does not exist (spring forward): Dagster's schedule
    # still asks for the day before, and so does the run.
    _, summary = _materialize(
        tmp_path, "clicks_job_schedule", 'key:"clicks"', "2026-03-30T02:00:00+02:00"
    )
    assert summary["result"] == "Succeeded"
    assert _stored(tmp_path, "clicks", "2026-03-29") == "clicks of 2026-03-29"


def test_manifests_cli_and_preview_of_a_dagster_code_location(
    tmp_path: Path, location: Any
) -> None:
    (tmp_path / "shop_dagster.py").write_text(CODE)
    proc = subprocess.run(
        [ASSETCRON, "manifests", "-m", "shop_dagster", "--image", "img:1"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("left out: ") == 2
    docs = list(yaml.safe_load_all(proc.stdout))
    job = next(d for d in docs if d["metadata"]["name"] == "sales-job")
    daily = next(d for d in docs if d["metadata"]["name"] == "daily-sales")
    after = datetime(2026, 2, 28, 12, tzinfo=UTC)  # a Saturday
    ticks = preview_ticks(daily, job, count=2, after=after, definitions=location)
    assert ticks[0]["skipped"] == "no sales on Sundays"
    assert ticks[1]["runConfig"] == {"ops": {"orders": {"config": {"day": "2026-03-02"}}}}
    assert "error" not in ticks[1]
