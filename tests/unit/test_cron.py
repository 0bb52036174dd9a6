"""The port of robfig/cron v3 (the CronJob controller's cron) against the library itself.

The golden table (tests/unit/golden/robfig_cases.json -> robfig_expected.json) was made
by tools/robfig-table, a Go program calling cron.ParseStandard and Next; regenerate it
with ``make robfig-table``.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from assetcron._cron import CronError, CronSchedule, next_ticks, parse

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "unit" / "golden"
TOOL = ROOT / "tools" / "robfig-table"
NEW_YORK = ZoneInfo("America/New_York")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _port(case: dict[str, Any]) -> dict[str, Any]:
    """What the port gives for one case of the table, in the Go tool's output shape."""
    out = {k: case[k] for k in ("expr", "zone", "after", "count")}
    try:
        ticks = next_ticks(case["expr"], case["zone"], _utc(case["after"]), case["count"])
    except CronError as exc:
        out["error"] = str(exc)
    else:
        out["ticks"] = [_z(t) for t in ticks]
    return out


def _mismatches(expected: list[dict[str, Any]]) -> list[str]:
    bad = []
    for case in expected:
        got = _port(case)
        if got != case:
            bad.append(f"{json.dumps(case)}\n    port: {json.dumps(got)}")
    return bad


def test_port_reproduces_the_committed_robfig_golden_table() -> None:
    cases = json.loads((GOLDEN / "robfig_cases.json").read_text())
    expected = json.loads((GOLDEN / "robfig_expected.json").read_text())
    assert [{k: c[k] for k in ("expr", "zone", "after", "count")} for c in expected] == cases, (
        "robfig_expected.json is stale: run `make robfig-table`"
    )
    bad = _mismatches(expected)
    assert not bad, f"{len(bad)} of {len(expected)} cases differ:\n" + "\n".join(bad[:10])


def _go() -> str | None:
    found = shutil.which("go")
    if found:
        return found
    default = Path("/usr/local/go/bin/go")
    return str(default) if default.exists() else None


def test_port_agrees_with_robfig_run_live_by_go() -> None:
    go = _go()
    if go is None:
        pytest.skip("Go is not installed (PATH or /usr/local/go/bin)")
    cases = (GOLDEN / "robfig_cases.json").read_text()
    result = subprocess.run(
        [go, "run", "."],
        cwd=TOOL,
        input=cases,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "GOFLAGS": "-mod=mod"},
    )
    assert result.returncode == 0, result.stderr
    expected = json.loads(result.stdout)
    assert len(expected) == len(json.loads(cases))
    bad = _mismatches(expected)
    assert not bad, f"{len(bad)} of {len(expected)} cases differ:\n" + "\n".join(bad[:10])


# ------------------------------------------------------------------ DST, in words


def _ticks(expr: str, zone: str, after: str, count: int) -> list[str]:
    return [_z(t) for t in next_ticks(expr, zone, _utc(after), count)]


def test_0230_daily_is_skipped_on_the_new_york_spring_forward_day() -> None:
    # 2025-03-09: 02:00 EST -> 03:00 EDT. croniter 7 runs at 03:00 EDT (07:00Z).
    assert _ticks("30 2 * * *", "America/New_York", "2025-03-08T00:00:00Z", 3) == [
        "2025-03-08T07:30:00Z",  # 02:30 EST on the 8th
        "2025-03-10T06:30:00Z",  # 02:30 EDT on the 10th: nothing on the 9th
        "2025-03-11T06:30:00Z",
    ]


def test_0130_daily_runs_twice_on_the_new_york_fall_back_day() -> None:
    # 2025-11-02: 02:00 EDT -> 01:00 EST, so 01:30 happens at 05:30Z and at 06:30Z.
    ticks = next_ticks("30 1 * * *", "America/New_York", _utc("2025-11-01T12:00:00Z"), 3)
    assert [_z(t) for t in ticks] == [
        "2025-11-02T05:30:00Z",
        "2025-11-02T06:30:00Z",
        "2025-11-03T06:30:00Z",
    ]
    assert [t.isoformat() for t in ticks[:2]] == [
        "2025-11-02T01:30:00-04:00",
        "2025-11-02T01:30:00-05:00",
    ]
    assert all(t.tzinfo is NEW_YORK for t in ticks)


def test_hourly_follows_absolute_hours_across_the_fall_back_hour() -> None:
    assert _ticks("0 * * * *", "America/New_York", "2025-11-02T04:30:00Z", 3) == [
        "2025-11-02T05:00:00Z",  # 01:00 EDT
        "2025-11-02T06:00:00Z",  # 01:00 EST
        "2025-11-02T07:00:00Z",  # 02:00 EST
    ]


def test_midnight_daily_is_skipped_when_midnight_does_not_exist_in_havana() -> None:
    # Cuba springs forward at 00:00 -> 01:00 (2026-03-08). robfig steps a day, sees the
    # wall clock at 01:00, steps back an hour to 23:00 the day before and moves on:
    # no run on the 8th (croniter 7 runs at 01:00 CDT).
    assert _ticks("0 0 * * *", "America/Havana", "2026-03-06T12:00:00Z", 3) == [
        "2026-03-07T05:00:00Z",  # 00:00 CST (UTC-5)
        "2026-03-09T04:00:00Z",  # 00:00 CDT (UTC-4)
        "2026-03-10T04:00:00Z",
    ]


def test_quarter_hours_on_the_lord_howe_half_hour_shift() -> None:
    # 2025-10-05 02:00 -> 02:30 (+10:30 -> +11): 02:00 and 02:15 do not exist.
    ticks = next_ticks("*/15 * * * *", "Australia/Lord_Howe", _utc("2025-10-04T14:50:00Z"), 4)
    assert [t.strftime("%H:%M%z") for t in ticks] == [
        "01:30+1030",
        "01:45+1030",
        "02:30+1100",
        "02:45+1100",
    ]


def test_midnight_daily_is_skipped_the_day_after_the_lord_howe_half_hour_fall_back() -> None:
    # 2025-04-06 02:00 -> 01:30 (+11 -> +10:30): that day has 24.5 hours, robfig's hour
    # steps from 01:00 reach 00:30 on the 7th, then step on to midnight of the 8th.
    ticks = next_ticks("@daily", "Australia/Lord_Howe", _utc("2025-04-04T12:00:00Z"), 3)
    assert [t.isoformat() for t in ticks] == [
        "2025-04-05T00:00:00+11:00",
        "2025-04-06T00:00:00+11:00",
        "2025-04-08T00:00:00+10:30",
    ]


def test_day_of_month_and_day_of_week_are_or_unless_one_is_a_star() -> None:
    # Friday the 13th? No: robfig (like Vixie cron) fires on every 13th and every Friday.
    days = [t.date().isoformat() for t in next_ticks("0 0 13 * 5", "UTC", _utc(AFTER), 4)]
    assert days == ["2026-02-06", "2026-02-13", "2026-02-20", "2026-02-27"]
    # A star (or a */1 step, which keeps the star bit) makes it AND: Mondays only.
    mondays = next_ticks("0 0 */1 * 1", "UTC", _utc(AFTER), 2)
    assert [t.date().isoformat() for t in mondays] == ["2026-02-09", "2026-02-16"]
    # A step above 1 drops the star bit: odd days OR Mondays.
    mixed = next_ticks("0 0 */2 * 1", "UTC", _utc(AFTER), 3)
    assert [t.date().isoformat() for t in mixed] == ["2026-02-05", "2026-02-07", "2026-02-09"]


AFTER = "2026-02-04T12:00:00Z"  # a Wednesday


def test_descriptors_and_names() -> None:
    assert _ticks("@daily", "UTC", AFTER, 1) == ["2026-02-05T00:00:00Z"]
    assert _ticks("@midnight", "UTC", AFTER, 1) == ["2026-02-05T00:00:00Z"]
    assert _ticks("@hourly", "UTC", AFTER, 1) == ["2026-02-04T13:00:00Z"]
    assert _ticks("@weekly", "UTC", AFTER, 1) == ["2026-02-08T00:00:00Z"]
    assert _ticks("@monthly", "UTC", AFTER, 1) == ["2026-03-01T00:00:00Z"]
    assert _ticks("@yearly", "UTC", AFTER, 1) == _ticks("@annually", "UTC", AFTER, 1)
    assert _ticks("5 4 * * sun", "UTC", AFTER, 1) == ["2026-02-08T04:05:00Z"]
    assert _ticks("0 0 1 JAN-mar/2 ?", "UTC", AFTER, 2) == [
        "2026-03-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
    ]


def test_a_schedule_that_never_fires_has_no_next_tick() -> None:
    schedule = parse("0 0 30 2 *", "UTC")
    assert schedule.next(_utc(AFTER)) is None
    assert schedule.prev(_utc(AFTER)) is None
    assert next_ticks("0 0 30 2 *", "UTC", _utc(AFTER), 3) == []
    assert next_ticks("0 , * * *", "UTC", _utc(AFTER), 3) == []  # an empty list: no hour
    # Leap days: each Next searches five years from its start.
    assert _ticks("0 0 29 2 *", "UTC", AFTER, 2) == ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]


def test_next_is_strictly_after_and_drops_sub_seconds() -> None:
    assert _ticks("0 * * * *", "UTC", "2026-02-04T12:00:00Z", 1) == ["2026-02-04T13:00:00Z"]
    assert _ticks("0 * * * *", "UTC", "2026-02-04T11:59:59.999Z", 1) == ["2026-02-04T12:00:00Z"]
    assert _ticks("0 * * * *", "UTC", "2026-02-04T12:00:00.5Z", 1) == ["2026-02-04T13:00:00Z"]
    paris = datetime(2026, 2, 4, 13, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 12:00Z
    assert _z(parse("0 * * * *", "UTC").next(paris) or paris) == "2026-02-04T13:00:00Z"


def test_next_ticks_count() -> None:
    assert next_ticks("@daily", "UTC", _utc(AFTER), 0) == []
    with pytest.raises(ValueError, match="count"):
        next_ticks("@daily", "UTC", _utc(AFTER), -1)


def test_naive_times_are_refused() -> None:
    schedule = parse("@daily", "UTC")
    with pytest.raises(ValueError, match="naive"):
        schedule.next(datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        schedule.prev(datetime(2026, 1, 1))  # noqa: DTZ001


# ------------------------------------------------------------------------- prev


def test_prev_is_the_latest_tick_strictly_before() -> None:
    daily = parse("0 6 * * *", "Europe/Paris")
    before = _utc("2026-03-30T04:00:00Z")  # exactly 06:00 CEST, a tick
    assert _z(daily.prev(before) or before) == "2026-03-29T04:00:00Z"
    assert _z(daily.prev(before + timedelta(microseconds=1)) or before) == "2026-03-30T04:00:00Z"
    hourly = parse("0 * * * *", "UTC")
    assert _z(hourly.prev(_utc("2026-02-04T12:00:00Z")) or before) == "2026-02-04T11:00:00Z"
    yearly = parse("@yearly", "UTC")  # found in the 366-day window
    assert _z(yearly.prev(_utc(AFTER)) or before) == "2026-01-01T00:00:00Z"
    leap = parse("0 0 29 2 *", "UTC")  # found in the 5-year window
    assert _z(leap.prev(_utc(AFTER)) or before) == "2024-02-29T00:00:00Z"


def test_prev_of_the_second_0130_on_fall_back_day_is_the_first() -> None:
    schedule = parse("30 1 * * *", "America/New_York")
    second = _utc("2025-11-02T06:30:00Z")
    first = schedule.prev(second)
    assert first is not None
    assert first.isoformat() == "2025-11-02T01:30:00-04:00"
    assert _z(schedule.prev(second + timedelta(seconds=1)) or second) == "2025-11-02T06:30:00Z"
    assert _z(schedule.prev(first) or second) == "2025-11-01T05:30:00Z"


def test_prev_after_the_skipped_spring_forward_tick_is_the_day_before() -> None:
    schedule = parse("30 2 * * *", "America/New_York")
    tick = schedule.prev(_utc("2025-03-10T06:30:00Z"))  # 02:30 EDT on the 10th
    assert tick is not None
    assert tick.isoformat() == "2025-03-08T02:30:00-05:00"


def test_prev_and_next_walk_the_same_ticks() -> None:
    schedule = parse("*/20 1-2 * * *", "Europe/London")
    ticks = next_ticks("*/20 1-2 * * *", "Europe/London", _utc("2025-10-25T00:00:00Z"), 12)
    for earlier, later in itertools.pairwise(ticks):
        assert schedule.prev(later) == earlier
        assert schedule.next(earlier) == later


# ------------------------------------------------------------------- the parser


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "expected exactly 5 fields, found 0: []"),
        ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
        ("0 0 1 1 * 2030", "expected exactly 5 fields, found 6: [0 0 1 1 * 2030]"),
        ("61 * * * *", "end of range (61) above maximum (59): 61"),
        ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("0 0 * * 7", "end of range (7) above maximum (6): 7"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("1/2/3 * * * *", "too many slashes: 1/2/3"),
        ("*/-1 * * * *", "negative number (-1) not allowed: -1"),
        ("0 0 L * *", 'failed to parse int from L: strconv.Atoi: parsing "L": invalid syntax'),
        ("0 0 * * sunday", "failed to parse int from sunday"),
        (
            "*/99999999999999999999 * * * *",
            "failed to parse int from 99999999999999999999: strconv.Atoi: parsing"
            ' "99999999999999999999": value out of range',
        ),
        ("@Daily", "unrecognized descriptor: @Daily"),
        ("@reboot", "unrecognized descriptor: @reboot"),
    ],
)
def test_parser_errors_are_robfigs_one_line_messages(expression: str, message: str) -> None:
    with pytest.raises(CronError) as info:
        parse(expression, "UTC")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_every_and_tz_prefixes_are_refused_although_parse_standard_takes_them() -> None:
    with pytest.raises(CronError, match="@every is not supported"):
        parse("@every 1h", "UTC")
    with pytest.raises(CronError, match="TZ and CRON_TZ"):
        parse("CRON_TZ=Europe/Paris 0 6 * * *", "UTC")
    with pytest.raises(CronError, match="TZ and CRON_TZ"):
        parse("TZ=UTC @daily", "UTC")


def test_unknown_zones_are_cron_errors() -> None:
    with pytest.raises(CronError, match="unknown time zone 'Mars/Olympus'"):
        parse("@daily", "Mars/Olympus")
    with pytest.raises(CronError, match="unknown time zone"):
        parse("@daily", "../etc/passwd")


def test_what_go_lets_through() -> None:
    # strconv.Atoi takes a sign, `*-anything` is `*`, empty comma items are skipped,
    # whitespace around the expression is trimmed.
    plain = parse("5 * * * *", "UTC")
    assert parse("+5 * * * *", "UTC").minute == plain.minute
    assert parse(",5,, * * * *", "UTC").minute == plain.minute
    assert parse("*-5 * * * *", "UTC").minute == parse("* * * * *", "UTC").minute
    assert parse("\t@hourly \n", "UTC").hour == parse("@hourly", "UTC").hour


def test_the_schedule_keeps_its_expression_and_zone() -> None:
    schedule = parse("0 6 * * *", NEW_YORK)
    assert isinstance(schedule, CronSchedule)
    assert schedule.expression == "0 6 * * *"
    assert schedule.zone is NEW_YORK
    assert parse("0 6 * * *", "America/New_York") == schedule
