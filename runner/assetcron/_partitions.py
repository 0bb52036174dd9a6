"""Daily partitions, as Dagster's ``DailyPartitionsDefinition``.

A partition key is a day ``YYYY-MM-DD`` in the definition's time zone; partition
``2015-06-01`` covers ``[2015-06-01T00:00, 2015-06-02T00:00)`` in that zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from assetcron._errors import AssetcronError

__all__ = ["DailyPartitionsDefinition", "PartitionKeyError"]


class PartitionKeyError(AssetcronError):
    """A partition key is malformed or outside the partitions definition."""


def _to_date(value: str | date | datetime, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise PartitionKeyError(f"invalid {what} {value!r} (expected YYYY-MM-DD)") from exc


@dataclass(frozen=True, init=False)
class DailyPartitionsDefinition:
    """One partition per calendar day, as in Dagster.

    ``start_date`` (``YYYY-MM-DD`` string, date or datetime) is the first partition;
    ``end_date`` (optional, exclusive) bounds them; ``timezone`` (IANA) is the zone the
    days are counted in; ``end_offset`` shifts the last partition a schedule targets
    (Dagster: 0 = the last *complete* day, 1 = include the day in progress).
    """

    start: date
    timezone: str
    end_offset: int
    end: date | None

    def __init__(
        self,
        start_date: str | date | datetime,
        end_date: str | date | datetime | None = None,
        timezone: str = "UTC",
        end_offset: int = 0,
    ) -> None:
        object.__setattr__(self, "start", _to_date(start_date, "start_date"))
        object.__setattr__(
            self, "end", None if end_date is None else _to_date(end_date, "end_date")
        )
        object.__setattr__(self, "timezone", timezone)
        object.__setattr__(self, "end_offset", int(end_offset))

    def validate_key(self, key: str) -> str:
        """Return ``key`` normalised; raise :class:`PartitionKeyError` when not a
        ``YYYY-MM-DD`` day within ``[start_date, end_date)``."""
        if len(key) != 10:  # YYYY-MM-DD
            raise PartitionKeyError(f"invalid partition key {key!r} (expected YYYY-MM-DD)")
        day = _to_date(key, "partition key")
        if day < self.start:
            raise PartitionKeyError(
                f"partition key {key} is before the first partition {self.start.isoformat()}"
            )
        if self.end is not None and day >= self.end:
            raise PartitionKeyError(
                f"partition key {key} is not before the partitions' end {self.end.isoformat()}"
            )
        return day.isoformat()

    def key_for_schedule_tick(self, scheduled_time: datetime) -> str:
        """The partition a schedule tick at ``scheduled_time`` targets.

        Dagster's rule for schedules built from partitioned jobs
        (``build_schedule_from_partitioned_job``): the last partition that has ended
        at the tick, in the definition's zone, shifted by ``end_offset``; e.g. a tick
        at 2015-06-02T06:00Z targets ``2015-06-01``. Raises :class:`PartitionKeyError`
        when that day is outside the definition.
        """
        local = scheduled_time.astimezone(ZoneInfo(self.timezone))
        day = local.date() - timedelta(days=1) + timedelta(days=self.end_offset)
        return self.validate_key(day.isoformat())

    def time_window(self, key: str) -> tuple[datetime, datetime]:
        """``(start, end)`` of partition ``key`` as aware datetimes in the zone."""
        tz = ZoneInfo(self.timezone)
        day = date.fromisoformat(self.validate_key(key))
        start = datetime(day.year, day.month, day.day, tzinfo=tz)
        nxt = day + timedelta(days=1)
        return start, datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
