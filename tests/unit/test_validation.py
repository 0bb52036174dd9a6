"""Operator-side validation: what the CRD schema cannot check."""

from __future__ import annotations

from typing import Any

import pytest

from assetcron import CronError, CronSchedule, parse_cron
from assetcron_operator import validation as v
from assetcron_operator.models import AssetJobSpec, AssetScheduleSpec


@pytest.mark.parametrize(
    ("expression", "normalized"),
    [
        ("0 6 * * *", "0 6 * * *"),
        ("@daily", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("*/15 8-18 * * MON-FRI", "*/15 8-18 * * MON-FRI"),
        ("0 0 ? * sun", "0 0 ? * sun"),
        ("0 0 29 2 *", "0 0 29 2 *"),
        ("  5  4 1,15 jan-jun *  ", "5 4 1,15 jan-jun *"),
    ],
)
def test_valid_crons_are_normalized(expression: str, normalized: str) -> None:
    assert v.validate_cron(expression) == normalized
    # ...and the controller's parser (assetcron's port of robfig/cron) takes both forms.
    assert _bits(parse_cron(expression, "UTC")) == _bits(parse_cron(normalized, "UTC"))


def _bits(schedule: CronSchedule) -> tuple[int, int, int, int, int]:
    return (schedule.minute, schedule.hour, schedule.dom, schedule.month, schedule.dow)


@pytest.mark.parametrize(
    "expression", ["*/99999999999999999999 * * * *", "0 0 1/9223372036854775808 * *"]
)
def test_a_step_the_controller_cannot_read_is_refused(expression: str) -> None:
    with pytest.raises(CronError):
        parse_cron(expression, "UTC")  # the port refuses it...
    with pytest.raises(v.InvalidSpecError):
        v.validate_cron(expression)  # ...and so does validate_cron


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("* * * * * *", "has 6 fields"),
        ("0 * * *", "has 4 fields"),
        ("61 * * * *", "minute field '61'"),
        ("0 24 * * *", "hour field '24'"),
        ("0 0 0 * *", "day-of-month field '0'"),
        ("0 0 * 13 *", "month field '13'"),
        ("0 0 * * 7", "day-of-week field '7'"),
        ("@every 5m", "@every is not supported"),
        ("@reboot", "unsupported macro"),
        ("TZ=UTC 0 * * * *", "TZ= and CRON_TZ="),
        ("CRON_TZ=Europe/Paris 0 * * * *", "TZ= and CRON_TZ="),
        ("0 0 31 2 *", "can never fire"),
        ("0 0 31 4,6,9,11 *", "can never fire"),
        ("30-10 * * * *", "descending"),
        ("*/0 * * * *", "minute field"),
        ("H * * * *", "minute field"),
        ("", "must not be empty"),
    ],
)
def test_bad_crons_are_refused_with_a_named_field(expression: str, fragment: str) -> None:
    with pytest.raises(v.InvalidSpecError) as info:
        v.validate_cron(expression)
    assert info.value.reason == "InvalidSchedule"
    assert "spec.cronSchedule" in str(info.value)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_time_zones() -> None:
    assert str(v.validate_time_zone("Europe/Paris")) == "Europe/Paris"
    for bad in ("Mars/Olympus", "Local", "", " UTC", "../etc/passwd"):
        with pytest.raises(v.InvalidSpecError) as info:
            v.validate_time_zone(bad)
        assert info.value.reason == "InvalidTimeZone"
        assert "spec.timeZone" in info.value.message


@pytest.mark.parametrize("text", ["", "   ", "(group:a", "key:a)", 'key:"a'])
def test_bad_selections(text: str) -> None:
    with pytest.raises(v.InvalidSpecError) as info:
        v.validate_selection(text)
    assert info.value.reason == "InvalidSelection"


def test_good_selection() -> None:
    v.validate_selection("group:weather and not key:raw/*")


def test_run_config_template_syntax_error_names_the_field() -> None:
    v.validate_run_config_template(
        {"ops": {"a": {"config": {"d": "{{ scheduled_date }}"}}}}, field="spec.runConfig"
    )
    with pytest.raises(v.InvalidSpecError) as info:
        v.validate_run_config_template(
            {"ops": {"a": {"config": {"d": "{{ scheduled_date "}}}}, field="spec.runConfig"
        )
    assert info.value.reason == "InvalidRunConfig"
    assert info.value.message.startswith("spec.runConfig")


def _schedule(**spec: Any) -> AssetScheduleSpec:
    return AssetScheduleSpec.model_validate(
        {"jobRef": {"name": "j"}, "cronSchedule": "0 6 * * *", **spec}
    )


def _job(**spec: Any) -> AssetJobSpec:
    return AssetJobSpec.model_validate(
        {"selection": "*", "codeLocation": {"image": "i", "module": "m"}, **spec}
    )


def test_run_config_budget_counts_the_merged_config() -> None:
    half = "x" * (40 * 1024)
    job = _job(runConfig={"ops": {"a": {"config": {"big": half}}}})
    schedule = _schedule(runConfig={"ops": {"b": {"config": {"big": half}}}})
    v.validate_asset_job(job)
    with pytest.raises(v.InvalidSpecError) as info:
        v.validate_asset_schedule(schedule, job)
    assert info.value.reason == "InvalidRunConfig"
    assert "65536" in info.value.message
    assert v.validate_asset_schedule(schedule) == "0 6 * * *"


def test_partition_key_template_is_checked() -> None:
    with pytest.raises(v.InvalidSpecError) as info:
        v.validate_asset_schedule(_schedule(partitionKey="{{ scheduled_time | ds"))
    assert info.value.message.startswith("spec.partitionKey")


def test_parse_turns_pydantic_errors_into_invalid_spec() -> None:
    with pytest.raises(v.InvalidSpecError) as info:
        v.parse_asset_schedule(
            {"metadata": {"name": "s"}, "spec": {"jobRef": {"name": "j", "namespace": "other"}}}
        )
    assert info.value.reason == "InvalidSpec"
    assert "spec.jobRef.namespace" in info.value.message
    assert "spec.cronSchedule" in info.value.message
    parsed = v.parse_asset_schedule(
        {"metadata": {"name": "s"}, "spec": {"jobRef": {"name": "j"}, "cronSchedule": "@daily"}}
    )
    assert parsed.spec.time_zone == "UTC"
    assert parsed.spec.concurrency_policy == "Allow"


def test_negative_history_limit_and_unknown_policy_are_refused_by_the_model() -> None:
    for bad in ({"failedJobsHistoryLimit": -1}, {"concurrencyPolicy": "Sometimes"}):
        with pytest.raises(v.InvalidSpecError):
            v.parse_asset_schedule(
                {"spec": {"jobRef": {"name": "j"}, "cronSchedule": "@daily", **bad}}
            )


def test_spec_depth_counts_objects_and_lists_without_recursing() -> None:
    assert v.spec_depth({"a": {"b": {"c": 1}}}) == (3, "a.b")
    assert v.spec_depth({"x": [1, [2]]}) == (3, "x[1]")
    assert v.spec_depth(7) == (0, "")
    # Deeper than Python's recursion limit: still counted, the path kept short.
    deep: dict[str, object] = {}
    node = deep
    for _ in range(5000):
        node["ops"] = {}
        node = node["ops"]  # type: ignore[assignment]
    assert v.spec_depth({"runConfig": deep}) == (5002, "runConfig.ops")


def test_a_spec_nested_too_deep_is_refused_naming_the_field() -> None:
    run_config: dict[str, object] = {"ops": {"a": {"config": {}}}}
    leaf = run_config["ops"]["a"]["config"]  # type: ignore[index]
    for _ in range(v.MAX_SPEC_DEPTH):
        leaf["x"] = {}
        leaf = leaf["x"]
    body = {
        "spec": {
            "selection": "*",
            "codeLocation": {"image": "x:1", "module": "m"},
            "runConfig": run_config,
        }
    }
    with pytest.raises(v.InvalidSpecError) as err:
        v.parse_asset_job(body)
    assert err.value.reason == "InvalidSpec"
    assert str(err.value).startswith("spec.runConfig.ops: nested 37 levels deep")
    shallow = {"spec": {**body["spec"], "runConfig": {"ops": {"a": {"config": {"n": 1}}}}}}
    assert v.parse_asset_job(shallow).spec.run_config["ops"]["a"]["config"]["n"] == 1


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("Europe/Pari", "did you mean 'Europe/Paris'?"),
        ("europe/paris", "did you mean 'Europe/Paris'?"),  # case alone
        ("America/New_Yrok", "did you mean 'America/New_York'?"),
        ("Mars/Olympus_Mons", "e.g. UTC, Europe/Paris"),  # nothing close: an example
    ],
)
def test_an_unknown_zone_says_which_known_zone_was_meant(name: str, hint: str) -> None:
    with pytest.raises(v.InvalidSpecError) as info:
        v.validate_time_zone(name)
    assert info.value.reason == "InvalidTimeZone"
    assert info.value.message.endswith(f"({hint})")


def test_did_you_mean_picks_the_closest_name_or_none() -> None:
    names = ["weather", "weather-hourly", "sales"]
    assert v.did_you_mean("wether", names) == "did you mean 'weather'?"
    assert v.did_you_mean("Sales", names) == "did you mean 'sales'?"
    assert v.did_you_mean("inventory", names) is None
    assert v.did_you_mean("weather", ["weather"]) is None  # itself is no suggestion
