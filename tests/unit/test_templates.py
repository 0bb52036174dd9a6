"""Run-config templates: variables, date filters, sandbox and error reporting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assetcron import (
    RenderLimits,
    TemplateError,
    check_template,
    render_run_config,
    template_context,
)

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


# ----------------------------------------------------------- check_template never evaluates

#: Templates whose constant parts Jinja2's code generator would fold at compile time:
#: each computes something huge (seconds of CPU, or a string of 200 MB to 1 GB).
HOSTILE = [
    "{{ 9**(9**7) }}",
    "{{ 'a' * 2*10**8 }}",
    "{{ 'x'|center(1000000000) }}",
    "{{ '%01000000000d' % 1 }}",
    "{% if 'a' * 10**9 %}x{% endif %}",
]


@pytest.fixture
def no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make compiling (and so constant folding) fail loudly: check_template must parse only."""
    import jinja2.compiler
    import jinja2.environment

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("check_template compiled a template")

    monkeypatch.setattr(jinja2.environment.Environment, "compile", refuse)
    monkeypatch.setattr(jinja2.compiler.CodeGenerator, "__init__", refuse)


@pytest.mark.usefixtures("no_compiling")
@pytest.mark.parametrize("text", HOSTILE)
def test_check_template_accepts_hostile_constants_without_evaluating_them(text: str) -> None:
    check_template({"ops": {"a": {"config": {"x": text}}}})  # valid syntax: nothing to report


@pytest.mark.usefixtures("no_compiling")
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ 9**(9**7) | nope }}", "run config a: No filter named 'nope'."),
        ("{% if 9**(9**7) is nope %}{% endif %}", "run config a: No test named 'nope'."),
        ("{{ 'x'|center(10**9) ~ later }}", "run config a: 'later' is undefined"),
        ("{{ ('a' * 10**9)._x }}", "run config a: access to attribute '_x' is unsafe"),
        ("{{ x | no_such_filter }}", "run config a: No filter named 'no_such_filter'."),
        ("{{ nope if true else 'x' | nofilter }}", "No filter named 'nofilter'."),
        ("{% set ns = namespace() %}{% set ns._x = 1 %}", "'_x' is unsafe"),
    ],
)
def test_check_template_reports_problems_next_to_hostile_constants(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        check_template({"a": text})
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "nested too deeply"),
        ("{{ x" + "|upper" * 20000 + " }}", "'x' is undefined"),  # compiling recursed
        ("{{ " + "9" * 5000 + " }}", "integer string conversion"),
    ],
)
def test_check_template_turns_parser_limits_into_template_errors(text: str, message: str) -> None:
    # These escaped as RecursionError / ValueError before, which the operator's
    # validation (catching TemplateError) did not handle.
    with pytest.raises(TemplateError, match=message):
        check_template({"a": text})


@pytest.mark.parametrize(
    "text",
    [
        "{% set d = scheduled_time | days_ago(1) %}{{ d | ds }}",
        "{% for i in range(3) %}{{ loop.index }}{{ i }}{% endfor %}",
        "{% macro m(a, b=1) %}{{ a }}{{ b }}{{ varargs }}{% endmacro %}{{ m(1) }}",
        "{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}x{% endcall %}",
        "{% set ns = namespace(n=0) %}{% set ns.n = 1 %}{{ ns.n }}",
        "{% with a = partition_key %}{{ a }}{% endwith %}",
        "{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}",
        "{{ dict(a=1) | tojson }}{{ timezone is string }}",
        "{% filter upper %}{{ scheduled_date }}{% endfilter %}",
    ],
)
def test_check_template_accepts_what_renders(text: str) -> None:
    check_template({"a": text})
    render_run_config({"a": text}, scheduled_time=TICK)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ loop.index }}", "'loop' is undefined"),
        ("{{ caller() }}", "'caller' is undefined"),
        ("{% set ns.x = 1 %}", "'ns' is undefined"),
    ],
)
def test_check_template_knows_where_implicit_names_exist(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        check_template({"a": text})


# --------------------------------------------------------------- rendering is bounded

LOOP_X = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
LOOP_NOTHING = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
DOUBLING = (
    "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}"
)


@pytest.mark.parametrize(
    ("text", "limits", "message"),
    [
        ("{{ 'a' * 10**9 }}", None, "'*' would make a 1000000000-character string (limit 1048576)"),
        ("{{ 10**9 * 'a' }}", None, "'*' would make a 1000000000-character string"),
        ("{{ [0] * 2000000 }}", None, "'*' would make a 2000000-item list (limit 1048576)"),
        (
            "{{ 9**(9**9) }}",
            None,
            "'**' would make a number of about 369693099 digits (limit 4300)",
        ),
        ("{{ 10**3000 * 10**3000 }}", None, "'*' would make a number of about"),
        ("{{ range(10**9) | list }}", None, "larger than MAX_RANGE (100000)"),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", None, "recursion too deep"),
        ("{{ scheduled_date" + "|upper" * 20000 + " }}", None, "recursion too deep"),
        ("{{ 'x'|center(10**9) }}", None, "rendering needs more than 256 MiB (limit)"),
        ("{{ '%01000000000d' % 1 }}", None, "rendering needs more than 256 MiB (limit)"),
        (DOUBLING, RenderLimits(memory_bytes=64 * 2**20), "rendering needs more than 64 MiB"),
        (LOOP_X, RenderLimits(memory_bytes=32 * 2**20, seconds=60), "needs more than 32 MiB"),
        (LOOP_NOTHING, RenderLimits(seconds=0.3), "rendering took longer than 0.3 s (limit)"),
        ("{{ 'x'|center(2000) }}", RenderLimits(output_chars=1000), "2000 characters (limit 1000)"),
    ],
)
def test_explosive_templates_fail_naming_the_leaf_and_the_limit(
    text: str, limits: RenderLimits | None, message: str
) -> None:
    template = {"ops": {"a": {"config": {"fine": "{{ scheduled_date }}", "x": text}}}}
    kw = {"limits": limits} if limits else {}
    with pytest.raises(TemplateError) as info:
        render_run_config(template, scheduled_time=TICK, **kw)  # type: ignore[arg-type]
    assert str(info.value).startswith("run config ops/a/config/x: ")
    assert message in str(info.value)


def test_the_size_checks_allow_ordinary_arithmetic() -> None:
    assert render("{{ '-' * 3 }}{{ 2 ** 10 }}{{ 3 * 4 }}{{ 2 ** -1 }}{{ 1 ** 10**9 }}") == (
        "---102412" + "0.5" + "1"
    )
    assert render("{{ [1, 2] * 2 }}") == "[1, 2, 1, 2]"


def test_a_template_without_delimiters_renders_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    def no_fork() -> int:
        raise AssertionError("forked for a template without '{'")

    monkeypatch.setattr(os, "fork", no_fork)
    template = {"a": "plain", "b": [1, None, {"c": True}], "d": 2.5}
    assert render_run_config(template, scheduled_time=TICK) == {
        "a": "plain",
        "b": [1, None, {"c": True}],
        "d": 2.5,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ '2024-01-31' | add_months(1) | ds }}", "2024-02-29"),
        ("{{ '2024-03-31' | add_months(-1) | ds }}", "2024-02-29"),
        ("{{ '2023-12-15' | add_months(2) | ds }}", "2024-02-15"),
        ("{{ '2024-01-01' | add_months(-13) | ds }}", "2022-12-01"),
        ("{{ '2024-03-10' | add_weeks(-2) | ds }}", "2024-02-25"),
        ("{{ '2024-06-12' | start_of_week | ds }}", "2024-06-10"),  # Wednesday -> Monday
        ("{{ '2024-06-10' | start_of_week | ds }}", "2024-06-10"),
        ("{{ '2024-06-12' | start_of_week(0) | ds }}", "2024-06-09"),  # -> Sunday
        ("{{ '2024-06-15' | start_of_week(6) | ds }}", "2024-06-15"),  # Saturday
        ("{{ '2024-02-10' | end_of_month | ds }}", "2024-02-29"),
        ("{{ '2023-12-31' | end_of_month | ds }}", "2023-12-31"),
        (
            "{{ '2024-03-10-05:00' | add_hours(2) | strftime('%Y-%m-%d-%H:%M') }}",
            "2024-03-10-07:00",
        ),
        ("{{ scheduled_time | start_of_hour | strftime('%H:%M:%S') }}", "06:00:00"),
        ("{{ '2024-11-03-01:00-0500' | to_timezone('UTC') | strftime('%H:%M') }}", "06:00"),
        ("{{ scheduled_time | start_of_week | ds }}", "2015-06-01"),
        ("{{ scheduled_time | add_months(1) | ds }}", "2015-07-02"),
    ],
)
def test_hour_week_month_filters(text: str, expected: str) -> None:
    assert render(text) == expected
    check_template({"v": text})


def test_start_of_week_refuses_a_day_outside_the_week() -> None:
    with pytest.raises(TemplateError, match=r"day_offset must be 0\.\.6"):
        render("{{ scheduled_time | start_of_week(7) }}")


def test_partition_window_variables() -> None:
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    window = (datetime(2024, 3, 10, tzinfo=ny), datetime(2024, 3, 11, tzinfo=ny))
    text = "{{ partition_start.isoformat() }}/{{ (partition_end - partition_start) }}"
    assert render(text, partition_window=window) == "2024-03-10T00:00:00-05:00/1 day, 0:00:00"
    assert render("{{ partition_start }}|{{ partition_end }}") == "None|None"
    check_template({"v": text})
    # A 23-hour day in elapsed time (spring forward).
    hours = "{{ ((partition_end.timestamp() - partition_start.timestamp()) / 3600) | int }}"
    assert render(hours, partition_window=window) == "23"


def test_the_reference_page_documents_every_variable_and_filter_and_its_examples_render() -> None:
    import re
    from pathlib import Path
    from zoneinfo import ZoneInfo

    import yaml

    from assetcron._templates import FILTERS, VARIABLES

    page = (Path(__file__).parents[2] / "docs" / "templates.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)", page, re.M))
    assert documented >= VARIABLES, VARIABLES - documented
    assert set(FILTERS) <= documented, set(FILTERS) - documented
    ny = ZoneInfo("America/New_York")
    window = (datetime(2024, 3, 10, tzinfo=ny), datetime(2024, 3, 11, tzinfo=ny))
    blocks = re.findall(r"```yaml\n(.*?)```", page, re.S)
    assert blocks
    for block in blocks:
        doc = yaml.safe_load(block)
        check_template(doc)
        out = render_run_config(
            doc,
            scheduled_time=TICK,
            timezone="America/New_York",
            cron_schedule="0 6 * * *",
            partition_key="2024-03-10",
            partition_window=window,
        )
        assert "{{" not in str(out)
