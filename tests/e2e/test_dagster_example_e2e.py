"""End to end on the local cluster: the unchanged Dagster example project, from its own
image, on the real node.

The example's manifests as they are (examples/dagster_project/manifests/, with a claim
of this test's own): the operator renders the CronJob, ``assetcron schedule trigger``
starts a Job for a past tick, the kubelet runs the ``dagster-example`` image (built by
``make images``: assetcron[dagster] and the project pip-installed, read-only root,
non-root), the runner hands the ``dagster.Definitions`` to Dagster for the day before
the tick with the run config rendered from the AssetSchedule's template, and the
operator records each asset's outcome in the AssetSchedule's status. The values on the
volume are then compared with what the project computes in this process.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from assetcron_dev.s3 import S3Settings
from tests.conftest import ROOT, poll
from tests.e2e.conftest import System

pytestmark = [pytest.mark.controlplane, pytest.mark.e2e]

PROJECT = ROOT / "examples" / "dagster_project"
MANIFESTS = PROJECT / "manifests"
IMAGE = "ghcr.io/assetcron/assetcron-dagster-example:0.1.0"
#: A tick of the daily schedule (06:00 UTC): it materializes the day before.
TICK = "2024-06-04T06:00:00Z"
DAY = "2024-06-03"


def _example(system: System, name: str) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The example's manifests as they are, but for a claim of this test's own; returns the
    storage directory on the host (where the pods see ``ASSETCRON_STORAGE``)."""
    job, schedule, claim = (
        yaml.safe_load((MANIFESTS / f).read_text())
        for f in ("assetjob.yaml", "assetschedule.yaml", "storage.yaml")
    )
    job["metadata"]["name"] = name
    job["spec"]["backoffLimit"] = 0  # a failure shows at once, not after a retry
    claim["metadata"]["name"] = f"{name}-storage"
    (volume,) = job["spec"]["template"]["volumes"]
    volume["persistentVolumeClaim"]["claimName"] = claim["metadata"]["name"]
    root = system.cp.plane.provide_volume(system.namespace, claim["metadata"]["name"])
    system.apply(claim)
    (mount,) = job["spec"]["template"]["volumeMounts"]
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["env"]}
    storage = root / Path(env["ASSETCRON_STORAGE"]).relative_to(mount["mountPath"])
    schedule["metadata"]["name"] = f"{name}-daily"
    schedule["spec"]["jobRef"]["name"] = name
    return storage, job, schedule


def _stored(storage: Path, key: str, partition: str) -> Any:
    from assetcron import AssetKey, ObjectStorage

    return ObjectStorage.local(str(storage)).read(AssetKey((key,)), partition)


def test_a_triggered_tick_runs_the_dagster_project_and_lands_in_status(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, job, schedule = _example(system, "signups")
    system.apply(job, schedule)
    name = schedule["metadata"]["name"]
    poll(lambda: system.status(name).get("cronJobName"), 60, "the CronJob")

    proc = system.trigger(name, TICK)
    assert proc.returncode == 0, proc.stderr + system.operator_log()
    job_name: str = poll(
        lambda: (system.status(name).get("lastTrigger") or {}).get("jobName"), 30, "trigger"
    )
    run = poll(
        lambda: (
            (r := system.run(name, job_name)) and r.get("phase") in ("Succeeded", "Failed") and r
        ),
        180,
        f"the run {job_name} in status (operator log: see {system.log})",
    )
    assert run["phase"] == "Succeeded", (run, system.operator_log())
    assert run["trigger"] == "Backfill"  # a tick long before the trigger
    assert datetime.fromisoformat(run["scheduledTime"].replace("Z", "+00:00")) == datetime(
        2024, 6, 4, 6, 0, tzinfo=UTC
    )
    # The schedule's partitionKey template: the day before the tick, as the @schedule.
    assert run["partitionKey"] == DAY
    assert {a["key"]: a["outcome"] for a in run["assets"]} == {
        "signups": "Materialized",
        "signup_summary": "Materialized",
    }
    assert run["counts"]["materialized"] == 2
    assert system.status(name).get("lastResult") == "Succeeded"

    # It ran in a container of the dagster-example image, on the node, and Dagster ran it.
    pods = system.get("pods", "-l", f"batch.kubernetes.io/job-name={job_name}")["items"]
    assert len(pods) == 1
    container = pods[0]["status"]["containerStatuses"][0]
    assert container["image"].endswith("assetcron-dagster-example:0.1.0")
    assert pods[0]["spec"]["nodeName"] == "assetcron-dev"
    log = system.kubectl("logs", pods[0]["metadata"]["name"])
    assert f"partition {DAY} · 2 assets" in log
    # The asset's context.log line, through Dagster's console logger.
    assert f"Signups on {DAY}: " in log

    # The values on the volume: what the project computes for the day, with the title
    # the AssetSchedule's runConfig template rendered (the @schedule's f-string).
    monkeypatch.syspath_prepend(str(PROJECT))
    from dagster_project.resources import SignupsGenerator

    signups = SignupsGenerator().get_signups(date.fromisoformat(DAY))
    assert _stored(storage, "signups", DAY) == signups
    summary = _stored(storage, "signup_summary", DAY)
    assert summary["day"] == DAY
    assert summary["title"] == f"Signups on {DAY}"
    assert summary["signups"] == len(signups)
    assert len(summary["top_countries"]) == 3  # the AssetJob's static run config
    # A run that succeeds deletes its Dagster instance: nothing is left to resume.
    runs = storage / "dagster" / "runs"
    assert not runs.exists() or not any(runs.iterdir())


def test_manifests_apply_unchanged_and_a_scheduled_tick_evaluates_the_schedule(
    system: System, plane_s3: S3Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `assetcron manifests` for the project's own jobs and schedules, applied as printed:
    # both schedules become CronJobs (suspended: Dagster's default STOPPED).
    prefix = f"dagster-{uuid.uuid4().hex[:8]}"
    system.apply(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s3"},
         "stringData": {k: v for k, v in plane_s3.env().items() if k.startswith("AWS_")}}
    )  # fmt: skip
    env = {**system.cp.env, "PYTHONPATH": str(PROJECT)}
    proc = subprocess.run(
        [sys.executable, "-m", "assetcron.cli", "manifests", "-m", "dagster_project.definitions",
         "--image", IMAGE, "-n", system.namespace, "--storage", f"{plane_s3.url}/{prefix}",
         "--env-from-secret", "s3"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    system.kubectl("apply", "-f", "-", input=proc.stdout)
    names = {d["metadata"]["name"]: d for d in yaml.safe_load_all(proc.stdout)}
    assert set(names) == {
        "hackernews-job", "signups-job", "hackernews-schedule", "signups-daily-schedule",
    }  # fmt: skip
    for schedule in ("hackernews-schedule", "signups-daily-schedule"):
        cronjob = poll(lambda s=schedule: system.status(s).get("cronJobName"), 60, schedule)
        assert system.get("cronjob", cronjob)["spec"]["suspend"] is True
        ready = {c["type"]: c for c in system.status(schedule)["conditions"]}["Ready"]
        assert ready["status"] == "True", ready

    # A real tick of the CronJob controller: every minute, turned on. The pod evaluates
    # signups_daily_schedule for the tick with Dagster's evaluate_tick: the partition is
    # the day before the tick and the title is the function's, not a template's.
    name = "signups-daily-schedule"
    system.kubectl(
        "patch", "assetschedule", name, "--type=merge",
        "-p", '{"spec":{"cronSchedule":"* * * * *","suspend":false}}',
    )  # fmt: skip
    run = poll(
        lambda: next(
            (
                r
                for r in system.status(name).get("recentRuns") or []
                if r.get("trigger") == "Scheduled" and r.get("phase") in ("Succeeded", "Failed")
            ),
            None,
        ),
        240,
        f"a scheduled run of {name} (operator log: see {system.log})",
    )
    off = '{"spec":{"suspend":true}}'
    system.kubectl("patch", "assetschedule", name, "--type=merge", "-p", off)
    assert run["phase"] == "Succeeded", (run, system.operator_log())
    tick = datetime.fromisoformat(run["scheduledTime"].replace("Z", "+00:00"))
    day = (tick - timedelta(days=1)).date().isoformat()
    assert run["partitionKey"] == day
    assert {a["key"]: a["outcome"] for a in run["assets"]} == {
        "signups": "Materialized",
        "signup_summary": "Materialized",
    }
    # The controller named the Job for the tick: <cronjob>-<unix minutes>.
    cronjob = system.status(name)["cronJobName"]
    assert run["name"] == f"{cronjob}-{int(tick.timestamp()) // 60}"

    monkeypatch.syspath_prepend(str(PROJECT))
    from dagster_project.resources import SignupsGenerator

    store = plane_s3.store(f"{plane_s3.url}/{prefix}")
    summary = pickle.loads(bytes(store.get(f"assets/signup_summary/{day}.pickle").bytes()))
    assert summary["title"] == f"Signups on {day}"  # the RunRequest's run config
    assert summary["signups"] == len(SignupsGenerator().get_signups(date.fromisoformat(day)))
