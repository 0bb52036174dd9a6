"""Cron ticks exactly as the Kubernetes CronJob controller computes them.

kube-controller-manager parses a CronJob's schedule with github.com/robfig/cron/v3
``cron.ParseStandard("TZ=<spec.timeZone> <spec.schedule>")`` (pkg/controller/cronjob
``formatSchedule``) and walks its ticks with repeated ``SpecSchedule.Next``
(``mostRecentScheduleTime`` / ``nextScheduleTime``). This module is a line-by-line port
of robfig/cron v3.0.1 ``parser.go`` (``Parse``, ``getField``, ``getRange``,
``parseDescriptor``) and ``spec.go`` (``Next``, ``dayMatches``), including the parts of
Go's ``time`` package that ``Next`` relies on, because their daylight-saving behaviour
differs from croniter's:

* ``time.Date`` turns a wall time that does not exist (spring forward) or exists twice
  (fall back) into an instant by Go's rule: ``offset1`` = the zone's offset at the
  instant "wall clock read as UTC"; the offset used is the zone's offset at
  ``wall - offset1``; the instant is ``wall - offset`` (``time.Date`` in Go's
  src/time/time.go). So 02:30 on a spring-forward day in New York becomes 03:30 EDT.
* ``t.Add(time.Hour)`` and ``t.Truncate(time.Minute)`` act on absolute time, not on the
  wall clock, and ``t.AddDate`` is ``time.Date`` with the day or month incremented.

Consequences, each checked against robfig itself (tests/unit/golden): in
America/New_York ``30 2 * * *`` does not run on the spring-forward day (``Next`` adds
absolute hours, so the wall clock goes 01:xx -> 03:xx and 02:30 is never seen; croniter 7
runs it at 03:00 EDT) and ``0 */2 * * *`` resumes at 04:00 EDT; ``30 1 * * *`` runs twice
on the fall-back day (01:30 EDT, then 01:30 EST). ``0 0 * * *`` does not run on the
spring-forward day in America/Havana (DST at midnight), nor on the day after the
half-hour fall-back in Australia/Lord_Howe (the hour steps land on :30).

Deliberate differences from ``ParseStandard``: ``@every <duration>`` is refused, because
its ticks count from the CronJob's creation or last schedule time and cannot be derived
from a clock reading (validation.validate_cron refuses it too); ``TZ=`` / ``CRON_TZ=``
inside the expression are refused, as the API server does when ``spec.timeZone`` is set
(the zone is an argument here). Only the standard five fields exist, so the seconds
field is always ``0``, as ``ParseStandard`` sets it.

Pure: standard library and :mod:`zoneinfo` only, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["CronError", "CronSchedule", "next_ticks", "parse"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SECOND = timedelta(seconds=1)

#: robfig's ``starBit``: set in a field's bits when the field was ``*`` or ``?`` (a step
#: above 1 clears it). ``dayMatches`` uses it to choose AND or OR for dom and dow.
_STAR_BIT = 1 << 63

#: Go's unicode.IsSpace, which strings.Fields and strings.TrimSpace split and trim on
#: (Python's str.split would also split on U+001C..U+001F).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_FIELDS_RE = re.compile(f"[^{_GO_SPACE}]+")
_TRIM_RE = re.compile(f"^[{_GO_SPACE}]+|[{_GO_SPACE}]+$")

_UINT64_MAX = (1 << 64) - 1
_INT64_MAX = (1 << 63) - 1


class CronError(ValueError):
    """An expression the CronJob controller's parser refuses; ``str()`` is one line.

    The message is robfig/cron's own where it has one (e.g. ``expected exactly 5
    fields, found 4: [0 0 * *]``, ``end of range (60) above maximum (59): 60``).
    """


@dataclass(frozen=True)
class _Bounds:
    """robfig ``bounds``: the inclusive range of a field and its names (spec.go)."""

    min: int
    max: int
    names: dict[str, int] | None = None


_MINUTES = _Bounds(0, 59)
_HOURS = _Bounds(0, 23)
_DOM = _Bounds(1, 31)
_MONTHS = _Bounds(
    1,
    12,
    {
        m: i + 1
        for i, m in enumerate(
            ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        )
    },
)
_DOW = _Bounds(
    0, 6, {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
)


def _bits(start: int, end: int, step: int) -> int:
    """robfig ``getBits``: bits ``start, start+step, ...`` up to ``end`` inclusive."""
    out = 0
    for i in range(start, end + 1, step):
        out |= 1 << i
    return out


def _all(r: _Bounds) -> int:
    """robfig ``all``: every value of the field, plus the star bit."""
    return _bits(r.min, r.max, 1) | _STAR_BIT


# ------------------------------------------------------------------------- parsing


def _go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` (as used in ``strconv.NumError`` messages)."""
    escapes = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f"}
    escapes |= {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    out = []
    for ch in text:
        if ch in escapes:
            out.append(escapes[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _atoi(text: str) -> int:
    """Go's ``strconv.Atoi`` for a 64-bit int: optional sign, ASCII digits only.

    Raises:
        CronError: Go's message, ``strconv.Atoi: parsing "x": invalid syntax`` or
            ``... value out of range``.
    """
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits:
        raise CronError(f"strconv.Atoi: parsing {_go_quote(text)}: invalid syntax")
    value = 0
    for ch in digits:  # ParseUint: the first overflow wins over a later bad character
        if not "0" <= ch <= "9":
            raise CronError(f"strconv.Atoi: parsing {_go_quote(text)}: invalid syntax")
        value = value * 10 + ord(ch) - ord("0")
        if value > _UINT64_MAX:
            break
    negative = text.startswith("-")
    if value > _INT64_MAX + (1 if negative else 0):
        raise CronError(f"strconv.Atoi: parsing {_go_quote(text)}: value out of range")
    return -value if negative else value


def _must_parse_int(expr: str) -> int:
    """robfig ``mustParseInt``: a non-negative int."""
    try:
        num = _atoi(expr)
    except CronError as exc:
        raise CronError(f"failed to parse int from {expr}: {exc}") from None
    if num < 0:
        raise CronError(f"negative number ({num}) not allowed: {expr}")
    return num


def _parse_int_or_name(expr: str, names: dict[str, int] | None) -> int:
    """robfig ``parseIntOrName``: a (case-insensitive) name of the field, or an int."""
    if names is not None and expr.lower() in names:
        return names[expr.lower()]
    return _must_parse_int(expr)


def _get_range(expr: str, r: _Bounds) -> int:
    """robfig ``getRange``: ``*``, ``?``, ``n``, ``a-b``, each with an optional ``/step``.

    As in Go, ``n/step`` means ``n-max/step``, a step above 1 clears the star bit, and
    anything after ``*-`` is ignored (``*-5`` is ``*``).
    """
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single_digit = len(low_and_high) == 1
    extra = 0
    if low_and_high[0] in ("*", "?"):
        start, end, extra = r.min, r.max, _STAR_BIT
    else:
        start = _parse_int_or_name(low_and_high[0], r.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _parse_int_or_name(low_and_high[1], r.names)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _must_parse_int(range_and_step[1])
        if single_digit:
            end = r.max
        if step > 1:
            extra = 0
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < r.min:
        raise CronError(f"beginning of range ({start}) below minimum ({r.min}): {expr}")
    if end > r.max:
        raise CronError(f"end of range ({end}) above maximum ({r.max}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return _bits(start, end, step) | extra


def _get_field(field: str, r: _Bounds) -> int:
    """robfig ``getField``: the union of a comma list (empty items are skipped)."""
    bits = 0
    for expr in field.split(","):
        if expr:
            bits |= _get_range(expr, r)
    return bits


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule: robfig ``SpecSchedule`` with its ``Location``.

    Attributes:
        expression: the expression as given to :func:`parse`.
        zone: the zone the fields are read in (the CronJob's ``spec.timeZone``).
        minute, hour, dom, month, dow: robfig's bit sets (bit ``n`` set when value ``n``
            matches; bit 63 set when the field was ``*`` or ``?``). The seconds field is
            always ``0`` (``ParseStandard``).
    """

    expression: str
    zone: ZoneInfo
    minute: int
    hour: int
    dom: int
    month: int
    dow: int

    def next(self, after: datetime) -> datetime | None:
        """The first tick strictly after ``after``, as the CronJob controller computes it.

        Args:
            after: an aware datetime (any zone); sub-second parts are dropped as Go's
                ``Next`` does (``t.Add(1s - t.Nanosecond())``).

        Returns:
            An aware datetime in :attr:`zone` (``fold`` set on a repeated wall time), or
            ``None`` when nothing matches within five years (robfig returns the zero
            time; e.g. ``0 0 30 2 *``).

        Raises:
            ValueError: ``after`` is naive.

        Source: robfig/cron v3.0.1 spec.go ``SpecSchedule.Next``.
        """
        found = self._next_unix(_unix(after))
        return None if found is None else datetime.fromtimestamp(found, self.zone)

    def prev(self, before: datetime) -> datetime | None:
        """The latest tick strictly before ``before`` (the previous run), or ``None``.

        A tick here is an element of the controller's sequence ``Next(Next(...))``: the
        last element below ``before`` of the sequence started at ``before - window``,
        trying windows of 1 hour, 1 day, 32 days, 366 days and 5 years (1830 days) in
        turn and answering from the first that holds a tick. The cost is one ``next``
        per tick in that window (60 for ``* * * * *``). ``None`` when no tick lies in
        the five years before ``before``.

        Args:
            before: an aware datetime (any zone); sub-second parts are dropped.

        Returns:
            An aware datetime in :attr:`zone`, or ``None``.

        Raises:
            ValueError: ``before`` is naive.
        """
        end = _unix(before)
        if before.microsecond:
            end += 1  # a tick at the whole second below `before` is strictly before it
        for window in _PREV_WINDOWS:
            found = None
            tick = self._next_unix(end - window)
            while tick is not None and tick < end:
                found = tick
                tick = self._next_unix(tick)
            if found is not None:
                return datetime.fromtimestamp(found, self.zone)
        return None

    # The port of Next works on Unix seconds: Go's Time is an instant plus a Location,
    # its fields (Year() ... Second(), Weekday()) are the instant's wall clock in loc.

    def _next_unix(self, after: int) -> int | None:
        """robfig ``Next`` from Unix second ``after`` (strictly later), or ``None``."""
        if not self._can_match():
            return None  # what Next returns after searching five years, without the search
        zone = self.zone
        t = after + 1  # t.Add(1*time.Second - t.Nanosecond())
        added = False
        year_limit = _wall(t, zone).year + 5
        while True:  # WRAP:
            lt = _wall(t, zone)
            if lt.year > year_limit:
                return None
            wrapped = False
            while not (1 << lt.month) & self.month:
                if not added:
                    added = True
                    t = _go_date(zone, lt.year, lt.month, 1)
                t = _add_date(t, 0, 1, 0, zone)
                lt = _wall(t, zone)
                if lt.month == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not self._day_matches(lt):
                if not added:
                    added = True
                    t = _go_date(zone, lt.year, lt.month, lt.day)
                t = _add_date(t, 0, 0, 1, zone)
                lt = _wall(t, zone)
                # robfig: midnight may not exist (DST); add an hour if it's 23,
                # subtract one if it's 1.
                if lt.hour != 0:
                    t += (24 - lt.hour) * 3600 if lt.hour > 12 else -lt.hour * 3600
                    lt = _wall(t, zone)
                if lt.day == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            if not (1 << lt.hour) & self.hour:
                if not added:
                    added = True
                    t = _go_date(zone, lt.year, lt.month, lt.day, hour=lt.hour)
                    lt = _wall(t, zone)
                # for !match { t = t.Add(1 * time.Hour); if t.Hour() == 0 { goto WRAP } }
                t, lt, wrapped = _step_until(
                    t, lt, unit=3600, field="hour", modulus=24, bits=self.hour, zone=zone
                )
                if wrapped:
                    continue
            if not (1 << lt.minute) & self.minute:
                if not added:
                    added = True
                    t -= t % 60  # t.Truncate(time.Minute): absolute time
                    lt = _wall(t, zone)
                # for !match { t = t.Add(1 * time.Minute); if t.Minute() == 0 { goto WRAP } }
                t, lt, wrapped = _step_until(
                    t, lt, unit=60, field="minute", modulus=60, bits=self.minute, zone=zone
                )
                if wrapped:
                    continue
            if lt.second != 0:  # the seconds field is "0": step to the next :00, WRAP
                added = True
                t, lt, wrapped = _step_until(
                    t, lt, unit=1, field="second", modulus=60, bits=1 << 0, zone=zone
                )
                continue
            return t

    def _can_match(self) -> bool:
        """False when a field has no value at all (``,`` is a valid field: no bits)."""
        values = ~_STAR_BIT
        if not (self.minute & values and self.hour & values and self.month & values):
            return False
        if (self.dom & _STAR_BIT) or (self.dow & _STAR_BIT):
            return bool(self.dom & values and self.dow & values)
        return bool(self.dom & values or self.dow & values)

    def _day_matches(self, lt: datetime) -> bool:
        """robfig ``dayMatches``: AND if dom or dow was ``*``/``?``, else OR."""
        dom_match = bool((1 << lt.day) & self.dom)
        dow_match = bool((1 << ((lt.weekday() + 1) % 7)) & self.dow)  # Go: Sunday == 0
        if (self.dom & _STAR_BIT) or (self.dow & _STAR_BIT):
            return dom_match and dow_match
        return dom_match or dow_match


#: Windows :meth:`CronSchedule.prev` searches back through, in seconds.
_PREV_WINDOWS = (3600, 86400, 32 * 86400, 366 * 86400, 1830 * 86400)

#: robfig ``parseDescriptor``'s schedules as (minute, hour, dom, month, dow) bits.
_DESCRIPTORS: dict[str, tuple[int, int, int, int, int]] = {
    "@yearly": (1 << 0, 1 << 0, 1 << 1, 1 << 1, _all(_DOW)),
    "@annually": (1 << 0, 1 << 0, 1 << 1, 1 << 1, _all(_DOW)),
    "@monthly": (1 << 0, 1 << 0, 1 << 1, _all(_MONTHS), _all(_DOW)),
    "@weekly": (1 << 0, 1 << 0, _all(_DOM), _all(_MONTHS), 1 << 0),
    "@daily": (1 << 0, 1 << 0, _all(_DOM), _all(_MONTHS), _all(_DOW)),
    "@midnight": (1 << 0, 1 << 0, _all(_DOM), _all(_MONTHS), _all(_DOW)),
    "@hourly": (1 << 0, _all(_HOURS), _all(_DOM), _all(_MONTHS), _all(_DOW)),
}


def _zone(zone: str | ZoneInfo) -> ZoneInfo:
    if isinstance(zone, ZoneInfo):
        return zone
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"unknown time zone {zone!r}") from None


def parse(expression: str, zone: str | ZoneInfo) -> CronSchedule:
    """Parse ``expression`` as the CronJob controller does with ``spec.timeZone`` = ``zone``.

    Accepts what robfig/cron v3.0.1 ``ParseStandard`` accepts: five fields (minute hour
    day-of-month month day-of-week) of comma lists of ``*``, ``?``, ``n``, ``a-b``, each
    with an optional ``/step`` (``n/step`` = ``n-max/step``); month names ``jan``..``dec``
    and day names ``sun``..``sat`` (any case); the descriptors ``@yearly``,
    ``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight``, ``@hourly``.
    Also what Go lets through: ``+5`` (strconv.Atoi), ``*-5`` (= ``*``), empty comma
    items. Not ``@every`` nor ``TZ=`` / ``CRON_TZ=`` (see the module docstring).

    Args:
        expression: the cron expression (``spec.cronSchedule``).
        zone: an IANA zone name or a :class:`~zoneinfo.ZoneInfo`.

    Returns:
        The schedule (immutable).

    Raises:
        CronError: the expression is refused or the zone is unknown (one-line message,
            robfig's own text for syntax errors).

    Source: robfig/cron v3.0.1 parser.go ``Parser.Parse``, ``getField``, ``getRange``,
    ``parseDescriptor``; Kubernetes pkg/controller/cronjob ``formatSchedule``.
    """
    loc = _zone(zone)
    if "TZ" in expression:
        raise CronError(
            "TZ and CRON_TZ are not allowed in the expression; the zone is passed separately"
            " (the API server refuses them alongside spec.timeZone)"
        )
    # ParseStandard("TZ=<zone> <expression>") keeps TrimSpace(everything after the zone).
    spec = _TRIM_RE.sub("", expression)
    if spec.startswith("@"):
        if spec.startswith("@every "):
            raise CronError(
                "@every is not supported: its ticks count from the CronJob's creation or"
                " last schedule time, so they cannot be computed from a clock reading"
            )
        if spec not in _DESCRIPTORS:
            raise CronError(f"unrecognized descriptor: {spec}")
        return CronSchedule(expression, loc, *_DESCRIPTORS[spec])
    fields = _FIELDS_RE.findall(spec)
    if len(fields) != 5:
        msg = f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
        raise CronError(msg)
    bounds = (_MINUTES, _HOURS, _DOM, _MONTHS, _DOW)
    minute, hour, dom, month, dow = (_get_field(f, b) for f, b in zip(fields, bounds, strict=True))
    return CronSchedule(expression, loc, minute, hour, dom, month, dow)


def next_ticks(
    expression: str, zone: str | ZoneInfo, after: datetime, count: int
) -> list[datetime]:
    """The next ``count`` ticks strictly after ``after`` (repeated :meth:`~CronSchedule.next`).

    Returns:
        Up to ``count`` aware datetimes in ``zone``, ascending; fewer when the schedule
        stops matching (nothing within five years of the last tick).

    Raises:
        CronError: as :func:`parse`.
        ValueError: ``after`` is naive or ``count`` is negative.
    """
    if count < 0:
        msg = f"count must be >= 0, got {count}"
        raise ValueError(msg)
    schedule = parse(expression, zone)
    ticks: list[datetime] = []
    tick = after
    while len(ticks) < count:
        found = schedule.next(tick)
        if found is None:
            break
        ticks.append(found)
        tick = found
    return ticks


# ------------------------------------------------------------- Go's time package


def _unix(moment: datetime) -> int:
    """Whole Unix seconds of ``moment`` (floor), which must be aware."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = f"expected a timezone-aware datetime, got naive {moment.isoformat()}"
        raise ValueError(msg)
    return (moment - _EPOCH) // _SECOND


def _step_until(
    t: int, lt: datetime, *, unit: int, field: str, modulus: int, bits: int, zone: ZoneInfo
) -> tuple[int, datetime, bool]:
    """robfig's inner loop ``for !match { t = t.Add(unit); if field == 0 { goto WRAP } }``.

    ``lt`` is the wall clock of ``t`` and does not match ``bits``. Returns the new ``t``,
    its wall clock and whether the loop ended by wrapping to 0 (``goto WRAP``).

    While the zone's offset stays the same, each step adds one to the wall field, so the
    loop ends after ``k`` steps at the next value set in ``bits`` (or at 0, wrapping):
    one jump instead of up to 59 steps, taken when the offsets at both ends agree and the
    wall field lands where expected; otherwise (an offset change inside the span) the
    steps are taken one by one, as Go does.
    """
    value: int = getattr(lt, field)
    target = next((v for v in range(value + 1, modulus) if (1 << v) & bits), modulus)
    jump = t + (target - value) * unit
    if _offset(t, zone) == _offset(jump, zone):
        landed = _wall(jump, zone)
        if getattr(landed, field) == target % modulus:
            return jump, landed, target == modulus
    while True:
        t += unit
        lt = _wall(t, zone)
        if getattr(lt, field) == 0:
            return t, lt, True
        if (1 << getattr(lt, field)) & bits:
            return t, lt, False


def _wall(unix: int, zone: ZoneInfo) -> datetime:
    """The wall clock of instant ``unix`` in ``zone`` (Go: ``t.In(zone)``'s fields)."""
    return datetime.fromtimestamp(unix, zone)


def _offset(unix: int, zone: ZoneInfo) -> int:
    """The zone's UTC offset at instant ``unix``, in seconds (Go: ``loc.lookup``)."""
    offset = datetime.fromtimestamp(unix, zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return offset // _SECOND


def _go_date(
    zone: ZoneInfo,
    year: int,
    month: int,
    day: int,
    *,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
) -> int:
    """Go's ``time.Date(year, month, day, hour, minute, second, 0, zone)`` as Unix seconds.

    Months and days out of range roll over (``month=13`` is January next year,
    ``day=32`` the 1st or 2nd of the next month). A wall time the zone skips or repeats
    is resolved by Go's rule: take the offset at the instant "wall read as UTC", then
    the offset at "wall minus that offset"; the result is wall minus the latter.
    """
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    days = date(year, month, 1).toordinal() - _EPOCH_ORDINAL + day - 1
    wall = days * 86400 + hour * 3600 + minute * 60 + second
    return wall - _offset(wall - _offset(wall, zone), zone)


def _add_date(unix: int, years: int, months: int, days: int, zone: ZoneInfo) -> int:
    """Go's ``t.AddDate(years, months, days)``: ``time.Date`` of the shifted wall clock."""
    lt = _wall(unix, zone)
    return _go_date(
        zone,
        lt.year + years,
        lt.month + months,
        lt.day + days,
        hour=lt.hour,
        minute=lt.minute,
        second=lt.second,
    )
