"""How fast and how lean is the operator? Prints figures; asserts nothing.

Against a control plane (``$KUBECONFIG`` if set, else a fresh local one started with the
dev cluster's :mod:`assetcron_dev.plane`, API only: no node, since no pod runs here):

1. direct: create N CronJobs (the operator's own rendering of the weather example, minus
   the ownerReference) one by one with the official client, timed until the last create
   returns;
2. operator: start ``assetcron-operator`` watching a fresh namespace, create one AssetJob,
   then create N AssetSchedules with the same client, timed until all N CronJobs exist
   (polled with list calls every 0.2 s);
3. the ratio operator/direct (goal <= 1.3x), the operator's peak RSS (``VmHWM`` from
   ``/proc/<pid>/status``, goal < 128 MiB at 1,000), and the writes of an idle resync
   (goal 0): the operator's own count over two full refresh passes after convergence,
   and the number of our objects whose resourceVersion changed meanwhile, with the CPU
   seconds the operator spent on one idle pass (goal < 5 s at 10,000);
4. the API requests of each phase per object, by verb and resource, from the API
   server's ``apiserver_request_total`` counter (``kubectl get --raw /metrics`` before
   and after; the plane serves only this benchmark when it is our own).

Usage: ``python benchmarks/reconcile.py [--count N] [--interval SECONDS]
[--py-spy FILE]`` (``--py-spy`` records the operator with py-spy while it converges,
in py-spy's ``raw`` format: collapsed stacks, one line per stack with its sample count)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from machine import describe

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "examples" / "weather" / "manifests"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def control_plane() -> Iterator[tuple[Path, Path]]:
    """Yield (kubeconfig, kubectl): ``$KUBECONFIG`` if set, else a plane of our own."""
    from assetcron_dev.binaries import ensure_binaries

    binaries = ensure_binaries()
    if os.environ.get("KUBECONFIG"):
        yield Path(os.environ["KUBECONFIG"]), binaries.kubectl
        return
    from assetcron_dev.plane import ControlPlane, PlaneConfig

    with tempfile.TemporaryDirectory(prefix="assetcron-bench-") as state:
        from assetcron_dev.plane import free_port_pair

        plane = ControlPlane(
            PlaneConfig(state_dir=Path(state), etcd_port=free_port_pair(), node=False), binaries
        )
        plane.up(timeout=180)
        try:
            yield plane.kubeconfig, binaries.kubectl
        finally:
            plane.down()


def install_crds(k: Callable[..., Any]) -> None:
    """Apply ``crds/`` server-side with ``k`` (``k(*kubectl_args)``) and wait until both
    CRDs are Established. The plane of :func:`control_plane` has them already; a
    ``$KUBECONFIG`` cluster may not."""
    k("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    for crd in ("assetjobs.assetcron.dev", "assetschedules.assetcron.dev"):
        k("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")


def direct_cronjob(
    schedule_doc: dict[str, Any], job_body: dict[str, Any], name: str, namespace: str
) -> dict[str, Any]:
    """The operator's own rendering of the CronJob for schedule ``name`` in ``namespace``
    (the example's spec), minus the ownerReference: created directly, with no owner for
    the garbage collector to follow."""
    from assetcron_operator import render

    meta = {"name": name, "namespace": namespace, "uid": "x"}
    manifest = render.render_cronjob({**schedule_doc, "metadata": meta}, job_body)
    del manifest["metadata"]["ownerReferences"]
    return manifest


def wait_until(check: Callable[[], Any], what: str, timeout: float) -> Any:
    """Poll ``check`` every 0.1 s until it returns something truthy, and return that;
    exit with a message after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    msg = f"timed out after {timeout:g}s waiting for {what}"
    raise SystemExit(msg)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def plane_cpu(state_dir: Path) -> dict[str, float]:
    """CPU seconds so far of the dev plane's etcd, kube-apiserver and controller manager
    (the processes carrying ``ASSETCRON_DEV_PLANE=<state_dir>``); empty for other clusters."""
    marker = f"ASSETCRON_DEV_PLANE={state_dir.resolve()}".encode()
    out: dict[str, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
            if comm not in ("etcd", "kube-apiserver", "kube-controller") or marker not in (
                proc / "environ"
            ).read_bytes().split(b"\0"):
                continue
            out[comm] = out.get(comm, 0.0) + cpu_seconds(int(proc.name))
        except OSError:
            continue
    return out


def print_plane_cpu(what: str, before: dict[str, float], after: dict[str, float]) -> None:
    """Print the plane's CPU seconds between two :func:`plane_cpu` readings."""
    if after:
        parts = ", ".join(f"{k} {after[k] - before.get(k, 0.0):.1f} s" for k in sorted(after))
        print(f"control plane CPU, {what}: {parts}")


def request_counts(kubectl_get_metrics: Callable[[], str]) -> Counter[tuple[str, str]]:
    """``apiserver_request_total`` summed by (verb, resource), watches and metrics excluded."""
    counts: Counter[tuple[str, str]] = Counter()
    for line in kubectl_get_metrics().splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels_text, _, value = line.rpartition(" ")
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels_text))
        if labels.get("verb") in ("WATCH", "CONNECT") or not labels.get("resource"):
            continue
        key = (
            labels["verb"],
            labels["resource"] + (f"/{labels['subresource']}" if labels.get("subresource") else ""),
        )
        counts[key] += int(float(value))
    return counts


def print_requests(
    what: str, before: Counter[tuple[str, str]], after: Counter[tuple[str, str]], n: int
) -> None:
    """Print the requests made between two :func:`request_counts`, per object."""
    diff = {k: after[k] - before[k] for k in after if after[k] - before[k] > 0}
    total = sum(diff.values())
    parts = ", ".join(
        f"{verb} {res} {count / n:.2f}"
        for (verb, res), count in sorted(diff.items(), key=lambda i: -i[1])
    )
    print(f"API requests per object, {what}: {total / n:.2f} ({parts})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="objects (default 1000)")
    parser.add_argument(
        "--interval", type=float, default=5.0, help="operator status refresh seconds"
    )
    parser.add_argument(
        "--py-spy", metavar="FILE", help="record the converging operator with py-spy (raw)"
    )
    args = parser.parse_args()
    n = args.count

    from kubernetes import client, config

    job_doc = yaml.safe_load((MANIFESTS / "assetjob.yaml").read_text())
    schedule_doc = yaml.safe_load((MANIFESTS / "assetschedule.yaml").read_text())

    with control_plane() as (kubeconfig, kubectl):
        env = dict(os.environ, KUBECONFIG=str(kubeconfig))

        def k(*a: str) -> str:
            return subprocess.run(
                [str(kubectl), *a], env=env, check=True, capture_output=True, text=True
            ).stdout

        install_crds(k)
        suffix = uuid.uuid4().hex[:6]
        ns_direct, ns_op = f"bench-direct-{suffix}", f"bench-op-{suffix}"
        k("create", "namespace", ns_direct)
        k("create", "namespace", ns_op)

        def requests() -> Counter[tuple[str, str]]:
            return request_counts(lambda: k("get", "--raw", "/metrics"))

        api = config.new_client_from_config(config_file=str(kubeconfig))
        batch = client.BatchV1Api(api)
        custom = client.CustomObjectsApi(api)

        # ---------------------------------------------------------------- direct
        job_body = {**job_doc, "metadata": {"name": "weather", "namespace": ns_direct}}
        manifests = [
            direct_cronjob(schedule_doc, job_body, f"s-{i:04d}", ns_direct) for i in range(n)
        ]
        counted = requests()
        plane_before = plane_cpu(kubeconfig.parent)
        t0 = time.monotonic()
        for cj in manifests:
            batch.create_namespaced_cron_job(ns_direct, cj, _preload_content=False)
        direct = time.monotonic() - t0
        print(f"direct:   {n} CronJobs created in {direct:.2f} s")
        print_plane_cpu("direct", plane_before, plane_cpu(kubeconfig.parent))
        print_requests("direct", counted, requests(), n)

        # ---------------------------------------------------------------- operator
        log_path = Path(tempfile.mkstemp(prefix="assetcron-operator-", suffix=".log")[1])
        port = _free_port()
        op_env = dict(
            env,
            ASSETCRON_WATCH_NAMESPACES=ns_op,
            ASSETCRON_LIVENESS_ENDPOINT=f"http://127.0.0.1:{port}/healthz",
            ASSETCRON_METRICS_PORT=str(_free_port()),  # served, as in the chart
            ASSETCRON_STATUS_INTERVAL=str(args.interval),
            ASSETCRON_LOG_FORMAT="json",
        )
        exe = Path(sys.executable).parent / "assetcron-operator"
        with log_path.open("wb") as log:
            proc = subprocess.Popen([str(exe)], env=op_env, stdout=log, stderr=log)

        def live() -> bool:
            if proc.poll() is not None:
                raise SystemExit(f"operator exited: see {log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    return True
            except OSError:
                return False

        def passes() -> list[dict[str, Any]]:
            out = []
            for line in log_path.read_text(errors="replace").splitlines():
                if '"status refresh pass"' in line:
                    with contextlib.suppress(ValueError):
                        out.append(json.loads(line))
            return out

        def count_cronjobs() -> int:
            resp = batch.list_namespaced_cron_job(
                ns_op, label_selector="app.kubernetes.io/managed-by=assetcron",
                _preload_content=False,
            )  # fmt: skip
            return len(json.loads(resp.data)["items"])

        try:
            wait_until(live, "the operator's liveness endpoint", 60)
            if args.py_spy:
                spy = subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking",
                     "--format", "raw", "--pid", str(proc.pid), "--output", args.py_spy],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            counted = requests()
            cpu_start = cpu_seconds(proc.pid)
            plane_before = plane_cpu(kubeconfig.parent)
            custom.create_namespaced_custom_object(
                "assetcron.dev", "v1alpha1", ns_op, "assetjobs",
                {**job_doc, "metadata": {"name": "weather"}},
            )  # fmt: skip
            t0 = time.monotonic()
            for i in range(n):
                custom.create_namespaced_custom_object(
                    "assetcron.dev", "v1alpha1", ns_op, "assetschedules",
                    {**schedule_doc, "metadata": {"name": f"s-{i:04d}"}},
                )  # fmt: skip
            created = time.monotonic() - t0
            wait_until(lambda: count_cronjobs() >= n, f"{n} CronJobs", 600)
            operator = time.monotonic() - t0
            print(
                f"operator: {n} AssetSchedules -> {n} CronJobs in {operator:.2f} s"
                f" (creating the schedules alone took {created:.2f} s)"
            )
            print(f"ratio:    {operator / direct:.2f}x (goal <= 1.3x)")
            print(describe())
            print_plane_cpu("operator", plane_before, plane_cpu(kubeconfig.parent))
            print(
                f"operator CPU: {cpu_seconds(proc.pid) - cpu_start:.2f} s while converging"
                f" ({os.cpu_count()} cores shared with etcd, kube-apiserver and this client)"
            )

            # Idle resync: once a full pass wrote nothing, watch two more passes.
            def ready_all() -> bool:
                resp = custom.list_namespaced_custom_object(
                    "assetcron.dev", "v1alpha1", ns_op, "assetschedules",
                    _preload_content=False,
                )  # fmt: skip
                items = json.loads(resp.data)["items"]
                return all(i.get("status", {}).get("nextRuns") for i in items)

            wait_until(ready_all, "every schedule's status", 600)
            wait_until(lambda: bool(passes()) and passes()[-1]["writes"] == 0, "a quiet pass", 600)
            if args.py_spy:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
                print(f"py-spy profile (raw, while converging): {args.py_spy}")
            print_requests("operator (schedule creates until settled)", counted, requests(), n)

            def versions() -> dict[str, str]:
                out: dict[str, str] = {}
                for kind in ("assetschedules", "cronjobs", "assetjobs"):
                    items = json.loads(k("get", kind, "-n", ns_op, "-o", "json"))["items"]
                    for item in items:
                        key = f"{kind}/{item['metadata']['name']}"
                        out[key] = item["metadata"]["resourceVersion"]
                return out

            before, seen = versions(), len(passes())
            wait_until(lambda: len(passes()) >= seen + 1, "a refresh pass", 600)
            cpu_idle = cpu_seconds(proc.pid)
            wait_until(lambda: len(passes()) >= seen + 2, "two refresh passes", 600)
            cpu_idle = cpu_seconds(proc.pid) - cpu_idle
            after = versions()
            idle = passes()[seen : seen + 2]
            changed = sum(1 for key, rv in after.items() if before.get(key) != rv)
            print(
                f"idle resync: {sum(p['writes'] for p in idle)} writes over 2 full passes of"
                f" {idle[-1]['schedules']} schedules ({idle[-1]['seconds']:.2f} s per pass);"
                f" {changed} objects changed (goal 0)"
            )
            print(
                f"idle pass CPU: {cpu_idle:.2f} s (operator CPU from the end of one pass to"
                " the end of the next: one full pass with nothing to do; goal < 5 s)"
            )
            print(f"operator peak RSS: {peak_rss_mib(proc.pid):.1f} MiB (goal < 128 MiB)")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            for ns in (ns_direct, ns_op):
                subprocess.run(
                    [str(kubectl), "delete", "namespace", ns, "--wait=false"],
                    env=env, capture_output=True, check=False,
                )  # fmt: skip
            print(f"(operator log: {log_path})")


if __name__ == "__main__":
    main()
