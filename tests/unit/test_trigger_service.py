"""The operator's side of "run now": act once per trigger value (no cluster; fake storage)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from assetcron_operator.render import render_cronjob
from assetcron_operator.service import Outcome, ScheduleService

NOW = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
LOG = logging.getLogger("test")


class FakeKube:
    """Records created Jobs; a second create of the same name "conflicts" like the API."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.creates = 0

    def create_job(self, manifest: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        self.creates += 1
        name = manifest["metadata"]["name"]
        if name in self.jobs:
            return self.jobs[name], False
        self.jobs[name] = dict(manifest)
        return self.jobs[name], True


def _bodies(trigger: str | None, last: str | None = None) -> tuple[dict[str, Any], ...]:
    schedule: dict[str, Any] = {
        "metadata": {
            "name": "weather-daily",
            "namespace": "data",
            "uid": "sched-uid",
            "annotations": {"assetcron.dev/trigger": trigger} if trigger else {},
        },
        "spec": {"jobRef": {"name": "weather"}, "cronSchedule": "0 6 * * *"},
        "status": {"lastTrigger": {"value": last}} if last else {},
    }
    job = {
        "metadata": {"name": "weather", "namespace": "data"},
        "spec": {
            "selection": "*",
            "codeLocation": {"image": "ghcr.io/assetcron/x:1", "module": "weather.definitions"},
        },
    }
    cronjob = render_cronjob(schedule, job)
    cronjob["metadata"]["uid"] = "cj-uid"
    return schedule, cronjob


def _service(kube: FakeKube) -> ScheduleService:
    return ScheduleService(kube, clock=lambda: NOW)  # type: ignore[arg-type]


def test_a_new_value_is_pending_and_a_handled_one_is_not() -> None:
    service = _service(FakeKube())
    value = "2015-06-02T13:00:00Z#aa"
    assert service.pending_trigger(_bodies(value)[0]) == value
    assert service.pending_trigger(_bodies(value, last=value)[0]) is None
    assert service.pending_trigger(_bodies("2015-06-02T13:00:00Z#bb", last=value)[0]) is not None
    assert service.pending_trigger(_bodies(None)[0]) is None


def test_run_trigger_creates_a_job_owned_by_the_schedule_with_the_explicit_time() -> None:
    kube = FakeKube()
    schedule, cronjob = _bodies("2015-06-02T13:00:00Z#aa")
    patch = _service(kube).run_trigger(
        schedule, value="2015-06-02T13:00:00Z#aa", cronjob=cronjob, logger=LOG
    )
    (job,) = kube.jobs.values()
    assert job["metadata"]["ownerReferences"][0]["uid"] == "sched-uid"
    env = {
        e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["ASSETCRON_SCHEDULED_TIME"] == "2015-06-02T13:00:00Z"
    assert patch["lastTrigger"] == {
        "value": "2015-06-02T13:00:00Z#aa",
        "handledTime": "2026-11-21T04:00:00Z",
        "result": "Created",
        "jobName": job["metadata"]["name"],
        "scheduledTime": "2015-06-02T13:00:00Z",
        "message": f"Job {job['metadata']['name']} created for 2015-06-02T13:00:00Z",
    }


def test_handling_the_same_value_twice_makes_one_job() -> None:
    kube = FakeKube()
    schedule, cronjob = _bodies("2015-06-02T13:00:00Z#aa")
    service = _service(kube)
    first = service.run_trigger(
        schedule, value="2015-06-02T13:00:00Z#aa", cronjob=cronjob, logger=LOG
    )
    again = service.run_trigger(
        schedule, value="2015-06-02T13:00:00Z#aa", cronjob=cronjob, logger=LOG
    )
    assert kube.creates == 2
    assert len(kube.jobs) == 1
    assert first["lastTrigger"]["jobName"] == again["lastTrigger"]["jobName"]


def test_bad_value_or_missing_cronjob_is_rejected_without_a_job() -> None:
    kube = FakeKube()
    schedule, cronjob = _bodies("soon")
    service = _service(kube)
    bad = service.run_trigger(schedule, value="soon", cronjob=cronjob, logger=LOG)
    assert bad["lastTrigger"]["result"] == "Rejected"
    assert "ISO 8601" in bad["lastTrigger"]["message"]
    missing = service.run_trigger(
        schedule, value="2015-06-02T13:00:00Z#aa", cronjob=None, logger=LOG
    )
    assert missing["lastTrigger"]["result"] == "Rejected"
    assert kube.jobs == {}


def test_a_schedule_that_is_not_ready_refuses_the_trigger_with_its_reason() -> None:
    kube = FakeKube()
    schedule, cronjob = _bodies("2015-06-02T13:00:00Z#aa")
    not_ready = Outcome(
        status={}, ready="False", reason="JobNotFound", message="AssetJob 'weather' not found"
    )
    patch = _service(kube).run_trigger(
        schedule, value="2015-06-02T13:00:00Z#aa", cronjob=cronjob, logger=LOG, outcome=not_ready
    )
    assert patch["lastTrigger"]["result"] == "Rejected"
    assert patch["lastTrigger"]["message"] == (
        "the schedule is not Ready (JobNotFound): AssetJob 'weather' not found"
    )
    assert kube.jobs == {}  # the suspended CronJob's outdated template never runs


def test_a_forced_trigger_makes_the_run_recompute_everything() -> None:
    kube = FakeKube()
    schedule, cronjob = _bodies("2015-06-02T13:00:00Z#aa;force")
    patch = _service(kube).run_trigger(
        schedule, value="2015-06-02T13:00:00Z#aa;force", cronjob=cronjob, logger=LOG
    )
    (job,) = kube.jobs.values()
    env = {
        e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["ASSETCRON_FORCE"] == "true"
    assert patch["lastTrigger"]["message"].endswith("recomputing every asset (force)")
    plain = FakeKube()
    _service(plain).run_trigger(
        schedule, value="2015-06-02T13:00:00Z#bb", cronjob=cronjob, logger=LOG
    )
    (job,) = plain.jobs.values()
    names = [e["name"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]]
    assert "ASSETCRON_FORCE" not in names
