"""End to end on the local cluster: a tick runs the runner on real data and the
schedule's status shows it.

Everything here is real: the CronJob controller creates the Job, the Job controller the
Pod, the scheduler binds it to the node, the kubelet runs it with containerd and runc
from the weather image built from the Dockerfile (read-only root, non-root), the runner
derives the scheduled time from the Job name, renders the run config and materializes
into the weather example's PersistentVolumeClaim, and the operator (a local process
watching the test's namespace) records the run in the AssetSchedule's status.
"""

from __future__ import annotations

import csv
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.conftest import ROOT, poll
from tests.e2e.conftest import System

if TYPE_CHECKING:
    from assetcron_dev.s3 import S3Settings

pytestmark = [pytest.mark.controlplane, pytest.mark.e2e]

MANIFESTS = ROOT / "examples" / "weather" / "manifests"
CODE = ROOT / "tests" / "e2e" / "code"
#: The runtime image (the Dockerfile's default target), loaded into the node.
RUNTIME_IMAGE = "ghcr.io/assetcron/assetcron:0.1.0"


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _weather(
    system: System, name: str, **schedule_spec: Any
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The example's manifests as they are, but for a claim of this test's own; returns the
    directory the claim is bound to (as the pods see ``/var/lib/assetcron``)."""
    job, schedule, claim = (
        yaml.safe_load((MANIFESTS / f).read_text())
        for f in ("assetjob.yaml", "assetschedule.yaml", "storage.yaml")
    )
    job["metadata"]["name"] = name
    job["spec"]["backoffLimit"] = 0
    claim["metadata"]["name"] = f"{name}-storage"
    (volume,) = job["spec"]["template"]["volumes"]
    volume["persistentVolumeClaim"]["claimName"] = claim["metadata"]["name"]
    root = system.cp.plane.provide_volume(system.namespace, claim["metadata"]["name"])
    system.apply(claim)
    storage_env = {e["name"]: e["value"] for e in job["spec"]["template"]["env"]}
    storage = root / Path(storage_env["ASSETCRON_STORAGE"]).relative_to("/var/lib/assetcron")
    schedule["metadata"]["name"] = f"{name}-schedule"
    schedule["spec"]["jobRef"]["name"] = name
    schedule["spec"].update(schedule_spec)
    return storage, job, schedule


def _noaa_row(day: str) -> dict[str, str]:
    import importlib.util

    spec = importlib.util.find_spec("vega_datasets")
    assert spec is not None
    assert spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "_data" / "seattle-weather.csv"
    with path.open(newline="") as fh:
        # The NOAA file writes dates as YYYY/MM/DD.
        return next(r for r in csv.DictReader(fh) if r["date"] == day.replace("-", "/"))


def _assert_partition_materialized(storage: Path, day: str) -> None:
    record = json.loads(
        (storage / "assets" / "weather" / "daily_weather" / f"{day}.json").read_text()
    )
    raw = _noaa_row(day)
    assert record["date"] == day
    assert record["precipitation_mm"] == pytest.approx(float(raw["precipitation"]))
    assert record["temp_max_c"] == pytest.approx(float(raw["temp_max"]))
    assert record["temp_min_c"] == pytest.approx(float(raw["temp_min"]))
    import duckdb

    with duckdb.connect(str(storage / "weather.duckdb"), read_only=True) as db:
        rows = db.execute("select count(*) from daily_weather where date = ?", [day]).fetchone()
    assert rows == (1,)


def test_a_cron_tick_materializes_the_named_partition_and_lands_in_status(
    system: System,
) -> None:
    storage, job, schedule = _weather(
        system,
        "weather-tick",
        cronSchedule="* * * * *",
        timeZone="UTC",
        concurrencyPolicy="Forbid",
        # The run config names the partition: the data set covers 2012-2015 only.
        partitionKey="{{ '2015-06-01' }}",
    )
    schedule["spec"]["runConfig"]["ops"]["weather__weather_report"]["config"]["title"] = (
        "tick {{ scheduled_time.strftime('%H:%M') }} for {{ partition_key }}"
    )
    system.apply(job, schedule)
    name = schedule["metadata"]["name"]
    cronjob_name = poll(lambda: system.status(name).get("cronJobName"), 60, "the CronJob")

    def first_job() -> dict[str, Any] | None:
        items = system.get("jobs", "-l", f"assetcron.dev/schedule={name}")["items"]
        scheduled = [j for j in items if "-" in j["metadata"]["name"]]
        return scheduled[0] if scheduled else None

    created_job = poll(first_job, 90, "the CronJob controller to create a Job")
    job_name = created_job["metadata"]["name"]
    assert job_name.startswith(cronjob_name)
    tick = datetime.fromtimestamp(int(job_name.rsplit("-", 1)[1]) * 60, UTC)
    run = poll(
        lambda: (
            (r := system.run(name, job_name)) and r.get("phase") in ("Succeeded", "Failed") and r
        ),
        180,
        f"the run {job_name} in status (operator log: see {system.log})",
    )
    status_seen = datetime.now(UTC)
    # Stop further ticks before asserting (they would write the same partition again).
    system.kubectl(
        "patch", "assetschedule", name, "--type=merge", "-p", '{"spec":{"suspend":true}}'
    )
    assert run["phase"] == "Succeeded", (run, system.operator_log())
    outcomes = {a["key"]: a["outcome"] for a in run["assets"]}
    assert outcomes == {
        f"weather/{k}": "Materialized"
        for k in (
            "raw_observations",
            "daily_weather",
            "rolling_7d_summary",
            "weather_table",
            "weather_report",
        )
    }
    _assert_partition_materialized(storage, "2015-06-01")
    # The run config template was rendered from the tick's scheduled time.
    report = (storage / "reports" / "weather" / "2015-06-01.csv").read_text()
    assert f"tick {tick:%H:%M} for 2015-06-01" in report

    pods = system.get("pods", "-l", f"batch.kubernetes.io/job-name={job_name}")["items"]
    container = pods[0]["status"]["containerStatuses"][0]
    # It ran in a container of the weather image, on the node.
    assert container["image"].endswith("assetcron-weather:0.1.0")
    assert container["imageID"]
    assert pods[0]["spec"]["nodeName"] == "assetcron-dev"
    assert "weather/weather_report" in system.kubectl("logs", pods[0]["metadata"]["name"])
    finished = _ts(container["state"]["terminated"]["finishedAt"])
    created = _ts(created_job["metadata"]["creationTimestamp"])
    timings = {
        "tick": tick.isoformat(),
        "job_created_after_tick_s": (created - tick).total_seconds(),
        "pod_succeeded_after_job_s": (finished - created).total_seconds(),
        "status_seen_after_pod_s": (status_seen - finished).total_seconds(),
        "tick_to_status_s": (status_seen - tick).total_seconds(),
    }
    sys.stderr.write(f"\ne2e timings: {json.dumps(timings)}\n")
    assert system.status(name)["lastSuccessfulTime"]


def test_trigger_backfills_a_past_tick_as_a_manual_run(system: System) -> None:
    storage, job, schedule = _weather(system, "weather-manual")
    system.apply(job, schedule)
    name = schedule["metadata"]["name"]
    poll(lambda: system.status(name).get("cronJobName"), 60, "the CronJob")
    proc = system.trigger(name, "2015-06-02T06:00:00-07:00")
    assert proc.returncode == 0, proc.stderr + system.operator_log()
    job_name = poll(
        lambda: (system.status(name).get("lastTrigger") or {}).get("jobName"), 30, "trigger"
    )
    run = poll(
        lambda: (
            (r := system.run(name, job_name)) and r.get("phase") in ("Succeeded", "Failed") and r
        ),
        120,
        "the manual run in status",
    )
    assert run["phase"] == "Succeeded", run
    assert run["trigger"] == "Backfill"  # a tick long before the trigger
    assert _ts(run["scheduledTime"]) == datetime(2015, 6, 2, 13, 0, tzinfo=UTC)
    # The schedule's partitionKey template picks the day before the tick, in Los Angeles.
    _assert_partition_materialized(storage, "2015-06-01")


@pytest.mark.parametrize("storage", ["volume", "s3"])
def test_a_failing_asset_fails_the_pod_skips_downstream_and_the_retry_resumes(
    system: System, tmp_path: Path, storage: str, plane_s3: S3Settings
) -> None:
    # The inner loop without an image rebuild: the code location is mounted into the
    # runtime image's pod from the working tree (hostPath), with a data directory that the
    # test reads too. The pods run as the image's non-root user.
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)
    counter = data / "extract-computations.txt"
    counter.write_text("")
    counter.chmod(0o666)
    job = {
        "apiVersion": "assetcron.dev/v1alpha1",
        "kind": "AssetJob",
        "metadata": {"name": f"flaky-{storage}"},
        "spec": {
            "selection": "*",
            "codeLocation": {"image": RUNTIME_IMAGE, "module": "flaky_assets"},
            "backoffLimit": 1,
            "template": {
                "env": [
                    {"name": "PYTHONPATH", "value": "/opt/e2e-code"},
                    {"name": "ASSETCRON_STORAGE", "value": "/data/storage"},
                    {"name": "E2E_COUNTER", "value": "/data/extract-computations.txt"},
                ],
                "volumes": [
                    {"name": "code", "hostPath": {"path": str(CODE), "type": "Directory"}},
                    {"name": "data", "hostPath": {"path": str(data), "type": "Directory"}},
                ],
                "volumeMounts": [
                    {"name": "code", "mountPath": "/opt/e2e-code", "readOnly": True},
                    {"name": "data", "mountPath": "/data"},
                ],
            },
        },
    }
    if storage == "s3":  # the retry resumes from the object store, not from a volume
        _use_s3(system, job, plane_s3, f"flaky-{uuid.uuid4().hex[:8]}")
    name, job_name = system.trigger_job(job)

    def job_failed() -> bool:
        conds = system.get("job", job_name)["status"].get("conditions") or []
        return any(c["type"] == "Failed" and c["status"] == "True" for c in conds)

    poll(job_failed, 120, "the Job to fail after its retry")
    pods = system.get("pods", "-l", f"batch.kubernetes.io/job-name={job_name}")["items"]
    assert len(pods) == 2  # backoffLimit 1: the first attempt and one retry
    for pod in pods:
        terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        assert terminated["exitCode"] == 1
    # extract was computed once: the retry resumed the same run and reused it.
    assert len(counter.read_text().splitlines()) == 1
    summaries = sorted(
        (
            json.loads(p["status"]["containerStatuses"][0]["state"]["terminated"]["message"])
            for p in pods
        ),
        key=lambda s: s["counts"]["reused"],
    )
    first, retry = ({a["key"]: a["outcome"] for a in s["assets"]} for s in summaries)
    assert first == {
        "extract": "Materialized",
        "audit": "Materialized",
        "transform": "Failed",
        "load": "Skipped",
    }
    assert retry == {
        "extract": "Reused",
        "audit": "Reused",
        "transform": "Failed",
        "load": "Skipped",
    }

    run = poll(
        lambda: (r := system.run(name, job_name)) and r.get("phase") == "Failed" and r,
        60,
        "the failed run in status",
    )
    by_key = {a["key"]: a for a in run["assets"]}
    assert "refusing to transform" in by_key["transform"]["error"]
    assert by_key["load"]["outcome"] == "Skipped"
    assert system.status(name).get("lastResult") == "Failed"


def test_a_run_whose_image_is_not_on_the_node_says_which_image(system: System) -> None:
    image = "registry.invalid/team/absent-code-location:1"
    job = {
        "apiVersion": "assetcron.dev/v1alpha1",
        "kind": "AssetJob",
        "metadata": {"name": "no-image"},
        "spec": {"selection": "*", "codeLocation": {"image": image, "module": "absent"}},
    }
    name, job_name = system.trigger_job(job)
    # The node has no such image and no registry is reachable: the pod waits, and the
    # schedule's status says why, naming the image.
    run = poll(
        lambda: (r := system.run(name, job_name)) and image in r.get("message", "") and r,
        120,
        "the run's message naming the image",
    )
    assert run["phase"] in ("Pending", "Running")
    assert run["message"].startswith(("ErrImagePull", "ImagePullBackOff")), run


def _code_job(name: str, module: str, **spec: Any) -> dict[str, Any]:
    """An AssetJob running ``module`` from tests/e2e/code, mounted into the runtime image."""
    body: dict[str, Any] = {
        "apiVersion": "assetcron.dev/v1alpha1",
        "kind": "AssetJob",
        "metadata": {"name": name},
        "spec": {
            "selection": "*",
            "codeLocation": {"image": RUNTIME_IMAGE, "module": module},
            "backoffLimit": 0,
            "template": {
                "env": [
                    {"name": "PYTHONPATH", "value": "/opt/e2e-code"},
                    {"name": "ASSETCRON_STORAGE", "value": "/tmp/storage"},
                ],
                "volumes": [{"name": "code", "hostPath": {"path": str(CODE), "type": "Directory"}}],
                "volumeMounts": [{"name": "code", "mountPath": "/opt/e2e-code", "readOnly": True}],
            },
        },
    }
    body["spec"].update(spec)
    return body


def _failed_run(system: System, name: str, job_name: str) -> dict[str, Any]:
    return poll(
        lambda: (r := system.run(name, job_name)) and r.get("phase") == "Failed" and r,
        120,
        f"{job_name} failed in status",
    )


@pytest.mark.parametrize(
    ("name", "spec", "why"),
    [
        ("unknown-key", {"selection": "key:extrct"}, "extrct"),
        ("bad-module", {"codeLocation": {"image": RUNTIME_IMAGE, "module": "no_such_module"}},
         "no_such_module"),
        ("bad-config", {"runConfig": {"ops": {"nope": {"config": {}}}}}, "ops.nope"),
        ("huge-template", {"runConfig": {"ops": {"extract": {"config": {
            "x": "{{ 'a' * 10**9 }}"}}}}}, "1000000000-character string"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)  # fmt: skip
def test_a_run_that_fails_before_any_asset_says_why(
    system: System, name: str, spec: dict[str, Any], why: str
) -> None:
    # Bad input makes the runner exit 2 before it materializes anything; its termination
    # message still carries the one-line reason into status.recentRuns[].message.
    schedule, job_name = system.trigger_job(_code_job(name, "flaky_assets", **spec))
    run = _failed_run(system, schedule, job_name)
    assert why in run.get("message", ""), run
    assert "\n" not in run["message"]


def test_a_secret_in_an_asset_error_never_reaches_the_status(system: System) -> None:
    token = f"s3cr3t-{uuid.uuid4().hex}"
    system.apply(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
         "stringData": {"token": token}}
    )  # fmt: skip
    job = _code_job("leaky", "leaky_assets")
    job["spec"]["template"]["env"].append(
        {"name": "DB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "db", "key": "token"}}}
    )
    schedule, job_name = system.trigger_job(job)
    run = _failed_run(system, schedule, job_name)
    (asset,) = run["assets"]
    assert asset["outcome"] == "Failed"
    assert "login refused for token *** at db:5432" in asset["error"], asset
    assert token not in json.dumps(system.status(schedule))


def _use_s3(system: System, job: dict[str, Any], s3: S3Settings, prefix: str) -> str:
    """Point ``job`` at ``s3://<bucket>/<prefix>`` on the dev plane's SeaweedFS, with the
    credentials from a Secret (as the demo does); returns the storage URL."""
    system.apply(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s3"},
         "stringData": {k: v for k, v in s3.env().items() if k.startswith("AWS_")}}
    )  # fmt: skip
    url = f"{s3.url}/{prefix}"
    template = job["spec"].setdefault("template", {})
    env = [e for e in template.get("env", []) if e["name"] != "ASSETCRON_STORAGE"]
    template["env"] = [*env, {"name": "ASSETCRON_STORAGE", "value": url}]
    template["envFrom"] = [{"secretRef": {"name": "s3"}}]
    return url


def _objects(s3: S3Settings, url: str) -> dict[str, bytes]:
    """Every object under ``url``, read from the host with the exported credentials."""
    store = s3.store(url)
    return {m["path"]: bytes(store.get(m["path"]).bytes()) for batch in store.list() for m in batch}


def test_the_weather_example_stores_its_assets_in_s3(system: System, plane_s3: S3Settings) -> None:
    # The example's manifests with ASSETCRON_STORAGE on the dev plane's S3: a run on the
    # real node puts every value, record and version there; a second run of the same
    # tick reuses them all from S3.
    _, job, schedule = _weather(system, "weather-s3")
    url = _use_s3(system, job, plane_s3, f"weather-{uuid.uuid4().hex[:8]}")
    env = job["spec"]["template"]["env"]
    job["spec"]["template"]["env"] = [
        *env, {"name": "ASSETCRON_SCRATCH", "value": "/var/lib/assetcron/storage"},
    ]  # fmt: skip
    system.apply(job, schedule)
    name = schedule["metadata"]["name"]
    poll(lambda: system.status(name).get("cronJobName"), 60, "the CronJob")

    def run_once(when: str) -> dict[str, Any]:
        proc = system.trigger(name, when)
        assert proc.returncode == 0, proc.stderr + system.operator_log()
        job_name = proc.stdout.strip().splitlines()[-1].split("/")[1].split()[0]
        return poll(
            lambda: (
                (r := system.run(name, job_name))
                and r.get("phase") in ("Succeeded", "Failed")
                and r
            ),
            120,
            f"{job_name} finished",
        )

    first = run_once("2015-06-02T06:00:00-07:00")
    assert first["phase"] == "Succeeded", first
    assert first["counts"]["materialized"] == 5
    objects = _objects(plane_s3, url)
    daily = json.loads(objects["assets/weather/daily_weather/2015-06-01.json"])
    assert daily["date"] == "2015-06-01"
    assert daily["temp_max_c"] == pytest.approx(float(_noaa_row("2015-06-01")["temp_max"]))
    versions = [p for p in objects if p.startswith("versions/weather/")]
    assert len(versions) == 5
    assert all(json.loads(objects[p])["status"] == "Stored" for p in versions)
    # The same tick triggered again (another Job, another run id): same config, inputs
    # and code, so everything is reused from S3.
    again = run_once("2015-06-02T06:00:00-07:00")
    assert again["phase"] == "Succeeded", again
    assert again["counts"] == {"materialized": 0, "reused": 5, "failed": 0, "skipped": 0}
