"""``make demo``: the whole system on one machine, one real run of the weather example.

1. start (or reuse) ``assetcron dev``: etcd, kube-apiserver, kube-controller-manager,
   the local pod executor and the operator, with the CRDs applied;
2. apply ``examples/weather/manifests/`` (AssetJob ``weather``, AssetSchedule
   ``weather-daily``) into the namespace ``assetcron-demo``;
3. trigger a run for the 2015-06-02 06:00 tick in Los Angeles (``assetcron schedule
   trigger``), which materializes partition 2015-06-01 of the real NOAA data;
4. wait for it with a progress line, then print ``kubectl get
   assetjobs,assetschedules,cronjobs,jobs``, the run's per-asset outcome from the
   schedule's status, and the report rows the run wrote; and say how to stop.

Exit code 0 when the run succeeded, 1 when it failed, 2 when the plane could not start.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

from assetcron_dev.binaries import BinariesError
from assetcron_dev.plane import ControlPlane, PlaneConfig, PlaneError

NAMESPACE = "assetcron-demo"
SCHEDULE = "weather-daily"
SCHEDULED_TIME = "2015-06-02T06:00:00-07:00"
PARTITION = "2015-06-01"
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


def main() -> int:
    """Run the demo; see the module docstring."""
    plane = ControlPlane(PlaneConfig(code_paths=[ROOT / "examples"]))
    t0 = time.monotonic()
    try:
        started = plane.up(timeout=180)
    except (PlaneError, BinariesError) as e:
        print(f"make demo: error: {e}", file=sys.stderr)
        return 2
    _say(
        f"== control plane {'started' if started else 'reused'} in {time.monotonic() - t0:.1f}s "
        f"({plane.server}; export KUBECONFIG={plane.kubeconfig})"
    )

    plane.kubectl("create", "namespace", NAMESPACE, check=False)
    deadline = time.monotonic() + 60
    while plane.kubectl("get", "sa", "default", "-n", NAMESPACE, check=False).returncode != 0:
        if time.monotonic() > deadline:
            print("make demo: error: namespace has no default ServiceAccount", file=sys.stderr)
            return 2
        time.sleep(0.5)
    manifests = ROOT / "examples" / "weather" / "manifests"
    _say(plane.kubectl("apply", "-n", NAMESPACE, "-f", str(manifests)).stdout.rstrip())

    # Wait for the operator to reconcile (the CronJob exists) before triggering.
    deadline = time.monotonic() + 60
    while not (_status(plane).get("cronJobName")):
        if time.monotonic() > deadline:
            print(
                "make demo: error: the operator did not reconcile; see "
                f"{plane.log_dir / 'operator.log'}",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.5)

    _say(f"== triggering {SCHEDULE} for the tick {SCHEDULED_TIME} (partition {PARTITION})")
    trig = plane.kubectl  # keep kubectl and our CLI on the same kubeconfig
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

    _say("\n== kubectl get assetjobs,assetschedules,cronjobs,jobs -n " + NAMESPACE)
    _say(trig("get", "assetjobs,assetschedules,cronjobs,jobs", "-n", NAMESPACE).stdout.rstrip())
    if run is None:
        print(f"make demo: error: the run did not finish; see {plane.log_dir}", file=sys.stderr)
        return 1
    _say(f"\n== run {job_name}: {run.get('phase')}")
    for asset in run.get("assets") or []:
        err = f"  ({asset['error']})" if asset.get("error") else ""
        _say(f"  {asset.get('key'):<32} {asset.get('outcome')}{err}")

    report = (
        plane.state_dir
        / "workdir"
        / ".assetcron"
        / "storage"
        / "reports"
        / "weather"
        / f"{PARTITION}.csv"
    )
    if report.exists():
        _say(f"\n== report rows ({report})")
        with report.open(newline="") as fh:
            for row in csv.reader(fh):
                _say("  " + " | ".join(row))
    _say(
        "\nThe plane keeps running: `kubectl get assetschedules -n assetcron-demo` with the "
        "KUBECONFIG above.\nStop it with: make dev-down   (or: .venv/bin/assetcron dev down)"
    )
    return 0 if run.get("phase") == "Succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
