"""Prometheus metrics of the operator (the official ``prometheus_client``).

Served on ``ASSETCRON_METRICS_PORT`` (chart: the container port named ``metrics`` behind
the chart's Service) at ``/metrics``. Everything is derived from what the operator
already watches (Jobs, their pods' termination summaries, the schedules' status): no
metric costs an API call.

Counters and histograms of runs (labels ``namespace``, ``schedule``):

* ``assetcron_runs_started_total`` (+ ``trigger``): runs whose pod started;
* ``assetcron_runs_succeeded_total`` / ``assetcron_runs_failed_total`` (+ ``trigger``):
  runs whose Job completed / failed;
* ``assetcron_run_duration_seconds`` (histogram, + ``result``): Job start to completion;
* ``assetcron_asset_outcomes_total`` (+ ``outcome``: ``Materialized``, ``Reused``,
  ``Failed``, ``Skipped``): the assets of finished runs, from the runner's summary;
* ``assetcron_schedule_job_lag_seconds`` (histogram, ``namespace`` only): tick
  (scheduled time) to Job creation, scheduled runs only;
* ``assetcron_schedule_pod_start_lag_seconds`` (histogram, ``namespace`` only): Job
  creation to the run container's start.

Gauges per schedule, computed at scrape time from the schedules' status:

* ``assetcron_schedule_seconds_since_last_success``: now - ``lastSuccessfulTime`` (the
  schedule's creation when it never succeeded);
* ``assetcron_schedule_interval_seconds``: the gap between its next two ticks, only for
  Ready, unsuspended schedules (the alert "no success within N intervals" joins on it).

The operator itself:

* ``assetcron_reconcile_total``, ``assetcron_reconcile_errors_total``,
  ``assetcron_reconcile_duration_seconds`` (label ``resource``: ``assetschedule``,
  ``assetjob``, ``run``): handler calls and refresh passes, those that raised, and
  their duration;
* ``assetcron_watch_restarts_total`` (label ``reason``): kopf watch streams restarted
  (``gone``: 410, resource version too old; ``inactive``: no event within the timeout),
  see :class:`WatchRestartCounter`.

Plus ``process_*`` (CPU, memory, open files) and ``python_*`` of the operator process.

Run counters count transitions the operator *observes* (the status diff, see
:func:`assetcron_operator.events.run_transitions`), once per process: they start at 0
when the operator starts and never count a run twice, also not the runs finished before
a restart (Prometheus' ``rate``/``increase`` handle the reset). Lag histograms are
observed when the run starts.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from assetcron_operator.events import RunTransition

__all__ = [
    "LAG_BUCKETS",
    "RUN_DURATION_BUCKETS",
    "OperatorMetrics",
    "ScheduleCollector",
    "WatchRestartCounter",
    "lags",
    "pod_started_at",
    "schedule_gauges",
    "serve",
]

#: Seconds; a CronJob controller creates Jobs within seconds of the tick, a pod starts
#: within seconds on a warm node, minutes when an image is pulled or a node scales up.
LAG_BUCKETS = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800)
#: Seconds; asset runs take from seconds to hours.
RUN_DURATION_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600)

_OUTCOMES = (("materialized", "Materialized"), ("reused", "Reused"), ("failed", "Failed"),
             ("skipped", "Skipped"))  # fmt: skip


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def pod_started_at(pods: Iterable[Mapping[str, Any]]) -> datetime | None:
    """When the first attempt's run container started: the earliest ``startedAt`` of a
    running or terminated container status of ``pods`` (the Job's pods), else ``None``."""
    starts = []
    for pod in pods:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            state = cs.get("state") or {}
            for phase in ("running", "terminated"):
                if (when := _parse((state.get(phase) or {}).get("startedAt"))) is not None:
                    starts.append(when)
    return min(starts, default=None)


def lags(
    run: Mapping[str, Any], job: Mapping[str, Any] | None, pods: Iterable[Mapping[str, Any]]
) -> tuple[float | None, float | None]:
    """``(tick to Job creation, Job creation to pod start)`` in seconds for one run.

    The first only for a ``Scheduled`` run (a manual run's scheduled time is whatever the
    user asked for); either is ``None`` when a time is unknown. Negative values (clock
    skew between the controller and the kubelet) are reported as 0.
    """
    created = _parse(((job or {}).get("metadata") or {}).get("creationTimestamp"))
    scheduled = _parse(run.get("scheduledTime"))
    started = pod_started_at(pods)
    tick_to_job = None
    if run.get("trigger") == "Scheduled" and created and scheduled:
        tick_to_job = max((created - scheduled).total_seconds(), 0.0)
    job_to_pod = max((started - created).total_seconds(), 0.0) if created and started else None
    return tick_to_job, job_to_pod


def schedule_gauges(
    schedule: Mapping[str, Any], now: datetime
) -> tuple[float | None, float | None]:
    """``(seconds since last success, interval seconds)`` of one AssetSchedule body.

    Seconds since ``status.lastSuccessfulTime``, or since the schedule's creation when it
    never succeeded (so a schedule that never worked still ages into an alert). The
    interval is the gap between ``status.nextRuns[0]`` and ``[1]``; ``None`` when fewer
    than two next runs are listed (suspended, not Ready, a schedule that stops firing).
    """
    status = schedule.get("status") or {}
    meta = schedule.get("metadata") or {}
    since = _parse(status.get("lastSuccessfulTime")) or _parse(meta.get("creationTimestamp"))
    age = max((now - since).total_seconds(), 0.0) if since else None
    nxt = [_parse(t) for t in (status.get("nextRuns") or [])[:2]]
    interval = None
    if len(nxt) == 2 and nxt[0] and nxt[1]:
        interval = (nxt[1] - nxt[0]).total_seconds()
    return age, interval


class ScheduleCollector(Collector):
    """Per-schedule gauges computed at scrape time from ``schedules()`` (the operator's
    index of AssetSchedule bodies): no state to keep in step with deletions."""

    def __init__(
        self,
        schedules: Callable[[], Iterable[Mapping[str, Any]]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.schedules = schedules
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the two gauge families (see the module docstring)."""
        labels = ["namespace", "schedule"]
        since = GaugeMetricFamily(
            "assetcron_schedule_seconds_since_last_success",
            "Seconds since the schedule's last successful run (since its creation if none).",
            labels=labels,
        )
        interval = GaugeMetricFamily(
            "assetcron_schedule_interval_seconds",
            "Seconds between the schedule's next two ticks (Ready, unsuspended schedules).",
            labels=labels,
        )
        now = self.clock()
        for schedule in self.schedules():
            meta = schedule.get("metadata") or {}
            key = [str(meta.get("namespace", "")), str(meta.get("name", ""))]
            age, every = schedule_gauges(schedule, now)
            if age is not None:
                since.add_metric(key, age)
            if every is not None:
                interval.add_metric(key, every)
        yield since
        yield interval


class OperatorMetrics:
    """The operator's metrics in their own registry (injected: tests make fresh ones).

    Args:
        registry: where to register; a new :class:`CollectorRegistry` by default, with
            the process and platform collectors.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # No `*_created` series: they double the counters' and histograms' series (per
        # schedule) for a timestamp Prometheus does not need (benchmarks/metrics.py).
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client
        if registry is None:
            registry = CollectorRegistry()
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
        self.registry = registry
        run = ["namespace", "schedule", "trigger"]
        self.runs_started = Counter(
            "assetcron_runs_started", "Runs whose pod started.", run, registry=registry
        )
        self.runs_succeeded = Counter(
            "assetcron_runs_succeeded", "Runs whose Job completed.", run, registry=registry
        )
        self.runs_failed = Counter(
            "assetcron_runs_failed", "Runs whose Job failed.", run, registry=registry
        )
        self.run_duration = Histogram(
            "assetcron_run_duration_seconds",
            "Run duration, Job start to completion.",
            ["namespace", "schedule", "result"],
            buckets=RUN_DURATION_BUCKETS,
            registry=registry,
        )
        self.asset_outcomes = Counter(
            "assetcron_asset_outcomes",
            "Assets of finished runs by outcome (Materialized, Reused, Failed, Skipped).",
            ["namespace", "schedule", "outcome"],
            registry=registry,
        )
        # The lags are the cluster's (controller, scheduler, kubelet, image pulls): by
        # namespace, not per schedule, which would add ~30 series per schedule to every
        # scrape (benchmarks/metrics.py); a schedule's own stuck pod is in its status.
        self.job_lag = Histogram(
            "assetcron_schedule_job_lag_seconds",
            "Tick (scheduled time) to Job creation, scheduled runs.",
            ["namespace"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.pod_lag = Histogram(
            "assetcron_schedule_pod_start_lag_seconds",
            "Job creation to the start of the run container.",
            ["namespace"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.reconciles = Counter(
            "assetcron_reconcile", "Reconciles.", ["resource"], registry=registry
        )
        self.reconcile_errors = Counter(
            "assetcron_reconcile_errors", "Reconciles that raised.", ["resource"], registry=registry
        )
        self.reconcile_duration = Histogram(
            "assetcron_reconcile_duration_seconds",
            "Time per reconcile.",
            ["resource"],
            registry=registry,
        )
        self.watch_restarts = Counter(
            "assetcron_watch_restarts",
            "kopf watch streams restarted (gone: 410 Gone; inactive: no event in time).",
            ["reason"],
            registry=registry,
        )

    def add_schedule_collector(self, collector: ScheduleCollector) -> None:
        """Register the per-schedule gauges."""
        self.registry.register(collector)

    def record_runs(
        self,
        namespace: str,
        schedule: str,
        transitions: Sequence[RunTransition],
        jobs: Sequence[Mapping[str, Any]] = (),
        pods: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Count ``transitions`` of one schedule (already deduplicated by the caller).

        ``jobs`` and ``pods`` are the schedule's Jobs and their pods (kopf's indexes),
        for the lags of a ``Started`` transition.
        """
        for t in transitions:
            run = t.run
            trigger = str(run.get("trigger") or "Scheduled")
            labels = (namespace, schedule, trigger)
            if t.kind == "Started":
                self.runs_started.labels(*labels).inc()
                name = run.get("name")
                job = next((j for j in jobs if (j.get("metadata") or {}).get("name") == name), None)
                own = [p for p in pods if _job_of(p) == name]
                to_job, to_pod = lags(run, job, own)
                if to_job is not None:
                    self.job_lag.labels(namespace).observe(to_job)
                if to_pod is not None:
                    self.pod_lag.labels(namespace).observe(to_pod)
                continue
            (self.runs_succeeded if t.kind == "Succeeded" else self.runs_failed).labels(
                *labels
            ).inc()
            start, end = _parse(run.get("startTime")), _parse(run.get("completionTime"))
            if start and end:
                self.run_duration.labels(namespace, schedule, t.kind).observe(
                    max((end - start).total_seconds(), 0.0)
                )
            counts = run.get("counts") or {}
            for field, outcome in _OUTCOMES:
                value = counts.get(field)
                if isinstance(value, int) and value > 0:
                    self.asset_outcomes.labels(namespace, schedule, outcome).inc(value)

    @contextlib.contextmanager
    def reconciling(self, resource: str) -> Iterator[None]:
        """Count and time one reconcile of ``resource`` (``assetschedule``,
        ``assetjob``, ``run``); an exception counts as an error and propagates."""
        started = time.perf_counter()
        self.reconciles.labels(resource).inc()
        try:
            yield
        except BaseException:
            self.reconcile_errors.labels(resource).inc()
            raise
        finally:
            self.reconcile_duration.labels(resource).observe(time.perf_counter() - started)


def _job_of(pod: Mapping[str, Any]) -> str | None:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    name = labels.get("batch.kubernetes.io/job-name") or labels.get("job-name")
    if name:
        return str(name)
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == "Job":
            return str(ref.get("name"))
    return None


#: kopf's watch-stream logger and the messages it logs (at DEBUG) when it restarts one.
WATCH_LOGGER = "kopf._cogs.clients.watching"
_RESTARTS = (("Restarting the watch-stream", "gone"), ("is inactive, reconnecting", "inactive"))


class WatchRestartCounter(logging.Filter):
    """Counts kopf's watch-stream restarts from its log records.

    kopf exposes no hook or metric for its watch streams; it logs (at DEBUG) when it
    restarts one after a ``410 Gone`` and when a stream stayed silent past its
    inactivity timeout. :meth:`install` lowers that one logger to DEBUG so the records
    exist, counts them here, and drops its DEBUG records again unless ``verbose``. The
    routine reconnect after the server-side watch timeout (every
    ``settings.watching.server_timeout`` seconds) logs nothing and is not counted.
    """

    def __init__(self, counter: Counter, *, verbose: bool = False) -> None:
        super().__init__()
        self.counter = counter
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        """Count a restart record; keep DEBUG records only when verbose."""
        message = str(record.msg)
        for needle, reason in _RESTARTS:
            if needle in message:
                self.counter.labels(reason).inc()
        return self.verbose or record.levelno > logging.DEBUG

    def install(self) -> None:
        """Attach to kopf's watch logger (idempotent)."""
        log = logging.getLogger(WATCH_LOGGER)
        if not any(isinstance(f, WatchRestartCounter) for f in log.filters):
            log.setLevel(logging.DEBUG)
            log.addFilter(self)


_served: dict[int, Any] = {}
_served_lock = threading.Lock()


def serve(metrics: OperatorMetrics, port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104
    """Serve ``metrics.registry`` on ``http://addr:port/metrics`` in a daemon thread
    (prometheus_client's own HTTP server). Once per port per process.

    Raises:
        OSError: the port cannot be bound.
    """
    with _served_lock:
        if port in _served:
            return
        _served[port] = start_http_server(port, addr=addr, registry=metrics.registry)
