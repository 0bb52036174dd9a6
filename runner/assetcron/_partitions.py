"""Partitions definitions, as Dagster's (``dagster/_core/definitions/partitions``).

Two kinds, behind one protocol (:class:`PartitionsDefinition`) the runner uses:

* time windows: :class:`TimeWindowPartitionsDefinition` (any cron) and its presets
  :class:`HourlyPartitionsDefinition`, :class:`DailyPartitionsDefinition`,
  :class:`WeeklyPartitionsDefinition`, :class:`MonthlyPartitionsDefinition`. Partition
  ``k`` is the window ``[tick_k, tick_k+1)`` between consecutive cron ticks in the
  definition's zone; its key is ``tick_k.strftime(fmt)``.
* :class:`StaticPartitionsDefinition`: a fixed list of keys.

Time-window semantics follow Dagster 1.x (checked by tests/unit/test_partitions_dagster.py):

* The first partition starts at the first tick at or after ``start``; the last one is
  the last window that has *ended* at the current time (``end_offset`` = 0), or that many
  windows later (``end_offset`` > 0) or earlier (< 0); none end after ``end``.
* Ticks around daylight-saving changes (Dagster ``cron_string_iterator``): a wall time
  that does not exist (spring forward) moves to the end of the gap (02:30 -> 03:00) and
  a wall time that exists twice (fall back) is taken once, the later one, for schedules
  that do not fire every hour; a schedule whose hour field is ``*`` skips missing times
  and fires at both repeated ones. The second of two equal wall times gets its UTC
  offset appended to the key (Dagster ``dst_safe_strftime``: ``2023-11-05-01:00-0500``).
* The partition a schedule tick materializes (Dagster
  ``build_schedule_from_partitioned_job``): the last partition at the tick time.

The cron fields come from our robfig parser (:mod:`assetcron._cron`: the Kubernetes
CronJob syntax); wall-clock matches are found by :class:`_WallCron` and mapped to
instants by Dagster's rules, not robfig's (robfig skips 02:30 on a spring-forward day
where Dagster runs it at 03:00). ``benchmarks/partitions.py`` prints the speed next to
Dagster's.

Pure: standard library and :mod:`zoneinfo`; the current time is always an argument.
"""

from __future__ import annotations

import bisect
import heapq
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assetcron._cron import _STAR_BIT, CronError, CronSchedule
from assetcron._cron import parse as parse_cron
from assetcron._errors import InvalidDefinitionError, PartitionKeyError

__all__ = [
    "DailyPartitionsDefinition",
    "HourlyPartitionsDefinition",
    "MonthlyPartitionsDefinition",
    "PartitionKeyError",
    "PartitionsDefinition",
    "StaticPartitionsDefinition",
    "TimeWindow",
    "TimeWindowPartitionsDefinition",
    "WeeklyPartitionsDefinition",
]

#: Dagster's default key formats (dagster._utils.partitions).
DEFAULT_DATE_FORMAT = "%Y-%m-%d"
DEFAULT_HOURLY_FORMAT = "%Y-%m-%d-%H:%M"
#: Dagster's INVALID_PARTITION_SUBSTRINGS, plus what cannot be one storage path segment.
_INVALID_SUBSTRINGS = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0", "/")
#: How far a zone's UTC offset may move from its value at the start of an iteration
#: (daylight saving moves it by at most 2 hours; zones that jumped a whole day, such as
#: Pacific/Apia in 2011, are not iterated across that jump correctly).
_SLACK = timedelta(hours=3)


class TimeWindow(NamedTuple):
    """``[start, end)`` of a time partition, aware datetimes in the definition's zone
    (Dagster's ``TimeWindow``)."""

    start: datetime
    end: datetime


class PartitionsDefinition(ABC):
    """What the runner needs of any partitions definition.

    ``current_time`` arguments are aware datetimes (any zone); "now" is never read here.
    """

    @abstractmethod
    def get_partition_keys(self, current_time: datetime | None = None) -> list[str]:
        """Every partition key that exists at ``current_time``, in order."""

    @abstractmethod
    def has_partition_key(self, partition_key: str, current_time: datetime | None = None) -> bool:
        """Whether ``partition_key`` is a partition of this definition at ``current_time``."""

    @abstractmethod
    def validate_key(self, key: str) -> str:
        """Return ``key`` unchanged when it names a partition of this definition (ignoring
        the clock: a future time partition is accepted when asked for explicitly); raise
        :class:`PartitionKeyError` saying why not."""

    @abstractmethod
    def key_for_schedule_tick(self, scheduled_time: datetime) -> str:
        """The partition a schedule tick at ``scheduled_time`` materializes; raises
        :class:`PartitionKeyError` when there is none (or no rule)."""

    def time_window(self, key: str) -> TimeWindow:
        """``(start, end)`` of partition ``key``; raises ``ValueError`` for partitions
        that are not time windows."""
        raise ValueError(f"{type(self).__name__} partitions have no time window")

    def get_partition_keys_in_range(
        self, start: str, end: str, current_time: datetime | None = None
    ) -> list[str]:
        """The keys from ``start`` to ``end``, both included, in definition order
        (Dagster's ``get_partition_keys_in_range(PartitionKeyRange(start, end))``).
        Raises :class:`PartitionKeyError` for a key that is not a partition."""
        keys = self.get_partition_keys(current_time)
        try:
            i, j = keys.index(start), keys.index(end)
        except ValueError:
            bad = start if start not in keys else end
            raise PartitionKeyError(f"partition key {bad!r} is not a partition") from None
        return keys[i : j + 1]


# --- static ---------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class StaticPartitionsDefinition(PartitionsDefinition):
    """A fixed, ordered set of partition keys (Dagster ``StaticPartitionsDefinition``).

    Raises :class:`InvalidDefinitionError` for duplicate keys, an empty key, or a key
    containing what Dagster forbids (``...``, control characters) or what cannot be a
    storage path segment (``/``, or the whole key ``.`` or ``..``).

    A schedule tick has no rule for a static partition (Dagster's schedule requests one
    run per key at each tick; an assetcron run materializes one partition): set the key
    with the AssetSchedule's ``partitionKey`` template or a ``RunRequest``.
    """

    partition_keys: tuple[str, ...]

    def __init__(self, partition_keys: Sequence[str]) -> None:
        if isinstance(partition_keys, str):
            raise InvalidDefinitionError(
                "StaticPartitionsDefinition(partition_keys=...) takes a list of keys, not a string"
            )
        keys = tuple(partition_keys)
        for k in keys:
            if not isinstance(k, str) or not k:
                raise InvalidDefinitionError(f"partition keys must be non-empty strings, got {k!r}")
            bad = [s for s in _INVALID_SUBSTRINGS if s in k]
            if bad or k in (".", ".."):
                raise InvalidDefinitionError(
                    f"partition key {k!r} contains {bad[0] if bad else k!r}, which is not allowed"
                )
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise InvalidDefinitionError(
                f"Partition keys must be unique. Duplicate instances of partition keys: {dupes}."
            )
        object.__setattr__(self, "partition_keys", keys)

    def get_partition_keys(self, current_time: datetime | None = None) -> list[str]:
        return list(self.partition_keys)

    def has_partition_key(self, partition_key: str, current_time: datetime | None = None) -> bool:
        return partition_key in self.partition_keys

    def validate_key(self, key: str) -> str:
        if key not in self.partition_keys:
            shown = ", ".join(self.partition_keys[:10])
            more = ", ..." if len(self.partition_keys) > 10 else ""
            raise PartitionKeyError(
                f"partition key {key!r} is not one of the static partitions ({shown}{more})"
            )
        return key

    def key_for_schedule_tick(self, scheduled_time: datetime) -> str:
        raise PartitionKeyError(
            "a schedule tick cannot choose a static partition (Dagster would request one run"
            " per key); set the partition key explicitly: the AssetSchedule's partitionKey"
            " template, --partition-key, or RunRequest(partition_key=...) from a schedule"
            " function"
        )


# --- time windows ---------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidDefinitionError(f"unknown time zone {name!r}") from None


def _exists(dt: datetime) -> bool:
    """Whether the aware wall time ``dt`` exists in its zone (not in a spring-forward gap)."""
    back = datetime.fromtimestamp(dt.timestamp(), dt.tzinfo)
    return back.replace(tzinfo=None, fold=0) == dt.replace(tzinfo=None, fold=0)


def _ambiguous(dt: datetime) -> bool:
    """Whether the aware wall time ``dt`` exists twice (fall back)."""
    return dt.replace(fold=0).utcoffset() != dt.replace(fold=1).utcoffset() and _exists(dt)


def _second_ambiguous(dt: datetime) -> bool:
    """Dagster ``is_second_ambiguous_time``: the later of two equal wall times."""
    if dt.fold == 0 or not _ambiguous(dt):
        return False
    before, after = dt.replace(fold=0).utcoffset(), dt.replace(fold=1).utcoffset()
    assert before is not None
    assert after is not None
    return before > after


def _parse_time(value: str | date | datetime, fmt: str, tz: ZoneInfo, what: str) -> datetime:
    """Dagster's reading of ``start``/``end``: a string is parsed with ``fmt`` as a wall
    time in ``tz``; a datetime gets ``tz`` as its zone (Dagster ``replace(tzinfo=...)``,
    so its wall clock is kept); a date is its midnight (an assetcron convenience)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if not isinstance(value, str):
        raise InvalidDefinitionError(f"{what} must be a string or datetime, got {value!r}")
    try:
        return _strptime(value, fmt, tz)
    except ValueError:
        raise InvalidDefinitionError(
            f"invalid {what} {value!r}: does not match the format {fmt!r}"
        ) from None


def _strptime(text: str, fmt: str, tz: ZoneInfo) -> datetime:
    """Dagster ``dst_safe_strptime``: ``fmt``, else ``fmt`` + ``%z`` (the key of the second
    of two equal wall times); a naive result is read in ``tz`` (fold 0). Raises
    ValueError when neither parses."""
    try:
        dt = datetime.strptime(text, fmt)  # noqa: DTZ007 - a wall time in tz, set below
    except ValueError:
        dt = datetime.strptime(text, fmt if "%z" in fmt else fmt + "%z")  # noqa: DTZ007
    if dt.tzinfo is not None:
        return datetime.fromtimestamp(dt.timestamp(), tz)
    return dt.replace(tzinfo=tz)


class _WallCron:
    """The wall-clock times a five-field cron matches, as naive datetimes: no zone, no
    daylight saving (the zone is applied by the caller, by Dagster's rules). Fields come
    from our robfig parser, so the syntax is the CronJob controller's; day of month and
    day of week combine as in every cron (both restricted: either matches)."""

    def __init__(self, sched: CronSchedule) -> None:
        self.minutes = [v for v in range(60) if sched.minute >> v & 1]
        self.hours = [v for v in range(24) if sched.hour >> v & 1]
        self.months = {v for v in range(1, 13) if sched.month >> v & 1}
        self.dom = {v for v in range(1, 32) if sched.dom >> v & 1}
        self.dow = {v for v in range(7) if sched.dow >> v & 1}
        self.either = not (sched.dom & _STAR_BIT or sched.dow & _STAR_BIT)

    def _day(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        dom, dow = d.day in self.dom, (d.weekday() + 1) % 7 in self.dow  # cron: Sunday = 0
        return dom or dow if self.either else dom and dow

    def after(self, t: datetime) -> datetime | None:
        """The first match strictly after naive ``t`` (None: none within 6 years)."""
        t = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        d, h, m = t.date(), t.hour, t.minute
        last = d + timedelta(days=6 * 366)
        while d <= last:
            if self._day(d):
                for hour in self.hours[bisect.bisect_left(self.hours, h) :]:
                    i = bisect.bisect_left(self.minutes, m if hour == h else 0)
                    if i < len(self.minutes):
                        return datetime.combine(d, time(hour, self.minutes[i]))
            d, h, m = d + timedelta(days=1), 0, 0
        return None

    def before(self, t: datetime) -> datetime | None:
        """The last match strictly before naive ``t`` (None: none within 6 years)."""
        if t.second or t.microsecond:
            t = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
        t -= timedelta(minutes=1)
        d, h, m = t.date(), t.hour, t.minute
        first = d - timedelta(days=6 * 366)
        while d >= first:
            if self._day(d):
                for hour in reversed(self.hours[: bisect.bisect_right(self.hours, h)]):
                    i = bisect.bisect_right(self.minutes, m if hour == h else 59)
                    if i > 0:
                        return datetime.combine(d, time(hour, self.minutes[i - 1]))
            d, h, m = d - timedelta(days=1), 23, 59
        return None


@dataclass(frozen=True, init=False)
class TimeWindowPartitionsDefinition(PartitionsDefinition):
    """Partitions that are the windows between consecutive ticks of ``cron_schedule``
    (Dagster ``TimeWindowPartitionsDefinition``).

    Args:
        start: the first partition starts at the first tick at or after it; a string in
            ``fmt``, or a datetime whose wall clock is read in ``timezone`` (as Dagster
            does; an aware datetime's own zone is replaced), or a date (its midnight).
        fmt: ``strftime`` format of the keys (the window's start in ``timezone``).
        end: optional; no partition ends after it (same forms as ``start``).
        timezone: IANA zone the ticks and keys are in (default ``"UTC"``).
        end_offset: extends (> 0) or shortens (< 0) the partitions past the last window
            that has ended at the current time, by that many windows.
        cron_schedule: five-field cron (the Kubernetes CronJob syntax).
        minute_offset, hour_offset, day_offset: only for the presets (the subclasses),
            which build ``cron_schedule`` from them as Dagster does.

    Raises:
        InvalidDefinitionError: an unknown zone, a bad cron, a start that does not
            parse, or ``exclusions`` (not supported).
    """

    start: datetime
    fmt: str
    end: datetime | None
    timezone: str
    end_offset: int
    cron_schedule: str

    def __init__(  # noqa: PLR0917 - Dagster's signature
        self,
        start: str | date | datetime,
        fmt: str,
        end: str | date | datetime | None = None,
        schedule_type: object | None = None,
        timezone: str | None = None,
        end_offset: int = 0,
        minute_offset: int | None = None,
        hour_offset: int | None = None,
        day_offset: int | None = None,
        cron_schedule: str | None = None,
        exclusions: Sequence[Any] | None = None,
    ) -> None:
        if schedule_type is not None or any(
            o is not None for o in (minute_offset, hour_offset, day_offset)
        ):
            raise InvalidDefinitionError(
                "TimeWindowPartitionsDefinition: give cron_schedule (schedule_type and the"
                " offsets are for Hourly/Daily/Weekly/MonthlyPartitionsDefinition)"
            )
        self._setup(start, fmt, end, timezone, end_offset, cron_schedule, exclusions)

    def _setup(  # noqa: PLR0917 - the constructor's arguments, in its order
        self,
        start: str | date | datetime,
        fmt: str,
        end: str | date | datetime | None,
        timezone: str | None,
        end_offset: int,
        cron_schedule: str | None,
        exclusions: Sequence[Any] | None,
    ) -> None:
        name = type(self).__name__
        if exclusions:
            raise InvalidDefinitionError(f"{name}(exclusions=...) is not supported by assetcron")
        if not cron_schedule:
            raise InvalidDefinitionError(f"{name}: cron_schedule is required")
        tz_name = timezone or "UTC"
        tz = _zone(tz_name)
        try:
            sched = parse_cron(cron_schedule, "UTC")
        except CronError as exc:
            raise InvalidDefinitionError(
                f"{name}: invalid cron schedule {cron_schedule!r}: {exc}"
            ) from None
        if not sched._can_match() or _WallCron(sched).after(datetime(2000, 1, 1)) is None:  # noqa: DTZ001 - wall time
            raise InvalidDefinitionError(f"{name}: cron schedule {cron_schedule!r} never fires")
        object.__setattr__(self, "start", _parse_time(start, fmt, tz, "start"))
        object.__setattr__(self, "end", None if not end else _parse_time(end, fmt, tz, "end"))
        object.__setattr__(self, "fmt", fmt)
        object.__setattr__(self, "timezone", tz_name)
        object.__setattr__(self, "end_offset", int(end_offset))
        object.__setattr__(self, "cron_schedule", cron_schedule)
        object.__setattr__(self, "_tz", tz)
        object.__setattr__(self, "_wall", _WallCron(sched))
        # Dagster cron_string_repeats_every_hour: the hour field is `*`.
        object.__setattr__(self, "_hourly", bool(sched.hour & _STAR_BIT))

    # dataclass eq/hash cover the public fields; the private ones derive from them.

    @property
    def _zoneinfo(self) -> ZoneInfo:
        tz: ZoneInfo = self.__dict__["_tz"]
        return tz

    # -- ticks ---------------------------------------------------------------------

    def _candidates(self, naive: datetime) -> list[float]:
        """The instants (Unix seconds) Dagster gives a naive wall-clock cron match.

        PEP 495: in a spring-forward gap ``fold=0`` reads the wall time with the offset
        before the change, so it lands later than ``fold=1``; a repeated wall time is the
        other way round; elsewhere the two agree."""
        tz = self._zoneinfo
        t0 = naive.replace(tzinfo=tz, fold=0).timestamp()
        t1 = naive.replace(tzinfo=tz, fold=1).timestamp()
        if t0 == t1:
            return [t0]
        hourly = self.__dict__["_hourly"]
        if t0 > t1:  # does not exist
            if hourly:
                return []
            # Dagster apply_post_transition: the start of the hour plus the DST amount.
            dt = naive.replace(tzinfo=tz)
            dst = tz.dst(dt + timedelta(hours=1)) or timedelta(0)
            return [(dt.replace(minute=0) + dst).timestamp()]
        return [t0, t1] if hourly else [t1]

    def _offset(self, ts: float) -> float:
        """The zone's UTC offset at ``ts``, in seconds."""
        off = datetime.fromtimestamp(ts, self._zoneinfo).utcoffset()
        return off.total_seconds() if off is not None else 0.0

    def _naive(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, self._zoneinfo).replace(tzinfo=None, fold=0)

    def _ticks_from(self, ts: float) -> Iterator[datetime]:
        """Ticks at or after ``ts`` (Unix seconds), ascending, as aware datetimes."""
        fields: _WallCron = self.__dict__["_wall"]
        tz = self._zoneinfo
        heap: list[float] = []
        last = float("-inf")
        base = self._offset(ts)
        cursor: datetime | None = self._naive(ts) - _SLACK
        while True:
            cursor = fields.after(cursor) if cursor is not None else None
            if cursor is None:
                bound = float("inf")
            else:
                for t in self._candidates(cursor):
                    if t >= ts:
                        heapq.heappush(heap, t)
                # Later wall times give instants at or after this one.
                bound = cursor.replace(tzinfo=UTC).timestamp() - base - _SLACK.total_seconds()
            while heap and heap[0] < bound:
                t = heapq.heappop(heap)
                if t > last:
                    last = t
                    yield datetime.fromtimestamp(t, tz)
            if cursor is None:
                return

    def _ticks_before(self, ts: float) -> Iterator[datetime]:
        """Ticks at or before ``ts``, descending, as aware datetimes."""
        fields: _WallCron = self.__dict__["_wall"]
        tz = self._zoneinfo
        heap: list[float] = []
        last = float("inf")
        base = self._offset(ts)
        cursor: datetime | None = self._naive(ts) + _SLACK
        while True:
            cursor = fields.before(cursor) if cursor is not None else None
            if cursor is None:
                bound = float("-inf")
            else:
                for t in self._candidates(cursor):
                    if t <= ts:
                        heapq.heappush(heap, -t)
                bound = cursor.replace(tzinfo=UTC).timestamp() - base + _SLACK.total_seconds()
            while heap and -heap[0] > bound:
                t = -heapq.heappop(heap)
                if t < last:
                    last = t
                    yield datetime.fromtimestamp(t, tz)
            if cursor is None:
                return

    def _windows_from(self, ts: float) -> Iterator[TimeWindow]:
        """Windows starting at or after ``ts`` (Dagster ``_iterate_time_windows``)."""
        ticks = self._ticks_from(ts)
        prev = next(ticks, None)
        for tick in ticks:
            assert prev is not None
            yield TimeWindow(prev, tick)
            prev = tick

    def _windows_before(self, ts: float) -> Iterator[TimeWindow]:
        """Windows ending at or before ``ts``, latest first (Dagster
        ``_reverse_iterate_time_windows``)."""
        ticks = self._ticks_before(ts)
        nxt = next(ticks, None)
        for tick in ticks:
            assert nxt is not None
            yield TimeWindow(tick, nxt)
            nxt = tick

    def _format(self, dt: datetime) -> str:
        """Dagster ``dst_safe_strftime``."""
        if "%z" not in self.fmt and self.__dict__["_hourly"] and _second_ambiguous(dt):
            return dt.strftime(self.fmt + "%z")
        return dt.strftime(self.fmt)

    @staticmethod
    def _now(current_time: datetime | None) -> float:
        if current_time is None:
            return datetime.now(UTC).timestamp()
        if current_time.tzinfo is None:
            raise ValueError("current_time must be an aware datetime")
        return current_time.timestamp()

    # -- Dagster's first/last windows ----------------------------------------------

    def get_first_partition_window(self, current_time: datetime | None = None) -> TimeWindow | None:
        """The first partition's window, or ``None`` when no partition exists yet."""
        now = self._now(current_time)
        first = self._first_window()
        if first is None or (self.end is not None and self.end <= self.start):
            return None
        if self.end_offset == 0:
            return first if first.end.timestamp() <= now else None
        if self.end_offset > 0:
            it = self._windows_from(now)
            edge = next(it)
            for _ in range(self.end_offset):
                edge = next(it)
            return first if first.end.timestamp() <= edge.start.timestamp() else None
        rit = self._windows_before(now)
        end_window = None
        for _ in range(-self.end_offset):
            end_window = next(rit)
        assert end_window is not None
        return first if first.end.timestamp() <= end_window.start.timestamp() else None

    def get_last_partition_window(self, current_time: datetime | None = None) -> TimeWindow | None:
        """The last partition's window at ``current_time`` (Dagster
        ``get_last_partition_window``), or ``None`` when no partition exists yet."""
        now = self._now(current_time)
        first = self.get_first_partition_window(current_time)
        if first is None:
            return None
        if self.end_offset == 0:
            if self.end is not None and self.end.timestamp() < now:
                now = self.end.timestamp()
            return next(self._windows_before(now))
        before_end = (
            next(self._windows_before(self.end.timestamp())) if self.end is not None else None
        )
        rit = self._windows_before(now)
        zero = next(rit)
        window: TimeWindow | None = None
        if self.end_offset < 0:
            for _ in range(-self.end_offset):
                window = next(rit)
        else:
            it = self._windows_from(zero.end.timestamp())
            for _ in range(self.end_offset):
                window = next(it)
        assert window is not None
        if before_end is not None and before_end.start.timestamp() <= window.start.timestamp():
            return before_end
        if window.start.timestamp() < first.start.timestamp():
            return first
        return window

    def get_last_partition_key(self, current_time: datetime | None = None) -> str | None:
        """The last partition's key at ``current_time`` (``None``: no partition yet)."""
        window = self.get_last_partition_window(current_time)
        return None if window is None else self._format(window.start)

    def get_first_partition_key(self, current_time: datetime | None = None) -> str | None:
        """The first partition's key (``None``: no partition yet)."""
        window = self.get_first_partition_window(current_time)
        return None if window is None else self._format(window.start)

    # -- keys and windows ----------------------------------------------------------

    def get_partition_keys(self, current_time: datetime | None = None) -> list[str]:
        """Every key from the first to the last partition at ``current_time``."""
        last = self.get_last_partition_window(current_time)
        if last is None:
            return []
        stop = last.start.timestamp()
        keys = []
        for w in self._windows_from(self.start.timestamp()):
            if w.start.timestamp() > stop:
                break
            keys.append(self._format(w.start))
        return keys

    def get_partition_keys_in_time_window(self, time_window: TimeWindow) -> list[str]:
        """Keys of the windows that start in ``[time_window.start, time_window.end)``
        (Dagster's method of that name; no bounds check)."""
        stop = time_window.end.timestamp()
        keys = []
        for w in self._windows_from(time_window.start.timestamp()):
            if w.start.timestamp() >= stop:
                break
            keys.append(self._format(w.start))
        return keys

    def _window_of_key(self, key: str) -> TimeWindow:
        """The window starting at or after the time ``key`` parses to (Dagster
        ``time_window_for_partition_key``). Raises :class:`PartitionKeyError` when the
        key does not parse."""
        try:
            dt = _strptime(key, self.fmt, self._zoneinfo)
        except ValueError:
            raise PartitionKeyError(
                f"invalid partition key {key!r} (expected the format {self.fmt!r})"
            ) from None
        window = next(self._windows_from(dt.timestamp()), None)
        if window is None:
            raise PartitionKeyError(f"partition key {key!r}: no tick of the cron after it")
        return window

    def time_window_for_partition_key(self, partition_key: str) -> TimeWindow:
        """``(start, end)`` of ``partition_key`` (Dagster's method; not bounds-checked)."""
        return self._window_of_key(partition_key)

    def time_window(self, key: str) -> TimeWindow:
        """``(start, end)`` of partition ``key`` after :meth:`validate_key`."""
        return self._checked_window(key)

    def start_time_for_partition_key(self, partition_key: str) -> datetime:
        """The start of ``partition_key``'s window."""
        return self._window_of_key(partition_key).start

    def end_time_for_partition_key(self, partition_key: str) -> datetime:
        """The end of ``partition_key``'s window."""
        return self._window_of_key(partition_key).end

    def _first_window(self) -> TimeWindow | None:
        """The first window at or after ``start`` (whatever the clock), computed once."""
        if "_first" not in self.__dict__:
            object.__setattr__(
                self, "_first", next(self._windows_from(self.start.timestamp()), None)
            )
        first: TimeWindow | None = self.__dict__["_first"]
        return first

    def _checked_window(self, key: str) -> TimeWindow:
        """The window of ``key`` after :meth:`validate_key`'s checks."""
        window = self._window_of_key(key)
        if self._format(window.start) != key:
            raise PartitionKeyError(
                f"partition key {key!r} is not the start of a partition (next one:"
                f" {self._format(window.start)!r}; format {self.fmt!r}, cron"
                f" {self.cron_schedule!r})"
            )
        first = self._first_window()
        if first is None or window.start < first.start:
            shown = self._format(first.start) if first is not None else "none"
            raise PartitionKeyError(f"partition key {key} is before the first partition {shown}")
        if self.end is not None and window.end > self.end:
            raise PartitionKeyError(
                f"partition key {key} is not before the partitions' end {self._format(self.end)}"
            )
        return window

    def validate_key(self, key: str) -> str:
        self._checked_window(key)
        return key

    def has_partition_key(self, partition_key: str, current_time: datetime | None = None) -> bool:
        """Dagster ``has_partition_key`` at ``current_time``."""
        try:
            start = self._checked_window(partition_key).start
        except PartitionKeyError:
            return False
        last = self.get_last_partition_window(current_time)
        return last is not None and start.timestamp() <= last.start.timestamp()

    def key_for_schedule_tick(self, scheduled_time: datetime) -> str:
        """The partition a tick at ``scheduled_time`` materializes: the last partition at
        that time (Dagster ``build_schedule_from_partitioned_job``: the last window that
        has ended, shifted by ``end_offset``); e.g. for daily partitions a tick at
        2015-06-02T06:00 in the zone targets ``2015-06-01``. Raises
        :class:`PartitionKeyError` when no partition exists at the tick (Dagster skips
        the tick: "The job's PartitionsDefinition has no partitions")."""
        key = self.get_last_partition_key(scheduled_time)
        if key is None:
            raise PartitionKeyError(
                f"no partition exists at the tick {scheduled_time.isoformat()} (the first"
                f" partition starts {self.start.isoformat()} and must end, plus end_offset"
                f" {self.end_offset}, by the tick)"
            )
        return key

    def get_partition_key_for_timestamp(self, timestamp: float, end_closed: bool = False) -> str:
        """The key of the window containing ``timestamp`` (Dagster's method; with
        ``end_closed`` a time on a boundary belongs to the earlier window)."""
        for tick in self._ticks_before(timestamp):
            if end_closed and tick.timestamp() == timestamp:
                continue
            return self._format(tick)
        raise PartitionKeyError(f"no partition before {datetime.fromtimestamp(timestamp, UTC)}")

    def offset_time(self, dt: datetime, offset: int) -> datetime:
        """``dt`` moved by ``offset`` windows: back to the start of the window ending at
        or before it, or on to the end of the window starting at or after it, repeated
        (Dagster ``_offsetted_datetime``)."""
        result = dt
        for _ in range(abs(offset)):
            if offset < 0:
                result = next(self._windows_before(result.timestamp())).start
            else:
                result = next(self._windows_from(result.timestamp())).end
        return result


def _preset_cron(kind: str, minute: int, hour: int, day: int | None) -> str:
    """Dagster ``cron_schedule_from_schedule_type_and_offsets``."""
    if kind == "hourly":
        return f"{minute} * * * *"
    if kind == "daily":
        return f"{minute} {hour} * * *"
    if kind == "weekly":
        return f"{minute} {hour} * * {day if day is not None else 0}"
    return f"{minute} {hour} {day if day is not None else 1} * *"


@dataclass(frozen=True, init=False, eq=False)
class HourlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per hour (Dagster ``HourlyPartitionsDefinition``): cron
    ``{minute_offset} * * * *``, keys ``%Y-%m-%d-%H:%M``; ``start_date`` e.g.
    ``"2022-03-12-00:00"``. Other arguments as :class:`TimeWindowPartitionsDefinition`."""

    def __init__(  # noqa: PLR0917 - Dagster's signature
        self,
        start_date: str | date | datetime,
        end_date: str | date | datetime | None = None,
        minute_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[Any] | None = None,
    ) -> None:
        cron = _preset_cron("hourly", minute_offset, 0, None)
        self._setup(
            start_date,
            fmt or DEFAULT_HOURLY_FORMAT,
            end_date,
            timezone,
            end_offset,
            cron,
            exclusions,
        )


@dataclass(frozen=True, init=False, eq=False)
class DailyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per day (Dagster ``DailyPartitionsDefinition``): cron
    ``{minute_offset} {hour_offset} * * *``, keys ``%Y-%m-%d``; partition ``2015-06-01``
    covers ``[2015-06-01T00:00, 2015-06-02T00:00)`` in ``timezone``."""

    def __init__(  # noqa: PLR0917 - Dagster's signature
        self,
        start_date: str | date | datetime,
        end_date: str | date | datetime | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[Any] | None = None,
    ) -> None:
        cron = _preset_cron("daily", minute_offset, hour_offset, None)
        self._setup(
            start_date,
            fmt or DEFAULT_DATE_FORMAT,
            end_date,
            timezone,
            end_offset,
            cron,
            exclusions,
        )


@dataclass(frozen=True, init=False, eq=False)
class WeeklyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per week (Dagster ``WeeklyPartitionsDefinition``): cron
    ``{minute_offset} {hour_offset} * * {day_offset}`` (``day_offset`` 0 = Sunday, the
    default), keys ``%Y-%m-%d`` of the week's first day."""

    def __init__(  # noqa: PLR0917 - Dagster's signature
        self,
        start_date: str | date | datetime,
        end_date: str | date | datetime | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[Any] | None = None,
    ) -> None:
        cron = _preset_cron("weekly", minute_offset, hour_offset, day_offset)
        self._setup(
            start_date,
            fmt or DEFAULT_DATE_FORMAT,
            end_date,
            timezone,
            end_offset,
            cron,
            exclusions,
        )


@dataclass(frozen=True, init=False, eq=False)
class MonthlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per month (Dagster ``MonthlyPartitionsDefinition``): cron
    ``{minute_offset} {hour_offset} {day_offset} * *`` (``day_offset`` default 1), keys
    ``%Y-%m-%d`` of the month's first day."""

    def __init__(  # noqa: PLR0917 - Dagster's signature
        self,
        start_date: str | date | datetime,
        end_date: str | date | datetime | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 1,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[Any] | None = None,
    ) -> None:
        cron = _preset_cron("monthly", minute_offset, hour_offset, day_offset)
        self._setup(
            start_date,
            fmt or DEFAULT_DATE_FORMAT,
            end_date,
            timezone,
            end_offset,
            cron,
            exclusions,
        )
