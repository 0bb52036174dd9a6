"""The ``assetcron.dev/trigger`` value (run now) and the CLI that sets it, without a cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from assetcron_operator.trigger import (
    TriggerError,
    make_trigger_value,
    parse_scheduled_time,
    parse_trigger_options,
    parse_trigger_value,
)


def test_value_round_trips_to_the_scheduled_time_in_utc() -> None:
    pacific = timezone(timedelta(hours=-8))
    when = datetime(2026, 11, 21, 6, 0, 30, 123456, tzinfo=pacific)
    value = make_trigger_value(when, nonce="abc123")
    assert value == "2026-11-21T14:00:30Z#abc123"
    assert parse_trigger_value(value) == datetime(2026, 11, 21, 14, 0, 30, tzinfo=UTC)


def test_two_triggers_for_the_same_time_differ() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert make_trigger_value(when) != make_trigger_value(when)


def test_bare_iso_time_is_accepted_for_hand_written_annotations() -> None:
    assert parse_trigger_value("2026-01-02T03:04:05+01:00") == datetime(
        2026, 1, 2, 2, 4, 5, tzinfo=UTC
    )


@pytest.mark.parametrize("value", ["", "yesterday#x", "2026-01-01T00:00:00#x", "x" * 300])
def test_bad_values_are_refused(value: str) -> None:
    with pytest.raises(TriggerError):
        parse_trigger_value(value)


def test_naive_times_are_refused_with_a_hint() -> None:
    with pytest.raises(TriggerError, match="no UTC offset"):
        parse_scheduled_time("2026-01-01T06:00:00")
    with pytest.raises(TriggerError, match="timezone-aware"):
        make_trigger_value(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


@pytest.mark.parametrize("nonce", ["", "a#b", "a b"])
def test_bad_nonce_is_refused(nonce: str) -> None:
    with pytest.raises(TriggerError, match="nonce"):
        make_trigger_value(datetime(2026, 1, 1, tzinfo=UTC), nonce=nonce)


def test_cli_trigger_rejects_a_bad_time_before_touching_the_cluster(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from assetcron.cli import main

    code = main(["schedule", "trigger", "weather-daily", "--scheduled-time", "tomorrow", "-n", "x"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1


def test_force_rides_on_the_value_and_unknown_options_are_refused() -> None:
    when = datetime(2026, 11, 21, 6, tzinfo=UTC)
    forced = make_trigger_value(when, nonce="ab12", force=True)
    assert forced == "2026-11-21T06:00:00Z#ab12;force"
    assert parse_trigger_value(forced) == when
    assert parse_trigger_options(forced) == {"force"}
    assert parse_trigger_options(make_trigger_value(when)) == frozenset()
    with pytest.raises(TriggerError, match="unknown trigger option 'rm'"):
        parse_trigger_options("2026-11-21T06:00:00Z#ab12;rm")
    with pytest.raises(TriggerError, match="';'"):
        make_trigger_value(when, nonce="a;b")
