"""Cost of the operator's metrics: one Prometheus scrape, and the per-status telemetry.

A scrape renders every series, including the per-schedule gauges computed at scrape time
from the schedule index (:class:`assetcron_operator.metrics.ScheduleCollector`); the
telemetry runs on every status computation (the refresh pass calls it for every
schedule). Both are measured on N synthetic schedules with a full run history and one
run counted per schedule (so every labelled series exists).

Usage: ``.venv/bin/python benchmarks/metrics.py [--schedules N] [--repeat R]``. Prints the
median scrape time and size, and the median telemetry time per schedule for an idle
resync (no transition) and for a status carrying one new transition.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from prometheus_client import generate_latest

from assetcron_operator.events import SeenOnce
from assetcron_operator.metrics import OperatorMetrics, ScheduleCollector
from assetcron_operator.service import Observed
from assetcron_operator.telemetry import Telemetry


def _runs(i: int, phase: str) -> list[dict[str, Any]]:
    return [
        {
            "name": f"s{i}-{k}",
            "phase": phase if k == 0 else "Succeeded",
            "trigger": "Scheduled",
            "scheduledTime": "2026-11-21T14:00:00Z",
            "startTime": "2026-11-21T14:00:02Z",
            "completionTime": "2026-11-21T14:00:43Z",
            "counts": {"materialized": 5, "reused": 0, "failed": 0, "skipped": 0},
            "assets": [{"key": f"a/{j}", "outcome": "Materialized"} for j in range(5)],
        }
        for k in range(10)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    n = args.schedules
    bodies = [
        json.dumps({
            "metadata": {"name": f"s{i}", "namespace": f"ns{i % 20}", "uid": f"u{i}",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"lastSuccessfulTime": "2026-11-21T14:00:43Z",
                       "nextRuns": ["2026-11-22T14:00:00Z", "2026-11-23T14:00:00Z"],
                       "recentRuns": _runs(i, "Running")},
        })
        for i in range(n)
    ]  # fmt: skip
    metrics = OperatorMetrics()
    # As the operator does: index values are JSON text, decoded at scrape time.
    metrics.add_schedule_collector(ScheduleCollector(lambda: [json.loads(b) for b in bodies]))
    telemetry = Telemetry(metrics=metrics, seen=SeenOnce(capacity=10 * n))
    schedules = [json.loads(b) for b in bodies]
    moved = []
    t0 = time.perf_counter()
    for i, s in enumerate(schedules):
        desired = {"recentRuns": _runs(i, "Succeeded")}
        telemetry.status_computed(s, desired, Observed())
        moved.append(desired)
    transition_ms = (time.perf_counter() - t0) * 1000 / n
    t0 = time.perf_counter()
    for s in schedules:
        telemetry.status_computed(s, s["status"], Observed())
    idle_ms = (time.perf_counter() - t0) * 1000 / n

    times, size = [], 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        size = len(generate_latest(metrics.registry))
        times.append(time.perf_counter() - t0)
    print(f"schedules: {n} ({datetime.now(UTC):%Y-%m-%d %H:%M}Z)")
    print(f"scrape: median {statistics.median(times) * 1000:.1f} ms, {size / 1024:.0f} KiB")
    print(f"telemetry per schedule: idle resync {idle_ms:.3f} ms,", end=" ")
    print(f"one transition {transition_ms:.3f} ms")


if __name__ == "__main__":
    main()
