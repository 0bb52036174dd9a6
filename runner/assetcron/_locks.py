"""Partition locks: runs that write the same asset partition never interleave.

A lock is an object ``locks/<key part>/.../<partition or __unpartitioned__>.lock`` in the
storage (:mod:`assetcron._storage`), created with ``put(mode="create")``: an S3
``If-None-Match: *`` put (likewise on GCS and Azure), an exclusive create on a local
directory. Its JSON body names the holder::

    {"runId": str, "holder": "<hostname>/<pid>", "token": str,
     "acquired": ISO 8601 UTC, "expires": ISO 8601 UTC}

Protocol (:class:`PartitionLocks`):

* A run takes the locks of every asset partition it may write *before* it writes any,
  in one global order (by asset key, then partition), and holds them to its end: no two
  runs interleave writes to a shared partition (so a chain ``a -> b`` stored by
  concurrent runs is consistent), and taking them in one order cannot deadlock.
* A lock that is held is polled (50 ms, doubling to 2 s) until ``wait`` seconds have
  passed; then the assets whose locks could not be had fail, naming the holder's run.
* The holder renews its locks every ``ttl / 3`` seconds (a daemon thread), pushing
  ``expires`` to ``now + ttl``. A lock past its ``expires`` belongs to a dead holder
  (SIGKILL, a lost node) and is taken over: with a conditional put on the e-tag read
  (``put(mode={"e_tag": ...})``, S3 ``If-Match``; the memory store), so of several
  contenders exactly one wins. A local directory has no conditional put: the stale lock
  is renamed to a name only this run uses (``rename(2)``), checked to be the one judged
  stale, and put back when it is not; a third run creating the lock within that
  microsecond window could share it. A lock with an unreadable body expires ``ttl``
  seconds after it was last modified.
* Before storing a value the holder checks its lock is still its own (a renewal found it
  taken over, or it could not be renewed before it expired) and fails the asset if not.
* Locks are released at the end of the run, also on failures and SIGTERM: read, and
  deleted when the token is still this run's. Object stores have no conditional delete,
  so a lock that expired (renewals failed for ``ttl``) and was taken over between that
  read and the delete would be deleted too; renewal keeps that from happening unless
  the storage was unreachable for ``ttl`` seconds.

Expiry compares the holder's clock with the reader's: keep ``ttl`` well above the clock
skew between nodes (NTP keeps it under a second).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from assetcron._errors import AssetcronError
from assetcron._graph import AssetKey
from assetcron._storage import (
    ObjectStorage,
    StorageError,
    StorageIOError,
    describe_error,
    object_parts,
)

if TYPE_CHECKING:
    from obstore import UpdateVersion

__all__ = [
    "DEFAULT_LOCK_TTL",
    "DEFAULT_LOCK_WAIT",
    "ENV_LOCK_TTL",
    "ENV_LOCK_WAIT",
    "LockError",
    "LockInfo",
    "LockLostError",
    "LockTimeoutError",
    "PartitionLocks",
    "lock_path",
]

ENV_LOCK_WAIT = "ASSETCRON_LOCK_WAIT"
ENV_LOCK_TTL = "ASSETCRON_LOCK_TTL"
#: Seconds a run waits for the locks held by another run.
DEFAULT_LOCK_WAIT = 300.0
#: Seconds a lock outlives its holder's last renewal.
DEFAULT_LOCK_TTL = 60.0
_FIRST_POLL, _MAX_POLL = 0.05, 2.0
_log = logging.getLogger("assetcron.locks")

Target = tuple[AssetKey, str | None]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def lock_path(key: AssetKey, partition: str | None) -> str:
    """The object path of the lock of ``key``'s ``partition`` (None = unpartitioned)."""
    return "/".join(("locks", *object_parts(key, partition))) + ".lock"


def _what(key: AssetKey, partition: str | None) -> str:
    return f"{key.to_user_string()!r}" + (f" partition {partition}" if partition else "")


class LockError(AssetcronError):
    """A partition lock could not be had or was lost; fails the asset, not the run."""


class LockTimeoutError(LockError):
    """Another run held the lock for longer than this run would wait; ``holder`` is its
    :class:`LockInfo` (None when the lock was unreadable)."""

    def __init__(self, message: str, holder: LockInfo | None) -> None:
        super().__init__(message)
        self.holder = holder


class LockLostError(LockError):
    """This run's lock was taken over (or expired) before the value was stored."""


@dataclass(frozen=True)
class LockInfo:
    """A lock's body: the holding run, ``holder`` (``hostname/pid``), a ``token`` unique
    to the holding process, and aware UTC ``acquired``/``expires`` times."""

    run_id: str
    holder: str
    token: str
    acquired: datetime
    expires: datetime

    def to_json(self) -> bytes:
        """The lock object's bytes."""
        return json.dumps(
            {
                "runId": self.run_id,
                "holder": self.holder,
                "token": self.token,
                "acquired": self.acquired.isoformat(),
                "expires": self.expires.isoformat(),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> LockInfo:
        """Parse a lock body; raises ``ValueError``/``KeyError``/``TypeError`` for
        anything else."""
        doc: dict[str, Any] = json.loads(data)
        acquired = datetime.fromisoformat(doc["acquired"])
        expires = datetime.fromisoformat(doc["expires"])
        if acquired.tzinfo is None or expires.tzinfo is None:
            raise ValueError("lock times must carry a UTC offset")
        return cls(str(doc["runId"]), str(doc["holder"]), str(doc["token"]), acquired, expires)


def _update_version(e_tag: str, version: str | None) -> UpdateVersion:
    """obstore's put precondition "the object is still at ``e_tag``/``version``"."""
    mode: UpdateVersion = {"e_tag": e_tag}
    if version:
        mode["version"] = version
    return mode


def _parse(data: bytes) -> LockInfo | None:
    try:
        return LockInfo.from_json(data)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


@dataclass
class _Held:
    path: str
    info: LockInfo
    e_tag: str | None
    version: str | None
    lost: str | None = None


class PartitionLocks:
    """The partition locks of one run (see the module docstring for the protocol).

    ``ttl`` and ``wait`` are seconds; ``clock`` gives aware UTC times (lock bodies),
    ``monotonic`` and ``sleep`` measure and spend the wait (inject all three to test
    without waiting). ``renew_every`` (seconds, default ``ttl / 3``; 0 = never) paces
    the renewal thread. ``on_wait(key, partition, holder)`` is called once per lock
    this run finds held by another (``holder`` None when its body is unreadable).
    """

    def __init__(
        self,
        storage: ObjectStorage,
        *,
        run_id: str,
        holder: str | None = None,
        ttl: float = DEFAULT_LOCK_TTL,
        wait: float = DEFAULT_LOCK_WAIT,
        renew_every: float | None = None,
        clock: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[AssetKey, str | None, LockInfo | None], None] | None = None,
    ) -> None:
        if ttl <= 0 or wait < 0:
            raise ValueError("lock ttl must be > 0 and wait >= 0 seconds")
        self.storage = storage
        self.run_id = run_id
        self.holder = holder or f"{os.uname().nodename}/{os.getpid()}"
        self.token = os.urandom(8).hex()
        self.ttl = ttl
        self.wait = wait
        self.renew_every = ttl / 3 if renew_every is None else renew_every
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._on_wait = on_wait
        self._held: dict[Target, _Held] = {}
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # ---------------------------------------------------------------- acquiring
    def _body(self) -> LockInfo:
        now = self._clock()
        return LockInfo(
            self.run_id, self.holder, self.token, now, now + timedelta(seconds=self.ttl)
        )

    def _create(self, target: Target, path: str) -> bool:
        from obstore import exceptions as oe

        info = self._body()
        try:
            result = self.storage.put(path, info.to_json(), mode="create")
        except oe.AlreadyExistsError:
            return False
        except NotImplementedError as exc:
            raise StorageIOError(
                f"storage {self.storage.url} cannot create objects exclusively, so it cannot "
                f"hold partition locks: {describe_error(exc)}"
            ) from None
        self._hold(target, _Held(path, info, result.get("e_tag"), result.get("version")))
        return True

    def _hold(self, target: Target, held: _Held) -> None:
        with self._mutex:
            self._held[target] = held
        if self._renewer is None and self.renew_every > 0:
            self._renewer = threading.Thread(
                target=self._renew_loop, name="assetcron-lock-renewal", daemon=True
            )
            self._renewer.start()

    def _expired(self, info: LockInfo | None, meta: dict[str, Any]) -> bool:
        now = self._clock()
        if info is not None:
            return info.expires <= now
        modified = meta.get("last_modified")
        if not isinstance(modified, datetime):
            return True
        return modified + timedelta(seconds=self.ttl) <= now

    def _take_over(self, target: Target, path: str, seen: bytes, meta: dict[str, Any]) -> bool:
        """Replace the stale lock ``seen`` (read with ``meta``) by ours; False when
        another run changed it first."""
        from obstore import exceptions as oe

        info = self._body()
        if meta.get("e_tag"):
            mode = _update_version(meta["e_tag"], meta.get("version"))
            try:
                result = self.storage.put(path, info.to_json(), mode=mode)
            except oe.PreconditionError:
                return False
            except NotImplementedError:
                pass  # a local directory: no conditional put; move the stale lock aside
            else:
                self._hold(target, _Held(path, info, result.get("e_tag"), result.get("version")))
                return True
        aside = f"{path}.{self.token}.stale"
        try:
            self.storage.rename(path, aside, overwrite=True)  # aside is ours alone
        except FileNotFoundError:
            return False
        moved = self.storage.get(aside)
        if moved is not None and moved[0] != seen:
            # A live lock, created after our read: put it back where it was.
            try:
                self.storage.rename(aside, path, overwrite=False)
            except (FileNotFoundError, oe.AlreadyExistsError):
                self.storage.delete(aside)  # its holder finds it lost at its next renewal
            return False
        self.storage.delete(aside)
        return self._create(target, path)

    def acquire(self, key: AssetKey, partition: str | None, *, deadline: float) -> None:
        """Take the lock of ``key``'s ``partition``, polling until ``deadline`` (a
        ``monotonic`` reading) while another run holds it; taking an expired lock over.
        Raises :class:`LockTimeoutError` naming the holder after the deadline and
        :class:`StorageIOError` when the storage fails."""
        target = (key, partition)
        if target in self._held:
            return
        path = lock_path(key, partition)
        delay = _FIRST_POLL
        told = False
        races = 0  # tries lost to another run's release or take-over, retried at once
        while True:
            if self._create(target, path):
                return
            current = self.storage.get(path)
            if current is None and races < 10:
                races += 1
                continue  # released between our put and our read: try again at once
            data, meta = current or (b"", {})
            info = _parse(data)
            if current is not None and races < 10 and self._expired(info, meta):
                who = f"run {info.run_id} ({info.holder})" if info else "an unreadable lock"
                _log.warning(
                    "taking over the expired lock of %s from %s", _what(key, partition), who
                )
                if self._take_over(target, path, data, meta):
                    return
                races += 1
                continue
            if not told:
                told = True
                if info is not None:
                    _log.info(
                        "waiting for %s: locked by run %s (%s) since %s",
                        _what(key, partition),
                        info.run_id,
                        info.holder,
                        info.acquired.isoformat(),
                    )
                if self._on_wait is not None:
                    self._on_wait(key, partition, info)
            left = deadline - self._monotonic()
            if left <= 0:
                if info is None:
                    msg = f"{_what(key, partition)} is locked ({self.storage.location(path)})"
                else:
                    msg = (
                        f"{_what(key, partition)} is locked by run {info.run_id} "
                        f"({info.holder}, since {info.acquired.isoformat()}, expires "
                        f"{info.expires.isoformat()})"
                    )
                raise LockTimeoutError(
                    f"{msg}; gave up after waiting {self.wait:g} s "
                    f"(${ENV_LOCK_WAIT} sets the wait)",
                    info,
                )
            import random  # only a run that waits for a lock needs it (1.5 ms to import)

            self._sleep(min(left, delay * random.uniform(0.5, 1.0)))  # noqa: S311 - jitter
            delay = min(delay * 2, _MAX_POLL)
            races = 0

    def acquire_all(self, targets: Iterable[Target]) -> dict[Target, AssetcronError]:
        """Take every lock in ``targets`` in one global order (asset key, then partition),
        all within one ``wait``.
        Returns the targets whose lock could not be had, with why (a
        :class:`LockTimeoutError` or a :class:`StorageIOError`); once the wait is spent,
        each remaining lock gets one try."""
        deadline = self._monotonic() + self.wait
        failed: dict[Target, AssetcronError] = {}
        for key, partition in sorted(set(targets), key=lambda t: (t[0].path, t[1] or "")):
            try:
                self.acquire(key, partition, deadline=deadline)
            except (LockTimeoutError, StorageError) as exc:  # StorageIOError, a bad key part
                failed[(key, partition)] = exc
        return failed

    # ---------------------------------------------------------------- holding
    def holds(self, key: AssetKey, partition: str | None) -> bool:
        """Whether this run holds the lock of ``key``'s ``partition``."""
        return (key, partition) in self._held

    def check(self, key: AssetKey, partition: str | None) -> None:
        """Raise :class:`LockLostError` unless this run still holds the lock of ``key``'s
        ``partition`` (as far as the last renewal and the clock tell)."""
        held = self._held.get((key, partition))
        if held is None:
            raise LockLostError(f"{_what(key, partition)}: this run does not hold its lock")
        if held.lost is None and held.info.expires <= self._clock():
            held.lost = "it expired before it could be renewed (is the storage reachable?)"
        if held.lost is not None:
            raise LockLostError(f"lost the lock of {_what(key, partition)}: {held.lost}")

    def _renew(self, held: _Held) -> None:
        from obstore import exceptions as oe

        info = replace(held.info, expires=self._clock() + timedelta(seconds=self.ttl))
        if held.e_tag:
            mode = _update_version(held.e_tag, held.version)
            try:
                result = self.storage.put(held.path, info.to_json(), mode=mode)
            except oe.PreconditionError:
                current = self.storage.get(held.path)
                other = _parse(current[0]) if current else None
                held.lost = (
                    f"taken over by run {other.run_id} ({other.holder})"
                    if other
                    else ("it was deleted by another run")
                )
                return
            except NotImplementedError:
                held.e_tag = None  # a local directory: compare tokens, then overwrite
            else:
                held.info, held.e_tag = info, result.get("e_tag")
                held.version = result.get("version")
                return
        current = self.storage.get(held.path)
        other = _parse(current[0]) if current else None
        if other is None or other.token != self.token:
            who = f"run {other.run_id} ({other.holder})" if other else "another run"
            held.lost = f"taken over by {who}" if current else "it was deleted by another run"
            return
        self.storage.put(held.path, info.to_json())
        held.info = info

    def renew(self) -> None:
        """Push the expiry of every held lock to ``now + ttl`` (what the renewal thread
        does); marks a lock found taken over as lost. Storage failures are logged and
        retried at the next renewal."""
        with self._mutex:
            current = list(self._held.values())
        for held in current:
            if held.lost is not None or self._stop.is_set():
                continue  # releasing: renewing now could bring a deleted lock back
            try:
                self._renew(held)
            except StorageIOError as exc:
                _log.warning("cannot renew the lock %s: %s", held.path, exc)

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.renew_every):
            self.renew()

    def release_all(self) -> None:
        """Stop renewing and delete every lock this run still holds (a lock another run
        took over is left alone). Failures are logged, not raised: a lock left behind
        expires after ``ttl`` seconds."""
        self._stop.set()
        if self._renewer is not None:
            # A renewal stuck in storage retries must not hold up a SIGTERM exit beyond
            # the pod's grace period; it renews nothing once stopped.
            self._renewer.join(timeout=5)
            self._renewer = None
        with self._mutex:
            held, self._held = list(self._held.values()), {}
        for h in held:
            try:
                current = self.storage.get(h.path)
                other = _parse(current[0]) if current else None
                if other is not None and other.token == self.token:
                    self.storage.delete(h.path)
                elif current is not None:
                    _log.warning("not releasing %s: it is no longer this run's", h.path)
            except StorageIOError as exc:
                _log.warning("cannot release the lock %s (it expires by itself): %s", h.path, exc)
        self._stop.clear()

    def __enter__(self) -> PartitionLocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_all()
