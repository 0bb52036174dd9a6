"""Scheduled-time derivation (flag, env, CronJob job name), time zones and partitions."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from assetcron import DailyPartitionsDefinition, PartitionKeyError, ScheduledTimeError
from assetcron._timing import resolve_scheduled_time, resolve_timezone, scheduled_time_from_job_name

UTC_ZONE = ZoneInfo("UTC")
TICK = datetime(2015, 6, 2, 6, 0, tzinfo=UTC)
MINUTES = int(TICK.timestamp()) // 60  # what the CronJob controller appends


def test_job_name_suffix_is_unix_minutes() -> None:
    assert scheduled_time_from_job_name(f"weather-daily-{MINUTES}", UTC_ZONE) == TICK
    paris = scheduled_time_from_job_name(f"x-{MINUTES}", ZoneInfo("Europe/Paris"))
    assert paris == TICK
    assert paris.utcoffset() is not None
    assert paris.isoformat() == "2015-06-02T08:00:00+02:00"


@pytest.mark.parametrize("name", ["weather-daily", "weather-manual-abc", "123", ""])
def test_job_name_without_minutes_suffix_is_an_error(name: str) -> None:
    with pytest.raises(ScheduledTimeError):
        resolve_scheduled_time(None, {"ASSETCRON_JOB_NAME": name} if name else {}, UTC_ZONE)


def test_precedence_flag_then_env_time_then_job_name() -> None:
    env = {
        "ASSETCRON_SCHEDULED_TIME": "2020-01-01T00:00:00Z",
        "ASSETCRON_JOB_NAME": f"cj-{MINUTES}",
    }
    assert resolve_scheduled_time("2015-06-02T06:00:00Z", env, UTC_ZONE) == TICK
    assert resolve_scheduled_time(None, env, UTC_ZONE) == datetime(2020, 1, 1, tzinfo=UTC)
    del env["ASSETCRON_SCHEDULED_TIME"]
    assert resolve_scheduled_time(None, env, UTC_ZONE) == TICK


def test_no_source_is_an_error_never_now() -> None:
    with pytest.raises(ScheduledTimeError, match="never defaults to now"):
        resolve_scheduled_time(None, {}, UTC_ZONE)


def test_naive_time_is_wall_time_in_the_schedule_zone() -> None:
    la = ZoneInfo("America/Los_Angeles")
    t = resolve_scheduled_time("2015-06-01T23:00:00", {}, la)
    assert t == TICK


@pytest.mark.parametrize("bad", ["yesterday", "2015-13-01T00:00:00Z"])
def test_malformed_time_is_an_error(bad: str) -> None:
    with pytest.raises(ScheduledTimeError, match="ISO 8601"):
        resolve_scheduled_time(bad, {}, UTC_ZONE)


@pytest.mark.parametrize("bad", ["Mars/Olympus", "UTC+2", "../etc/passwd"])
def test_invalid_time_zone(bad: str) -> None:
    with pytest.raises(ScheduledTimeError, match="invalid time zone"):
        resolve_timezone(bad)


def test_default_zone_is_utc() -> None:
    assert resolve_timezone(None) == ZoneInfo("UTC")
    assert resolve_timezone("") == ZoneInfo("UTC")


def test_schedule_tick_targets_the_last_complete_partition() -> None:
    daily = DailyPartitionsDefinition(start_date="2012-01-01")
    assert daily.key_for_schedule_tick(TICK) == "2015-06-01"
    assert daily.key_for_schedule_tick(datetime(2015, 6, 2, tzinfo=UTC)) == "2015-06-01"
    assert daily.key_for_schedule_tick(datetime(2015, 6, 2, 23, 59, tzinfo=UTC)) == "2015-06-01"
    current = DailyPartitionsDefinition(start_date="2012-01-01", end_offset=1)
    assert current.key_for_schedule_tick(TICK) == "2015-06-02"
    la = DailyPartitionsDefinition(start_date="2012-01-01", timezone="America/Los_Angeles")
    assert la.key_for_schedule_tick(TICK) == "2015-05-31"  # 23:00 on June 1 in LA


def test_partition_keys_are_validated() -> None:
    daily = DailyPartitionsDefinition(start_date="2012-01-01", end_date="2016-01-01")
    assert daily.validate_key("2015-06-01") == "2015-06-01"
    for bad in ("2011-12-31", "2016-01-01", "2015-6-1", "June 1"):
        with pytest.raises(PartitionKeyError):
            daily.validate_key(bad)
    with pytest.raises(PartitionKeyError):
        daily.key_for_schedule_tick(datetime(2012, 1, 1, 6, tzinfo=UTC))
    start, end = daily.time_window("2015-06-01")
    assert (start.isoformat(), end.isoformat()) == (
        "2015-06-01T00:00:00+00:00",
        "2015-06-02T00:00:00+00:00",
    )
