"""Backfills and catch-up on the local cluster: the real CronJob controller, Job
controller, node and runner, with the operator as a local process.

* A 7-day backfill of the weather schedule runs 7 Jobs named as the CronJob controller
  names them, one after the other, and running it again creates none.
* A Job of a tick created before the CronJob controller reaches that tick (a backfill
  racing the schedule) is adopted by the controller: one run of that tick, and the
  schedule goes on with the next tick.
* With ``catchUp.policy: All``, ticks missed while the cluster's controllers and the
  operator were down run once each after the restart, in order, next to the latest one
  the CronJob controller runs itself.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import poll
from tests.e2e.conftest import System
from tests.e2e.test_weather_e2e import _assert_partition_materialized, _code_job, _weather

pytestmark = [pytest.mark.controlplane, pytest.mark.e2e]


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _minutes(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def _backfill(system: System, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "assetcron.cli", "schedule", "backfill", *args,
            "-n", system.namespace, f"--kubeconfig={system.cp.kubeconfig}",
        ],
        capture_output=True, text=True, check=False, env=system.cp.env, timeout=900,
    )  # fmt: skip


def _jobs(system: System, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = system.get("jobs", "-l", selector)["items"]
    return sorted(items, key=lambda j: j["metadata"]["name"])


def _succeeded(job: dict[str, Any]) -> bool:
    conditions = (job.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Complete" and c["status"] == "True" for c in conditions)


def test_a_seven_day_backfill_runs_each_tick_once_in_order_and_again_creates_nothing(
    system: System,
) -> None:
    # History limits above the backfill: idempotence holds while the Jobs are kept.
    storage, job, schedule = _weather(
        system, "weather-bf", successfulJobsHistoryLimit=10, failedJobsHistoryLimit=10
    )
    system.apply(job, schedule)
    name = schedule["metadata"]["name"]
    cronjob = poll(lambda: system.status(name).get("cronJobName"), 60, "the CronJob")
    # Naive times are in the schedule's zone (Los Angeles): 06:00 on June 2 .. June 8.
    ticks = [datetime(2015, 6, d, 13, 0, tzinfo=UTC) for d in range(2, 9)]
    expected = [f"{cronjob}-{int(t.timestamp()) // 60}" for t in ticks]

    dry = _backfill(system, name, "--from", "2015-06-02T06:00", "--to", "2015-06-08T06:00",
                    "--dry-run")  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert all(n in dry.stdout for n in expected), dry.stdout
    assert "7 ticks, 7 to run" in dry.stdout
    assert not _jobs(system, f"assetcron.dev/schedule={name}")  # dry run: nothing created

    first = _backfill(system, name, "--from", "2015-06-02T06:00", "--to", "2015-06-08T06:00")
    assert first.returncode == 0, first.stdout + first.stderr + system.operator_log()
    assert "Succeeded 7/7" in first.stdout  # the progress it showed while following

    jobs = _jobs(system, f"assetcron.dev/schedule={name}")
    assert [j["metadata"]["name"] for j in jobs] == expected
    assert all(_succeeded(j) for j in jobs)
    (backfill_id,) = {j["metadata"]["labels"]["assetcron.dev/backfill"] for j in jobs}
    for j in jobs:
        (owner,) = j["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["controller"]) == ("CronJob", cronjob, True)
    # Oldest first, one at a time: each started after the one before had finished.
    for before, after in itertools.pairwise(jobs):
        assert _ts(after["status"]["startTime"]) >= _ts(before["status"]["completionTime"])
    state = system.status(name)["backfill"]
    assert (state["id"], state["phase"], state["progress"]) == (
        backfill_id,
        "Succeeded",
        "Succeeded 7/7",
    )
    assert (state["ticks"], state["succeeded"], state["failed"]) == (7, 7, 0)
    assert (state["created"], state["existing"]) == (7, 0)
    assert "Succeeded 7/7" in system.kubectl("get", "assetschedule", name)  # printer column
    runs = {r["name"]: r for r in system.status(name)["recentRuns"]}
    assert {runs[n]["trigger"] for n in expected} == {"Backfill"}
    for day in range(1, 8):  # each tick materializes the day before it
        _assert_partition_materialized(storage, f"2015-06-0{day}")

    again = _backfill(system, name, "--from", "2015-06-02T06:00", "--to", "2015-06-08T06:00")
    assert again.returncode == 0, again.stdout + again.stderr
    state = system.status(name)["backfill"]
    assert state["id"] != backfill_id
    assert (state["created"], state["existing"], state["succeeded"]) == (0, 7, 7)
    assert [j["metadata"]["name"] for j in _jobs(system, f"assetcron.dev/schedule={name}")] == (
        expected
    )
    assert not _jobs(system, f"assetcron.dev/backfill={state['id']}")
    # kubectl describe: each backfill started and succeeded once (Events).
    # (posted right after the status write the CLI waited for: allow it a moment)
    last = f"Backfill {state['id']} succeeded: 7 of 7 ticks (0 run by it, 7 had run)"

    def described_with_last() -> str | None:
        text = system.kubectl("describe", "assetschedule", name)
        return text if last in text else None

    described: str = poll(described_with_last, 30, "the backfill events")
    for bid in (backfill_id, state["id"]):
        for reason in ("BackfillStarted", "BackfillSucceeded"):
            lines = [ln for ln in described.splitlines() if reason in ln and bid in ln]
            assert len(lines) == 1, described


def test_a_backfilled_tick_is_adopted_by_the_cronjob_controller_not_run_twice(
    system: System,
) -> None:
    from assetcron_operator import backfill as bf
    from assetcron_operator import render
    from assetcron_operator.kube import Kube

    name = "adopt"
    job = _code_job(name, "tick_assets")
    schedule = {
        "apiVersion": "assetcron.dev/v1alpha1",
        "kind": "AssetSchedule",
        "metadata": {"name": name},
        "spec": {"jobRef": {"name": name}, "cronSchedule": "* * * * *", "timeZone": "UTC"},
    }
    # Not too close to a tick, so the Job below is made before the controller fires.
    poll(lambda: 2 < datetime.now(UTC).second < 25, 60, "a moment well before a tick")
    system.apply(job, schedule)
    cj_name = poll(lambda: system.status(name).get("cronJobName"), 30, "the CronJob")
    kube = Kube(system.cp.api_client())
    cronjob = kube.get_cronjob(system.namespace, cj_name)
    assert cronjob is not None
    tick = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
    assert (tick - datetime.now(UTC)).total_seconds() > 15
    # What a backfill reaching this tick at the same moment as the schedule creates.
    job_name = bf.tick_job_name(cj_name, tick)
    manifest = render.render_backfill_job(
        cronjob, scheduled_time=tick, name=job_name, backfill_id="race"
    )
    _, created = kube.create_job(manifest)
    assert created
    after = tick + timedelta(minutes=1)
    next_name = bf.tick_job_name(cj_name, after)

    def next_tick_ran() -> bool:
        names = {j["metadata"]["name"] for j in _jobs(system, f"assetcron.dev/schedule={name}")}
        return next_name in names

    # The controller reached the tick (AlreadyExists: adopted, lastScheduleTime set) and
    # was not stalled by it: the following tick got its own Job.
    poll(next_tick_ran, 150, f"the controller's Job for the tick after ({next_name})")
    system.kubectl("patch", "assetschedule", name, "--type=merge", "-p",
                   '{"spec":{"suspend":true}}')  # fmt: skip
    jobs = {j["metadata"]["name"]: j for j in _jobs(system, f"assetcron.dev/schedule={name}")}
    assert jobs[job_name]["metadata"]["labels"]["assetcron.dev/backfill"] == "race"
    assert "assetcron.dev/backfill" not in jobs[next_name]["metadata"]["labels"]
    ticks = [_minutes(n) for n in jobs]
    assert len(ticks) == len(set(ticks))  # one Job per tick
    events = system.kubectl("get", "events", "--field-selector",
                            f"involvedObject.name={cj_name}", "-o", "json")  # fmt: skip
    assert f"Created job {job_name}" not in events  # never created by the controller


def test_catch_up_all_runs_every_tick_missed_while_the_cluster_was_down_once_in_order(
    system: System,
) -> None:
    name = "catchup"
    job = _code_job(name, "tick_assets")
    schedule = {
        "apiVersion": "assetcron.dev/v1alpha1",
        "kind": "AssetSchedule",
        "metadata": {"name": name},
        "spec": {
            "jobRef": {"name": name},
            "cronSchedule": "* * * * *",
            "timeZone": "UTC",
            "catchUp": {"policy": "All", "maxTicks": 10},
            "successfulJobsHistoryLimit": 20,
        },
    }
    system.apply(job, schedule)
    # The operator accounts for a tick the controller ran while everything was up.
    seen = poll(
        lambda: (system.status(name).get("catchUp") or {}).get("lastTick"),
        150,
        f"status.catchUp.lastTick (operator log: {system.log})",
    )
    watermark = _ts(seen)
    # The cluster goes down for three ticks: its controllers and the operator.
    system.stop_operator()
    try:
        with system.cp.plane.controllers_stopped():
            poll(
                lambda: datetime.now(UTC) > watermark + timedelta(minutes=3, seconds=10),
                300,
                "three ticks to pass",
            )
    finally:
        system.start_operator()
    # Back up: the controller runs the latest missed tick, the operator the others.
    run = poll(
        lambda: (
            (r := (system.status(name).get("catchUp") or {}).get("run"))
            and r.get("phase") in ("Succeeded", "Failed")
            and r
        ),
        240,
        f"the catch-up batch to finish (operator log: {system.log})",
    )
    system.kubectl("patch", "assetschedule", name, "--type=merge", "-p",
                   '{"spec":{"suspend":true}}')  # fmt: skip
    assert run["phase"] == "Succeeded", (run, system.operator_log())
    jobs = _jobs(system, f"assetcron.dev/schedule={name}")
    by_minute: dict[int, list[dict[str, Any]]] = {}
    for j in jobs:
        by_minute.setdefault(_minutes(j["metadata"]["name"]), []).append(j)
    assert all(len(v) == 1 for v in by_minute.values())  # never two Jobs of one tick
    caught = [j for j in jobs if j["metadata"]["labels"].get("assetcron.dev/backfill")]
    caught_minutes = sorted(_minutes(j["metadata"]["name"]) for j in caught)
    assert [_ts(t) for t in run["tickTimes"]] == [
        datetime.fromtimestamp(m * 60, UTC) for m in caught_minutes
    ]
    assert len(caught) >= 2, run  # at least three ticks passed; the latest is the controller's
    # Every tick from the watermark to the controller's own latest has exactly one Job.
    first = int(watermark.timestamp()) // 60
    latest = min(m for m in by_minute if m > caught_minutes[-1])
    assert set(range(first, latest + 1)) <= set(by_minute), sorted(by_minute)
    assert "assetcron.dev/backfill" not in by_minute[latest][0]["metadata"]["labels"]
    assert all(_succeeded(j) for j in caught)
    # In order: each missed tick's Job was created after the one before had finished.
    caught.sort(key=lambda j: _minutes(j["metadata"]["name"]))
    for before, after in itertools.pairwise(caught):
        assert _ts(after["metadata"]["creationTimestamp"]) >= _ts(
            before["status"]["completionTime"]
        )
