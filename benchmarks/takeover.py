"""How long is the operator gone when its active replica dies? Prints figures; asserts nothing.

Two ``assetcron-operator`` processes with leader election (the chart's two replicas, run
here as local processes of the same code) watch one namespace of a control plane
(``$KUBECONFIG`` if set, else a fresh local one from :mod:`assetcron_dev.plane`, API only:
no pod runs). Each round:

1. ``kill``: the leader gets SIGKILL (what a lost node or an OOM kill amounts to for the
   Lease: renewals stop and nothing is released), an AssetSchedule is created at once,
   and two times are taken from the kill: until another process holds the Lease, and
   until the new schedule's CronJob exists (the new leader acts);
2. ``term``: the same with SIGTERM (a rolling update, a drain, ``kubectl delete pod``),
   where the leader releases the Lease before exiting.

The killed process is restarted after each round, and the next round waits until it
stands by (a process that starts after the kill first sees the Lease then, and waits a
whole ``leaseDuration`` from there). Expect ``kill`` near
``leaseDuration`` + up to two ``retryPeriod`` + the operator's start, and ``term`` near
``retryPeriod`` + the start.

Usage: ``python benchmarks/takeover.py [--rounds N] [--lease-duration S]
[--renew-deadline S] [--retry-period S]`` (defaults: 3 rounds, client-go's 15/10/2 s,
as the chart).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "examples" / "weather" / "manifests"
LEASE = "assetcron-bench-leader"

# The plane and the polling are reconcile.py's (this directory is on sys.path when a
# benchmark runs as a script).
from reconcile import _free_port, control_plane, install_crds, wait_until  # noqa: E402


class Replica:
    """One ``assetcron-operator`` process with leader election on."""

    def __init__(self, index: int, env: dict[str, str], logs: Path) -> None:
        self.index = index
        self.env = env
        self.log = logs / f"replica-{index}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(
            self.env,
            POD_NAME=f"replica-{self.index}",
            ASSETCRON_LIVENESS_ENDPOINT=f"http://127.0.0.1:{_free_port()}/healthz",
        )
        exe = Path(sys.executable).parent / "assetcron-operator"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([str(exe)], env=env, stdout=log, stderr=log)

    def standing_by(self) -> bool:
        """True once this process has seen the Lease held by the other one."""
        return "standing by" in self.log.read_text(errors="replace")

    def stop(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)
        self.proc = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per way of dying")
    parser.add_argument("--lease-duration", type=float, default=15.0)
    parser.add_argument("--renew-deadline", type=float, default=10.0)
    parser.add_argument("--retry-period", type=float, default=2.0)
    args = parser.parse_args()

    from kubernetes import client, config

    job_doc = yaml.safe_load((MANIFESTS / "assetjob.yaml").read_text())
    schedule_doc = yaml.safe_load((MANIFESTS / "assetschedule.yaml").read_text())

    with control_plane() as (kubeconfig, kubectl), tempfile.TemporaryDirectory() as logs:
        env = dict(os.environ, KUBECONFIG=str(kubeconfig))

        def k(*a: str) -> str:
            return subprocess.run(
                [str(kubectl), *a], env=env, check=True, capture_output=True, text=True
            ).stdout

        install_crds(k)
        ns = f"bench-ha-{uuid.uuid4().hex[:6]}"
        k("create", "namespace", ns)
        api = config.new_client_from_config(config_file=str(kubeconfig))
        custom = client.CustomObjectsApi(api)
        batch = client.BatchV1Api(api)
        leases = client.CoordinationV1Api(api)
        custom.create_namespaced_custom_object(
            "assetcron.dev", "v1alpha1", ns, "assetjobs",
            {**job_doc, "metadata": {"name": "weather", "namespace": ns}},
        )  # fmt: skip

        op_env = {
            **{k_: v for k_, v in env.items() if not k_.startswith("ASSETCRON_")},
            "ASSETCRON_WATCH_NAMESPACES": ns,
            "ASSETCRON_LOG_FORMAT": "json",
            "ASSETCRON_LEADER_ELECTION": "true",
            "POD_NAMESPACE": ns,
            "ASSETCRON_LEADER_ELECTION_ID": LEASE,
            "ASSETCRON_LEADER_ELECTION_LEASE_DURATION": str(args.lease_duration),
            "ASSETCRON_LEADER_ELECTION_RENEW_DEADLINE": str(args.renew_deadline),
            "ASSETCRON_LEADER_ELECTION_RETRY_PERIOD": str(args.retry_period),
        }
        replicas = [Replica(i, op_env, Path(logs)) for i in (0, 1)]

        def holder() -> str:
            try:
                lease = leases.read_namespaced_lease(LEASE, ns)
            except client.exceptions.ApiException:
                return ""
            return str(lease.spec.holder_identity or "")

        def cronjob_exists(name: str) -> bool:
            found = batch.list_namespaced_cron_job(
                ns, label_selector=f"assetcron.dev/schedule={name}"
            )
            return bool(found.items)

        def create_schedule(name: str) -> None:
            body = {**schedule_doc, "metadata": {"name": name, "namespace": ns}}
            custom.create_namespaced_custom_object(
                "assetcron.dev", "v1alpha1", ns, "assetschedules", body
            )

        try:
            for replica in replicas:
                replica.start()
            first = wait_until(holder, "a first leader", 60)
            wait_until(lambda: any(r.standing_by() for r in replicas), "a standby", 120)
            create_schedule("warm-up")
            wait_until(lambda: cronjob_exists("warm-up"), "the first CronJob", 60)
            results: dict[str, list[tuple[float, float]]] = {"kill": [], "term": []}
            current = first
            n = 0
            for way, sig in (("kill", signal.SIGKILL), ("term", signal.SIGTERM)):
                for _ in range(args.rounds):
                    n += 1
                    leader = next(r for r in replicas if current.startswith(f"replica-{r.index}_"))
                    # Let the standby observe a few renewals first, as in steady state.
                    time.sleep(args.retry_period * 2)
                    t0 = time.monotonic()
                    leader.stop(sig)
                    name = f"after-{way}-{n}"
                    create_schedule(name)
                    new = wait_until(
                        lambda old=current: (h := holder()) and h != old and h,
                        "a new leader",
                        args.lease_duration * 4 + 60,
                    )
                    lease_s = time.monotonic() - t0
                    wait_until(lambda name=name: cronjob_exists(name), "the new CronJob", 120)
                    act_s = time.monotonic() - t0
                    results[way].append((lease_s, act_s))
                    print(
                        f"{way:4} round {len(results[way])}: Lease taken after {lease_s:5.2f} s,"
                        f" new schedule's CronJob after {act_s:5.2f} s"
                        f" ({current.split('_')[0]} -> {new.split('_')[0]})",
                        flush=True,
                    )
                    current = new
                    leader.log.write_text("")
                    leader.start()  # back as a standby, before the next round
                    wait_until(leader.standing_by, "the restarted replica standing by", 120)
        finally:
            for replica in replicas:
                if replica.proc is not None:
                    replica.stop(signal.SIGTERM)

        print(
            f"\nleaseDuration {args.lease_duration:g} s, renewDeadline {args.renew_deadline:g} s,"
            f" retryPeriod {args.retry_period:g} s; two local replicas, API-only plane"
        )
        for way, label in (("kill", "SIGKILL (no release)"), ("term", "SIGTERM (release)")):
            acts = [a for _, a in results[way]]
            leases_ = [lease for lease, _ in results[way]]
            median = statistics.median(acts)
            print(
                f"{label:22} takeover until the new leader acts: median {median:.2f} s"
                f" (min {min(acts):.2f}, max {max(acts):.2f}); Lease taken: median"
                f" {statistics.median(leases_):.2f} s"
            )
        print(json.dumps({w: [{"lease": a, "acts": b} for a, b in r] for w, r in results.items()}))


if __name__ == "__main__":
    main()
