"""Per-partition status of assets, derived from the records (``assetcron asset status``).

Pure: the partitions that exist (from the asset's partitions definition at a given
time) and what the records say about each (:meth:`RecordStore.partition_states`) go in;
rows for a table or JSON come out. A partition's status is Dagster's vocabulary for
partition status:

* ``Materialized``: the newest attempt materialized it and the value is stored;
* ``Failed``: the newest attempt failed or was interrupted (an older value may still be
  stored: ``stored`` says so);
* ``InProgress``: the newest attempt has started and not ended (or its run died
  without recording the end);
* ``Missing``: no attempt, or the newest one materialized a value that is gone.

Partitions the records know that the definition does not list (a key set explicitly
for a future window, a definition changed since) are shown after the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from assetcron._partitions import (
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from assetcron._records import PartitionState

__all__ = ["STATUSES", "AssetStatus", "asset_status", "describe_partitions", "format_table"]

STATUSES = ("Materialized", "Failed", "InProgress", "Missing")
#: Most key ranges shown per status line in the table (the JSON has every partition).
MAX_RANGES = 6


def _status(state: PartitionState | None) -> str:
    if state is None:
        return "Missing"
    latest = state.latest.status
    if latest == "Materialized":
        return "Materialized" if state.stored else "Missing"
    if latest == "Started":
        return "InProgress"
    return "Failed"  # Failed or Interrupted


def describe_partitions(pd: PartitionsDefinition | None) -> str:
    """A short description: ``daily from 2024-01-01 (UTC)``, ``static (3 keys)``..."""
    if pd is None:
        return "unpartitioned"
    if isinstance(pd, StaticPartitionsDefinition):
        return f"static ({len(pd.partition_keys)} keys)"
    if isinstance(pd, TimeWindowPartitionsDefinition):
        kind = type(pd).__name__.removesuffix("PartitionsDefinition").lower()
        if kind == "timewindow":
            kind = f"cron {pd.cron_schedule!r}"
        first = pd.start.strftime(pd.fmt)
        until = f" until {pd.end.strftime(pd.fmt)}" if pd.end is not None else ""
        return f"{kind} from {first}{until} ({pd.timezone})"
    return type(pd).__name__


@dataclass(frozen=True)
class AssetStatus:
    """One asset's partitions and their statuses, in partition order (``None`` is the
    unpartitioned value); ``stored`` says which partitions have a value now."""

    key: str
    partitions: str
    statuses: Mapping[str | None, str]
    stored: frozenset[str | None]
    last_materialized: datetime | None

    def counts(self) -> dict[str, int]:
        """How many partitions have each status."""
        out = dict.fromkeys(STATUSES, 0)
        for s in self.statuses.values():
            out[s] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        """``{"key", "partitionsDefinition", "counts", "partitions": [{"key", "status",
        "stored"}], "lastMaterialized"}`` (unpartitioned: one entry with key null)."""
        return {
            "key": self.key,
            "partitionsDefinition": self.partitions,
            "counts": self.counts(),
            "lastMaterialized": (
                self.last_materialized.isoformat() if self.last_materialized else None
            ),
            "partitions": [
                {"key": k, "status": s, "stored": k in self.stored}
                for k, s in self.statuses.items()
            ],
        }


def asset_status(
    key: str,
    pd: PartitionsDefinition | None,
    states: Mapping[str | None, PartitionState],
    now: datetime,
    keys: Sequence[str] | None = None,
) -> AssetStatus:
    """The status of asset ``key`` at ``now`` (aware) from its partition ``states``;
    ``keys`` are ``pd``'s partition keys at ``now`` when the caller has them already."""
    if pd is None:
        expected: list[str | None] = [None]
    else:
        expected = list(keys if keys is not None else pd.get_partition_keys(now))
    known = set(expected)
    extra: list[str | None] = [*sorted(k for k in states if k is not None and k not in known)]
    statuses = {k: _status(states.get(k)) for k in [*expected, *extra]}
    ends = [
        s.latest.end_time
        for s in states.values()
        if s.latest.status == "Materialized" and s.latest.end_time is not None
    ]
    return AssetStatus(
        key=key,
        partitions=describe_partitions(pd),
        statuses=statuses,
        stored=frozenset(k for k, s in states.items() if s.stored),
        last_materialized=max(ends) if ends else None,
    )


def _ranges(keys: Sequence[str | None], statuses: Mapping[str | None, str], status: str) -> str:
    """Runs of consecutive partitions (in definition order) with ``status``:
    ``2024-01-01..2024-01-31, 2024-02-03``; at most :data:`MAX_RANGES` runs."""
    runs: list[tuple[str, str]] = []
    start: str | None = None
    prev: str | None = None
    for k in [*keys, None]:
        if k is not None and statuses[k] == status:
            if start is None:
                start = k
            prev = k
            continue
        if start is not None and prev is not None:
            runs.append((start, prev))
        start = prev = None
    shown = [a if a == b else f"{a}..{b}" for a, b in runs[:MAX_RANGES]]
    more = len(runs) - MAX_RANGES
    return ", ".join(shown) + (f", ... ({more} more ranges)" if more > 0 else "")


def format_table(rows: Sequence[AssetStatus]) -> str:
    """The human-readable status: one line per asset with its partition counts, then,
    for a partitioned asset, one indented line per status listing the key ranges."""
    head = ("ASSET", "PARTITIONS", "MATERIALIZED", "FAILED", "IN PROGRESS", "MISSING")
    table = [head]
    for r in rows:
        c = r.counts()
        table.append(
            (
                r.key,
                r.partitions + (f": {len(r.statuses)}" if None not in r.statuses else ""),
                str(c["Materialized"]),
                str(c["Failed"]),
                str(c["InProgress"]),
                str(c["Missing"]),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    lines: list[str] = []
    for i, row in enumerate(table):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            continue
        r = rows[i - 1]
        if None in r.statuses:
            continue
        keys = list(r.statuses)
        for status in STATUSES:
            if status in r.statuses.values():
                label = {"InProgress": "in progress"}.get(status, status.lower())
                lines.append(f"    {label:<13} {_ranges(keys, r.statuses, status)}")
    return "\n".join(lines)
