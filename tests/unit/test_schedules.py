"""Jobs and schedules in Python: define_asset_job, ScheduleDefinition, @schedule,
RunRequest/SkipReason, build_schedule_context + evaluate_tick, Definitions(jobs, schedules)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from assetcron import (
    AssetcronError,
    AssetKey,
    AssetSelection,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    Definitions,
    HourlyPartitionsDefinition,
    InvalidDefinitionError,
    MonthlyPartitionsDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    StaticPartitionsDefinition,
    WeeklyPartitionsDefinition,
    asset,
    build_schedule_context,
    build_schedule_from_partitioned_job,
    define_asset_job,
    load_definitions,
    schedule,
)


@asset(group_name="weather")
def raw() -> int:
    return 1


@asset(group_name="weather")
def daily(raw: int) -> int:
    return raw + 1


@asset(key_prefix="reports", deps=[daily])
def summary(daily: int) -> int:
    return daily


@asset(key_prefix="reports", deps=[summary])
def mail() -> None:
    return None


ASSETS = [raw, daily, summary, mail]
PARIS = ZoneInfo("Europe/Paris")


def tick(year: int, month: int, day: int, hour: int = 6) -> ScheduleEvaluationContext:
    return build_schedule_context(
        scheduled_execution_time=datetime(year, month, day, hour, tzinfo=PARIS)
    )


# ---------------------------------------------------------------------------- jobs
def test_job_selection_string_uses_the_whole_selection_syntax() -> None:
    job = define_asset_job("weather_job", selection="group:weather or key:reports/*")
    defs = Definitions(assets=ASSETS, jobs=[job])
    assert defs.get_job_def("weather_job") is job
    assert [k.to_user_string() for k in defs.get_job_plan("weather_job")] == [
        "raw",
        "daily",
        "reports/summary",
        "reports/mail",
    ]
    assert job.selection_string == 'group:"weather" or key:"reports/*"'


def test_job_selection_from_keys_and_definitions_and_default_all() -> None:
    by_keys = define_asset_job("by_keys", selection=["reports/summary", daily])
    everything = define_asset_job("everything")
    defs = Definitions(assets=ASSETS, jobs=[by_keys, everything])
    assert defs.get_job_plan("by_keys") == [AssetKey("daily"), AssetKey(["reports", "summary"])]
    assert len(defs.get_job_plan("everything")) == 4
    assert by_keys.selection == AssetSelection.assets("reports/summary", "daily")


def test_job_with_unknown_key_fails_when_definitions_are_built_with_a_hint() -> None:
    job = define_asset_job("j", selection="key:dialy")
    with pytest.raises(InvalidDefinitionError, match=r"job 'j': unknown asset key 'dialy'.*daily"):
        Definitions(assets=ASSETS, jobs=[job])


def test_job_selection_syntax_error_is_reported_at_definition() -> None:
    with pytest.raises(InvalidDefinitionError, match=r"job 'j': selection syntax error"):
        define_asset_job("j", selection="group:")


def test_job_config_and_tags_are_checked() -> None:
    job = define_asset_job(
        "j", selection="raw", config={"ops": {"raw": {"config": {}}}}, tags={"team": "data"}
    )
    assert job.config == {"ops": {"raw": {"config": {}}}}
    assert job.tags == {"team": "data"}
    with pytest.raises(InvalidDefinitionError, match="unexpected top-level key 'opz'"):
        define_asset_job("j", config={"opz": {}})
    with pytest.raises(InvalidDefinitionError, match="tag 'n' must map a string to a string"):
        define_asset_job("j", tags={"n": 1})  # type: ignore[dict-item]
    with pytest.raises(InvalidDefinitionError, match=r"name 'bad-name' is not valid"):
        define_asset_job("bad-name")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"executor_def": object()}, "each run is one Kubernetes pod"),
        ({"op_retry_policy": object()}, "set retry_policy=RetryPolicy"),
        ({"automation_condition": object()}, "use a ScheduleDefinition"),
        ({"hooks": {object()}}, "hooks are not supported"),
        ({"config": 3}, "run config must be a mapping"),
    ],
)
def test_job_refuses_what_does_not_fit_with_why(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidDefinitionError, match=fragment):
        define_asset_job("j", **kwargs)


def test_job_mixing_partitions_definitions_is_refused() -> None:
    p1 = DailyPartitionsDefinition("2024-01-01")
    p2 = DailyPartitionsDefinition("2024-01-01", timezone="Europe/Paris")

    @asset(partitions_def=p1)
    def a() -> int:
        return 1

    @asset(partitions_def=p2)
    def b() -> int:
        return 1

    with pytest.raises(InvalidDefinitionError, match="different partitions definitions"):
        Definitions(assets=[a, b], jobs=[define_asset_job("j")])
    job = define_asset_job("j", selection="a", partitions_def=p2)
    with pytest.raises(InvalidDefinitionError, match="different partitions definitions"):
        Definitions(assets=[a, b], jobs=[job])
    Definitions(assets=[a, b], jobs=[define_asset_job("j", selection="a", partitions_def=p1)])


# ------------------------------------------------------------------ static schedules
def test_static_schedule_gives_one_request_with_its_run_config_and_tags() -> None:
    job = define_asset_job("weather_job", selection="group:weather")
    sched = ScheduleDefinition(
        job=job,
        cron_schedule="0 6 * * *",
        execution_timezone="Europe/Paris",
        run_config={"ops": {"raw": {"config": {}}}},
        tags={"kind": "daily"},
        default_status=DefaultScheduleStatus.RUNNING,
    )
    assert sched.name == "weather_job_schedule"
    assert sched.job_name == "weather_job"
    assert sched.execution_timezone == "Europe/Paris"
    assert sched.default_status is DefaultScheduleStatus.RUNNING
    assert sched.is_static
    data = sched.evaluate_tick(tick(2024, 5, 1))
    assert data.skip_message is None
    assert data.run_requests == [
        RunRequest(run_config={"ops": {"raw": {"config": {}}}}, tags={"kind": "daily"})
    ]


def test_schedule_defaults_to_utc_and_stopped() -> None:
    sched = ScheduleDefinition(name="s", cron_schedule="@daily", job_name="j")
    assert sched.execution_timezone == "UTC"
    assert sched.default_status is DefaultScheduleStatus.STOPPED
    assert sched.default_status.value == "STOPPED"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"cron_schedule": "0 6 * *"}, r"invalid cron_schedule '0 6 \* \*': expected exactly 5"),
        ({"cron_schedule": "61 * * * *"}, "above maximum"),
        ({"cron_schedule": "@every 1h"}, "@every is not supported"),
        ({"cron_schedule": ["0 6 * * *", "0 18 * * *"]}, "one ScheduleDefinition per cron"),
        (
            {"cron_schedule": "0 6 * * *", "execution_timezone": "Europe/Pariss"},
            "unknown execution_timezone 'Europe/Pariss'",
        ),
        ({"cron_schedule": "0 6 * * *", "environment_vars": {"A": "1"}}, "AssetJob's template"),
        ({"cron_schedule": "0 6 * * *", "default_status": "PAUSED"}, "default_status must be"),
        ({}, "cron_schedule is required"),
    ],
)
def test_schedule_definition_errors_name_the_problem(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidDefinitionError, match=rf"schedule 's': .*{fragment}"):
        ScheduleDefinition(name="s", job_name="j", **kwargs)


def test_schedule_needs_exactly_one_target() -> None:
    job = define_asset_job("j")
    with pytest.raises(InvalidDefinitionError, match="exactly one of job, job_name and target"):
        ScheduleDefinition(name="s", cron_schedule="@daily")
    with pytest.raises(InvalidDefinitionError, match="exactly one of job, job_name and target"):
        ScheduleDefinition(name="s", cron_schedule="@daily", job=job, job_name="j")


def test_schedule_target_makes_an_anonymous_job() -> None:
    sched = ScheduleDefinition(
        name="s", cron_schedule="@hourly", target=AssetSelection.groups("weather")
    )
    assert sched.job_name == "__anonymous_asset_job_s"
    defs = Definitions(assets=ASSETS, schedules=[sched])
    assert defs.get_job_plan("__anonymous_asset_job_s") == [AssetKey("raw"), AssetKey("daily")]


def test_run_config_fn_and_should_execute() -> None:
    sched = ScheduleDefinition(
        name="s",
        cron_schedule="0 6 * * *",
        job_name="j",
        run_config_fn=lambda ctx: {
            "ops": {"raw": {"config": {"day": f"{ctx.scheduled_execution_time:%Y-%m-%d}"}}}
        },
        should_execute=lambda ctx: ctx.scheduled_execution_time.weekday() < 5,
    )
    assert not sched.is_static
    wednesday = sched.evaluate_tick(tick(2024, 5, 1))
    assert wednesday.run_requests[0].run_config == {
        "ops": {"raw": {"config": {"day": "2024-05-01"}}}
    }
    saturday = sched.evaluate_tick(tick(2024, 5, 4))
    assert saturday.run_requests == []
    assert saturday.skip_message == "should_execute function for s returned false."


# --------------------------------------------------------------- function schedules
JOB = define_asset_job("weather_job", selection="group:weather")


@schedule("0 6 * * *", job=JOB, execution_timezone="Europe/Paris", tags={"src": "py"})
def weekday_weather(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    when = context.scheduled_execution_time
    assert when is not None
    if when.weekday() >= 5:
        return SkipReason(f"{when:%A}: no weather on weekends")
    day = when.strftime("%Y-%m-%d")
    return RunRequest(
        run_key=day,
        run_config={"ops": {"raw": {"config": {"day": day}}}},
        tags={"day": day},
    )


def test_schedule_function_gives_that_dates_run_request() -> None:
    assert weekday_weather.name == "weekday_weather"
    assert weekday_weather.job is JOB
    data = weekday_weather.evaluate_tick(tick(2024, 5, 1))
    assert data.skip_message is None
    assert data.run_requests == [
        RunRequest(
            run_key="2024-05-01",
            run_config={"ops": {"raw": {"config": {"day": "2024-05-01"}}}},
            tags={"day": "2024-05-01"},  # a RunRequest keeps its own tags (as in Dagster)
        )
    ]


def test_schedule_function_skip_reason() -> None:
    data = weekday_weather.evaluate_tick(tick(2024, 5, 4))
    assert data.run_requests == []
    assert data.skip_message == "Saturday: no weather on weekends"


def test_schedule_function_direct_invocation() -> None:
    result = weekday_weather(tick(2024, 5, 4))
    assert isinstance(result, SkipReason)


def test_schedule_function_returning_run_config_gets_the_schedules_tags() -> None:
    @schedule("0 6 * * *", job_name="weather_job", tags={"src": "py"})
    def as_dict(context: ScheduleEvaluationContext) -> dict[str, Any]:
        return {"ops": {"raw": {"config": {"h": context.scheduled_execution_time.hour}}}}  # type: ignore[union-attr]

    data = as_dict.evaluate_tick(
        build_schedule_context(scheduled_execution_time=datetime(2024, 1, 1, 6, tzinfo=UTC))
    )
    assert data.run_requests == [
        RunRequest(run_config={"ops": {"raw": {"config": {"h": 6}}}}, tags={"src": "py"})
    ]


def test_schedule_function_list_generator_none_and_no_context() -> None:
    @schedule("@daily", job_name="j")
    def several() -> list[RunRequest]:
        return [RunRequest(run_key="a"), RunRequest(run_key="b", partition_key="2024-01-01")]

    @schedule("@daily", job_name="j")
    def generated(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
        yield RunRequest(run_key="x")

    @schedule("@daily", job_name="j")
    def nothing(context: ScheduleEvaluationContext) -> None:
        return None

    ctx = build_schedule_context()
    assert [r.run_key for r in several.evaluate_tick(ctx).run_requests] == ["a", "b"]
    assert several.evaluate_tick(ctx).run_requests[1].partition_key == "2024-01-01"
    assert [r.run_key for r in generated.evaluate_tick(ctx).run_requests] == ["x"]
    assert nothing.evaluate_tick(ctx).skip_message == "Schedule function returned an empty result"


def test_schedule_function_bad_result_is_named() -> None:
    @schedule("@daily", job_name="j")
    def wrong(context: ScheduleEvaluationContext) -> int:
        return 3

    @schedule("@daily", job_name="j")
    def other_job(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(job_name="k")

    with pytest.raises(InvalidDefinitionError, match=r"schedule 'wrong': .*returned a int"):
        wrong.evaluate_tick(build_schedule_context())
    with pytest.raises(InvalidDefinitionError, match="names job 'k', but the schedule runs 'j'"):
        other_job.evaluate_tick(build_schedule_context())


def test_schedule_context_has_resources_and_refuses_the_instance() -> None:
    @schedule("@daily", job_name="j")
    def uses_resource(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(run_key=context.resources.calendar.key())

    class Calendar:
        def key(self) -> str:
            return "k"

    ctx = build_schedule_context(resources={"calendar": Calendar()})
    assert uses_resource.evaluate_tick(ctx).run_requests[0].run_key == "k"
    with pytest.raises(InvalidDefinitionError, match="no Dagster instance"):
        build_schedule_context(instance=object())
    with pytest.raises(InvalidDefinitionError, match="no Dagster instance"):
        _ = ctx.instance


def test_run_request_refuses_check_keys() -> None:
    with pytest.raises(InvalidDefinitionError, match="asset_check_keys is not supported"):
        RunRequest(asset_check_keys=[object()])
    assert RunRequest(asset_selection=["a/b"]).asset_selection == (AssetKey(["a", "b"]),)


# ------------------------------------------------------------------- Definitions
def test_definitions_add_a_schedules_job_and_look_up_by_name() -> None:
    defs = Definitions(assets=ASSETS, schedules=[weekday_weather])
    assert defs.get_job_def("weather_job") is JOB
    assert defs.get_schedule_def("weekday_weather") is weekday_weather
    with pytest.raises(
        InvalidDefinitionError,
        match=r"no schedule named 'weekday_wether'.*did you mean 'weekday_weather'",
    ):
        defs.get_schedule_def("weekday_wether")
    with pytest.raises(InvalidDefinitionError, match="no job named 'nope'"):
        defs.get_job_def("nope")


def test_definitions_check_schedule_jobs_and_unique_names() -> None:
    by_name = ScheduleDefinition(name="s", cron_schedule="@daily", job_name="weather_jbo")
    with pytest.raises(
        InvalidDefinitionError,
        match=r"runs job 'weather_jbo', which .* not define; did you mean 'weather_job'",
    ):
        Definitions(assets=ASSETS, jobs=[JOB], schedules=[by_name])
    ok = ScheduleDefinition(name="s", cron_schedule="@daily", job_name="weather_job")
    assert Definitions(assets=ASSETS, jobs=[JOB], schedules=[ok]).get_schedule_def("s") is ok
    with pytest.raises(InvalidDefinitionError, match="two schedules are named 's'"):
        Definitions(assets=ASSETS, jobs=[JOB], schedules=[ok, ok])
    with pytest.raises(InvalidDefinitionError, match="two jobs are named 'weather_job'"):
        Definitions(assets=ASSETS, jobs=[JOB, define_asset_job("weather_job")])
    twin = define_asset_job("weather_job", selection="raw")
    with pytest.raises(InvalidDefinitionError, match="not the job of that name"):
        Definitions(assets=ASSETS, jobs=[twin], schedules=[weekday_weather])


def test_definitions_check_schedule_resources() -> None:
    sched = ScheduleDefinition(
        name="s", cron_schedule="@daily", job=JOB, required_resource_keys={"cal"}
    )
    with pytest.raises(InvalidDefinitionError, match="schedule 's' requires resource 'cal'"):
        Definitions(assets=ASSETS, schedules=[sched])
    Definitions(assets=ASSETS, schedules=[sched], resources={"cal": object()})


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"sensors": [object()]}, "no long-running daemon"),
        ({"executor": object()}, "each run is one Kubernetes pod"),
        ({"loggers": {"x": object()}}, "pod's stderr"),
    ],
)
def test_definitions_refuse_sensors_executor_loggers(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidDefinitionError, match=fragment):
        Definitions(assets=ASSETS, **kwargs)


def test_schedule_functions_work_on_dagster_style_positional_definitions() -> None:
    # Dagster's positional order: assets, schedules, sensors, jobs, resources.
    defs = Definitions(ASSETS, [weekday_weather], None, [JOB], {"r": 1})
    assert defs.resources == {"r": 1}
    assert defs.get_schedule_def("weekday_weather").cron_schedule == "0 6 * * *"


# --------------------------------------------------------- partitioned schedules
DAILY = DailyPartitionsDefinition("2024-01-01", timezone="Europe/Paris")


def test_schedule_from_partitioned_job_asks_for_the_last_complete_day() -> None:
    job = define_asset_job("days", partitions_def=DAILY)
    sched = build_schedule_from_partitioned_job(job, hour_of_day=6, minute_of_hour=30)
    assert (sched.name, sched.cron_schedule, sched.execution_timezone) == (
        "days_schedule",
        "30 6 * * *",
        "Europe/Paris",
    )
    assert sched.is_static
    data = sched.evaluate_tick(tick(2024, 5, 1, 6))
    assert [r.partition_key for r in data.run_requests] == ["2024-04-30"]
    early = sched.evaluate_tick(tick(2024, 1, 1, 6))
    assert early.run_requests == []
    assert "no partition for this tick" in (early.skip_message or "")


def test_schedule_from_partitioned_job_refusals() -> None:
    with pytest.raises(InvalidDefinitionError, match="the job needs partitions"):
        build_schedule_from_partitioned_job(define_asset_job("plain"))
    with pytest.raises(InvalidDefinitionError, match="day_of_week or day_of_month with daily"):
        build_schedule_from_partitioned_job(
            define_asset_job("days", partitions_def=DAILY), day_of_week=1
        )
    with pytest.raises(InvalidDefinitionError, match="cannot provide cron_schedule"):
        build_schedule_from_partitioned_job(
            define_asset_job("days", partitions_def=DAILY), cron_schedule="0 1 * * *"
        )
    with pytest.raises(InvalidDefinitionError, match="requires a cron schedule"):
        build_schedule_from_partitioned_job(
            define_asset_job("regions", partitions_def=StaticPartitionsDefinition(["eu", "us"]))
        )


def test_schedule_from_partitioned_job_uses_the_partitions_cadence() -> None:
    weekly = WeeklyPartitionsDefinition("2024-01-07", day_offset=1, timezone="America/New_York")
    sched = build_schedule_from_partitioned_job(
        define_asset_job("weeks", partitions_def=weekly), hour_of_day=3
    )
    assert (sched.cron_schedule, sched.execution_timezone) == ("0 3 * * 1", "America/New_York")
    data = sched.evaluate_tick(tick(2024, 5, 6, 7))  # Monday 03:00 EDT
    assert [r.partition_key for r in data.run_requests] == ["2024-04-29"]
    monthly = MonthlyPartitionsDefinition("2024-01-01")
    msched = build_schedule_from_partitioned_job(
        define_asset_job("months", partitions_def=monthly), day_of_month=2
    )
    assert msched.cron_schedule == "0 0 2 * *"
    hourly = HourlyPartitionsDefinition("2024-01-01-00:00", minute_offset=15)
    assert (
        build_schedule_from_partitioned_job(define_asset_job("hours", partitions_def=hourly))
    ).cron_schedule == "15 * * * *"


def test_static_partitions_tick_leaves_the_key_to_the_schedule() -> None:
    static = StaticPartitionsDefinition(["eu", "us"])
    sched = build_schedule_from_partitioned_job(
        define_asset_job("regions", partitions_def=static), cron_schedule="0 6 * * *"
    )
    data = sched.evaluate_tick(tick(2024, 5, 1, 6))
    # No key from the tick: the AssetSchedule's partitionKey or --partition-key gives it.
    assert [r.partition_key for r in data.run_requests] == [None]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("sensor", "long-running daemon"),
        ("DynamicPartitionsDefinition", "static partitions with the identity"),
        ("AutomationCondition", "define_asset_job and a ScheduleDefinition"),
        ("IOManager", "ASSETCRON_STORAGE"),
        ("op", "write @asset or multi_asset"),
        ("DagsterInstance", "no Dagster instance"),
        ("SourceAsset", "external"),
    ],
)
def test_dagster_names_that_do_not_fit_are_refused_on_import(name: str, fragment: str) -> None:
    import assetcron

    with pytest.raises(ImportError, match=rf"does not offer Dagster's {name}: .*{fragment}"):
        exec(f"from assetcron import {name}", {})
    with pytest.raises(ImportError, match=fragment):
        getattr(assetcron, name)
    assert not hasattr(assetcron, "no_such_name")


def test_a_code_location_importing_a_refused_name_fails_to_load_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    location = tmp_path / f"loc_{uuid.uuid4().hex}.py"
    location.write_text("from assetcron import Definitions, sensor\ndefs = Definitions()\n")
    with pytest.raises(AssetcronError, match="does not offer Dagster's sensor") as caught:
        load_definitions(python_file=str(location))
    assert caught.value.exit_code == 2
