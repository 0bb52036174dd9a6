"""Jobs and schedules in Python → AssetJob/AssetSchedule manifests, and function schedules
evaluated at run time (issue 12, parts 3 and 4)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from assetcron_operator import validation
from assetcron_operator.manifests import ManifestError, k8s_name, manifests_for
from assetcron_operator.preview import preview_ticks

ASSETCRON = str(Path(sys.executable).parent / "assetcron")

CODE = textwrap.dedent(
    """
    from assetcron import (
        Definitions, DefaultScheduleStatus, RunRequest, ScheduleDefinition, SkipReason, asset,
        define_asset_job, schedule,
    )
    from pydantic import BaseModel


    class DayConfig(BaseModel):
        day: str = "none"


    @asset(group_name="sales")
    def orders(config: DayConfig) -> dict:
        return {"day": config.day}


    @asset(group_name="sales")
    def revenue(orders: dict) -> str:
        return "revenue for " + orders["day"]


    sales_job = define_asset_job("sales_job", selection="group:sales", tags={"team": "bi"})

    hourly = ScheduleDefinition(
        name="hourly_sales", cron_schedule="0 * * * *", job=sales_job,
        run_config={"ops": {"orders": {"config": {"day": "static"}}}},
        default_status=DefaultScheduleStatus.RUNNING,
    )


    @schedule(cron_schedule="0 6 * * *", job=sales_job, execution_timezone="Europe/Paris")
    def daily_sales(context):
        day = context.scheduled_execution_time.date()
        if day.weekday() == 6:
            return SkipReason("no sales on Sundays")
        return RunRequest(run_config={"ops": {"orders": {"config": {"day": day.isoformat()}}}})


    defs = Definitions(assets=[orders, revenue], jobs=[sales_job], schedules=[hourly, daily_sales])
    """
)


@pytest.fixture
def location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "shop_defs.py").write_text(CODE)
    monkeypatch.syspath_prepend(str(tmp_path))
    from assetcron._loader import load_definitions

    defs, _ = load_definitions(module_name="shop_defs")
    return defs


def test_jobs_and_schedules_become_valid_custom_resources(location: Any) -> None:
    docs = manifests_for(
        location, module="shop_defs", attribute="defs", image="img:1", namespace="bi"
    )
    kinds = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert kinds == [
        ("AssetJob", "sales-job"),
        ("AssetSchedule", "daily-sales"),
        ("AssetSchedule", "hourly-sales"),
    ]
    job, daily, hourly = docs
    assert job["spec"]["selection"] == 'group:"sales"'  # Dagster's string syntax
    assert job["spec"]["codeLocation"] == {
        "image": "img:1",
        "module": "shop_defs",
        "attribute": "defs",
    }
    assert job["spec"]["tags"] == {"team": "bi"}
    assert hourly["spec"]["runConfig"] == {"ops": {"orders": {"config": {"day": "static"}}}}
    assert hourly["spec"]["suspend"] is False  # RUNNING
    assert "scheduleDefinition" not in hourly["spec"]
    # A function schedule is evaluated by the run pod; Dagster's default STOPPED = suspended.
    assert daily["spec"]["scheduleDefinition"] == "daily_sales"
    assert daily["spec"]["timeZone"] == "Europe/Paris"
    assert daily["spec"]["suspend"] is True
    assert "runConfig" not in daily["spec"]
    # Every document is accepted by the same checks as the operator's.
    validation.validate_asset_job(validation.parse_asset_job(job).spec)
    for doc in (daily, hourly):
        validation.validate_asset_schedule(
            validation.parse_asset_schedule(doc).spec, validation.parse_asset_job(job).spec
        )


def test_names_become_kubernetes_names_and_collisions_are_refused() -> None:
    assert k8s_name("Daily_Sales.v2") == "daily-sales-v2"
    with pytest.raises(ManifestError):
        k8s_name("__")
    with pytest.raises(ManifestError, match=r"assetcron\.Definitions"):
        manifests_for(object(), module="m", attribute="defs", image="i")


def test_the_cli_prints_a_yaml_stream(tmp_path: Path) -> None:
    (tmp_path / "shop_defs.py").write_text(CODE)
    proc = subprocess.run(
        [ASSETCRON, "manifests", "-f", str(tmp_path / "shop_defs.py"), "--image", "img:1"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    docs = list(yaml.safe_load_all(proc.stdout))
    assert [d["kind"] for d in docs] == ["AssetJob", "AssetSchedule", "AssetSchedule"]
    bad = subprocess.run(
        [ASSETCRON, "manifests", "-m", "no_such_module", "--image", "i"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ")
    assert bad.stderr.count("\n") == 1


def _materialize(tmp_path: Path, when: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "shop_defs.py").write_text(CODE)
    log = tmp_path / "termination.log"
    env = {"PATH": "/usr/bin:/bin", "ASSETCRON_TERMINATION_LOG": str(log),
           "ASSETCRON_TIMEZONE": "Europe/Paris"}  # fmt: skip
    return subprocess.run(
        [ASSETCRON, "asset", "materialize", "-m", "shop_defs", "--select", "group:sales",
         "--schedule", "daily_sales", "--scheduled-time", when,
         "--storage", str(tmp_path / "store")],
        capture_output=True, text=True, check=False, cwd=tmp_path, env=env,
    )  # fmt: skip


def test_a_function_schedule_is_evaluated_for_the_runs_tick(tmp_path: Path) -> None:
    proc = _materialize(tmp_path, "2026-03-02T06:00:00+01:00")  # a Monday
    assert proc.returncode == 0, proc.stderr
    from assetcron import AssetKey, ObjectStorage

    stored = ObjectStorage.local(tmp_path / "store").read(AssetKey("revenue"), None)
    assert stored == "revenue for 2026-03-02"  # the RunRequest's run config, for that day


def test_a_skip_reason_skips_the_tick_and_says_why(tmp_path: Path) -> None:
    proc = _materialize(tmp_path, "2026-03-01T06:00:00+01:00")  # a Sunday
    assert proc.returncode == 0, proc.stderr
    assert "skipped by schedule daily_sales: no sales on Sundays" in proc.stdout
    summary = json.loads((tmp_path / "termination.log").read_text())
    assert summary["result"] == "Skipped"
    assert summary["message"] == "skipped by schedule daily_sales: no sales on Sundays"
    assert not (tmp_path / "store" / "assets").exists()


def test_preview_evaluates_function_schedules(location: Any) -> None:
    docs = manifests_for(location, module="shop_defs", attribute="defs", image="img:1")
    job, daily, _ = docs
    after = datetime(2026, 2, 28, 12, tzinfo=UTC)  # a Saturday
    ticks = preview_ticks(daily, job, count=3, after=after, definitions=location)
    assert [t["scheduledTimeLocal"][:10] for t in ticks] == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
    ]
    assert ticks[0]["skipped"] == "no sales on Sundays"
    assert ticks[1]["runConfig"] == {"ops": {"orders": {"config": {"day": "2026-03-02"}}}}
    blind = preview_ticks(daily, job, count=1, after=after)
    assert "not evaluated" in blind[0]["note"]
