"""Leader election with a ``coordination.k8s.io/v1`` Lease, so replicas can stand by.

With ``ASSETCRON_LEADER_ELECTION=true`` (the chart sets it) ``assetcron-operator`` first
becomes the holder of one Lease and only then starts kopf: a standby replica runs no
handler, builds no index, writes nothing and has no refresh loop; it only polls the Lease
and answers the liveness probe. The semantics are client-go's
(``k8s.io/client-go/tools/leaderelection``), so ``kubectl get lease`` reads as for any
controller:

* the record is the Lease's ``spec``: ``holderIdentity``, ``leaseDurationSeconds``,
  ``acquireTime``, ``renewTime``, ``leaseTransitions`` (MicroTime, RFC 3339 with
  microseconds, UTC);
* a candidate takes the Lease when it is absent, released (empty holder) or **expired**:
  the record has not changed for ``leaseDuration`` seconds *as measured by the
  candidate's own monotonic clock since it last saw it change* (client-go's
  ``observedTime``) — clocks of different nodes are never compared;
* every write is conditional on the ``resourceVersion`` read (optimistic concurrency), so
  of two candidates exactly one wins; the loser sees 409 Conflict and keeps waiting;
* the holder renews every ``retryPeriod`` seconds. When it has not renewed successfully
  for ``renewDeadline`` seconds (counted from the start of its last successful renewal)
  it has lost the lease and must stop acting at once: :func:`leadership` calls
  ``on_lost``, and the CLI exits the process (client-go's convention, ``klog.Fatal`` in
  ``OnStoppedLeading``), so the kubelet restarts it as a standby. Because
  ``renewDeadline < leaseDuration``, the old holder has stopped before any other
  candidate can consider the Lease expired;
* on a clean stop (SIGTERM: rolling update, drain, ``kubectl delete pod``) the holder
  releases the Lease (empty holder, ``leaseDurationSeconds: 1``, client-go's
  ``ReleaseOnCancel``), and a standby takes over within ``retryPeriod``.

Takeover after the holder dies without releasing (SIGKILL, OOM kill, a lost node) is
bounded by ``leaseDuration + retryPeriod`` plus kopf's start (its first listing), about
17-20 s with client-go's defaults (15 s, 10 s, 2 s); ``benchmarks/takeover.py`` prints
it measured.

Why a Lease and not kopf's peering: peering (``KopfPeering`` objects, their own CRDs)
pauses an operator when it sees a peer of *higher priority*; equal priorities pause
each other, and a peer that dies unannounced is forgotten only when its record expires
(``lifetime``, 60 s by default), so a killed leader leaves the others paused for about a
minute. It also keeps the standby's watch streams and handlers running between pauses.
A Lease is the API server's own primitive for exactly this (the controllers of
kube-controller-manager use it), needs no CRD, gives one holder with an optimistic
write, and bounds the takeover by ``leaseDuration``.

Settings (environment, parsed by :meth:`ElectionConfig.from_env`; the chart's
``leaderElection.*`` values):

* ``ASSETCRON_LEADER_ELECTION``: ``true`` / ``false`` (default false: act at once, alone);
* ``ASSETCRON_LEADER_ELECTION_NAMESPACE``: the Lease's namespace (default
  ``POD_NAMESPACE``, from the Downward API);
* ``ASSETCRON_LEADER_ELECTION_ID``: the Lease's name (default ``assetcron-operator``);
* ``ASSETCRON_LEADER_ELECTION_LEASE_DURATION``: seconds a standby waits on a Lease that
  is not renewed (default 15);
* ``ASSETCRON_LEADER_ELECTION_RENEW_DEADLINE``: seconds the holder keeps acting without a
  successful renewal (default 10);
* ``ASSETCRON_LEADER_ELECTION_RETRY_PERIOD``: seconds between attempts (default 2).

The identity is ``<POD_NAME or host name>_<random>``: unique per process, so a restarted
container is a new candidate. It takes a Lease held by an earlier process of its own pod
at once (:func:`is_predecessor`: a pod runs one instance of its container at a time), so
a single replica that crashed is back in charge after its start, not a ``leaseDuration``
later.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import kubernetes

from assetcron_operator.settings import SettingsError

__all__ = [
    "DEFAULT_LEASE_NAME",
    "ElectionConfig",
    "LeaderElector",
    "LeaseRecord",
    "LeaseStore",
    "StandbyHealth",
    "format_micro_time",
    "is_predecessor",
    "leadership",
    "next_record",
]

_log = logging.getLogger("assetcron_operator.leader")

DEFAULT_LEASE_NAME = "assetcron-operator"
#: client-go's ``JitterFactor``: ``renewDeadline`` must exceed ``retryPeriod`` by this much.
JITTER_FACTOR = 1.2
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


# ---------------------------------------------------------------------------- settings
@dataclass(frozen=True, slots=True)
class ElectionConfig:
    """How this process takes part in leader election.

    Attributes:
        enabled: False means "act at once, alone" (one replica; no Lease is touched).
        namespace: namespace of the Lease (the operator's own, from ``POD_NAMESPACE``).
        name: name of the Lease.
        identity: this process's ``holderIdentity``.
        lease_duration: seconds a candidate waits on a Lease that does not change before
            taking it over (``leaseDurationSeconds`` written into the Lease).
        renew_deadline: seconds the holder keeps acting without a successful renewal.
        retry_period: seconds between two attempts to acquire or renew.
        pod_name: ``POD_NAME`` (Downward API) when set: a Lease held by an earlier
            process of this same pod is taken at once (:func:`is_predecessor`).
    """

    enabled: bool = False
    namespace: str = ""
    name: str = DEFAULT_LEASE_NAME
    identity: str = ""
    pod_name: str = ""
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ElectionConfig:
        """Parse the ``ASSETCRON_LEADER_ELECTION*`` variables (default ``os.environ``).

        The durations follow client-go's checks (``NewLeaderElector``):
        ``leaseDuration > renewDeadline > 1.2 * retryPeriod > 0``.

        Raises:
            SettingsError: a value is unusable, or election is on with no namespace.
        """
        env = os.environ if env is None else env
        raw = env.get("ASSETCRON_LEADER_ELECTION", "").strip().lower()
        if raw not in _TRUE + _FALSE:
            msg = f"ASSETCRON_LEADER_ELECTION: expected true or false, got {raw!r}"
            raise SettingsError(msg)
        defaults = cls()
        if raw in _FALSE:
            return defaults
        namespace = (
            env.get("ASSETCRON_LEADER_ELECTION_NAMESPACE", "").strip()
            or env.get("POD_NAMESPACE", "").strip()
        )
        if not namespace:
            msg = (
                "ASSETCRON_LEADER_ELECTION_NAMESPACE: required with leader election"
                " (or POD_NAMESPACE from the Downward API)"
            )
            raise SettingsError(msg)
        name = env.get("ASSETCRON_LEADER_ELECTION_ID", "").strip() or defaults.name
        lease = _seconds(env, "ASSETCRON_LEADER_ELECTION_LEASE_DURATION", defaults.lease_duration)
        renew = _seconds(env, "ASSETCRON_LEADER_ELECTION_RENEW_DEADLINE", defaults.renew_deadline)
        retry = _seconds(env, "ASSETCRON_LEADER_ELECTION_RETRY_PERIOD", defaults.retry_period)
        if not lease > renew:
            msg = (
                "ASSETCRON_LEADER_ELECTION_LEASE_DURATION: must be greater than the renew"
                f" deadline ({lease:g} <= {renew:g})"
            )
            raise SettingsError(msg)
        if not renew > JITTER_FACTOR * retry:
            msg = (
                "ASSETCRON_LEADER_ELECTION_RENEW_DEADLINE: must be greater than"
                f" {JITTER_FACTOR} x the retry period ({renew:g} <= {JITTER_FACTOR * retry:g})"
            )
            raise SettingsError(msg)
        pod_name = env.get("POD_NAME", "").strip()
        base = pod_name or socket.gethostname()
        return cls(
            enabled=True,
            pod_name=pod_name,
            namespace=namespace,
            name=name,
            identity=f"{base}_{uuid.uuid4()}",
            lease_duration=lease,
            renew_deadline=renew,
            retry_period=retry,
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw.removesuffix("s"))
    except ValueError:
        msg = f"{name}: expected seconds, got {raw!r}"
        raise SettingsError(msg) from None
    if not value > 0:
        msg = f"{name}: must be > 0 seconds, got {raw!r}"
        raise SettingsError(msg)
    return value


# ---------------------------------------------------------------------------- the record
def format_micro_time(when: datetime) -> str:
    """A Kubernetes ``MicroTime``: ``2006-01-02T15:04:05.000000Z`` (UTC, 6 fraction digits).

    The API server parses MicroTime with Go's RFC3339Micro layout; Python's isoformat
    drops the fraction when it is zero, which that layout refuses.
    """
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The leader-election record: a Lease's ``spec`` (client-go's ``LeaderElectionRecord``).

    Times are the MicroTime strings as stored (compared for change, never as clocks).
    """

    holder: str = ""
    lease_duration_seconds: int = 0
    acquire_time: str | None = None
    renew_time: str | None = None
    transitions: int = 0

    @classmethod
    def from_lease(cls, lease: Mapping[str, Any]) -> LeaseRecord:
        """Read the record from a Lease object (a JSON dict)."""
        spec = lease.get("spec") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            transitions=int(spec.get("leaseTransitions") or 0),
        )

    def to_spec(self) -> dict[str, Any]:
        """The Lease ``spec`` for this record."""
        return {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.transitions,
        }


def next_record(
    current: LeaseRecord | None, *, identity: str, lease_duration: float, now: datetime
) -> LeaseRecord:
    """The record to write when ``identity`` acquires or renews (client-go's
    ``tryAcquireOrRenew``): a renewal keeps ``acquireTime`` and ``leaseTransitions``; a
    takeover from another (or a released) holder sets ``acquireTime`` and counts one more
    transition; the first record of a new Lease has 0 transitions.
    """
    stamp = format_micro_time(now)
    duration = max(1, round(lease_duration))
    if current is None:
        return LeaseRecord(identity, duration, stamp, stamp, 0)
    if current.holder == identity:
        return replace(current, lease_duration_seconds=duration, renew_time=stamp)
    return LeaseRecord(identity, duration, stamp, stamp, current.transitions + 1)


def is_predecessor(holder: str, *, pod_name: str, identity: str) -> bool:
    """True when ``holder`` is an earlier process of this very pod, which is dead.

    A pod runs one instance of its container at a time: the kubelet starts the next one
    only after the last exited (a crash, ``os._exit`` on a lost lease, a failed liveness
    probe). Its Lease need not be waited out, which shortens the gap a restarted single
    replica leaves from ``leaseDuration`` to its start. Only with ``pod_name`` from the
    Downward API: host names are not unique among processes.
    """
    return bool(pod_name) and holder != identity and holder.startswith(f"{pod_name}_")


def released_record(current: LeaseRecord, *, now: datetime) -> LeaseRecord:
    """The record a holder writes when it steps down (client-go's ``release``): no holder,
    ``leaseDurationSeconds: 1``, both times now, the transition count kept."""
    stamp = format_micro_time(now)
    return LeaseRecord("", 1, stamp, stamp, current.transitions)


# ---------------------------------------------------------------------------- API access
class LeaseConflictError(Exception):
    """The Lease changed (or appeared) since it was read: a 409 from the API server."""


class LeaseStore:
    """Reads and conditionally writes one Lease through the official client.

    Args:
        api_client: a :class:`kubernetes.client.ApiClient`.
        namespace, name: the Lease.
    """

    def __init__(self, api_client: Any, namespace: str, name: str) -> None:
        self._api: Any = kubernetes.client.CoordinationV1Api(api_client)
        self._exc = kubernetes.client.exceptions.ApiException
        self.namespace = namespace
        self.name = name

    def get(self, timeout: float) -> dict[str, Any] | None:
        """The Lease as a JSON dict, or None when it does not exist.

        Raises:
            kubernetes.client.exceptions.ApiException: any other API error.
            urllib3 errors: the API server is unreachable or slower than ``timeout`` s.
        """
        try:
            resp = self._api.read_namespaced_lease(
                self.name, self.namespace, _preload_content=False, _request_timeout=timeout
            )
        except self._exc as exc:
            if exc.status == 404:
                return None
            raise
        return dict(json.loads(resp.data))

    def create(self, record: LeaseRecord, timeout: float) -> dict[str, Any]:
        """Create the Lease holding ``record``.

        Raises:
            LeaseConflictError: it exists already (another candidate was faster).
        """
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": record.to_spec(),
        }
        try:
            resp = self._api.create_namespaced_lease(
                self.namespace, body, _preload_content=False, _request_timeout=timeout
            )
        except self._exc as exc:
            if exc.status == 409:
                raise LeaseConflictError(str(exc.reason)) from None
            raise
        return dict(json.loads(resp.data))

    def update(
        self, lease: Mapping[str, Any], record: LeaseRecord, timeout: float
    ) -> dict[str, Any]:
        """Replace the Lease's record, only if it is still at ``lease``'s resourceVersion.

        Raises:
            LeaseConflictError: the Lease changed meanwhile (409).
        """
        meta = lease.get("metadata") or {}
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "resourceVersion": meta.get("resourceVersion"),
            },
            "spec": record.to_spec(),
        }
        try:
            resp = self._api.replace_namespaced_lease(
                self.name, self.namespace, body, _preload_content=False, _request_timeout=timeout
            )
        except self._exc as exc:
            if exc.status == 409:
                raise LeaseConflictError(str(exc.reason)) from None
            raise
        return dict(json.loads(resp.data))


# ---------------------------------------------------------------------------- the elector
class LeaderElector:
    """One candidate: :meth:`try_acquire_or_renew` is one attempt, as in client-go.

    Args:
        config: the election settings (``enabled`` is not looked at).
        store: the Lease access.
        clock: monotonic seconds (injected for tests; default :func:`time.monotonic`).
        wall: the current UTC time for the record's timestamps.
    """

    def __init__(
        self,
        config: ElectionConfig,
        store: LeaseStore,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.store = store
        self._clock = clock
        self._wall = wall
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        #: Holder seen in the last attempt ("" for none); for logging.
        self.observed_holder = ""

    @property
    def identity(self) -> str:
        """This candidate's ``holderIdentity``."""
        return self.config.identity

    def try_acquire_or_renew(self, timeout: float | None = None) -> bool:
        """One attempt to take or renew the Lease; True when we hold it afterwards.

        False when another holder's record is still valid (it changed less than
        ``lease_duration`` s ago by our clock), or a concurrent write won (409).

        Raises:
            kubernetes.client.exceptions.ApiException, urllib3 errors: the API call
            failed (counts as a failed attempt for the caller).
        """
        timeout = self.config.retry_period if timeout is None else timeout
        lease = self.store.get(timeout)
        now = self._clock()
        if lease is None:
            record = next_record(
                None,
                identity=self.identity,
                lease_duration=self.config.lease_duration,
                now=self._wall(),
            )
            try:
                self.store.create(record, timeout)
            except LeaseConflictError:
                return False
            self._observe(record, now)
            return True
        current = LeaseRecord.from_lease(lease)
        if current != self._observed:
            self._observe(current, now)
        if (
            current.holder
            and current.holder != self.identity
            and self._observed_at + self.config.lease_duration > now
            and not is_predecessor(
                current.holder, pod_name=self.config.pod_name, identity=self.identity
            )
        ):
            return False
        record = next_record(
            current,
            identity=self.identity,
            lease_duration=self.config.lease_duration,
            now=self._wall(),
        )
        try:
            self.store.update(lease, record, timeout)
        except LeaseConflictError:
            return False
        self._observe(record, now)
        return True

    def release(self, timeout: float | None = None) -> bool:
        """Step down if we still hold the Lease; True when released.

        Errors are logged, not raised: the Lease then expires on its own.
        """
        timeout = self.config.retry_period if timeout is None else timeout
        try:
            lease = self.store.get(timeout)
            if lease is None or LeaseRecord.from_lease(lease).holder != self.identity:
                return False
            current = LeaseRecord.from_lease(lease)
            self.store.update(lease, released_record(current, now=self._wall()), timeout)
        except Exception as exc:  # the API in any state; the Lease expires by itself
            _log.warning("could not release the leader lease: %s", exc)
            return False
        return True

    def _observe(self, record: LeaseRecord, now: float) -> None:
        self._observed = record
        self._observed_at = now
        self.observed_holder = record.holder


# ---------------------------------------------------------------------------- standby health
class StandbyHealth:
    """A minimal liveness endpoint while the process waits for the Lease (kopf's own is
    not running yet): ``GET <path>`` answers 200 ``{"leader": false}``.

    Args:
        endpoint: the operator's liveness URL, ``http://HOST:PORT/PATH``
            (``ASSETCRON_LIVENESS_ENDPOINT``); kopf serves the same URL once leading.
    """

    def __init__(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        path = parts.path or "/"

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b'{"leader": false}' if self.path == path else b"not found"
                self.send_response(200 if self.path == path else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # one line per probe would drown the log

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self._server = http.server.ThreadingHTTPServer(
            (parts.hostname or "0.0.0.0", parts.port or 8080),  # noqa: S104
            Handler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="assetcron-standby-health", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and free the port (for kopf's endpoint)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# ---------------------------------------------------------------------------- lifecycle
@contextlib.contextmanager
def leadership(
    config: ElectionConfig,
    *,
    api_client: Any,
    on_lost: Callable[[], None],
    liveness_endpoint: str | None = None,
    stop: threading.Event | None = None,
) -> Iterator[LeaderElector | None]:
    """Block until this process leads, keep renewing while the body runs, release after.

    With ``config.enabled`` false it yields None at once and does nothing else. Otherwise
    it polls every ``retry_period`` s (serving ``liveness_endpoint`` meanwhile, when
    given), then yields the :class:`LeaderElector` while a daemon thread renews the Lease.
    If renewing fails for ``renew_deadline`` s, or another holder is seen, that thread
    calls ``on_lost`` (which must stop the process: the CLI exits). On leaving the body
    normally or by an exception, renewal stops and the Lease is released.

    Args:
        stop: set it to give up waiting (tests); the context then raises TimeoutError.
    """
    if not config.enabled:
        yield None
        return
    elector = LeaderElector(config, LeaseStore(api_client, config.namespace, config.name))
    stop = stop or threading.Event()
    health = StandbyHealth(liveness_endpoint) if liveness_endpoint else None
    try:
        _wait_to_lead(elector, stop)
    finally:
        if health is not None:
            health.close()
    stopping = threading.Event()
    thread = threading.Thread(
        target=_renew_loop,
        args=(elector, stopping, on_lost),
        name="assetcron-leader-renew",
        daemon=True,
    )
    thread.start()
    try:
        yield elector
    finally:
        stopping.set()
        thread.join(timeout=config.retry_period + config.renew_deadline)
        if elector.release():
            _log.info("leader lease released", extra=_lease_extra(elector))


def _lease_extra(elector: LeaderElector) -> dict[str, Any]:
    cfg = elector.config
    return {"lease": f"{cfg.namespace}/{cfg.name}", "identity": cfg.identity}


def _wait_to_lead(elector: LeaderElector, stop: threading.Event) -> None:
    cfg = elector.config
    _log.info(
        "waiting to become the leader",
        extra={
            **_lease_extra(elector),
            "leaseDuration": cfg.lease_duration,
            "renewDeadline": cfg.renew_deadline,
            "retryPeriod": cfg.retry_period,
        },
    )
    reported = None
    while not stop.is_set():
        try:
            if elector.try_acquire_or_renew(timeout=cfg.renew_deadline):
                _log.info("became the leader", extra=_lease_extra(elector))
                return
        except Exception as exc:  # API errors of every kind: retry, as client-go does
            _log.warning("leader election attempt failed: %s", exc, extra=_lease_extra(elector))
        if elector.observed_holder != reported:
            reported = elector.observed_holder
            _log.info(
                "standing by: the lease is held by another replica",
                extra={**_lease_extra(elector), "holder": reported},
            )
        stop.wait(cfg.retry_period)
    msg = "stopped while waiting for the leader lease"
    raise TimeoutError(msg)


def _renew_loop(
    elector: LeaderElector, stopping: threading.Event, on_lost: Callable[[], None]
) -> None:
    cfg = elector.config
    last_renewed = time.monotonic()  # the acquisition counts as a renewal
    while not stopping.wait(cfg.retry_period):
        started = time.monotonic()
        # One attempt may use all the time left before the deadline (client-go bounds
        # the attempts by the renew deadline, not by the retry period): a slow API server
        # answering in 3 s is no reason to give up a lease for 10.
        remaining = cfg.renew_deadline - (started - last_renewed)
        try:
            ok = elector.try_acquire_or_renew(timeout=max(0.5, remaining))
        except Exception as exc:  # a failed attempt; the deadline decides
            _log.warning("leader lease renewal failed: %s", exc, extra=_lease_extra(elector))
            ok = False
        if ok:
            last_renewed = started
            continue
        if stopping.is_set():
            return
        taken = elector.observed_holder not in ("", elector.identity)
        if taken or time.monotonic() - last_renewed >= cfg.renew_deadline:
            _log.critical(
                "leader lease lost: stopping",
                extra={
                    **_lease_extra(elector),
                    "holder": elector.observed_holder,
                    "secondsSinceRenewal": round(time.monotonic() - last_renewed, 3),
                },
            )
            on_lost()
            return
