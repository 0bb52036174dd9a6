"""Operations on the real node: metrics, events, JSON run logs and ``kubectl assetcron``.

The operator runs as the chart's Deployment (the image built from the Dockerfile, with
only its ServiceAccount's rights), watching one namespace. Two runs serve every
assertion: a manual run made by ``kubectl assetcron trigger --wait`` and the first tick of
an every-minute schedule (the tick-to-Job lag exists only for scheduled runs). Then:

* ``/metrics``, read through the API server's service proxy
  (``/api/v1/namespaces/NS/services/NAME:metrics/proxy/metrics``), has the run counters
  and both lag histograms;
* ``kubectl describe assetschedule`` shows ``RunStarted`` and ``RunSucceeded`` once each,
  still once after several refresh passes, and a schedule whose AssetJob is missing
  gets one ``JobNotFound`` warning;
* ``kubectl assetcron runs`` prints the run with its per-asset counts, ``logs`` its pod's
  log, every line JSON with the run's context (``ASSETCRON_LOG_FORMAT=json``), and
  ``suspend``/``resume``/``status`` work through kubectl's plugin mechanism
  (``kubectl-assetcron`` on ``$PATH``).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, PlaneHandle, poll

pytestmark = [pytest.mark.controlplane, pytest.mark.e2e]

CHART = ROOT / "charts" / "assetcron"
CODE = ROOT / "tests" / "e2e" / "code"
RUNTIME_IMAGE = "ghcr.io/assetcron/assetcron:0.1.0"


@dataclass
class Ops:
    cp: PlaneHandle
    namespace: str  # watched: the schedules live here
    system: str  # the operator's namespace
    fullname: str
    env: dict[str, str]  # the plane's env, with kubectl-assetcron on PATH

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(self.cp.bin_dir / "kubectl"), *args],
            capture_output=True, text=True, env=self.env, check=False, timeout=300,
        )  # fmt: skip
        if check:
            assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
        return proc

    def plugin(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``kubectl assetcron ARGS -n <namespace>``, through kubectl's plugin lookup."""
        return self.kubectl("assetcron", *args, "-n", self.namespace, check=False)

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", "-n", self.namespace, *args, "-o", "json").stdout)

    def status(self, schedule: str) -> dict[str, Any]:
        status: dict[str, Any] = self.get("assetschedule", schedule).get("status") or {}
        return status

    def operator_log(self) -> str:
        return self.kubectl(
            "logs", f"deployment/{self.fullname}", "-n", self.system, "--tail=60", check=False
        ).stdout

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """The operator's /metrics through the API server's service proxy, as
        ``{(sample name, sorted labels): value}``."""
        from prometheus_client.parser import text_string_to_metric_families

        path = (
            f"/api/v1/namespaces/{self.system}/services/{self.fullname}-metrics:metrics"
            "/proxy/metrics"
        )
        text = self.kubectl("get", "--raw", path).stdout
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }


def _code_job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "assetcron.dev/v1alpha1",
        "kind": "AssetJob",
        "metadata": {"name": name},
        "spec": {
            "selection": "*",
            "codeLocation": {"image": RUNTIME_IMAGE, "module": "ops_assets"},
            "backoffLimit": 0,
            "template": {
                "env": [
                    {"name": "PYTHONPATH", "value": "/opt/e2e-code"},
                    {"name": "ASSETCRON_STORAGE", "value": "/tmp/storage"},
                    {"name": "ASSETCRON_LOG_FORMAT", "value": "json"},
                ],
                "volumes": [{"name": "code", "hostPath": {"path": str(CODE), "type": "Directory"}}],
                "volumeMounts": [{"name": "code", "mountPath": "/opt/e2e-code", "readOnly": True}],
            },
        },
    }


def _schedule(name: str, job: str, cron: str) -> dict[str, Any]:
    return {
        "apiVersion": "assetcron.dev/v1alpha1",
        "kind": "AssetSchedule",
        "metadata": {"name": name},
        "spec": {"jobRef": {"name": job}, "cronSchedule": cron, "timeZone": "UTC",
                 "concurrencyPolicy": "Forbid"},
    }  # fmt: skip


@pytest.fixture(scope="module")
def ops(control_plane: PlaneHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    cp = control_plane
    uid = uuid.uuid4().hex[:6]
    ns, release = f"ops-{uid}", f"aco-{uid}"
    system = f"{release}-system"
    cp.kubectl("create", "namespace", ns)
    poll(
        lambda: cp.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0,
        60,
        "the default ServiceAccount",
    )
    cp.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    # kubectl finds plugins on PATH: the package's console script, pointing at this tree.
    bin_dir = tmp_path_factory.mktemp("plugin-bin")
    shim = bin_dir / "kubectl-assetcron"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m assetcron_operator.plugin "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    env = dict(cp.env)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "operator"), str(ROOT / "runner"), str(ROOT / "dev"), str(ROOT)]
    )
    helm = shutil.which("helm", path=cp.env["PATH"])
    assert helm, "helm is not in the control plane's bin dirs"
    subprocess.run(
        [helm, "install", release, str(CHART), "-n", system, "--create-namespace",
         "--set", f"watchNamespaces={{{ns}}}", "--set", "crds.install=false",
         "--set", "rbac.aggregatedRoles=false", "--set", "operator.logFormat=text",
         "--set", "operator.statusIntervalSeconds=5"],
        env=cp.env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    o = Ops(cp, ns, system, f"{release}-assetcron", env)
    try:
        o.kubectl("rollout", "status", f"deployment/{o.fullname}", "-n", system, "--timeout=180s")
        docs = [_code_job("ops"), _schedule("ops-manual", "ops", "0 0 1 1 *"),
                _schedule("ops-minutely", "ops", "* * * * *")]  # fmt: skip
        subprocess.run(
            [str(cp.bin_dir / "kubectl"), "apply", "-n", ns, "-f", "-"],
            input="---\n".join(yaml.safe_dump(d) for d in docs),
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        for name in ("ops-manual", "ops-minutely"):
            poll(lambda n=name: o.status(n).get("cronJobName"), 90, f"{name}'s CronJob")
        yield o
    finally:
        subprocess.run([helm, "uninstall", release, "-n", system], env=cp.env, check=False,
                       capture_output=True)  # fmt: skip
        cp.kubectl("delete", "namespace", ns, system, "--wait=false", check=False)


def _events(ops: Ops, schedule: str) -> list[dict[str, Any]]:
    uid = ops.get("assetschedule", schedule)["metadata"]["uid"]
    items: list[dict[str, Any]] = ops.get(
        "events", "--field-selector", f"involvedObject.uid={uid}"
    )["items"]
    return items


def test_a_manual_and_a_scheduled_run_show_in_events_metrics_runs_and_logs(ops: Ops) -> None:
    # `kubectl assetcron trigger --wait` waits for the run's result and prints it.
    proc = ops.plugin("trigger", "ops-manual", "--scheduled-time", "2026-01-01T00:00:00Z",
                      "--wait", "240")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr + ops.operator_log()
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("assetschedule/ops-manual triggered: ")
    job_name = lines[1].split("/")[1].split()[0]
    assert lines[1] == f"job/{job_name} created"
    assert lines[2].startswith(f"job/{job_name} Succeeded in ")
    assert lines[2].endswith(": 2 materialized, 0 reused, 0 failed, 0 skipped")
    assert [line.split() for line in lines[3:]] == [["source", "Materialized"],
                                                    ["target", "Materialized"]]  # fmt: skip

    # The every-minute schedule's first tick: a scheduled run (tick-to-Job lag).
    def scheduled_run() -> dict[str, Any] | None:
        runs = ops.status("ops-minutely").get("recentRuns") or []
        return next((r for r in runs if r.get("phase") == "Succeeded"), None)

    sched = poll(scheduled_run, 200, "a scheduled run of ops-minutely to succeed")
    assert ops.plugin("suspend", "ops-minutely").stdout == "assetschedule/ops-minutely suspended\n"
    assert ops.get("assetschedule", "ops-minutely")["spec"]["suspend"] is True

    # `kubectl assetcron runs`: the run with its per-asset counts.
    runs = ops.plugin("runs", "ops-manual")
    assert runs.returncode == 0, runs.stderr
    header, *rows = runs.stdout.splitlines()
    assert header.split()[:6] == ["RUN", "TRIGGER", "SCHEDULED", "STARTED", "DURATION", "RESULT"]
    (row,) = [r for r in rows if r.startswith(job_name)]
    cells = row.split()
    assert cells[1] == "Backfill"  # a 2026-01-01 tick triggered later
    assert cells[2:4] == ["2026-01-01", "00:00:00Z"]
    assert cells[7:12] == ["Succeeded", "2", "0", "0", "0"]

    # `kubectl assetcron logs`: the pod's log, each line JSON with the run's context.
    logs = ops.plugin("logs", "ops-manual", job_name)
    assert logs.returncode == 0, logs.stderr
    lines_json = [json.loads(line) for line in logs.stdout.splitlines()]
    run_ids = {line["runId"] for line in lines_json}
    assert len(run_ids) == 1
    assert None not in run_ids
    assert {line["scheduledTime"] for line in lines_json} == {"2026-01-01T00:00:00+00:00"}
    assert {line["jobName"] for line in lines_json} == {job_name}
    printed = next(line for line in lines_json if line["message"] == "source printed this")
    assert (printed["assetKey"], printed["stream"]) == ("source", "stdout")
    logged = next(line for line in lines_json if line["message"] == "fetching the source")
    assert logged["assetKey"] == "source"

    # Events: one RunStarted and one RunSucceeded per run, in kubectl describe.
    described = ops.kubectl("describe", "assetschedule", "ops-manual", "-n", ops.namespace).stdout
    for reason in ("RunStarted", "RunSucceeded"):
        mentions = [ln for ln in described.splitlines() if reason in ln and job_name in ln]
        assert len(mentions) == 1, described
    assert "2 materialized, 0 reused, 0 failed, 0 skipped" in described

    # /metrics through the API server's service proxy.
    m = ops.metrics()
    ns = ops.namespace

    def at(name: str, **labels: str) -> float:
        return m[(name, tuple(sorted(labels.items())))]

    manual = {"namespace": ns, "schedule": "ops-manual"}
    minutely = {"namespace": ns, "schedule": "ops-minutely"}
    assert at("assetcron_runs_started_total", **manual, trigger="Backfill") == 1
    assert at("assetcron_runs_succeeded_total", **manual, trigger="Backfill") == 1
    assert at("assetcron_asset_outcomes_total", **manual, outcome="Materialized") == 2
    assert at("assetcron_run_duration_seconds_count", **manual, result="Succeeded") == 1
    # The lags are by namespace: the manual run's pod start and the scheduled run's.
    assert at("assetcron_schedule_pod_start_lag_seconds_count", namespace=ns) >= 2
    assert at("assetcron_runs_succeeded_total", **minutely, trigger="Scheduled") >= 1
    lags = at("assetcron_schedule_job_lag_seconds_count", namespace=ns)
    assert lags >= 1  # scheduled runs only: ops-minutely's
    lag = at("assetcron_schedule_job_lag_seconds_sum", namespace=ns)
    assert 0 <= lag < 60 * lags
    assert at("assetcron_schedule_seconds_since_last_success", **manual) >= 0
    assert at("assetcron_reconcile_total", resource="assetschedule") > 0
    sys.stderr.write(
        f"\nops e2e: tick-to-Job lag {lag:.1f}s, scheduled run {sched['name']},"
        f" manual run {job_name}\n"
    )

    # Resyncs (every 5 s here) post nothing again.
    passes_before = at("assetcron_reconcile_total", resource="assetschedule")
    poll(
        lambda: (
            ops.metrics()[("assetcron_reconcile_total", (("resource", "assetschedule"),))]
            >= passes_before + 4
        ),
        60,
        "two more refresh passes",
    )
    reasons = sorted(
        e["reason"] for e in _events(ops, "ops-manual") if job_name in (e.get("message") or "")
    )
    assert reasons == ["RunStarted", "RunSucceeded"]
    assert all(e.get("count", 1) == 1 for e in _events(ops, "ops-manual"))

    # resume and status, through the plugin too.
    assert ops.plugin("resume", "ops-minutely").returncode == 0
    ops.plugin("suspend", "ops-minutely")
    status = ops.plugin("status")
    assert status.returncode == 0, status.stderr
    assert {ln.split()[0] for ln in status.stdout.splitlines()[1:]} == {
        "ops-manual",
        "ops-minutely",
    }


def test_a_schedule_without_its_assetjob_gets_one_warning(ops: Ops) -> None:
    subprocess.run(
        [str(ops.cp.bin_dir / "kubectl"), "apply", "-n", ops.namespace, "-f", "-"],
        input=yaml.safe_dump(_schedule("ops-orphan", "no-such-job", "0 0 1 1 *")),
        env=ops.env, check=True, capture_output=True, text=True,
    )  # fmt: skip

    def warned() -> list[dict[str, Any]]:
        return [e for e in _events(ops, "ops-orphan") if e["reason"] == "JobNotFound"]

    (event,) = poll(warned, 60, "the JobNotFound warning")
    assert event["type"] == "Warning"
    assert "AssetJob 'no-such-job' not found" in event["message"]
    # Refresh passes (every 5 s) find the same condition: no second event, no recount.
    m0 = ops.metrics()[("assetcron_reconcile_total", (("resource", "assetschedule"),))]
    poll(
        lambda: (
            ops.metrics()[("assetcron_reconcile_total", (("resource", "assetschedule"),))] >= m0 + 6
        ),
        60,
        "refresh passes",
    )
    assert [e.get("count", 1) for e in warned()] == [1]
    described = ops.kubectl("describe", "assetschedule", "ops-orphan", "-n", ops.namespace).stdout
    assert "JobNotFound" in described
