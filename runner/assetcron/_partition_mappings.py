"""Partition mappings: which partitions of an upstream asset a downstream partition reads.

Dagster's classes and defaults (``dagster/_core/definitions/partitions/mapping``):

* :class:`IdentityPartitionMapping`: the same key upstream.
* :class:`TimeWindowPartitionMapping`: the upstream partitions whose windows overlap the
  downstream window, after moving its start by ``start_offset`` and its end by
  ``end_offset`` downstream windows (``start_offset=-6`` on daily partitions: the last 7
  days). Offsets that reach before the upstream's first partition or past its last are
  clipped to them; a window that lies (partly) outside the upstream partitions is an
  error unless ``allow_nonexistent_upstream_partitions``.
* :class:`AllPartitionMapping`: every upstream partition that exists at the run's time.
* :class:`LastPartitionMapping`: the upstream's last partition at the run's time.

Default when no mapping is given (Dagster ``infer_partition_mapping``): both time
windows -> ``TimeWindowPartitionMapping()``; both partitioned otherwise ->
``IdentityPartitionMapping()``; else ``AllPartitionMapping()``.

How the value arrives (Dagster's default UPath IO manager ``load_input``): no upstream
partition -> ``None``; one -> its value; several -> ``{partition_key: value}`` in
partition order.

Pure: the run's time is an argument ("current_time": the tick).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from assetcron._errors import InvalidDefinitionError
from assetcron._partitions import (
    PartitionKeyError,
    PartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionsDefinition,
)

__all__ = [
    "AllPartitionMapping",
    "IdentityPartitionMapping",
    "LastPartitionMapping",
    "PartitionMapping",
    "TimeWindowPartitionMapping",
    "check_partition_mapping",
    "infer_partition_mapping",
    "upstream_partition_keys",
]


class PartitionMapping:
    """Base of the partition mappings (Dagster ``PartitionMapping``)."""

    def upstream_keys(
        self,
        downstream_key: str | None,
        downstream: PartitionsDefinition | None,
        upstream: PartitionsDefinition,
        current_time: datetime,
    ) -> list[str]:
        """The upstream keys ``downstream_key`` of ``downstream`` reads at ``current_time``.
        Raises :class:`PartitionKeyError` when it needs partitions that do not exist, and
        :class:`InvalidDefinitionError` for a combination the mapping does not support."""
        raise NotImplementedError


@dataclass(frozen=True)
class IdentityPartitionMapping(PartitionMapping):
    """Downstream partition ``k`` reads upstream partition ``k`` (Dagster's)."""

    def upstream_keys(
        self,
        downstream_key: str | None,
        downstream: PartitionsDefinition | None,
        upstream: PartitionsDefinition,
        current_time: datetime,
    ) -> list[str]:
        if downstream_key is None:
            raise InvalidDefinitionError(
                "IdentityPartitionMapping needs a partitioned downstream asset; use"
                " AllPartitionMapping or LastPartitionMapping for an unpartitioned one"
            )
        if not upstream.has_partition_key(downstream_key, current_time):
            raise PartitionKeyError(
                f"partition {downstream_key!r} does not exist upstream (identity mapping)"
            )
        return [downstream_key]


@dataclass(frozen=True)
class AllPartitionMapping(PartitionMapping):
    """Every downstream partition reads every upstream partition (Dagster's)."""

    def upstream_keys(
        self,
        downstream_key: str | None,
        downstream: PartitionsDefinition | None,
        upstream: PartitionsDefinition,
        current_time: datetime,
    ) -> list[str]:
        return upstream.get_partition_keys(current_time)


@dataclass(frozen=True)
class LastPartitionMapping(PartitionMapping):
    """Every downstream partition reads the upstream's last partition (Dagster's)."""

    def upstream_keys(
        self,
        downstream_key: str | None,
        downstream: PartitionsDefinition | None,
        upstream: PartitionsDefinition,
        current_time: datetime,
    ) -> list[str]:
        keys = upstream.get_partition_keys(current_time)
        return keys[-1:]


@dataclass(frozen=True)
class TimeWindowPartitionMapping(PartitionMapping):
    """Time window to overlapping time windows, with offsets (Dagster's; see the module
    docstring). ``start_offset``/``end_offset`` count downstream windows."""

    start_offset: int = 0
    end_offset: int = 0
    allow_nonexistent_upstream_partitions: bool = False

    def __post_init__(self) -> None:
        for name in ("start_offset", "end_offset"):
            if not isinstance(getattr(self, name), int):
                raise InvalidDefinitionError(
                    f"TimeWindowPartitionMapping({name}=...) must be an int"
                )

    def upstream_keys(
        self,
        downstream_key: str | None,
        downstream: PartitionsDefinition | None,
        upstream: PartitionsDefinition,
        current_time: datetime,
    ) -> list[str]:
        if not isinstance(downstream, TimeWindowPartitionsDefinition) or not isinstance(
            upstream, TimeWindowPartitionsDefinition
        ):
            raise InvalidDefinitionError(
                "TimeWindowPartitionMapping maps time-window partitions to time-window"
                " partitions (both assets need hourly/daily/weekly/monthly/cron partitions)"
            )
        if downstream_key is None:
            raise InvalidDefinitionError("TimeWindowPartitionMapping needs a partition key")
        if downstream.timezone != upstream.timezone:
            raise InvalidDefinitionError(
                f"Timezones {upstream.timezone} and {downstream.timezone} don't match"
            )
        return _map_time_window(self, downstream_key, downstream, upstream, current_time)


def _map_time_window(
    m: TimeWindowPartitionMapping,
    key: str,
    down: TimeWindowPartitionsDefinition,
    up: TimeWindowPartitionsDefinition,
    now: datetime,
) -> list[str]:
    """Dagster ``TimeWindowPartitionMapping._map_partitions`` for one downstream key."""
    start, end = down.time_window(key)
    first, last = up.get_first_partition_window(now), up.get_last_partition_window(now)
    full = TimeWindow(first.start, last.end) if first and last else None

    def moved(dt: datetime, offset: int) -> datetime:
        out = down.offset_time(dt, offset)
        if full is not None and offset < 0:
            out = max(full.start, out)
        if full is not None and offset > 0:
            out = min(full.end, out)
        return out

    s, e = moved(start, m.start_offset), moved(end, m.end_offset)
    if down.cron_schedule != up.cron_schedule and not (
        down.cron_schedule == "0 0 * * *" and up.cron_schedule == "0 * * * *"
    ):
        s = up.start_time_for_partition_key(up.get_partition_key_for_timestamp(s.timestamp()))
        e = up.end_time_for_partition_key(
            up.get_partition_key_for_timestamp(e.timestamp(), end_closed=True)
        )
    if s >= e:
        return []
    window = TimeWindow(s, e)
    if not m.allow_nonexistent_upstream_partitions and (
        first is None or last is None or window.start < first.start or window.end > last.end
    ):
        shown = (
            f"{up.get_first_partition_key(now)} .. {up.get_last_partition_key(now)}"
            if first is not None
            else "none yet"
        )
        raise PartitionKeyError(
            f"partition {key!r} depends on upstream partitions from {window.start.isoformat()}"
            f" to {window.end.isoformat()}, which are not all partitions of the upstream asset"
            f" (it has {shown}); pass TimeWindowPartitionMapping("
            "allow_nonexistent_upstream_partitions=True) to read only those that exist"
        )
    if first is None or last is None:
        return []
    if window.start > last.start or window.end < first.end:
        return []
    clipped = TimeWindow(max(window.start, first.start), min(window.end, last.end))
    return up.get_partition_keys_in_time_window(clipped)


def check_partition_mapping(
    mapping: PartitionMapping,
    downstream: PartitionsDefinition | None,
    upstream: PartitionsDefinition | None,
    where: str,
) -> None:
    """Refuse, when ``Definitions`` is built, a mapping that cannot work between the two
    definitions (raises :class:`InvalidDefinitionError` naming ``where``)."""
    name = type(mapping).__name__
    if upstream is None and not isinstance(mapping, AllPartitionMapping):
        raise InvalidDefinitionError(
            f"{where}: {name} is given, but the upstream asset is not partitioned"
        )
    if isinstance(mapping, IdentityPartitionMapping) and downstream is None:
        raise InvalidDefinitionError(
            f"{where}: IdentityPartitionMapping needs a partitioned downstream asset"
        )
    if isinstance(mapping, TimeWindowPartitionMapping):
        if not isinstance(downstream, TimeWindowPartitionsDefinition) or not isinstance(
            upstream, TimeWindowPartitionsDefinition
        ):
            raise InvalidDefinitionError(
                f"{where}: TimeWindowPartitionMapping needs time-window partitions (hourly,"
                " daily, weekly, monthly or cron) on both assets"
            )
        if downstream.timezone != upstream.timezone:
            raise InvalidDefinitionError(
                f"{where}: Timezones {upstream.timezone} and {downstream.timezone} don't match"
            )


def infer_partition_mapping(
    mapping: PartitionMapping | None,
    downstream: PartitionsDefinition | None,
    upstream: PartitionsDefinition | None,
) -> PartitionMapping:
    """The mapping in effect: ``mapping`` if given, else Dagster's default (module
    docstring)."""
    if mapping is not None:
        return mapping
    if upstream is not None and downstream is not None:
        if isinstance(upstream, TimeWindowPartitionsDefinition) and isinstance(
            downstream, TimeWindowPartitionsDefinition
        ):
            return TimeWindowPartitionMapping()
        return IdentityPartitionMapping()
    return AllPartitionMapping()


def upstream_partition_keys(
    mapping: PartitionMapping | None,
    downstream_key: str | None,
    downstream: PartitionsDefinition | None,
    upstream: PartitionsDefinition | None,
    current_time: datetime,
) -> list[str] | None:
    """The partitions of an upstream asset a downstream partition reads: ``None`` when
    the upstream is unpartitioned (its one value), else the keys in partition order.

    Args:
        mapping: the ``AssetIn(partition_mapping=...)``, or None for the default.
        downstream_key: the downstream run's partition (None: unpartitioned).
        downstream, upstream: the two assets' partitions definitions (None: none).
        current_time: aware; the run's tick (what "all"/"last" partitions means).

    Raises:
        PartitionKeyError: the mapping needs upstream partitions that do not exist.
        InvalidDefinitionError: the mapping does not fit the two definitions.
    """
    if upstream is None:
        if mapping is not None and not isinstance(mapping, AllPartitionMapping):
            raise InvalidDefinitionError(
                f"{type(mapping).__name__} is given for an unpartitioned upstream asset"
            )
        return None
    return infer_partition_mapping(mapping, downstream, upstream).upstream_keys(
        downstream_key, downstream, upstream, current_time
    )
