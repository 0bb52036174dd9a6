"""preview_ticks: the next ticks of a schedule with the run config each renders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

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
