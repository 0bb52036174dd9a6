"""preview_ticks: the next ticks of a schedule with the run config each renders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from assetcron import DailyPartitionsDefinition, Definitions, asset
from assetcron_operator.preview import PreviewError, preview_ticks

AFTER = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)


def _schedule(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "weather-daily"},
        "spec": {
            "jobRef": {"name": "weather"},
            "cronSchedule": "0 6 * * *",
            "timeZone": "Europe/Paris",
            "runConfig": {
                "ops": {"obs": {"config": {"day": "{{ scheduled_time | days_ago(1) | ds }}"}}}
            },
            **spec,
        },
    }


JOB = {
    "metadata": {"name": "weather"},
    "spec": {
        "selection": "*",
        "codeLocation": {"image": "img", "module": "weather"},
        "runConfig": {"ops": {"obs": {"config": {"station": "KSEA"}}}},
    },
}


def test_ticks_render_the_merged_run_config_in_the_schedules_zone() -> None:
    ticks = preview_ticks(_schedule(), JOB, count=2, after=AFTER)
    assert [t["scheduledTime"] for t in ticks] == ["2026-03-29T04:00:00Z", "2026-03-30T04:00:00Z"]
    assert ticks[0]["scheduledTimeLocal"] == "2026-03-29T06:00:00+02:00"
    assert ticks[0]["runConfig"] == {
        "ops": {"obs": {"config": {"station": "KSEA", "day": "2026-03-28"}}}
    }
    assert ticks[0]["jobName"] == f"weather-daily-{1774756800 // 60}"
    assert ticks[0]["partitionKey"] is None
    assert "error" not in ticks[0]


def test_partition_key_template_and_data_interval() -> None:
    ticks = preview_ticks(
        _schedule(
            partitionKey="{{ scheduled_time | days_ago(1) | ds }}",
            runConfig={"ops": {"obs": {"config": {
                "since": "{{ data_interval_start | ds }}", "pk": "{{ partition_key }}"}}}},
        ),
        None, count=1, after=AFTER,
    )  # fmt: skip
    (tick,) = ticks
    assert tick["partitionKey"] == "2026-03-28"
    assert tick["runConfig"] == {
        "ops": {"obs": {"config": {"since": "2026-03-28", "pk": "2026-03-28"}}}
    }
    assert "AssetJob not found" in tick["note"]


def test_a_failing_template_is_reported_per_tick() -> None:
    ticks = preview_ticks(
        _schedule(runConfig={"x": "{{ partition_key | ds }}"}), JOB, count=1, after=AFTER
    )
    assert ticks[0]["runConfig"] is None
    assert "got None" in ticks[0]["error"]


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        (_schedule(cronSchedule="61 * * * *"), "InvalidSchedule"),
        (_schedule(timeZone="Mars/Olympus"), "InvalidTimeZone"),
        (_schedule(runConfig={"x": "{{ oops"}), "InvalidRunConfig"),
        (_schedule(runConfig={"x": "{{ no_such_variable }}"}), "no_such_variable"),
        (_schedule(jobRef={"name": "w", "namespace": "other"}), "InvalidSpec"),
    ],
)
def test_invalid_schedules_raise(schedule: dict[str, Any], fragment: str) -> None:
    with pytest.raises(PreviewError, match=fragment):
        preview_ticks(schedule, JOB, count=1, after=AFTER)


def test_bad_arguments() -> None:
    with pytest.raises(PreviewError, match="count"):
        preview_ticks(_schedule(), JOB, count=0, after=AFTER)
    with pytest.raises(PreviewError, match="aware"):
        preview_ticks(_schedule(), JOB, count=1, after=datetime(2026, 1, 1))  # noqa: DTZ001


class ObsConfig(BaseModel):
    """Typed config of the asset below (Dagster's ``Config``)."""

    station: str
    days: int = 1


def _partitioned_code() -> Definitions:
    """A code location as the runner loads it: a daily-partitioned asset with typed config."""

    @asset(partitions_def=DailyPartitionsDefinition(start_date="2026-01-01"))
    def obs(config: ObsConfig) -> int:
        return config.days

    return Definitions(assets=[obs])


PARTITIONED_JOB = {
    "metadata": {"name": "weather"},
    "spec": {
        "selection": "*",
        "codeLocation": {"image": "img", "module": "weather"},
        "runConfig": {"ops": {"obs": {"config": {"station": "KSEA"}}}},
    },
}


def test_a_partitioned_job_without_partition_key_previews_the_key_the_runner_derives() -> None:
    schedule = _schedule(
        runConfig={"ops": {"obs": {"config": {"station": "{{ partition_key | ds_nodash }}"}}}}
    )
    ticks = preview_ticks(
        schedule, PARTITIONED_JOB, count=1, after=AFTER, definitions=_partitioned_code()
    )
    # 06:00 Paris on 03-29 is 04:00 UTC: Dagster's rule takes the last ended UTC day.
    assert ticks[0]["partitionKey"] == "2026-03-28"
    assert ticks[0]["runConfig"]["ops"]["obs"]["config"]["station"] == "20260328"
    assert "error" not in ticks[0]
    # Without the code the key is unknown: the template needing it fails, and says so.
    blind = preview_ticks(schedule, PARTITIONED_JOB, count=1, after=AFTER, code_note="not here")
    assert blind[0]["partitionKey"] is None
    assert "error" in blind[0]
    assert blind[0]["note"] == "not here"


def test_run_config_is_validated_against_the_assets_typed_config() -> None:
    schedule = _schedule(runConfig={"ops": {"obs": {"config": {"days": "{{ 'many' }}"}}}})
    (tick,) = preview_ticks(
        schedule, PARTITIONED_JOB, count=1, after=AFTER, definitions=_partitioned_code()
    )
    assert "days" in tick["error"]
    assert "\n" not in tick["error"]
    typo = _schedule(runConfig={"ops": {"ob": {"config": {"days": 2}}}})
    (tick,) = preview_ticks(
        typo, PARTITIONED_JOB, count=1, after=AFTER, definitions=_partitioned_code()
    )
    assert "did you mean 'obs'?" in tick["error"]


def test_a_partition_key_outside_the_partitions_is_an_error_on_the_tick() -> None:
    schedule = _schedule(partitionKey="2025-12-31")
    (tick,) = preview_ticks(
        schedule, PARTITIONED_JOB, count=1, after=AFTER, definitions=_partitioned_code()
    )
    assert "2025-12-31" in tick["error"]


def test_a_selection_the_code_location_cannot_resolve_is_refused() -> None:
    job = {**PARTITIONED_JOB, "spec": {**PARTITIONED_JOB["spec"], "selection": "key:nope"}}
    with pytest.raises(PreviewError, match="nope"):
        preview_ticks(_schedule(), job, count=1, after=AFTER, definitions=_partitioned_code())


def test_preview_lists_both_0130_runs_of_the_new_york_fall_back_day() -> None:
    # The CronJob controller runs 01:30 EDT and 01:30 EST on 2026-11-01: two Jobs, and the
    # second one's data interval is the hour between them.
    schedule = _schedule(
        cronSchedule="30 1 * * *",
        timeZone="America/New_York",
        runConfig={"ops": {"obs": {"config": {"since": "{{ data_interval_start }}"}}}},
    )
    after = datetime(2026, 10, 31, 12, tzinfo=UTC)
    ticks = preview_ticks(schedule, JOB, count=3, after=after)
    assert [t["scheduledTimeLocal"] for t in ticks] == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-02T01:30:00-05:00",
    ]
    assert ticks[0]["jobName"] != ticks[1]["jobName"]
    assert ticks[1]["runConfig"]["ops"]["obs"]["config"]["since"] == "2026-11-01 01:30:00-04:00"
