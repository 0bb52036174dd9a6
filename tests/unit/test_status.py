"""Status derivation from realistic Job and Pod objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

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
    assert [r["scheduledTime"] for r in runs] == [t3, t2, t1, "2026-03-20T00:00:00Z"]
    newest, second, third, oldest = runs
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
    assert (oldest["trigger"], oldest["phase"]) == ("Manual", "Pending")
    assert status.derive_runs([ok, manual, failed, running], pods, limit=2) == runs[:2]


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
    assert out["conditions"][0]["reason"] == "Reconciled"
    assert status.derive_status(suspended=True, **common)["nextRuns"] == []
    assert status.derive_status(**{**common, "ready": "False"}, suspended=False)["nextRuns"] == []
