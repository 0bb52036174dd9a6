"""What the end-to-end tests share: :class:`System`, and ``system``, a namespace of the
session's cluster with an operator process watching it (one per test module)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, PlaneHandle, poll


class System:
    """The plane, one namespace and an operator process watching it."""

    def __init__(self, cp: PlaneHandle, namespace: str, log: Path) -> None:
        self.cp = cp
        self.namespace = namespace
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start_operator(self) -> None:
        env = dict(self.cp.env)
        env.update(
            ASSETCRON_WATCH_NAMESPACES=self.namespace,
            ASSETCRON_LOG_FORMAT="text",
            ASSETCRON_LIVENESS_ENDPOINT=f"http://127.0.0.1:{_free_port()}/healthz",
            ASSETCRON_METRICS_PORT="0",  # several operators share the host: no fixed port
            ASSETCRON_DEV_PLANE=str(self.cp.state_dir.resolve()),
        )
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "assetcron_operator.cli"], env=env, stdout=fh, stderr=fh
            )

    def stop_operator(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kubectl(self, *args: str, input: str | None = None) -> str:
        return self.cp.kubectl("-n", self.namespace, *args, input=input).stdout

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def apply(self, *docs: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", input="---\n".join(yaml.safe_dump(d) for d in docs))

    def status(self, schedule: str) -> dict[str, Any]:
        status: dict[str, Any] = self.get("assetschedule", schedule).get("status") or {}
        return status

    def run(self, schedule: str, job_name: str) -> dict[str, Any] | None:
        runs = self.status(schedule).get("recentRuns") or []
        return next((r for r in runs if r.get("name") == job_name), None)

    def trigger(self, schedule: str, scheduled_time: str) -> subprocess.CompletedProcess[str]:
        """``assetcron schedule trigger`` for ``schedule`` at ``scheduled_time`` (waits ≤ 60 s
        for the Job's creation, not for its result)."""
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "assetcron.cli",
                "schedule",
                "trigger",
                schedule,
                "-n",
                self.namespace,
                f"--kubeconfig={self.cp.kubeconfig}",
                "--scheduled-time",
                scheduled_time,
                "--wait",
                "60",
                "--until",
                "created",
            ],
            capture_output=True,
            text=True,
            check=False,
            env=self.cp.env,
        )

    def trigger_job(self, job: dict[str, Any]) -> tuple[str, str]:
        """Apply ``job`` with a yearly UTC schedule ``<job>-schedule``, trigger one run for
        2026-01-01 and return ``(schedule name, the run's Job name)``."""
        name = f"{job['metadata']['name']}-schedule"
        schedule = {
            "apiVersion": "assetcron.dev/v1alpha1",
            "kind": "AssetSchedule",
            "metadata": {"name": name},
            "spec": {
                "jobRef": {"name": job["metadata"]["name"]},
                "cronSchedule": "0 0 1 1 *",
                "timeZone": "UTC",
            },
        }
        self.apply(job, schedule)
        poll(lambda: self.status(name).get("cronJobName"), 60, "the CronJob")
        proc = self.trigger(name, "2026-01-01T00:00:00Z")
        assert proc.returncode == 0, proc.stderr + self.operator_log()
        job_name: str = poll(
            lambda: (self.status(name).get("lastTrigger") or {}).get("jobName"), 30, "trigger"
        )
        return name, job_name

    def operator_log(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _free_port() -> int:
    from assetcron_dev.plane import free_port

    return free_port()


@pytest.fixture(scope="module")
def system(
    control_plane: PlaneHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    ns = f"e2e-{uuid.uuid4().hex[:6]}"
    control_plane.kubectl("create", "namespace", ns)
    poll(
        lambda: (
            control_plane.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0
        ),
        60,
        "the default ServiceAccount",
    )
    control_plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    for crd in ("assetjobs.assetcron.dev", "assetschedules.assetcron.dev"):
        control_plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd}")
    sysm = System(control_plane, ns, tmp_path_factory.mktemp("operator") / "operator.log")
    sysm.start_operator()
    try:
        yield sysm
    finally:
        sysm.stop_operator()
