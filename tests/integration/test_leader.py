"""Leader election against the real API server (assetcron_operator.leader).

What each test answers:

* of two candidates exactly one holds the Lease, and the record reads as client-go's
  (holderIdentity, leaseDurationSeconds, acquireTime, renewTime, leaseTransitions);
* a holder that stops renewing (dead) is replaced only after the Lease stayed unchanged
  for leaseDuration by the standby's own clock, and the old holder, if it comes back,
  finds the Lease taken;
* a released Lease is taken at once;
* a holder whose Lease is taken from it calls ``on_lost`` within the renew deadline, and
  :func:`leadership` waits while another holds the Lease.

Two replicas of the chart, with the operator process killed, are in test_chart.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from assetcron_operator.leader import (
    ElectionConfig,
    LeaderElector,
    LeaseRecord,
    LeaseStore,
    leadership,
)
from tests.conftest import PlaneHandle, poll

pytestmark = pytest.mark.controlplane

LEASE, RENEW, RETRY = 3.0, 2.0, 0.5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def namespace(control_plane: PlaneHandle) -> str:
    ns = f"lease-{uuid.uuid4().hex[:6]}"
    control_plane.kubectl("create", "namespace", ns)
    return ns


def _elector(api: Any, namespace: str, who: str, name: str = "op") -> LeaderElector:
    cfg = ElectionConfig(
        enabled=True,
        namespace=namespace,
        name=name,
        identity=f"{who}_{uuid.uuid4().hex[:6]}",
        lease_duration=LEASE,
        renew_deadline=RENEW,
        retry_period=RETRY,
    )
    return LeaderElector(cfg, LeaseStore(api, namespace, name))


def _record(api: Any, namespace: str, name: str = "op") -> LeaseRecord:
    lease = LeaseStore(api, namespace, name).get(5)
    assert lease is not None
    return LeaseRecord.from_lease(lease)


def test_one_holder_and_a_client_go_record(control_plane: PlaneHandle, namespace: str) -> None:
    api = control_plane.api_client()
    a, b = _elector(api, namespace, "a"), _elector(api, namespace, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert b.observed_holder == a.identity
    first = _record(api, namespace)
    assert first.holder == a.identity
    assert first.lease_duration_seconds == 3
    assert first.transitions == 0
    assert first.acquire_time == first.renew_time
    time.sleep(0.01)
    assert a.try_acquire_or_renew()  # renew
    renewed = _record(api, namespace)
    assert renewed.acquire_time == first.acquire_time
    assert renewed.renew_time != first.renew_time
    # kubectl reads the same Lease (MicroTime accepted as written).
    out = control_plane.kubectl("get", "lease", "op", "-n", namespace, "-o", "name").stdout
    assert out.strip() == "lease.coordination.k8s.io/op"


def test_a_dead_holder_is_replaced_after_the_lease_duration(
    control_plane: PlaneHandle, namespace: str
) -> None:
    api = control_plane.api_client()
    a, b = _elector(api, namespace, "a"), _elector(api, namespace, "b")
    assert a.try_acquire_or_renew()
    # `a` dies now: it never renews again. `b` tries every retry period.
    started = time.monotonic()
    assert not b.try_acquire_or_renew()  # first sight of the record starts b's clock
    while not b.try_acquire_or_renew():
        time.sleep(RETRY)
        assert time.monotonic() - started < LEASE + 5, "b never took over"
    waited = time.monotonic() - started
    assert waited >= LEASE, f"b took a valid lease after {waited:.2f}s"
    rec = _record(api, namespace)
    assert rec.holder == b.identity
    assert rec.transitions == 1
    # `a` comes back (a paused process): the Lease is someone else's.
    assert not a.try_acquire_or_renew()
    assert a.observed_holder == b.identity


def test_a_released_lease_is_taken_at_once(control_plane: PlaneHandle, namespace: str) -> None:
    api = control_plane.api_client()
    a, b = _elector(api, namespace, "a"), _elector(api, namespace, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert a.release()
    assert _record(api, namespace).holder == ""
    assert b.try_acquire_or_renew()
    assert _record(api, namespace).holder == b.identity
    assert not a.release()  # not ours any more: nothing written


def test_leadership_waits_renews_and_reports_a_lost_lease(
    control_plane: PlaneHandle, namespace: str
) -> None:
    api = control_plane.api_client()
    other = _elector(api, namespace, "other", name="ctx")
    assert other.try_acquire_or_renew()
    cfg = ElectionConfig(
        enabled=True,
        namespace=namespace,
        name="ctx",
        identity=f"me_{uuid.uuid4().hex[:6]}",
        lease_duration=LEASE,
        renew_deadline=RENEW,
        retry_period=RETRY,
    )
    lost = threading.Event()
    entered = threading.Event()
    leave = threading.Event()

    port = _free_port()
    health = f"http://127.0.0.1:{port}/healthz"

    def run() -> None:
        with leadership(
            cfg, api_client=control_plane.api_client(), on_lost=lost.set, liveness_endpoint=health
        ):
            entered.set()
            leave.wait(60)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    # While `other` renews, we wait.
    for _ in range(int(2 * LEASE / RETRY)):
        assert other.try_acquire_or_renew()
        time.sleep(RETRY)
    assert not entered.is_set()
    # A standby answers the liveness probe itself (kopf is not running yet).
    with urllib.request.urlopen(health, timeout=5) as answer:
        assert answer.status == 200
        assert json.loads(answer.read()) == {"leader": False}
    # `other` stops: we lead after the lease duration, and keep renewing.
    assert entered.wait(LEASE + 5)
    # Leading, the port is free for kopf's own endpoint.
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        urllib.request.urlopen(health, timeout=2).close()
    time.sleep(2 * RENEW)
    assert _record(api, namespace, "ctx").holder == cfg.identity
    assert not lost.is_set()
    # Someone forces the Lease away (as if we had been partitioned past the duration).
    taken = _record(api, namespace, "ctx")
    lease = LeaseStore(api, namespace, "ctx").get(5)
    assert lease is not None
    forced = LeaseRecord("thief", 3, taken.acquire_time, taken.renew_time, taken.transitions + 1)
    LeaseStore(api, namespace, "ctx").update(lease, forced, 5)
    t0 = time.monotonic()
    assert lost.wait(RENEW + RETRY + 2), "on_lost was not called"
    assert time.monotonic() - t0 <= RENEW + RETRY + 1
    leave.set()
    thread.join(10)
    # Leaving does not release a Lease that is not ours.
    assert poll(lambda: _record(api, namespace, "ctx").holder, 5, "holder") == "thief"
