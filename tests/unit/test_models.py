"""The pydantic models: field names, defaults, unknown fields, and the cron patterns the
CRD's CEL rules are built from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from assetcron_operator import models, validation

ROOT = Path(__file__).resolve().parents[2]
FIVE = re.compile(models._FIVE_FIELDS)


def _manifests() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "examples" / "weather" / "manifests").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs[doc["kind"]] = doc
    return docs


def test_the_weather_example_parses_and_validates() -> None:
    docs = _manifests()
    job = validation.parse_asset_job(docs["AssetJob"])
    schedule = validation.parse_asset_schedule(docs["AssetSchedule"])
    validation.validate_asset_job(job.spec)
    assert validation.validate_asset_schedule(schedule.spec, job.spec) == "0 6 * * *"
    assert job.spec.code_location.module == "weather.definitions"
    assert schedule.spec.job_ref.name == job.metadata.name


def test_camel_case_aliases_and_population_by_name() -> None:
    by_alias = models.AssetScheduleSpec.model_validate(
        {"jobRef": {"name": "j"}, "cronSchedule": "@daily", "failedJobsHistoryLimit": 2}
    )
    by_name = models.AssetScheduleSpec(
        job_ref=models.JobRef(name="j"), cron_schedule="@daily", failed_jobs_history_limit=2
    )
    assert by_alias == by_name
    dumped = by_alias.model_dump(by_alias=True, exclude_none=True)
    assert dumped["timeZone"] == "UTC"
    assert dumped["concurrencyPolicy"] == "Allow"
    assert dumped["suspend"] is False


def test_job_defaults() -> None:
    spec = models.AssetJobSpec.model_validate(
        {"selection": "*", "codeLocation": {"image": "i", "module": "m"}}
    )
    assert spec.code_location.attribute == "defs"
    assert spec.backoff_limit == 0
    assert spec.run_config == {}
    assert spec.template.env == []


@pytest.mark.parametrize(
    "spec",
    [
        {"selection": "", "codeLocation": {"image": "i", "module": "m"}},
        {"selection": "*", "codeLocation": {"image": "", "module": "m"}},
        {"selection": "*", "codeLocation": {"image": "i", "module": "not-a-module"}},
        {"selection": "*", "codeLocation": {"image": "i", "module": "m"}, "backoffLimit": -1},
        {"selection": "*", "codeLocation": {"image": "i", "module": "m"}, "unknown": 1},
        {"selection": "*", "codeLocation": {"image": "i", "module": "m", "extra": 1}},
        {"selection": "*", "codeLocation": {"image": "i", "module": "m"},
         "template": {"hostNetwork": True}},
    ],
)  # fmt: skip
def test_bad_job_specs(spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        models.AssetJobSpec.model_validate(spec)


def test_status_ignores_unknown_fields() -> None:
    st = models.AssetScheduleStatus.model_validate(
        {"nextRuns": ["2026-01-01T00:00:00Z"], "kopf": {"progress": {}}}
    )
    assert st.next_runs == ["2026-01-01T00:00:00Z"]


def _field_ok(index: int, value: str) -> bool:
    _, _, pattern = models.CRON_FIELD_PATTERNS[index]
    return re.fullmatch(pattern, value) is not None


@pytest.mark.parametrize(
    ("index", "good", "bad"),
    [
        (0, ["0", "59", "*/5", "0-30/10", "1,2,3", "?", "07"], ["60", "61", "*/0", "-1", "a", ""]),
        (1, ["0", "23", "9-17", "*/2"], ["24", "25", "1-24"]),
        (2, ["1", "31", "1-15", "?", "*/7"], ["0", "32", "L", "15W"]),
        (3, ["1", "12", "jan", "JAN-mar", "*/3"], ["0", "13", "janu"]),
        (4, ["0", "6", "sun", "MON-FRI", "1-5"], ["7", "8", "sunday", "5#3"]),
    ],
)  # fmt: skip
def test_cron_field_patterns(index: int, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert _field_ok(index, value), value
    for value in bad:
        assert not _field_ok(index, value), value


def test_five_field_shape() -> None:
    assert FIVE.match("0 6 * * *")
    assert FIVE.match(" 0\t6 * * * ")
    assert not FIVE.match("0 0 6 * * *")
    assert not FIVE.match("0 6 * *")


def test_cel_rules_quote_regexes_for_cel() -> None:
    rules = models._cron_rules()
    assert len(rules) == 3 + 5
    for rule in rules:
        assert isinstance(rule, dict)
        assert set(rule) == {"rule", "message"}
    assert models._cel_quote("a\\sb'c") == "'a\\\\sb\\'c'"
