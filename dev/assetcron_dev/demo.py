"""``make demo``: the whole system on one machine, one real run of the weather example.

1. start (or reuse) ``assetcron dev``: etcd, kube-apiserver, the controllers, the
   scheduler and a real node (containerd + kubelet) with the images ``make images``
   built loaded into it;
2. install the operator with the Helm chart (release ``assetcron`` in
   ``assetcron-system``): it runs as its Deployment, from its image, on the node;
3. create the namespace ``assetcron-demo``, which enforces Pod Security ``restricted``,
   bind the weather storage claim to a directory of the dev cluster, and apply
   ``examples/weather/manifests/`` (AssetJob ``weather``, AssetSchedule ``weather-daily``,
   the claim) with one change: the AssetJob stores its asset values, run records and
   partition locks in the dev cluster's S3 bucket (SeaweedFS,
   ``s3://assetcron/weather``; credentials from a Secret ``assetcron-s3``), as on a
   cluster whose pods land on any node; the DuckDB warehouse and CSV reports, files the
   assets keep themselves, stay on the claim (``ASSETCRON_SCRATCH``);
4. trigger a run for the 2015-06-02 06:00 tick in Los Angeles (``assetcron schedule
   trigger``), which materializes partition 2015-06-01 of the real NOAA data in a pod of
   the weather image;
5. wait for it with a progress line, then print ``kubectl get``, the run's per-asset
   outcome from the schedule's status, the pod's image ID, ``kubectl logs`` of the pod,
   the objects the run stored in S3 and the report rows it wrote; and say how to stop.

Exit code 0 when the run succeeded, 1 when it failed, 2 when the cluster could not start.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from assetcron_dev.binaries import BinariesError
from assetcron_dev.plane import ControlPlane, PlaneConfig, PlaneError
from assetcron_dev.release import NAMESPACE as OPERATOR_NAMESPACE
from assetcron_dev.release import install_operator

NAMESPACE = "assetcron-demo"
SCHEDULE = "weather-daily"
SCHEDULED_TIME = "2015-06-02T06:00:00-07:00"
PARTITION = "2015-06-01"
CLAIM = "weather-storage"
S3_SECRET = "assetcron-s3"  # noqa: S105 - the Secret's name, not a password
S3_STORAGE = "s3://assetcron/weather"
ROOT = Path(__file__).resolve().parents[2]


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _status(plane: ControlPlane) -> dict[str, Any]:
    proc = plane.kubectl("get", "assetschedule", SCHEDULE, "-n", NAMESPACE, "-o", "json")
    status: dict[str, Any] = json.loads(proc.stdout).get("status") or {}
    return status


def _wait_for_run(plane: ControlPlane, job_name: str, timeout: float) -> dict[str, Any] | None:
    t0 = time.monotonic()
    last = ""
    while time.monotonic() - t0 < timeout:
        runs = _status(plane).get("recentRuns") or []
        run: dict[str, Any] | None = next((r for r in runs if r.get("name") == job_name), None)
        phase = (run or {}).get("phase", "Pending")
        line = f"  run {job_name}: {phase:<10}"
        if line != last:
            # One line per phase change; on a terminal, rewrite it in place.
            end = "\r" if sys.stdout.isatty() else "\n"
            sys.stdout.write(f"{line} {time.monotonic() - t0:5.1f}s{end}")
            sys.stdout.flush()
            last = line
        if run and phase in ("Succeeded", "Failed"):
            if sys.stdout.isatty():
                sys.stdout.write("\n")
            return run
        time.sleep(0.5)
    sys.stdout.write("\n")
    return None


def _namespace(plane: ControlPlane) -> None:
    """The demo namespace, enforcing Pod Security ``restricted`` (as a careful cluster does)."""
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }
    plane.kubectl("apply", "-f", "-", input=json.dumps(ns))
    deadline = time.monotonic() + 60
    while plane.kubectl("get", "sa", "default", "-n", NAMESPACE, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise PlaneError("the demo namespace has no default ServiceAccount after 60s")
        time.sleep(0.5)


def _show_pod(plane: ControlPlane, job_name: str) -> None:
    pods = json.loads(
        plane.kubectl(
            "get", "pods", "-n", NAMESPACE, "-l", f"batch.kubernetes.io/job-name={job_name}",
            "-o", "json",
        ).stdout
    )["items"]  # fmt: skip
    for pod in pods:
        name = pod["metadata"]["name"]
        for cs in pod.get("status", {}).get("containerStatuses", []):
            _say(f"\n== pod {name} on node {pod['spec'].get('nodeName')}")
            _say(f"  image   {cs.get('image')}")
            _say(f"  imageID {cs.get('imageID')}")
        logs = plane.kubectl("logs", name, "-n", NAMESPACE, check=False)
        _say(f"\n== kubectl logs {name} -n {NAMESPACE}")
        for line in (logs.stdout or logs.stderr).rstrip().splitlines()[-15:]:
            _say("  " + line)


def _on_s3(plane: ControlPlane, manifests: Path) -> str:
    """The example's manifests (YAML stream) with the AssetJob's values on the plane's S3,
    after creating the Secret ``assetcron-s3`` with the S3 credentials."""
    s3 = plane.s3.env()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": S3_SECRET, "namespace": NAMESPACE},
        "stringData": {k: v for k, v in s3.items() if k.startswith("AWS_")},
    }
    plane.kubectl("apply", "-f", "-", input=json.dumps(secret))
    docs: list[dict[str, Any]] = []
    for file in sorted(manifests.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(file.read_text()) if d)
    for doc in docs:
        if doc.get("kind") != "AssetJob":
            continue
        template = doc["spec"].setdefault("template", {})
        env = [e for e in template.get("env", []) if e["name"] != "ASSETCRON_STORAGE"]
        storage_dir = next(
            m["mountPath"] for m in template.get("volumeMounts", []) if m["name"] == "storage"
        )
        env += [
            {"name": "ASSETCRON_STORAGE", "value": S3_STORAGE},
            {"name": "ASSETCRON_SCRATCH", "value": f"{storage_dir}/storage"},
        ]
        template["env"] = env
        template["envFrom"] = [{"secretRef": {"name": S3_SECRET}}]
    return yaml.safe_dump_all(docs)


def _show_objects(plane: ControlPlane) -> None:
    """List what the run stored in the bucket (values, records, versions)."""
    store = plane.s3.store(S3_STORAGE)
    _say(f"\n== objects in {S3_STORAGE}")
    for batch in store.list():
        for meta in batch:
            _say(f"  {meta['path']:<72} {meta['size']:>8} B")


def main() -> int:
    """Run the demo; see the module docstring."""
    plane = ControlPlane(PlaneConfig())
    t0 = time.monotonic()
    try:
        started = plane.up(timeout=180)
        _say(
            f"== cluster {'started' if started else 'reused'} in {time.monotonic() - t0:.1f}s "
            f"({plane.server}; export KUBECONFIG={plane.kubeconfig})"
        )
        _say(plane.kubectl("get", "nodes", "-o", "wide").stdout.rstrip())
        t1 = time.monotonic()
        install_operator(plane, _say)
        _say(f"== operator Deployment Available in {time.monotonic() - t1:.1f}s")
        _say(plane.kubectl("get", "deploy,pods", "-n", OPERATOR_NAMESPACE).stdout.rstrip())
        _namespace(plane)
        storage = plane.provide_volume(NAMESPACE, CLAIM)
    except (PlaneError, BinariesError) as e:
        print(f"make demo: error: {e}", file=sys.stderr)
        return 2

    manifests = ROOT / "examples" / "weather" / "manifests"
    _say(
        plane.kubectl(
            "apply", "-n", NAMESPACE, "-f", "-", input=_on_s3(plane, manifests)
        ).stdout.rstrip()
    )

    # Wait for the operator to reconcile (the CronJob exists) before triggering.
    deadline = time.monotonic() + 90
    while not (_status(plane).get("cronJobName")):
        if time.monotonic() > deadline:
            print(
                "make demo: error: the operator did not reconcile; see "
                f"kubectl logs deploy/assetcron -n {OPERATOR_NAMESPACE}",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.5)

    _say(f"== triggering {SCHEDULE} for the tick {SCHEDULED_TIME} (partition {PARTITION})")
    from assetcron.cli import main as assetcron_main  # noqa: PLC0415 - loads the plugins

    before = {r.get("name") for r in _status(plane).get("recentRuns") or []}
    rc = assetcron_main(
        [
            "schedule",
            "trigger",
            SCHEDULE,
            "-n",
            NAMESPACE,
            f"--kubeconfig={plane.kubeconfig}",
            f"--scheduled-time={SCHEDULED_TIME}",
            "--wait=60",
            "--until=created",
        ]
    )
    if rc != 0:
        return 1
    job_name = (_status(plane).get("lastTrigger") or {}).get("jobName")
    if not job_name:
        job_name = next(
            (
                r["name"]
                for r in _status(plane).get("recentRuns") or []
                if r.get("name") not in before
            ),
            "",
        )
    run = _wait_for_run(plane, job_name, timeout=300)

    _say("\n== kubectl get assetjobs,assetschedules,cronjobs,jobs,pvc -n " + NAMESPACE)
    _say(
        plane.kubectl(
            "get", "assetjobs,assetschedules,cronjobs,jobs,pvc", "-n", NAMESPACE
        ).stdout.rstrip()
    )
    _show_pod(plane, job_name)
    if run is None:
        print(f"make demo: error: the run did not finish; see {plane.log_dir}", file=sys.stderr)
        return 1
    _say(f"\n== run {job_name}: {run.get('phase')}")
    for asset in run.get("assets") or []:
        err = f"  ({asset['error']})" if asset.get("error") else ""
        _say(f"  {asset.get('key'):<32} {asset.get('outcome')}{err}")

    _show_objects(plane)
    report = storage / "storage" / "reports" / "weather" / f"{PARTITION}.csv"
    if report.exists():
        _say(f"\n== report rows ({report})")
        with report.open(newline="") as fh:
            for row in csv.reader(fh):
                _say("  " + " | ".join(row))
    _say(
        f"\nThe cluster keeps running: `kubectl get assetschedules -n {NAMESPACE}` with the "
        "KUBECONFIG above.\nStop it with: make dev-down   (or: .venv/bin/assetcron dev down)"
    )
    return 0 if run.get("phase") == "Succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
