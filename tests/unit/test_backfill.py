"""Backfills and catch-up, the pure parts: ticks, names, the progress record, missed ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from assetcron_operator import admission, render
from assetcron_operator import backfill as bf
from assetcron_operator.models import AssetScheduleSpec
from assetcron_operator.status import derive_runs

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ------------------------------------------------------------------ names and ticks
def test_job_name_is_the_controllers_unix_minutes() -> None:
    # Kubernetes getJobName: the CronJob name, a dash, the Unix time divided by 60.
    tick = utc(2015, 6, 2, 13, 0)
    assert bf.tick_job_name("weather", tick) == f"weather-{int(tick.timestamp()) // 60}"
    assert bf.tick_job_name("weather", tick) == "weather-23887500"
    # Go truncates toward zero before 1970.
    assert bf.tick_job_name("x", utc(1969, 12, 31, 23, 59, 30)) == "x-0"
    with pytest.raises(ValueError, match="aware"):
        bf.tick_job_name("x", datetime(2015, 6, 2))  # noqa: DTZ001


def test_seven_daily_ticks_inclusive_in_the_schedules_zone() -> None:
    start = bf.parse_time("2015-06-02T06:00", "America/Los_Angeles")
    end = bf.parse_time("2015-06-08T06:00", "America/Los_Angeles")
    assert start == utc(2015, 6, 2, 13, 0)
    ticks = bf.backfill_ticks("0 6 * * *", "America/Los_Angeles", start, end)
    assert ticks == [utc(2015, 6, d, 13, 0) for d in range(2, 9)]
    # An offset wins over the zone; a date alone is midnight in the zone.
    assert bf.parse_time("2015-06-02T06:00:00Z", "Europe/Paris") == utc(2015, 6, 2, 6, 0)
    assert bf.parse_time("2015-06-02", "Europe/Paris") == utc(2015, 6, 1, 22, 0)


def test_ticks_follow_the_controllers_daylight_saving_rules() -> None:
    # robfig/cron: 02:30 does not exist on the spring-forward day in New York.
    ticks = bf.backfill_ticks(
        "30 2 * * *", "America/New_York", utc(2026, 3, 7, 0, 0), utc(2026, 3, 10, 0, 0)
    )
    assert [t.day for t in ticks] == [7, 9]
    # ... and 01:30 runs twice on the fall-back day.
    ticks = bf.backfill_ticks(
        "30 1 * * *", "America/New_York", utc(2026, 11, 1, 0, 0), utc(2026, 11, 1, 12, 0)
    )
    assert ticks == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)]


def test_a_range_with_too_many_ticks_is_refused_with_the_count() -> None:
    with pytest.raises(bf.BackfillError, match="more than 1000 ticks"):
        bf.backfill_ticks("* * * * *", "UTC", utc(2026, 1, 1), utc(2026, 1, 2))
    assert len(bf.backfill_ticks("* * * * *", "UTC", utc(2026, 1, 1), utc(2026, 1, 1, 0, 9))) == 10
    with pytest.raises(bf.BackfillError, match="expected exactly 5 fields"):
        bf.backfill_ticks("* * *", "UTC", utc(2026, 1, 1), utc(2026, 1, 2))


# ------------------------------------------------------------------ the annotation value
def test_value_round_trips_and_bad_values_say_why() -> None:
    request = bf.BackfillRequest.make(
        utc(2015, 6, 2, 13), utc(2015, 6, 8, 13), max_concurrent=3, force=True, id="ab12"
    )
    value = request.value()
    assert value == "2015-06-02T13:00:00Z/2015-06-08T13:00:00Z#ab12;maxConcurrent=3;force"
    assert bf.parse_backfill_value(value) == request
    assert bf.parse_backfill_value("cancel#ab12").cancel
    for bad, why in [
        ("", "1 to 256"),
        ("2015-06-02T13:00:00Z/2015-06-08T13:00:00Z", "no '#<id>'"),
        ("2015-06-02T13:00:00/2015-06-08T13:00:00Z#a", "no UTC offset"),
        ("2015-06-08T13:00:00Z/2015-06-02T13:00:00Z#a", "before --from"),
        ("2015-06-02T13:00:00Z/2015-06-08T13:00:00Z#a;maxConcurrent=0", "maxConcurrent"),
        ("2015-06-02T13:00:00Z/2015-06-08T13:00:00Z#a;nope", "unknown backfill option"),
        ("2015-06-02T13:00:00Z/2015-06-08T13:00:00Z#A!", "bad backfill id"),
    ]:
        with pytest.raises(bf.BackfillError, match=why):
            bf.parse_backfill_value(bad)


# ------------------------------------------------------------------ the progress record
def job(name: str, outcome: str | None = None, start: datetime | None = None) -> dict[str, Any]:
    conditions = []
    if outcome == "Succeeded":
        conditions = [{"type": "Complete", "status": "True"}]
    elif outcome == "Failed":
        conditions = [{"type": "Failed", "status": "True"}]
    status: dict[str, Any] = {"conditions": conditions}
    if start is not None:
        status["startTime"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"metadata": {"name": name}, "status": status}


def test_one_at_a_time_oldest_first_and_counts() -> None:
    state = bf.new_state("ab12", ticks=3, now=NOW)
    assert state["progress"] == "Running 0/3"
    assert bf.to_submit(state, 3) == [0]
    state = bf.record_submitted(state, "cj-1", created=True, job=None)
    assert bf.to_submit(state, 3) == []  # tick 1 waits for tick 0
    state = bf.advance(state, {})  # the index does not know cj-1 yet: still running
    assert state["running"] == ["cj-1"]
    state = bf.finish(bf.advance(state, {"cj-1": job("cj-1", "Succeeded")}), now=NOW)
    assert (state["succeeded"], state["running"], bf.to_submit(state, 3)) == (1, [], [1])
    # Tick 1's Job existed already and had finished: counted at once, not run again.
    state = bf.record_submitted(state, "cj-2", created=False, job=job("cj-2", "Succeeded"))
    assert (state["existing"], state["succeeded"], state["running"]) == (1, 2, [])
    state = bf.record_submitted(state, "cj-3", created=True, job=None)
    state = bf.finish(bf.advance(state, {"cj-3": None}), now=NOW)  # deleted unfinished
    assert state["failed"] == 1
    assert state["failedRuns"] == ["cj-3"]
    assert state["phase"] == "Failed"
    assert state["progress"] == "Failed 3/3, 1 failed"
    assert state["completionTime"] == "2026-12-02T12:00:00Z"
    assert (state["created"], state["existing"]) == (2, 1)


def test_max_concurrent_submits_that_many() -> None:
    state = bf.new_state("ab12", ticks=5, now=NOW, max_concurrent=2)
    assert bf.to_submit(state, 5) == [0, 1]
    state = bf.record_submitted(state, "a", created=True, job=None)
    assert bf.to_submit(state, 5) == [1]
    canceled = {**state, "phase": "Canceled"}
    assert bf.to_submit(canceled, 5) == []
    final = bf.finish(bf.advance(canceled, {"a": job("a", "Succeeded")}), now=NOW)
    assert final["phase"] == "Canceled"
    assert final["completionTime"]


def test_a_backfill_of_only_existing_ticks_succeeds_creating_nothing() -> None:
    state = bf.new_state("ab12", ticks=2, now=NOW, max_concurrent=2)
    for name in ("a", "b"):
        state = bf.record_submitted(state, name, created=False, job=job(name, "Succeeded"))
    state = bf.finish(state, now=NOW)
    assert (state["phase"], state["created"], state["existing"]) == ("Succeeded", 0, 2)
    assert state["progress"] == "Succeeded 2/2"


# ------------------------------------------------------------------ catch-up
def test_pruning_cutoff_only_when_a_history_is_full() -> None:
    jobs = [
        job("a", "Succeeded", utc(2026, 1, 1, 0, 1)),
        job("b", "Succeeded", utc(2026, 1, 1, 0, 2)),
        job("c", "Failed", utc(2026, 1, 1, 0, 3)),
        job("d"),  # running: in no history
    ]
    assert bf.pruning_cutoff(jobs, successful_limit=3, failed_limit=3) is None
    assert bf.pruning_cutoff(jobs, successful_limit=2, failed_limit=3) == utc(2026, 1, 1, 0, 1)
    assert bf.pruning_cutoff(jobs, successful_limit=2, failed_limit=1) == utc(2026, 1, 1, 0, 3)
    never = bf.pruning_cutoff(jobs, successful_limit=3, failed_limit=0)
    assert never is not None
    assert never.year == 9999


def test_missed_ticks_exclude_the_controllers_own_and_those_with_jobs() -> None:
    after, before = utc(2026, 1, 1, 0, 0), utc(2026, 1, 1, 0, 6)
    names = [bf.tick_job_name("cj", utc(2026, 1, 1, 0, 2))]
    ticks, skipped = bf.missed_ticks(
        "* * * * *", "UTC", after=after, before=before, existing=names,
        cronjob_name="cj", cutoff=None, not_before=None, max_ticks=10,
    )  # fmt: skip
    # 00:00 was accounted for, 00:06 is the controller's own run, 00:02 has a Job.
    assert ticks == [utc(2026, 1, 1, 0, m) for m in (1, 3, 4, 5)]
    assert skipped == 0
    ticks, skipped = bf.missed_ticks(
        "* * * * *", "UTC", after=after, before=before, existing=names,
        cronjob_name="cj", cutoff=utc(2026, 1, 1, 0, 3), not_before=None, max_ticks=1,
    )  # fmt: skip
    assert (ticks, skipped) == ([utc(2026, 1, 1, 0, 5)], 1)  # the newest within maxTicks
    ticks, _ = bf.missed_ticks(
        "* * * * *", "UTC", after=after, before=before, existing=(),
        cronjob_name="cj", cutoff=None, not_before=utc(2026, 1, 1, 0, 4), max_ticks=10,
    )  # fmt: skip
    assert ticks == [utc(2026, 1, 1, 0, 4), utc(2026, 1, 1, 0, 5)]  # startingDeadlineSeconds


# ------------------------------------------------------------------ render, models, admission
CRONJOB: dict[str, Any] = {
    "metadata": {
        "name": "weather-daily",
        "namespace": "ns",
        "uid": "cj-uid",
        "ownerReferences": [
            {"kind": "AssetSchedule", "name": "weather-daily", "uid": "s", "controller": True}
        ],
    },
    "spec": {
        "timeZone": "America/Los_Angeles",
        "jobTemplate": {
            "metadata": {"labels": {"assetcron.dev/schedule": "weather-daily"}},
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "assetcron", "env": [{"name": "A"}]}]}
                }
            },
        },
    },
}


def test_the_backfill_job_is_the_controllers_job_for_that_tick() -> None:
    tick = utc(2015, 6, 2, 13, 0)
    manifest = render.render_backfill_job(
        CRONJOB,
        scheduled_time=tick,
        name=bf.tick_job_name("weather-daily", tick),
        backfill_id="ab12",
        force=True,
    )
    meta = manifest["metadata"]
    assert meta["name"] == "weather-daily-23887500"
    (owner,) = meta["ownerReferences"]
    assert owner == {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "name": "weather-daily",
        "uid": "cj-uid",
        "controller": True,
    }
    assert meta["labels"]["assetcron.dev/backfill"] == "ab12"
    assert meta["labels"]["assetcron.dev/trigger"] == "backfill"
    assert meta["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == (
        "2015-06-02T06:00:00-07:00"
    )
    env = manifest["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "ASSETCRON_SCHEDULED_TIME", "value": "2015-06-02T13:00:00Z"} in env
    assert {"name": "ASSETCRON_FORCE", "value": "true"} in env
    # The status shows it as a backfill run of its tick.
    (run,) = derive_runs([manifest], [], limit=5)
    assert (run["trigger"], run["scheduledTime"]) == ("Backfill", "2015-06-02T13:00:00Z")


def _schedule(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "s", "namespace": "ns", "uid": "u"},
        "spec": {"jobRef": {"name": "j"}, "cronSchedule": "* * * * *", **spec},
    }


JOB = {
    "metadata": {"name": "j", "namespace": "ns"},
    "spec": {"selection": "*", "codeLocation": {"image": "i:1", "module": "m"}},
}


def test_catch_up_none_gives_the_cronjob_a_starting_deadline() -> None:
    def deadline(**spec: Any) -> Any:
        return render.render_cronjob(_schedule(**spec), JOB)["spec"].get("startingDeadlineSeconds")

    assert deadline() is None
    assert deadline(catchUp={"policy": "Latest"}) is None
    assert deadline(catchUp={"policy": "None"}) == 60
    assert deadline(catchUp={"policy": "None"}, startingDeadlineSeconds=300) == 300


def test_catch_up_is_validated() -> None:
    spec = AssetScheduleSpec.model_validate(_schedule()["spec"])
    assert (spec.catch_up.policy, spec.catch_up.max_ticks) == ("Latest", 10)
    for bad in ({"policy": "Some"}, {"maxTicks": 0}, {"maxTicks": 101}, {"other": 1}):
        with pytest.raises(ValidationError):
            AssetScheduleSpec.model_validate(_schedule(catchUp=bad)["spec"])


def test_admission_requires_job_rights_to_ask_for_a_backfill() -> None:
    assert "assetcron.dev/backfill" in admission.RUNS_SOMETHING
    assert "assetcron.dev/trigger" in admission.RUNS_SOMETHING


def test_timedelta_sanity() -> None:
    # The enumeration starts one second before --from so that --from itself is a tick.
    ticks = bf.backfill_ticks("0 * * * *", "UTC", utc(2026, 1, 1, 1), utc(2026, 1, 1, 1))
    assert ticks == [utc(2026, 1, 1, 1)]
    assert ticks[0] - timedelta(hours=1) == utc(2026, 1, 1, 0)
