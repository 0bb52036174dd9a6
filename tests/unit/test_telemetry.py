"""Run transitions, their Events and metrics (pure parts; no cluster).

The Event poster is a recording stand-in for ``Kube.post_event`` (named as such); the
metrics are the real prometheus_client registry, read back with ``get_sample_value``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import generate_latest

from assetcron_operator.events import (
    EventRecorder,
    RunTransition,
    SeenOnce,
    event_name,
    failure_reason,
    run_event,
    run_transitions,
)
from assetcron_operator.metrics import (
    OperatorMetrics,
    ScheduleCollector,
    WatchRestartCounter,
    lags,
    pod_started_at,
    schedule_gauges,
)
from assetcron_operator.service import Observed
from assetcron_operator.telemetry import Telemetry

NOW = datetime(2026, 11, 21, 14, 5, tzinfo=UTC)


def _run(name: str, phase: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "phase": phase, "trigger": "Scheduled", **extra}


# ---------------------------------------------------------------------------- transitions
def test_transitions_follow_the_phase_changes_oldest_run_first() -> None:
    before = [_run("b", "Pending"), _run("a", "Running")]
    after = [_run("c", "Succeeded"), _run("b", "Running"), _run("a", "Failed")]
    got = [(t.run["name"], t.kind) for t in run_transitions(before, after)]
    # a finished; b started; c appeared already finished: started, then succeeded.
    assert got == [("a", "Failed"), ("b", "Started"), ("c", "Started"), ("c", "Succeeded")]


def test_no_transition_when_nothing_changed_or_a_run_is_still_pending() -> None:
    runs = [_run("a", "Succeeded"), _run("b", "Running")]
    assert run_transitions(runs, [dict(r) for r in runs]) == []
    assert run_transitions(None, [_run("p", "Pending")]) == []
    assert run_transitions(runs, []) == []  # pruned runs say nothing


# ---------------------------------------------------------------------------- event text
def test_run_events_name_the_run_its_time_duration_and_counts() -> None:
    run = _run(
        "weather-daily-29384160",
        "Succeeded",
        scheduledTime="2026-11-21T14:00:00Z",
        partitionKey="2026-11-20",
        startTime="2026-11-21T14:00:02Z",
        completionTime="2026-11-21T14:00:43Z",
        counts={"materialized": 5, "reused": 0, "failed": 0, "skipped": 0},
    )
    assert run_event(RunTransition("Started", run)) == (
        "Normal",
        "RunStarted",
        "Run weather-daily-29384160 started (Scheduled, scheduled 2026-11-21T14:00:00Z,"
        " partition 2026-11-20)",
    )
    assert run_event(RunTransition("Succeeded", run)) == (
        "Normal",
        "RunSucceeded",
        "Run weather-daily-29384160 succeeded in 41 s: 5 materialized, 0 reused, 0 failed,"
        " 0 skipped",
    )


def test_a_failed_run_names_the_failed_asset_and_why() -> None:
    run = _run(
        "r-1",
        "Failed",
        counts={"materialized": 1, "reused": 0, "failed": 1, "skipped": 2},
        assets=[
            {"key": "extract", "outcome": "Materialized"},
            {"key": "transform", "outcome": "Failed", "error": "ValueError: refusing"},
        ],
    )
    type_, reason, message = run_event(RunTransition("Failed", run))
    assert (type_, reason) == ("Warning", "RunFailed")
    assert message == (
        "Run r-1 failed: asset transform failed: ValueError: refusing"
        " (1 materialized, 0 reused, 1 failed, 2 skipped)"
    )


@pytest.mark.parametrize(
    ("run", "why"),
    [
        ({"message": "unknown asset key 'extrct'"}, "unknown asset key 'extrct'"),
        ({}, "the runner left no summary"),
    ],
)
def test_a_failed_run_without_a_failed_asset_says_what_it_knows(
    run: dict[str, Any], why: str
) -> None:
    assert failure_reason(run).startswith(why)


def test_event_names_are_stable_per_object_and_transition_and_valid() -> None:
    a = event_name("weather-daily", "uid-1", "run-1", "Started")
    assert a == event_name("weather-daily", "uid-1", "run-1", "Started")
    assert a != event_name("weather-daily", "uid-1", "run-1", "Succeeded")
    assert a != event_name("weather-daily", "uid-2", "run-1", "Started")  # recreated object
    assert a.startswith("weather-daily.")
    assert len(event_name("x" * 253, "u", "r")) <= 253


def test_seen_once_is_bounded() -> None:
    seen = SeenOnce(capacity=2)
    assert seen.first("a")
    assert not seen.first("a")
    assert seen.first("b")
    assert seen.first("c")  # evicts "a"
    assert seen.first("a")


# ---------------------------------------------------------------------------- Events posted
class RecordingPoster:
    """Stand-in for ``Kube.post_event``: records calls; a name seen before "conflicts"
    as the API answers 409 (a series bumps its count instead)."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.calls = 0

    def post_event(self, **kw: Any) -> bool:
        self.calls += 1
        if kw["name"] in self.events:
            if kw["series"]:
                self.events[kw["name"]]["count"] += 1
                return True
            return False
        self.events[kw["name"]] = {**kw, "count": 1}
        return True


def _schedule(runs: list[dict[str, Any]], **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "weather-daily", "namespace": "data", "uid": "u1"},
        "status": {"recentRuns": runs, **status},
    }


def _telemetry(poster: RecordingPoster, metrics: OperatorMetrics) -> Telemetry:
    return Telemetry(events=EventRecorder(poster, clock=lambda: NOW), metrics=metrics)


def test_a_resync_or_a_second_code_path_does_not_repost() -> None:
    poster, metrics = RecordingPoster(), OperatorMetrics()
    tel = _telemetry(poster, metrics)
    before = _schedule([_run("r-1", "Running")])
    after = {"recentRuns": [_run("r-1", "Succeeded")]}
    tel.status_computed(before, after, Observed())
    # The refresh pass computes the same diff from the same stale index: nothing new.
    tel.status_computed(before, after, Observed())
    # Once the status is written, a resync finds no transition at all.
    tel.status_computed(_schedule(after["recentRuns"]), after, Observed())
    assert [e["reason"] for e in poster.events.values()] == ["RunSucceeded"]
    assert poster.calls == 1
    labels = {"namespace": "data", "schedule": "weather-daily", "trigger": "Scheduled"}
    assert metrics.registry.get_sample_value("assetcron_runs_succeeded_total", labels) == 1
    # A restarted operator (fresh in-memory state) computing that diff again is refused
    # by the deterministic name: the API's 409.
    _telemetry(poster, OperatorMetrics()).status_computed(before, after, Observed())
    assert len(poster.events) == 1
    (event,) = poster.events.values()
    assert event["involved"]["uid"] == "u1"
    assert event["count"] == 1


def test_a_schedule_going_not_ready_is_one_warning_and_a_relapse_counts_again() -> None:
    poster = RecordingPoster()
    tel = _telemetry(poster, OperatorMetrics())

    def ready(status: str, t: str) -> dict[str, Any]:
        return {"conditions": [{"type": "Ready", "status": status, "reason": "InvalidSpec"
                                if status == "False" else "Reconciled",
                                "message": "spec.timeZone: unknown zone 'Mars/Base'",
                                "lastTransitionTime": t}]}  # fmt: skip

    ok, bad = ready("True", "t0"), ready("False", "t1")
    tel.status_computed(_schedule([], **ok), bad, Observed())
    tel.status_computed(_schedule([], **bad), bad, Observed())  # resync: nothing
    (event,) = poster.events.values()
    assert (event["type_"], event["reason"]) == ("Warning", "InvalidSpec")
    assert "Mars/Base" in event["message"]
    # Fixed, then broken the same way again: the same event, counted twice.
    tel.status_computed(_schedule([], **bad), ready("True", "t2"), Observed())
    tel.status_computed(_schedule([], **ready("True", "t2")), ready("False", "t3"), Observed())
    (event,) = poster.events.values()
    assert event["count"] == 2


# ---------------------------------------------------------------------------- metrics
def _pod(job: str, started: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"batch.kubernetes.io/job-name": job}},
        "status": {"containerStatuses": [{"state": {"terminated": {"startedAt": started}}}]},
    }


def test_lags_tick_to_job_and_job_to_pod() -> None:
    run = _run("r-1", "Running", scheduledTime="2026-11-21T14:00:00Z")
    job = {"metadata": {"creationTimestamp": "2026-11-21T14:00:03Z"}}
    pods = [_pod("r-1", "2026-11-21T14:00:10Z"), _pod("r-1", "2026-11-21T14:01:00Z")]
    assert pod_started_at(pods) == datetime(2026, 11, 21, 14, 0, 10, tzinfo=UTC)
    assert lags(run, job, pods) == (3.0, 7.0)
    # A manual run's scheduled time is whatever the user asked for: no tick lag.
    assert lags({**run, "trigger": "Backfill"}, job, pods) == (None, 7.0)
    assert lags(run, None, []) == (None, None)


def test_record_runs_counts_durations_assets_and_lags() -> None:
    metrics = OperatorMetrics()
    run = _run(
        "r-1",
        "Failed",
        scheduledTime="2026-11-21T14:00:00Z",
        startTime="2026-11-21T14:00:03Z",
        completionTime="2026-11-21T14:01:03Z",
        counts={"materialized": 2, "reused": 1, "failed": 1, "skipped": 3},
    )
    jobs = [{"metadata": {"name": "r-1", "creationTimestamp": "2026-11-21T14:00:02Z"}}]
    pods = [_pod("r-1", "2026-11-21T14:00:06Z"), _pod("other", "2026-11-21T14:00:04Z")]
    transitions = run_transitions([], [run])
    metrics.record_runs("data", "s", transitions, jobs, pods)
    get = metrics.registry.get_sample_value
    base = {"namespace": "data", "schedule": "s"}
    assert get("assetcron_runs_started_total", {**base, "trigger": "Scheduled"}) == 1
    assert get("assetcron_runs_failed_total", {**base, "trigger": "Scheduled"}) == 1
    assert get("assetcron_run_duration_seconds_sum", {**base, "result": "Failed"}) == 60
    assert get("assetcron_asset_outcomes_total", {**base, "outcome": "Skipped"}) == 3
    assert get("assetcron_asset_outcomes_total", {**base, "outcome": "Materialized"}) == 2
    ns = {"namespace": "data"}  # the lags are the cluster's: by namespace
    assert get("assetcron_schedule_job_lag_seconds_sum", ns) == 2
    assert get("assetcron_schedule_pod_start_lag_seconds_sum", ns) == 4  # its own pod
    assert get("assetcron_schedule_pod_start_lag_seconds_bucket", {**ns, "le": "5.0"}) == 1


def test_schedule_gauges_age_since_success_or_creation_and_interval() -> None:
    body: Mapping[str, Any] = {
        "metadata": {"name": "s", "namespace": "data", "creationTimestamp": "2026-11-20T00:00:00Z"},
        "status": {
            "lastSuccessfulTime": "2026-11-21T14:00:00Z",
            "nextRuns": ["2026-11-22T14:00:00Z", "2026-11-23T14:00:00Z"],
        },
    }
    assert schedule_gauges(body, NOW) == (300.0, 86400.0)
    never = {"metadata": body["metadata"], "status": {"nextRuns": []}}
    assert schedule_gauges(never, NOW) == (
        (NOW - datetime(2026, 11, 20, tzinfo=UTC)).total_seconds(),
        None,
    )

    metrics = OperatorMetrics()
    metrics.add_schedule_collector(ScheduleCollector(lambda: [body], clock=lambda: NOW))
    text = generate_latest(metrics.registry).decode()
    assert (
        'assetcron_schedule_seconds_since_last_success{namespace="data",schedule="s"} 300.0' in text
    )
    assert 'assetcron_schedule_interval_seconds{namespace="data",schedule="s"} 86400.0' in text


def test_reconciling_counts_errors_and_reraises() -> None:
    metrics = OperatorMetrics()
    with metrics.reconciling("assetschedule"):
        pass
    with pytest.raises(RuntimeError), metrics.reconciling("assetschedule"):
        raise RuntimeError("boom")
    get = metrics.registry.get_sample_value
    assert get("assetcron_reconcile_total", {"resource": "assetschedule"}) == 2
    assert get("assetcron_reconcile_errors_total", {"resource": "assetschedule"}) == 1
    assert get("assetcron_reconcile_duration_seconds_count", {"resource": "assetschedule"}) == 2


def test_watch_restarts_are_counted_from_kopfs_records() -> None:
    import logging

    metrics = OperatorMetrics()
    counter = WatchRestartCounter(metrics.watch_restarts)

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("kopf", logging.DEBUG, __file__, 1, msg, None, None)

    assert not counter.filter(record("Restarting the watch-stream for jobs.v1.batch cluster-wide."))
    counter.filter(record("Watch-stream for pods.v1 in 'x' is inactive, reconnecting."))
    counter.filter(record("Starting the watch-stream for pods.v1 in 'x'."))
    get = metrics.registry.get_sample_value
    assert get("assetcron_watch_restarts_total", {"reason": "gone"}) == 1
    assert get("assetcron_watch_restarts_total", {"reason": "inactive"}) == 1


def test_backfill_phase_changes_become_one_event_each() -> None:
    from assetcron_operator.events import backfill_events

    running = {"id": "b1", "phase": "Running", "ticks": 7, "from": "A", "to": "B", "value": "v"}
    (started,) = backfill_events(None, running)
    assert started[0] == ("Normal", "BackfillStarted", "Backfill b1 started: 7 ticks from A to B")
    # Progress inside the phase posts nothing.
    assert backfill_events(running, {**running, "succeeded": 3}) == []
    done = {**running, "phase": "Succeeded", "succeeded": 7, "created": 5, "existing": 2}
    (succeeded,) = backfill_events(running, done)
    assert succeeded[0][1] == "BackfillSucceeded"
    assert "7 of 7 ticks (5 run by it, 2 had run)" in succeeded[0][2]
    assert succeeded[1] != started[1]  # distinct Event names
    # A backfill that ends in the step that starts it (every tick had run): both.
    again = {**done, "id": "b2", "value": "w", "created": 0, "existing": 7}
    assert [e[0][1] for e in backfill_events(done, again)] == [
        "BackfillStarted",
        "BackfillSucceeded",
    ]
    failed = {**running, "phase": "Failed", "failed": 1, "failedRuns": ["w-29000000"]}
    (failure,) = backfill_events(running, failed)
    assert failure[0][:2] == ("Warning", "BackfillFailed")
    assert "w-29000000" in failure[0][2]
    rejected = {"id": "rejected", "phase": "Rejected", "value": "x/y#z", "message": "bad range"}
    (refusal,) = backfill_events(None, rejected)
    assert refusal[0][:2] == ("Warning", "BackfillRejected")
    assert "bad range" in refusal[0][2]
    assert backfill_events(running, None) == []
