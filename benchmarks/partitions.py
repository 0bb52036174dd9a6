"""Partition speed: listing keys and choosing a tick's partition, assetcron and Dagster.

What a run pays for partitions: ``key_for_schedule_tick`` once per run (the partition
of the tick), ``get_partition_keys`` for ``AllPartitionMapping`` inputs and
``assetcron asset status``, and ``time_window`` per partition key. Printed per
definition, in milliseconds, with Dagster's equivalent (``get_last_partition_key`` /
``get_partition_keys`` under ``partition_loading_context``) when dagster is importable
(the dev extra); the keys are checked equal. No assertions on time. Dagster caches its
first/last windows per current time (``lru_cache``), so its repeated tick figure is a
cache hit; ours is computed each time.

Usage::

    .venv/bin/python benchmarks/partitions.py
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import assetcron as ac

NOW = datetime(2025, 11, 2, 7, 30, tzinfo=UTC)
CASES: list[tuple[str, Callable[[Any], Any]]] = [
    ("hourly, 1 year, New York", lambda m: m.HourlyPartitionsDefinition(
        "2024-11-01-00:00", timezone="America/New_York")),
    ("daily, 10 years, Berlin", lambda m: m.DailyPartitionsDefinition(
        "2015-11-01", timezone="Europe/Berlin")),
    ("weekly, 10 years", lambda m: m.WeeklyPartitionsDefinition("2015-11-01")),
    ("monthly, 30 years", lambda m: m.MonthlyPartitionsDefinition("1995-11-01")),
    ("cron */15, 3 months, New York", lambda m: m.TimeWindowPartitionsDefinition(
        start="2025-08-01-00:00", fmt="%Y-%m-%d-%H:%M", cron_schedule="*/15 * * * *",
        timezone="America/New_York")),
]  # fmt: skip


def _ms(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000, out


def main() -> None:
    dg = None
    if importlib.util.find_spec("dagster") is not None:
        import dagster as dg
        from dagster._core.definitions.partitions.context import partition_loading_context
    header = f"{'definition':34} {'keys':>7} {'tick ms':>8} {'list ms':>8} {'window µs':>10}"
    print(header + ("  dagster: tick ms  list ms  same" if dg else ""))
    for name, make in CASES:
        ours = make(ac)
        tick_ms, key = _ms(lambda o=ours: o.key_for_schedule_tick(NOW))
        list_ms, keys = _ms(lambda o=ours: o.get_partition_keys(NOW))
        sample = keys[:: max(1, len(keys) // 100)]
        t0 = time.perf_counter()
        for k in sample:
            ours.time_window(k)
        window_us = (time.perf_counter() - t0) / len(sample) * 1e6
        line = f"{name:34} {len(keys):>7} {tick_ms:>8.2f} {list_ms:>8.1f} {window_us:>10.0f}"
        if dg is not None:
            theirs = make(dg)

            def their_tick(t: Any = theirs) -> Any:
                with partition_loading_context(effective_dt=NOW):
                    return t.get_last_partition_key()

            def their_list(t: Any = theirs) -> Any:
                with partition_loading_context(effective_dt=NOW):
                    return t.get_partition_keys()

            d_tick, d_key = _ms(their_tick)
            d_list, d_keys = _ms(their_list)
            same = "yes" if (d_key, list(d_keys)) == (key, keys) else "NO"
            line += f"  {d_tick:>15.2f} {d_list:>8.1f}  {same}"
        print(line)


if __name__ == "__main__":
    main()
