"""Run-config templates: variables, date filters, sandbox and error reporting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assetcron import TemplateError, check_template, render_run_config, template_context

TICK = datetime(2015, 6, 2, 6, 0, tzinfo=UTC)


def render(text: str, **kw: object) -> str:
    out = render_run_config({"v": text}, scheduled_time=TICK, **kw)  # type: ignore[arg-type]
    return str(out["v"])


def test_every_string_leaf_is_rendered_and_other_leaves_are_copied() -> None:
    template = {
        "ops": {"a": {"config": {"date": "{{ scheduled_date }}", "n": 3, "ok": True}}},
        "list": ["{{ partition_key }}", None, 1.5],
        "plain": "no braces",
    }
    out = render_run_config(template, scheduled_time=TICK, partition_key="2015-06-01")
    assert out == {
        "ops": {"a": {"config": {"date": "2015-06-02", "n": 3, "ok": True}}},
        "list": ["2015-06-01", None, 1.5],
        "plain": "no braces",
    }
    assert template["ops"]["a"]["config"]["date"] == "{{ scheduled_date }}"  # not mutated


def test_the_day_before_the_tick_without_code() -> None:
    assert render("{{ scheduled_time | days_ago(1) | ds }}") == "2015-06-01"
    assert render("{{ scheduled_time | add_days(-1) | ds_nodash }}") == "20150601"
    assert render("{{ partition_key | days_ago(6) | ds }}", partition_key="2015-06-01") == (
        "2015-05-26"
    )


def test_scheduled_time_is_in_the_schedule_zone() -> None:
    # 06:00 UTC is 23:00 the previous day in Los Angeles (PDT, UTC-7).
    assert render("{{ scheduled_date }}", timezone="America/Los_Angeles") == "2015-06-01"
    assert render("{{ scheduled_time | strftime('%H:%M %Z') }}", timezone="Europe/Paris") == (
        "08:00 CEST"
    )


def test_data_interval_is_previous_tick_to_this_tick_from_the_cron() -> None:
    ctx = template_context(scheduled_time=TICK, cron_schedule="0 6 * * *")
    assert ctx["data_interval_start"] == datetime(2015, 6, 1, 6, tzinfo=UTC)
    assert ctx["data_interval_end"] == TICK
    hourly = template_context(scheduled_time=TICK, cron_schedule="0 * * * *")
    assert hourly["data_interval_start"] == datetime(2015, 6, 2, 5, tzinfo=UTC)
    no_cron = template_context(scheduled_time=TICK)
    assert no_cron["data_interval_start"] == no_cron["data_interval_end"] == TICK


def test_data_interval_starts_at_the_previous_run_the_controller_made_across_dst() -> None:
    # Daily at 02:30 Berlin; 2015-03-29 has no 02:30 (clocks jump 02:00 -> 03:00) and the
    # CronJob controller (robfig/cron) runs nothing that day, so the interval of the 30th
    # starts at the run of the 28th (croniter said 03:00 CEST on the 29th).
    tick = datetime(2015, 3, 30, 0, 30, tzinfo=UTC)  # 02:30 CEST on the 30th
    ctx = template_context(
        scheduled_time=tick, timezone="Europe/Berlin", cron_schedule="30 2 * * *"
    )
    assert ctx["data_interval_end"].isoformat() == "2015-03-30T02:30:00+02:00"
    assert ctx["data_interval_start"].isoformat() == "2015-03-28T02:30:00+01:00"


def test_data_interval_of_the_second_0130_on_fall_back_day_is_one_hour() -> None:
    # New York 2025-11-02: the controller runs 01:30 EDT and 01:30 EST.
    second = datetime(2025, 11, 2, 6, 30, tzinfo=UTC)
    ctx = template_context(
        scheduled_time=second, timezone="America/New_York", cron_schedule="30 1 * * *"
    )
    assert ctx["data_interval_start"].isoformat() == "2025-11-02T01:30:00-04:00"
    assert ctx["data_interval_end"].isoformat() == "2025-11-02T01:30:00-05:00"


def test_data_interval_errors_name_the_cron() -> None:
    with pytest.raises(TemplateError, match="invalid cron schedule '0 0 0 \\* \\*': beginning"):
        template_context(scheduled_time=TICK, cron_schedule="0 0 0 * *")
    with pytest.raises(TemplateError, match="no tick in the five years before"):
        template_context(scheduled_time=TICK, cron_schedule="0 0 30 2 *")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ scheduled_time | add_hours(20) | ds }}", "2015-06-03"),
        ("{{ scheduled_time | start_of_day }}", "2015-06-02 00:00:00+00:00"),
        ("{{ scheduled_time | start_of_month | ds }}", "2015-06-01"),
        (
            "{{ scheduled_time | to_timezone('Asia/Tokyo') | strftime('%Y-%m-%dT%H') }}",
            "2015-06-02T15",
        ),
        ("{{ data_interval_start | ds }}/{{ data_interval_end | ds }}", "2015-06-02/2015-06-02"),
        ("{{ timezone }}", "UTC"),
    ],
)
def test_filters(text: str, expected: str) -> None:
    assert render(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ nope }}", "'nope' is undefined"),
        ("{{ scheduled_time.__class__ }}", "unsafe"),
        ("{{ scheduled_time.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
        ("{{ scheduled_time | no_such_filter }}", "no_such_filter"),
        ("{{ scheduled_time ", "end of template"),
        ("{{ 'not-a-date' | ds }}", "expected a datetime"),
        ("{{ scheduled_time | to_timezone('Mars/Olympus') }}", "unknown time zone"),
    ],
)
def test_bad_templates_raise_template_error_naming_the_leaf(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        render_run_config({"ops": {"a": {"config": {"x": text}}}}, scheduled_time=TICK)
    assert message in str(info.value)
    assert "ops/a/config/x" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "{{ nope }}",
        "{{ scheduled_time.__class__ }}",
        "{{ scheduled_time['__globals__'] }}",
        "{{ x | no_such_filter }}",
        "{% if %}",
    ],
)
def test_check_template_rejects_without_rendering(text: str) -> None:
    with pytest.raises(TemplateError):
        check_template({"a": [text]})


def test_check_template_accepts_valid_templates() -> None:
    check_template(
        {
            "a": "{{ scheduled_time | days_ago(1) | ds }}",
            "b": ["{{ partition_key }}", 1, {"c": "{{ data_interval_start | ds_nodash }}"}],
        }
    )


def test_non_json_values_and_naive_times_are_rejected() -> None:
    with pytest.raises(TemplateError, match="not JSON-shaped"):
        render_run_config({"a": object()}, scheduled_time=TICK)
    with pytest.raises(TemplateError, match="timezone-aware"):
        render_run_config({}, scheduled_time=datetime(2015, 6, 2))  # noqa: DTZ001
    with pytest.raises(TemplateError, match="invalid cron"):
        render_run_config({}, scheduled_time=TICK, cron_schedule="not a cron")
