"""``python -m assetcron_operator.healthcheck``: is the installed operator working?

The chart's ``helm test`` hook runs it in a pod of the operator image with the operator's
ServiceAccount (``charts/assetcron/templates/tests/test-operator.yaml``). Checks, each
printed as one ``ok: ...`` line:

1. the API server serves ``assetcron.dev/v1alpha1`` with ``assetjobs`` and
   ``assetschedules`` (discovery, open to every authenticated client);
2. with ``--lease NAMESPACE/NAME``: the leader-election Lease has a holder, and its
   ``renewTime`` advances within ``--timeout`` seconds, i.e. a leader is alive and
   renewing (:mod:`assetcron_operator.leader`; a standby never writes it).

Exit codes: 0 every check passed; 1 a check failed (one ``error: ...`` line on stderr);
2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import kubernetes

from assetcron_operator.kube import make_api_client
from assetcron_operator.leader import LeaseRecord, LeaseStore

__all__ = ["check_api", "check_lease", "main"]

RESOURCES = ("assetjobs", "assetschedules")


class CheckFailedError(Exception):
    """A check failed; ``str()`` is the one-line reason."""


def check_api(api_client: Any, group: str = "assetcron.dev", version: str = "v1alpha1") -> str:
    """The line reporting that ``group/version`` serves :data:`RESOURCES`.

    Raises:
        CheckFailedError: the group/version is not served, or lacks a resource.
    """
    try:
        found = kubernetes.client.CustomObjectsApi(api_client).get_api_resources(group, version)
    except kubernetes.client.exceptions.ApiException as exc:
        msg = (
            f"{group}/{version} is not served ({exc.status} {exc.reason}): are the CRDs installed?"
        )
        raise CheckFailedError(msg) from None
    names = {r.name for r in found.resources or []}
    missing = [r for r in RESOURCES if r not in names]
    if missing:
        msg = f"{group}/{version} does not serve {', '.join(missing)}"
        raise CheckFailedError(msg)
    return f"ok: {group}/{version} serves {', '.join(RESOURCES)}"


def check_lease(api_client: Any, namespace: str, name: str, *, timeout: float) -> str:
    """The line reporting that Lease ``namespace/name`` has a holder that renews it.

    Polls every second for up to ``timeout`` seconds until ``spec.renewTime`` differs
    from its first reading (with the same holder, or a new one).

    Raises:
        CheckFailedError: no such Lease, no holder, or no renewal within ``timeout``.
    """
    store = LeaseStore(api_client, namespace, name)
    lease = store.get(10)
    if lease is None:
        msg = f"lease {namespace}/{name} does not exist: no operator replica has become leader"
        raise CheckFailedError(msg)
    first = LeaseRecord.from_lease(lease)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1)
        lease = store.get(10)
        current = LeaseRecord.from_lease(lease or {})
        if current.holder and current.renew_time != first.renew_time:
            return (
                f"ok: lease {namespace}/{name} held by {current.holder}, renewed"
                f" (renewTime {first.renew_time} -> {current.renew_time})"
            )
    held = f"held by {first.holder}" if first.holder else "released, no holder"
    msg = f"lease {namespace}/{name} ({held}) was not renewed within {timeout:g}s: no leader"
    raise CheckFailedError(msg)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checks; print one line per check. Returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m assetcron_operator.healthcheck",
        description="Check that the assetcron operator is installed and working.",
    )
    parser.add_argument("--lease", metavar="NAMESPACE/NAME", help="the leader-election Lease")
    parser.add_argument(
        "--timeout", type=float, default=25.0, metavar="SECONDS", help="wait for a renewal"
    )
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    lease: tuple[str, str] | None = None
    if args.lease:
        namespace, _, name = args.lease.partition("/")
        if not namespace or not name:
            _say(f"error: --lease: expected NAMESPACE/NAME, got {args.lease!r}", sys.stderr)
            return 2

        lease = (namespace, name)

    try:
        api = make_api_client(pool_size=2)
        _say(check_api(api))
        if lease is not None:
            _say(check_lease(api, *lease, timeout=args.timeout))
    except CheckFailedError as exc:
        _say(f"error: {exc}", sys.stderr)
        return 1
    except Exception as exc:  # no config, API unreachable, 403: one line, not a traceback
        _say(f"error: {type(exc).__name__}: {' '.join(str(exc).split())}", sys.stderr)
        return 1
    return 0


def _say(line: str, stream: TextIO = sys.stdout) -> None:
    stream.write(line + "\n")
    stream.flush()


if __name__ == "__main__":
    raise SystemExit(main())
