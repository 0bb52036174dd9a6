"""render_cronjob / render_manual_job: golden files and the properties they must keep.

Golden files: ``tests/unit/golden/render/<case>.input.yaml`` (an AssetJob and an
AssetSchedule) → ``<case>.cronjob.yaml``. Regenerate with
``ASSETCRON_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_render.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from assetcron_operator import naming
from assetcron_operator.render import (
    merge_run_config,
    render_cronjob,
    render_manual_job,
    suspended_cronjob_patch,
)

GOLDEN = Path(__file__).parent / "golden" / "render"
CASES = sorted(p.name.removesuffix(".input.yaml") for p in GOLDEN.glob("*.input.yaml"))
UPDATE = os.environ.get("ASSETCRON_UPDATE_GOLDEN") == "1"


def _load(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    docs = list(yaml.safe_load_all((GOLDEN / f"{case}.input.yaml").read_text()))
    by_kind = {d["kind"]: d for d in docs}
    return by_kind["AssetSchedule"], by_kind["AssetJob"]


def _env(cronjob: dict[str, Any]) -> dict[str, Any]:
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    schedule, job = _load(case)
    rendered = yaml.safe_dump(render_cronjob(schedule, job), sort_keys=False, width=100)
    expected_path = GOLDEN / f"{case}.cronjob.yaml"
    if UPDATE:
        expected_path.write_text(rendered)
    assert rendered == expected_path.read_text(), (
        f"re-render with ASSETCRON_UPDATE_GOLDEN=1: {case}"
    )


def test_there_are_golden_cases() -> None:
    assert {"basic", "full"} <= set(CASES)


def test_contract_fields_of_the_basic_case() -> None:
    schedule, job = _load("basic")
    cj = render_cronjob(schedule, job)
    assert cj["metadata"]["name"] == "weather-daily"
    assert cj["spec"]["schedule"] == "0 6 * * *"
    assert cj["spec"]["timeZone"] == "Europe/Paris"
    (owner,) = cj["metadata"]["ownerReferences"]
    assert owner["uid"] == schedule["metadata"]["uid"]
    assert owner["controller"] is owner["blockOwnerDeletion"] is True
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["command"] == [
        "assetcron", "asset", "materialize", "-m", "weather.definitions", "-a", "defs",
        "--select", "group:weather",
    ]  # fmt: skip
    env = _env(cj)
    assert env["ASSETCRON_JOB_NAME"] == {
        "fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}
    }
    assert json.loads(env["ASSETCRON_RUN_CONFIG"]) == {
        "ops": {
            "raw_observations": {
                "config": {
                    "station": "KSEA",
                    "days": 1,
                    "date": "{{ scheduled_time | days_ago(1) | ds }}",
                }
            }
        }
    }
    assert "ASSETCRON_PARTITION_KEY" not in env
    assert "ASSETCRON_STORAGE" not in env  # the runner's default, under the working dir
    assert pod["metadata"]["labels"]["assetcron.dev/schedule"] == "weather-daily"
    assert "team" not in cj["metadata"]["labels"]  # not on the allow-list
    assert cj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "weather"


def test_full_case_names_labels_and_overrides() -> None:
    schedule, job = _load("full")
    cj = render_cronjob(schedule, job)
    name = schedule["metadata"]["name"]
    assert len(name) == 70
    assert cj["metadata"]["name"] == naming.cronjob_name(name)
    assert len(cj["metadata"]["name"]) == 52
    labels = cj["metadata"]["labels"]
    assert labels["assetcron.dev/schedule"] == naming.label_value(name) != "spoofed"
    assert labels["app.kubernetes.io/managed-by"] == "assetcron"
    assert labels["app.kubernetes.io/name"] == "sales-schedule"  # the schedule wins
    env = _env(cj)
    assert env["ASSETCRON_TIMEZONE"] == "America/New_York"  # reserved: user's is dropped
    assert env["ASSETCRON_STORAGE"] == "s3://bucket/assetcron"  # the user's, kept
    assert env["ASSETCRON_PARTITION_KEY"] == "{{ scheduled_time | ds }}"
    assert json.loads(env["ASSETCRON_RUN_CONFIG"])["ops"]["orders"]["config"] == {
        "limit": 500,
        "regions": ["eu", "us"],
        "since": "{{ data_interval_start | ds }}",
    }
    spec = cj["spec"]
    assert (spec["suspend"], spec["concurrencyPolicy"], spec["startingDeadlineSeconds"]) == (
        True, "Forbid", 300,
    )  # fmt: skip
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (5, 0)


def test_history_limits_default_to_the_operator_setting() -> None:
    schedule, job = _load("basic")
    spec = render_cronjob(schedule, job, run_history_limit=4)["spec"]
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (4, 4)


def test_render_is_pure_and_deterministic() -> None:
    schedule, job = _load("full")
    before = json.dumps([schedule, job], sort_keys=True)
    assert render_cronjob(schedule, job) == render_cronjob(schedule, job)
    assert json.dumps([schedule, job], sort_keys=True) == before


def test_bad_spec_raises_validation_error() -> None:
    schedule, job = _load("basic")
    job["spec"]["codeLocation"]["image"] = ""
    with pytest.raises(ValidationError):
        render_cronjob(schedule, job)


def test_merge_run_config() -> None:
    base = {"ops": {"a": {"config": {"x": 1, "l": [1, 2]}}}, "keep": True}
    over = {"ops": {"a": {"config": {"l": [3]}}, "b": {}}}
    assert merge_run_config(base, over) == {
        "ops": {"a": {"config": {"x": 1, "l": [3]}}, "b": {}},
        "keep": True,
    }
    assert base["ops"]["a"]["config"]["l"] == [1, 2]


def test_suspended_patch() -> None:
    assert suspended_cronjob_patch() == {"spec": {"suspend": True}}


def test_manual_job_from_the_cronjob() -> None:
    schedule, job = _load("basic")
    cj = render_cronjob(schedule, job)
    cj["metadata"]["uid"] = "cj-uid"
    cj["metadata"]["ownerReferences"][0]["uid"] = "schedule-uid"
    when = datetime(2026, 3, 1, 7, 30, tzinfo=timezone(timedelta(hours=1)))
    manual = render_manual_job(cj, scheduled_time=when, trigger="2026-03-01T06:30:00Z")
    meta = manual["metadata"]
    assert meta["name"] == naming.manual_job_name("weather-daily", "2026-03-01T06:30:00Z")
    assert meta["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert meta["labels"]["assetcron.dev/trigger"] == "manual"
    assert meta["labels"]["assetcron.dev/schedule"] == "weather-daily"
    # Owned by the schedule, not the CronJob: the CronJob controller warns UnexpectedJob
    # on active Jobs it owns but did not create.
    (owner,) = meta["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "AssetSchedule", "weather-daily", "schedule-uid",
    )  # fmt: skip
    # and not as its controller: the CronJob controller matches controller references by
    # name alone, and the CronJob has the schedule's name
    assert owner["controller"] is False
    env = {
        e["name"]: e.get("value")
        for e in manual["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["ASSETCRON_SCHEDULED_TIME"] == "2026-03-01T06:30:00Z"
    assert manual["spec"]["template"]["metadata"]["labels"]["assetcron.dev/trigger"] == "manual"
    # the CronJob itself is untouched
    assert "ASSETCRON_SCHEDULED_TIME" not in _env(cj)
    again = render_manual_job(
        cj, scheduled_time=when.astimezone(UTC), trigger="2026-03-01T06:30:00Z"
    )
    assert again == manual
    with pytest.raises(ValueError, match="timezone-aware"):
        render_manual_job(cj, scheduled_time=datetime(2026, 3, 1), trigger="x")  # noqa: DTZ001
    orphan = {**cj, "metadata": {**cj["metadata"], "ownerReferences": []}}
    with pytest.raises(KeyError, match="no AssetSchedule"):
        render_manual_job(orphan, scheduled_time=when, trigger="x")
