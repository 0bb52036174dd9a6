"""What one write of each kind the operator makes costs the API server. Prints figures;
asserts nothing.

``benchmarks/reconcile.py`` compares the operator converging N AssetSchedules with N
direct CronJob creates. The operator path makes three writes per schedule where the
direct path makes one: the user's AssetSchedule create, our CronJob server-side apply
and our status merge patch. This benchmark times each kind alone, N of them one after
the other on a fresh API-only plane (as ``reconcile.py`` starts it), and prints the
wall time and the CPU seconds kube-apiserver and etcd spent on them:

1. ``POST cronjobs``: the direct path of ``reconcile.py`` (official client);
2. ``apply cronjobs (create)``: our ``Kube.apply_cronjob`` of the same manifests into
   another namespace (server-side apply creating them);
3. ``apply cronjobs (no change)``: the same applies again (what the operator avoids by
   comparing first: ``desired_differs``);
4. ``POST assetschedules``: the user's creates of ``reconcile.py``'s operator phase;
5. ``PATCH assetschedules/status``: our ``Kube.patch_schedule_status`` with a first
   status of the size the operator writes.

With 2 cores shared by etcd, kube-apiserver, the operator and the client, the
operator phase of ``reconcile.py`` is bound by the sum of these CPU seconds plus the
operator's own.

Usage: ``python benchmarks/api_writes.py [--count N]`` (default 1000)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

import yaml

# The plane and the CPU readings are reconcile.py's (this directory is on sys.path when a
# benchmark runs as a script).
from reconcile import MANIFESTS, control_plane, direct_cronjob, install_crds, plane_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="writes of each kind")
    n = parser.parse_args().count

    from kubernetes import client, config

    from assetcron_operator.kube import Kube, make_api_client

    job_doc = yaml.safe_load((MANIFESTS / "assetjob.yaml").read_text())
    schedule_doc = yaml.safe_load((MANIFESTS / "assetschedule.yaml").read_text())

    with control_plane() as (kubeconfig, kubectl):
        env = dict(os.environ, KUBECONFIG=str(kubeconfig))

        def k(*a: str) -> None:
            subprocess.run([str(kubectl), *a], env=env, check=True, capture_output=True)

        install_crds(k)
        for ns in ("w-post", "w-apply", "w-custom"):
            k("create", "namespace", ns)
        api = config.new_client_from_config(config_file=str(kubeconfig))
        batch, custom = client.BatchV1Api(api), client.CustomObjectsApi(api)
        kube = Kube(make_api_client(kubeconfig=str(kubeconfig)))
        job_body = {**job_doc, "metadata": {"name": "weather", "namespace": "w-post"}}

        # Rendered before any timing, as reconcile.py's direct phase does.
        manifests = {
            ns: [direct_cronjob(schedule_doc, job_body, f"s-{i:04d}", ns) for i in range(n)]
            for ns in ("w-post", "w-apply")
        }
        status = {
            "observedGeneration": 1,
            "cronJobName": "x",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Reconciled",
                    "message": "CronJob x is up to date",
                    "lastTransitionTime": "2026-12-02T00:00:00Z",
                    "observedGeneration": 1,
                }
            ],
            "nextRuns": ["2026-12-03T06:00:00Z", "2026-12-04T06:00:00Z", "2026-12-05T06:00:00Z"],
        }

        def phase(what: str, write: Callable[[int], Any]) -> None:
            before, start = plane_cpu(kubeconfig.parent), time.monotonic()
            for i in range(n):
                write(i)
            wall, after = time.monotonic() - start, plane_cpu(kubeconfig.parent)
            line = f"{what:30s} {wall:6.2f} s wall"
            if after:  # our own plane ($KUBECONFIG's processes are not ours to read)
                api_cpu = after["kube-apiserver"] - before.get("kube-apiserver", 0.0)
                etcd_cpu = after["etcd"] - before.get("etcd", 0.0)
                line += (
                    f", kube-apiserver {api_cpu:5.2f} s CPU ({1000 * api_cpu / n:.1f} ms each),"
                    f" etcd {etcd_cpu:5.2f} s"
                )
            print(line, flush=True)

        print(f"{n} writes of each kind, one after the other ({os.cpu_count()} cores)")
        phase(
            "POST cronjobs",
            lambda i: batch.create_namespaced_cron_job(
                "w-post", manifests["w-post"][i], _preload_content=False
            ),
        )
        phase("apply cronjobs (create)", lambda i: kube.apply_cronjob(manifests["w-apply"][i]))
        phase("apply cronjobs (no change)", lambda i: kube.apply_cronjob(manifests["w-apply"][i]))
        custom.create_namespaced_custom_object(
            "assetcron.dev", "v1alpha1", "w-custom", "assetjobs",
            {**job_doc, "metadata": {"name": "weather"}},
        )  # fmt: skip

        def create_schedule(i: int) -> Any:
            body = {**schedule_doc, "metadata": {"name": f"s-{i:04d}"}}
            return custom.create_namespaced_custom_object(
                "assetcron.dev", "v1alpha1", "w-custom", "assetschedules", body,
                _preload_content=False,
            )  # fmt: skip

        phase("POST assetschedules", create_schedule)
        phase(
            "PATCH assetschedules/status",
            lambda i: kube.patch_schedule_status("w-custom", f"s-{i:04d}", status),
        )


if __name__ == "__main__":
    main()
