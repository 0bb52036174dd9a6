"""Status derivation from realistic Job and Pod objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assetcron._summary import AssetOutcome, Outcome
from assetcron_operator import status

NOW = datetime(2026, 3, 28, 12, 0, 7, tzinfo=UTC)
CJ = "weather-daily"


def _job(
    name: str,
    *,
    conditions: list[dict[str, str]] | None = None,
    active: int = 0,
    start: str | None = "2026-03-28T06:00:03Z",
    completion: str | None = None,
    manual_time: str | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "data",
        "uid": f"uid-{name}",
        "creationTimestamp": start or "2026-03-28T06:00:00Z",
        "labels": {"assetcron.dev/schedule": CJ},
        "ownerReferences": [{"kind": "CronJob", "name": CJ, "uid": "cj", "controller": True}],
    }
    env = [{"name": "ASSETCRON_TIMEZONE", "value": "UTC"}]
    if manual_time:
        meta["labels"]["assetcron.dev/trigger"] = "manual"
        meta["annotations"] = {"cronjob.kubernetes.io/instantiate": "manual"}
        env.append({"name": "ASSETCRON_SCHEDULED_TIME", "value": manual_time})
    st: dict[str, Any] = {}
    if start:
        st["startTime"] = start
    if active:
        st["active"] = active
    if completion:
        st["completionTime"] = completion
    if conditions:
        st["conditions"] = conditions
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {"template": {"spec": {"containers": [{"name": "assetcron", "env": env}]}}},
        "status": st,
    }


def _pod(job: str, *, phase: str, message: str | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "assetcron", "ready": False, "restartCount": 0}
    if message is not None:
        container["state"] = {
            "terminated": {
                "exitCode": 0 if phase == "Succeeded" else 1,
                "finishedAt": "2026-03-28T06:01:00Z",
                "message": message,
            }
        }
    else:
        container["state"] = {"running": {"startedAt": "2026-03-28T06:00:05Z"}}
    return {
        "metadata": {
            "name": f"{job}-abcde",
            "labels": {"batch.kubernetes.io/job-name": job, "job-name": job},
            "ownerReferences": [{"kind": "Job", "name": job, "uid": f"uid-{job}"}],
        },
        "status": {"phase": phase, "containerStatuses": [container]},
    }


SUMMARY = {
    "result": "Failed",
    "runId": "r1",
    "scheduledTime": "2026-03-27T06:00:00+00:00",
    "partitionKey": "2026-03-26",
    "durationSeconds": 1.5,
    "counts": {"materialized": 1, "reused": 1, "failed": 1, "skipped": 1},
    "assets": [
        {"key": "raw/obs", "outcome": "Reused"},
        {"key": "daily", "outcome": "Materialized"},
        {"key": "report", "outcome": "Failed", "error": "x" * 500},
        {"key": "mail", "outcome": "Skipped"},
    ],
}


def _minutes(when: str) -> int:
    return int(datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()) // 60


def test_next_ticks_in_the_schedules_zone_across_dst() -> None:
    # Europe/Paris moves to summer time on 2026-03-29: 06:00 local is 05:00Z, then 04:00Z.
    ticks = status.next_ticks("0 6 * * *", "Europe/Paris", NOW, count=3)
    assert ticks == ["2026-03-29T04:00:00Z", "2026-03-30T04:00:00Z", "2026-03-31T04:00:00Z"]
    assert status.next_ticks("@hourly", "UTC", NOW, count=1) == ["2026-03-28T13:00:00Z"]
    on_tick = datetime(2026, 3, 28, 13, 0, tzinfo=UTC)
    assert status.next_ticks("0 * * * *", "UTC", on_tick, count=1) == ["2026-03-28T14:00:00Z"]


def test_next_ticks_skip_0230_on_the_new_york_spring_forward_day_as_the_controller_does() -> None:
    # 2026-03-08: 02:00 EST -> 03:00 EDT. The CronJob controller (robfig/cron) creates no
    # Job that day; croniter 7 listed 03:00 EDT (07:00Z).
    after = datetime(2026, 3, 7, 12, tzinfo=UTC)
    assert status.next_ticks("30 2 * * *", "America/New_York", after, count=2) == [
        "2026-03-09T06:30:00Z",
        "2026-03-10T06:30:00Z",
    ]


def test_next_ticks_list_0130_twice_on_the_new_york_fall_back_day() -> None:
    # 2026-11-01: 01:30 EDT (05:30Z) and 01:30 EST (06:30Z) both run.
    after = datetime(2026, 10, 31, 12, tzinfo=UTC)
    assert status.next_ticks("30 1 * * *", "America/New_York", after, count=3) == [
        "2026-11-01T05:30:00Z",
        "2026-11-01T06:30:00Z",
        "2026-11-02T06:30:00Z",
    ]


def test_next_ticks_stop_when_the_schedule_never_fires() -> None:
    assert status.next_ticks("0 0 30 2 *", "UTC", NOW, count=3) == []


def test_next_ticks_errors() -> None:
    with pytest.raises(ValueError, match="aware"):
        status.next_ticks("@daily", "UTC", datetime(2026, 1, 1), count=1)  # noqa: DTZ001
    with pytest.raises(KeyError):
        status.next_ticks("@daily", "Mars/Olympus", NOW, count=1)
    with pytest.raises(ValueError, match="expected exactly 5 fields, found 3"):
        status.next_ticks("not a cron", "UTC", NOW, count=1)


@pytest.mark.parametrize(
    ("cron", "tz", "after"),
    [
        ("* * * * *", "UTC", datetime(2026, 3, 28, 12, 59, 59, 999999, tzinfo=UTC)),
        ("* * * * *", "UTC", datetime(2026, 3, 28, 13, 0, tzinfo=UTC)),
        ("*/5 * * * *", "Asia/Kathmandu", datetime(2026, 3, 28, 13, 4, 30, tzinfo=UTC)),
        ("30 2 * * *", "America/New_York", datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC)),
        ("30 1 * * *", "America/New_York", datetime(2026, 11, 1, 5, 30, 0, 1, tzinfo=UTC)),
        ("0 0 * * *", "Australia/Lord_Howe", datetime(2026, 4, 4, 13, 29, 1, tzinfo=UTC)),
        ("0 0 30 2 *", "UTC", NOW),
        # Monrovia's offset was -0:44:30 until 1972: not a whole minute, so no caching.
        ("* * * * *", "Africa/Monrovia", datetime(1960, 1, 1, 0, 0, 20, tzinfo=UTC)),
    ],
)
def test_cached_next_ticks_are_the_ticks_of_that_very_moment(
    cron: str, tz: str, after: datetime
) -> None:
    # Every second of the minute gives what next_ticks gives for that second.
    for second in range(0, 60, 7):
        moment = after.replace(second=second)
        assert status.next_ticks_cached(cron, tz, moment, 3) == status.next_ticks(
            cron, tz, moment, 3
        )
    assert status.next_ticks_cached(cron, tz, after, 3) == status.next_ticks(cron, tz, after, 3)
    with pytest.raises(KeyError):
        status.next_ticks_cached(cron, "Mars/Olympus", after, 1)


def test_upsert_condition_keeps_transition_time_unless_status_changes() -> None:
    first = status.upsert_condition(
        [{"type": "Other", "status": "True", "lastTransitionTime": "x", "reason": "R"}],
        type="Ready", status="False", reason="InvalidSpec", message="bad", observed_generation=1,
        now=NOW,
    )  # fmt: skip
    assert [c["type"] for c in first] == ["Other", "Ready"]
    ready = first[1]
    assert ready["lastTransitionTime"] == "2026-03-28T12:00:07Z"
    later = NOW + timedelta(minutes=5)
    same = status.upsert_condition(
        first, type="Ready", status="False", reason="JobNotFound", message="gone",
        observed_generation=2, now=later,
    )  # fmt: skip
    assert same[1]["lastTransitionTime"] == "2026-03-28T12:00:07Z"
    assert (same[1]["reason"], same[1]["observedGeneration"]) == ("JobNotFound", 2)
    flipped = status.upsert_condition(
        same, type="Ready", status="True", reason="Reconciled", message="ok",
        observed_generation=2, now=later,
    )  # fmt: skip
    assert flipped[1]["lastTransitionTime"] == "2026-03-28T12:05:07Z"
    assert first[1]["reason"] == "InvalidSpec"  # input untouched


def test_derive_runs_from_jobs_and_pods() -> None:
    t1, t2, t3 = "2026-03-26T06:00:00Z", "2026-03-27T06:00:00Z", "2026-03-28T06:00:00Z"
    ok = _job(
        f"{CJ}-{_minutes(t1)}",
        conditions=[{"type": "Complete", "status": "True", "lastTransitionTime": t1}],
        start=t1, completion="2026-03-26T06:01:00Z",
    )  # fmt: skip
    failed = _job(
        f"{CJ}-{_minutes(t2)}",
        conditions=[
            {"type": "FailureTarget", "status": "True", "lastTransitionTime": t2},
            {"type": "Failed", "status": "True", "lastTransitionTime": "2026-03-27T06:02:00Z"},
        ],
        start=t2,
    )
    running = _job(f"{CJ}-{_minutes(t3)}", active=1, start=t3)
    manual = _job(
        f"{CJ}-m0123456789", active=1, start="2026-03-28T11:00:00Z",
        manual_time="2026-03-20T00:00:00+00:00",
    )  # fmt: skip
    pods = [
        _pod(ok["metadata"]["name"], phase="Succeeded", message="Traceback: boom"),
        _pod(failed["metadata"]["name"], phase="Failed", message=json.dumps(SUMMARY)),
        _pod(running["metadata"]["name"], phase="Running"),
        _pod(manual["metadata"]["name"], phase="Pending"),
        _pod("someone-else-123", phase="Failed", message=json.dumps(SUMMARY)),
    ]
    runs = status.derive_runs([ok, manual, failed, running], pods, limit=10)
    # Newest by start time: the backfill of 03-20 started last, so it comes first.
    assert [r["scheduledTime"] for r in runs] == ["2026-03-20T00:00:00Z", t3, t2, t1]
    backfill, newest, second, third = runs
    assert (backfill["trigger"], backfill["phase"]) == ("Backfill", "Pending")
    assert (newest["phase"], newest["trigger"]) == ("Running", "Scheduled")
    assert "counts" not in newest
    assert second["phase"] == "Failed"
    assert second["completionTime"] == "2026-03-27T06:02:00Z"
    assert second["partitionKey"] == "2026-03-26"
    assert second["counts"] == {"materialized": 1, "reused": 1, "failed": 1, "skipped": 1}
    assert [a["outcome"] for a in second["assets"]] == [
        "Reused", "Materialized", "Failed", "Skipped",
    ]  # fmt: skip
    assert len(second["assets"][2]["error"]) == 200
    assert "error" not in second["assets"][0]
    assert third["phase"] == "Succeeded"
    assert third["message"] == "Traceback: boom"  # unparsable summary kept as message
    assert third["completionTime"] == "2026-03-26T06:01:00Z"
    assert status.derive_runs([ok, manual, failed, running], pods, limit=2) == runs[:2]


def test_a_manual_run_for_about_now_is_manual_and_for_an_old_date_a_backfill() -> None:
    now_run = _job("m1", start="2026-03-28T11:00:30Z", manual_time="2026-03-28T11:00:00Z")
    old_run = _job("m2", start="2026-03-28T11:00:30Z", manual_time="2026-03-28T10:59:00Z")
    runs = {r["name"]: r["trigger"] for r in status.derive_runs([now_run, old_run], [], limit=5)}
    assert runs == {"m1": "Manual", "m2": "Backfill"}


def test_last_run_and_result_follow_start_times_not_scheduled_times() -> None:
    # A newer scheduled run failed; a backfill of an older date started later and
    # succeeded. LAST RUN is the backfill's start; LAST RESULT its result, not hidden.
    failed = _job(
        f"{CJ}-{_minutes('2026-03-28T06:00:00Z')}", start="2026-03-28T06:00:03Z",
        conditions=[{"type": "Failed", "status": "True", "lastTransitionTime": "x"}],
    )  # fmt: skip
    backfill = _job(
        "bf", start="2026-03-28T09:00:00Z", manual_time="2026-01-01T06:00:00Z",
        conditions=[{"type": "Complete", "status": "True", "lastTransitionTime": "x"}],
    )  # fmt: skip
    out = status.derive_status(
        generation=1, conditions=[], ready="True", reason="Reconciled", message="",
        now=NOW, cron="0 6 * * *", time_zone="UTC", suspended=False, cronjob_name=CJ,
        cronjob=None, jobs=[failed, backfill], pods=[], limit=5,
    )  # fmt: skip
    assert out["lastRunTime"] == "2026-03-28T09:00:00Z"
    assert out["lastResult"] == "Succeeded"
    assert [r["trigger"] for r in out["recentRuns"]] == ["Backfill", "Scheduled"]
    # Without the backfill the failure shows.
    alone = status.derive_status(
        generation=1, conditions=[], ready="True", reason="Reconciled", message="",
        now=NOW, cron="0 6 * * *", time_zone="UTC", suspended=False, cronjob_name=CJ,
        cronjob=None, jobs=[failed], pods=[], limit=5,
    )  # fmt: skip
    assert (alone["lastResult"], alone["lastRunTime"]) == ("Failed", "2026-03-28T06:00:03Z")


def _manual(name: str, start: str, *, ok: bool | None) -> dict[str, Any]:
    conditions = []
    if ok is not None:
        kind = "Complete" if ok else "Failed"
        conditions = [{"type": kind, "status": "True", "lastTransitionTime": start}]
    job = _job(name, start=start, manual_time=start, conditions=conditions, active=int(ok is None))
    job["metadata"]["ownerReferences"] = [{"kind": "AssetSchedule", "name": "s", "uid": "s"}]
    return job


def test_manual_runs_beyond_the_history_limits_are_pruned_oldest_first() -> None:
    jobs = [
        _manual("ok1", "2026-03-28T01:00:00Z", ok=True),
        _manual("ok2", "2026-03-28T02:00:00Z", ok=True),
        _manual("ok3", "2026-03-28T03:00:00Z", ok=True),
        _manual("bad1", "2026-03-28T01:30:00Z", ok=False),
        _manual("bad2", "2026-03-28T02:30:00Z", ok=False),
        _manual("running", "2026-03-27T00:00:00Z", ok=None),
        _job(f"{CJ}-1", start="2026-03-20T00:00:00Z",
             conditions=[{"type": "Complete", "status": "True", "lastTransitionTime": "x"}]),
    ]  # fmt: skip
    prune = status.manual_runs_to_prune(jobs, successful_limit=2, failed_limit=1)
    assert prune == [("ok1", "uid-ok1"), ("bad1", "uid-bad1")]
    # the CronJob's own runs and running manual runs are never ours to prune
    assert status.manual_runs_to_prune(jobs, successful_limit=0, failed_limit=0) == [
        ("ok3", "uid-ok3"), ("ok2", "uid-ok2"), ("ok1", "uid-ok1"),
        ("bad2", "uid-bad2"), ("bad1", "uid-bad1"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("reason", "detail", "expected"),
    [
        (
            "ErrImageNeverPull",
            'Container image "ghcr.io/x/weather:1" is not present with pull policy of Never',
            'ErrImageNeverPull: Container image "ghcr.io/x/weather:1" is not present',
        ),
        ("ImagePullBackOff", None, "ImagePullBackOff: image ghcr.io/x/weather:1"),
        ("CreateContainerConfigError", 'secret "creds" not found', 'secret "creds" not found'),
        ("ContainerCreating", None, None),  # on its way: nothing to say
    ],
)
def test_a_run_whose_container_cannot_start_says_why(
    reason: str, detail: str | None, expected: str | None
) -> None:
    job = _job(f"{CJ}-{_minutes('2026-03-28T06:00:00Z')}", active=1, start="2026-03-28T06:00:01Z")
    pod = _pod(job["metadata"]["name"], phase="Pending")
    waiting: dict[str, Any] = {"reason": reason}
    if detail:
        waiting["message"] = detail
    container = pod["status"]["containerStatuses"][0]
    container["state"] = {"waiting": waiting}
    container["image"] = "ghcr.io/x/weather:1"
    (run,) = status.derive_runs([job], [pod], limit=5)
    assert run["phase"] == "Pending"
    if expected is None:
        assert "message" not in run
    else:
        assert expected in run["message"]


def test_a_run_whose_pod_cannot_be_scheduled_says_why() -> None:
    job = _job(f"{CJ}-{_minutes('2026-03-28T06:00:00Z')}", active=1, start="2026-03-28T06:00:01Z")
    pod = _pod(job["metadata"]["name"], phase="Pending")
    del pod["status"]["containerStatuses"]
    unbound = "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."
    pod["status"]["conditions"] = [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": unbound}
    ]
    (run,) = status.derive_runs([job], [pod], limit=5)
    assert run["message"] == f"Unschedulable: {unbound}"


def test_truncated_summary_and_garbage_entries() -> None:
    summary = {"counts": {"materialized": -3, "failed": 1}, "truncated": True,
               "assets": [{"key": "a", "outcome": "Exploded"}, "junk", {"key": "b",
               "outcome": "Failed", "error": "e"}]}  # fmt: skip
    parsed = status.parse_summary(json.dumps(summary))
    assert parsed is not None
    assert parsed["truncated"] is True
    assert parsed["counts"] == {"materialized": 0, "reused": 0, "failed": 1, "skipped": 0}
    assert parsed["assets"] == [{"key": "b", "outcome": "Failed", "error": "e"}]
    assert status.parse_summary("[1, 2]") is None
    assert status.parse_summary('{"result": "Succeeded"}') is None


def test_derive_status_assembles_everything() -> None:
    t1 = "2026-03-27T06:00:00Z"
    done = _job(
        f"{CJ}-{_minutes(t1)}",
        conditions=[{"type": "Complete", "status": "True", "lastTransitionTime": t1}],
        start=t1, completion="2026-03-27T06:01:00Z",
    )  # fmt: skip
    cronjob = {"status": {"active": [{"name": f"{CJ}-1"}], "lastScheduleTime": t1}}
    common: dict[str, Any] = {
        "generation": 3, "conditions": [], "ready": "True", "reason": "Reconciled",
        "message": "ok", "now": NOW, "cron": "0 6 * * *", "time_zone": "UTC",
        "cronjob_name": CJ, "cronjob": cronjob, "jobs": [done], "pods": [], "limit": 10,
    }  # fmt: skip
    out = status.derive_status(suspended=False, **common)
    assert out["observedGeneration"] == 3
    assert out["nextRuns"] == [
        "2026-03-29T06:00:00Z", "2026-03-30T06:00:00Z", "2026-03-31T06:00:00Z",
    ]  # fmt: skip
    assert out["lastScheduleTime"] == t1
    assert out["lastSuccessfulTime"] == "2026-03-27T06:01:00Z"
    assert out["lastResult"] == "Succeeded"
    assert out["active"] == [f"{CJ}-1"]
    assert out["activeCount"] == 1
    assert out["conditions"][0]["reason"] == "Reconciled"
    assert status.derive_status(suspended=True, **common)["nextRuns"] == []
    assert status.derive_status(**{**common, "ready": "False"}, suspended=False)["nextRuns"] == []


def test_active_counts_manual_runs_and_drops_runs_seen_finished() -> None:
    # The ACTIVE column: the CronJob's own list misses manual runs, and lags behind a
    # Job that has just finished.
    t1 = "2026-03-28T06:00:00Z"
    finished = _job(
        f"{CJ}-{_minutes(t1)}",
        conditions=[{"type": "Failed", "status": "True", "lastTransitionTime": t1}],
        start=t1,
    )  # fmt: skip
    manual = _job(f"{CJ}-m0123456789", active=1, start=t1, manual_time=t1)
    cronjob = {"status": {"active": [{"name": f"{CJ}-{_minutes(t1)}"}]}}
    out = status.derive_status(
        generation=1, conditions=[], ready="True", reason="Reconciled", message="ok",
        now=NOW, cron="0 6 * * *", time_zone="UTC", suspended=False, cronjob_name=CJ,
        cronjob=cronjob, jobs=[finished, manual], pods=[], limit=10,
    )  # fmt: skip
    assert out["active"] == [f"{CJ}-m0123456789"]
    assert out["activeCount"] == 1


@pytest.mark.parametrize(
    ("message", "outcomes"),
    [
        ("unknown asset key 'p/aa'; did you mean 'p/a'?", []),  # the runner's exit 2
        ("terminated by SIGTERM after 42 s while materializing p/b", [("p/a", "Materialized")]),
        ("unexpected error while opening the storage: OSError: [Errno 30] Read-only", []),
    ],
)
def test_a_run_that_stopped_early_shows_the_runners_reason(
    message: str, outcomes: list[tuple[str, Outcome]]
) -> None:
    from assetcron import build_summary, encode_summary
    from assetcron_operator.models import RecentRun

    summary = build_summary(
        run_id=None,
        scheduled_time=None,
        partition_key=None,
        duration_seconds=42.0,
        outcomes=[AssetOutcome(key, outcome) for key, outcome in outcomes],
        message=message,
    )
    job = _job(
        f"{CJ}-{_minutes('2026-03-28T06:00:00Z')}",
        conditions=[{"type": "Failed", "status": "True", "lastTransitionTime": NOW.isoformat()}],
    )
    pod = _pod(job["metadata"]["name"], phase="Failed", message=encode_summary(summary))
    (run,) = status.derive_runs([job], [pod], limit=5)
    assert run["phase"] == "Failed"
    assert run["message"] == message
    assert run["counts"]["materialized"] == len(outcomes)
    assert RecentRun.model_validate(run).message == message  # fits the status schema


def test_a_summary_message_is_cut_to_the_status_limit() -> None:
    parsed = status.parse_summary(json.dumps({"counts": {}, "assets": [], "message": "x" * 5000}))
    assert parsed is not None
    assert parsed["message"] == "x" * status.MESSAGE_LIMIT
    no_reason = status.parse_summary(json.dumps({"counts": {}, "assets": [], "message": 3}))
    assert no_reason is not None
    assert "message" not in no_reason


def _cronjob(policy: str) -> dict[str, Any]:
    return {
        "metadata": {"name": CJ},
        "spec": {"concurrencyPolicy": policy, "schedule": "* * * * *"},
    }


def test_a_run_deleted_unfinished_by_the_next_tick_under_replace_is_reported() -> None:
    t1, t2 = "2026-03-28T06:00:00Z", "2026-03-28T06:01:00Z"
    at_t2 = datetime(2026, 3, 28, 6, 1, 1, tzinfo=UTC)
    running = _job(f"{CJ}-{_minutes(t1)}", active=1, start=t1)
    assert status.replaced_run(running, _cronjob("Replace"), now=at_t2) == {
        "name": running["metadata"]["name"], "scheduledTime": t1, "replacedBy": t2,
    }  # fmt: skip
    # Not a replacement: another policy, deleted before the next tick, a finished run,
    # a manual run, no CronJob.
    assert status.replaced_run(running, _cronjob("Forbid"), now=at_t2) is None
    before = datetime(2026, 3, 28, 6, 0, 30, tzinfo=UTC)
    assert status.replaced_run(running, _cronjob("Replace"), now=before) is None
    done = _job(
        f"{CJ}-{_minutes(t1)}", start=t1,
        conditions=[{"type": "Complete", "status": "True", "lastTransitionTime": t2}],
    )  # fmt: skip
    assert status.replaced_run(done, _cronjob("Replace"), now=at_t2) is None
    manual = _job("m", active=1, start=t1, manual_time=t1)
    assert status.replaced_run(manual, _cronjob("Replace"), now=at_t2) is None
    assert status.replaced_run(running, None, now=at_t2) is None
