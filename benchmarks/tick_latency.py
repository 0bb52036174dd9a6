"""From a cron tick to the run in the schedule's status, on the real node. Prints figures;
asserts nothing.

A ``* * * * *`` AssetSchedule runs a tiny native code location (the ``extract`` asset of
``tests/e2e/code/flaky_assets.py``, mounted into the runtime image's pod from the working
tree by the same AssetJob the e2e tests use, ``tests.e2e.test_weather_e2e._code_job``),
with the operator running as a local process watching a fresh namespace (as in
``tests/e2e``). Watches on Jobs, Pods and AssetSchedules note when each step is first
seen, in seconds after the tick's scheduled time (a minute boundary):

* ``job``: the CronJob controller's Job is created (its ADDED event);
* ``pod running``: the Job's pod runs (phase ``Running`` seen, or, for a pod that was
  quicker than its events, its container's ``startedAt``);
* ``pod done``: the pod has ``Succeeded``;
* ``status run``: the run first appears in ``status.recentRuns`` (any phase);
* ``status done``: the run is ``Succeeded`` in ``status.recentRuns`` with the runner's
  counts (the termination summary): what ``kubectl get assetschedules`` shows.

Then the median, min and max of each over the ticks, and ``status done - pod done``, the
operator's own share.

A plane of our own with a node is started (``assetcron_dev.plane``, images as ``make
images`` built them, loaded by ``up``); with ``$KUBECONFIG`` set, that cluster is used
instead (its node must have ``ghcr.io/assetcron/assetcron:0.1.0`` and be able to mount
this working tree).

Usage: ``python benchmarks/tick_latency.py [--ticks N]`` (default 10: about 11 minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from machine import describe

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS = ("job", "pod running", "pod done", "status run", "status done")


@contextlib.contextmanager
def plane_handle() -> Iterator[Any]:
    """A ``tests.conftest.PlaneHandle``: ``$KUBECONFIG``'s cluster, else a plane of our own
    with a node."""
    from tests.conftest import PlaneHandle

    from assetcron_dev.binaries import ensure_binaries

    binaries = ensure_binaries()
    bin_dir = binaries.kubectl.parent
    if os.environ.get("KUBECONFIG"):
        kubeconfig = Path(os.environ["KUBECONFIG"])
        state = Path(os.environ.get("ASSETCRON_DEV_PLANE") or tempfile.mkdtemp())
        yield PlaneHandle(None, kubeconfig, bin_dir, dict(os.environ), state)
        return
    from assetcron_dev.plane import ControlPlane, PlaneConfig, free_port_pair

    with tempfile.TemporaryDirectory(prefix="assetcron-tick-") as tmp:
        plane = ControlPlane(PlaneConfig(state_dir=Path(tmp), etcd_port=free_port_pair()), binaries)
        plane.up(timeout=300)
        try:
            yield PlaneHandle(plane, plane.kubeconfig, bin_dir, plane.env(), plane.state_dir)
        finally:
            plane.down()


class Seen:
    """First-seen times (``time.time()``) per (Job name, step), filled by watch threads."""

    def __init__(self) -> None:
        self.times: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()

    def note(self, job: str, step: str, when: float | None = None) -> None:
        with self.lock:
            self.times.setdefault((job, step), time.time() if when is None else when)

    def get(self, job: str, step: str) -> float | None:
        with self.lock:
            return self.times.get((job, step))


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def watch(api: Any, namespace: str, kind: str, seen: Seen, stop: threading.Event) -> None:
    """Note the steps visible in ``kind`` events until ``stop`` is set. A stream the
    plane cuts once ``stop`` is set (it shuts down under the open watch) ends the
    thread quietly; before that, the error propagates."""
    try:
        _watch(api, namespace, kind, seen, stop)
    except Exception:
        if not stop.is_set():
            raise


def _watch(api: Any, namespace: str, kind: str, seen: Seen, stop: threading.Event) -> None:
    from kubernetes import client, watch

    calls = {
        "jobs": client.BatchV1Api(api).list_namespaced_job,
        "pods": client.CoreV1Api(api).list_namespaced_pod,
    }
    custom = client.CustomObjectsApi(api)
    while not stop.is_set():
        w = watch.Watch()
        if kind == "assetschedules":
            stream = w.stream(
                custom.list_namespaced_custom_object, "assetcron.dev", "v1alpha1",
                namespace, "assetschedules", timeout_seconds=30,
            )  # fmt: skip
        else:
            stream = w.stream(calls[kind], namespace, timeout_seconds=30, _preload_content=False)
        for event in stream:
            if stop.is_set():
                break
            obj = event["raw_object"]
            if kind == "jobs":
                seen.note(obj["metadata"]["name"], "job")
            elif kind == "pods":
                job = obj["metadata"].get("labels", {}).get("batch.kubernetes.io/job-name")
                if not job:
                    continue
                status = obj.get("status") or {}
                for cs in status.get("containerStatuses") or []:
                    state = cs.get("state") or {}
                    started = (state.get("running") or state.get("terminated") or {}).get(
                        "startedAt"
                    )
                    if started and status.get("phase") != "Running":
                        seen.note(job, "pod running", _ts(started))
                if status.get("phase") == "Running":
                    seen.note(job, "pod running")
                if status.get("phase") == "Succeeded":
                    seen.note(job, "pod done")
            else:
                for run in (obj.get("status") or {}).get("recentRuns") or []:
                    seen.note(run["name"], "status run")
                    if run.get("phase") == "Succeeded" and run.get("counts"):
                        seen.note(run["name"], "status done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=10, help="ticks to measure (default 10)")
    args = parser.parse_args()

    from kubernetes import config
    from tests.conftest import poll
    from tests.e2e.conftest import System
    from tests.e2e.test_weather_e2e import _code_job

    with plane_handle() as cp:
        ns = f"tick-{uuid.uuid4().hex[:6]}"
        cp.kubectl("create", "namespace", ns)
        poll(
            lambda: cp.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0,
            60,
            "the default ServiceAccount",
        )
        cp.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
        for crd in ("assetjobs.assetcron.dev", "assetschedules.assetcron.dev"):
            cp.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd}")
        log = Path(tempfile.mkstemp(prefix="assetcron-operator-", suffix=".log")[1])
        system = System(cp, ns, log)
        system.start_operator()
        seen, stop = Seen(), threading.Event()
        api = config.new_client_from_config(config_file=str(cp.kubeconfig))
        threads = [
            threading.Thread(target=watch, args=(api, ns, kind, seen, stop), daemon=True)
            for kind in ("jobs", "pods", "assetschedules")
        ]
        for thread in threads:
            thread.start()
        try:
            job = _code_job("tick", "flaky_assets", selection="extract")
            job["spec"]["template"]["env"].append(
                {"name": "E2E_COUNTER", "value": "/tmp/extract-computations.txt"}  # noqa: S108 - the pod's emptyDir
            )
            schedule = {
                "apiVersion": "assetcron.dev/v1alpha1",
                "kind": "AssetSchedule",
                "metadata": {"name": "tick"},
                "spec": {
                    "jobRef": {"name": "tick"},
                    "cronSchedule": "* * * * *",
                    "timeZone": "UTC",
                    "concurrencyPolicy": "Forbid",
                    "successfulJobsHistoryLimit": args.ticks + 2,
                },
            }
            system.apply(job, schedule)
            cronjob = poll(lambda: system.status("tick").get("cronJobName"), 60, "the CronJob")
            print(f"{datetime.now(UTC):%H:%M:%S} CronJob {cronjob}; waiting for {args.ticks} ticks")
            rows: list[dict[str, float]] = []
            done: set[str] = set()
            while len(rows) < args.ticks:
                time.sleep(1)
                with seen.lock:
                    names = sorted({j for j, step in seen.times if j.startswith(f"{cronjob}-")})
                for name in names:
                    suffix = name.rsplit("-", 1)[1]
                    if not suffix.isdigit() or name in done:
                        continue
                    tick = int(suffix) * 60
                    if seen.get(name, "status done") is None:
                        if time.time() - tick > 300:
                            raise SystemExit(f"run {name} not done after 300 s: see {log}")
                        continue
                    done.add(name)
                    row: dict[str, float] = {}
                    for step in STEPS:
                        when = seen.get(name, step)
                        row[step] = float("nan") if when is None else when - tick
                    rows.append(row)
                    if len(rows) > args.ticks:
                        break
                    print(
                        f"tick {datetime.fromtimestamp(tick, UTC):%H:%M}: "
                        + ", ".join(f"{s} {row[s]:.2f} s" for s in STEPS)
                    )
            print(f"\n{len(rows)} ticks of '* * * * *', seconds after the scheduled time:")
            for step in STEPS:
                values = [r[step] for r in rows]
                print(
                    f"  {step:<12} median {statistics.median(values):6.2f}"
                    f"  min {min(values):6.2f}  max {max(values):6.2f}"
                )
            share = [r["status done"] - r["pod done"] for r in rows]
            print(
                f"  operator (status done - pod done) median {statistics.median(share):.2f}"
                f"  min {min(share):.2f}  max {max(share):.2f}"
            )
            print(describe())
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                system.kubectl("patch", "assetschedule", "tick", "--type=merge",
                               "-p", json.dumps({"spec": {"suspend": True}}))  # fmt: skip
            system.stop_operator()
            cp.kubectl("delete", "namespace", ns, "--wait=false", check=False)
            print(f"(operator log: {log})")


if __name__ == "__main__":
    main()
