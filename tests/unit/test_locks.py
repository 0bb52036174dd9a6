"""Partition locks on a local directory (obstore's LocalStore, real files) and in memory
(obstore's MemoryStore): exclusion, waiting, take-over of a dead holder's lock, renewal,
release, and runs of a chain that never interleave (processes on one directory).

Time is injected (clock, monotonic, sleep), so nothing here waits on the wall clock.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from assetcron import AssetKey, Definitions, ObjectStorage, asset, plan
from assetcron._locks import (
    LockInfo,
    LockLostError,
    LockTimeoutError,
    PartitionLocks,
    lock_path,
)
from assetcron._materialize import materialize, validate_run_config
from assetcron._records import RecordStore

T0 = datetime(2015, 6, 2, 6, tzinfo=UTC)
A = AssetKey("a")
B = AssetKey("b")


class Clock:
    """A wall clock and a monotonic clock that move only when slept on."""

    def __init__(self) -> None:
        self.now = T0
        self.mono = 0.0
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.now += timedelta(seconds=seconds)


@pytest.fixture(params=["local", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    if request.param == "local":
        return ObjectStorage.local(tmp_path / "store")
    return ObjectStorage.in_memory()


def locks_for(storage: ObjectStorage, run_id: str, clock: Clock, **kw: Any) -> PartitionLocks:
    return PartitionLocks(
        storage,
        run_id=run_id,
        holder=f"pod-{run_id}",
        clock=clock,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        renew_every=0,
        **kw,
    )


def body(storage: ObjectStorage, key: AssetKey, part: str | None) -> dict[str, Any] | None:
    got = storage.get(lock_path(key, part))
    return None if got is None else json.loads(got[0])


def test_a_lock_names_its_holder_and_excludes_others(storage: ObjectStorage) -> None:
    clock = Clock()
    first = locks_for(storage, "run-1", clock, ttl=60)
    first.acquire(A, "2015-06-01", deadline=0)
    assert body(storage, A, "2015-06-01") == {
        "runId": "run-1",
        "holder": "pod-run-1",
        "token": first.token,
        "acquired": "2015-06-02T06:00:00+00:00",
        "expires": "2015-06-02T06:01:00+00:00",
    }
    second = locks_for(storage, "run-2", clock, wait=0)
    with pytest.raises(LockTimeoutError) as exc:
        second.acquire(A, "2015-06-01", deadline=clock.monotonic())
    assert "'a' partition 2015-06-01 is locked by run run-1 (pod-run-1, since 2015-06-02T06:00" in (
        str(exc.value)
    )
    assert "$ASSETCRON_LOCK_WAIT" in str(exc.value)
    assert exc.value.holder is not None
    assert exc.value.holder.run_id == "run-1"
    second.acquire(A, "2015-06-02", deadline=0)  # another partition is another lock
    second.acquire(A, None, deadline=0)
    first.release_all()
    assert body(storage, A, "2015-06-01") is None
    assert body(storage, A, None) is not None  # second's, untouched
    second.release_all()
    assert list(storage.list_paths("locks/")) == []


def test_the_second_run_waits_with_growing_polls_then_gives_up(storage: ObjectStorage) -> None:
    clock = Clock()
    locks_for(storage, "run-1", clock, ttl=3600).acquire(A, None, deadline=0)
    waited: list[tuple[AssetKey, str | None, str | None]] = []
    second = locks_for(
        storage,
        "run-2",
        clock,
        wait=30,
        on_wait=lambda k, p, h: waited.append((k, p, h.run_id if h else None)),
    )
    failed = second.acquire_all([(A, None)])
    assert waited == [(A, None, "run-1")]  # told once, not per poll
    assert isinstance(failed[A, None], LockTimeoutError)
    assert sum(clock.slept) == pytest.approx(30)
    assert max(clock.slept) <= 2.0
    assert len(clock.slept) > 10  # polled, with growing pauses (50 ms doubling to 2 s)


def test_a_lock_released_during_the_wait_is_taken(storage: ObjectStorage) -> None:
    clock = Clock()
    first = locks_for(storage, "run-1", clock, ttl=3600)
    first.acquire(A, None, deadline=0)

    def sleep_then_release(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 3:
            first.release_all()

    second = PartitionLocks(
        storage,
        run_id="run-2",
        clock=clock,
        monotonic=clock.monotonic,
        sleep=sleep_then_release,
        renew_every=0,
        wait=30,
    )
    assert second.acquire_all([(A, None)]) == {}
    assert len(clock.slept) == 3
    lock = body(storage, A, None)
    assert lock is not None
    assert lock["runId"] == "run-2"


def test_an_expired_lock_is_taken_over_and_its_old_holder_finds_out(
    storage: ObjectStorage,
) -> None:
    clock = Clock()
    dead = locks_for(storage, "run-1", clock, ttl=60)
    dead.acquire(A, None, deadline=0)
    clock.advance(61)  # the holder stopped renewing: SIGKILL, a lost node
    heir = locks_for(storage, "run-2", clock, ttl=60)
    heir.acquire(A, None, deadline=clock.monotonic())  # no wait needed
    lock = body(storage, A, None)
    assert lock is not None
    assert (lock["runId"], lock["token"]) == ("run-2", heir.token)
    heir.check(A, None)
    with pytest.raises(LockLostError, match="lost the lock of 'a'"):
        dead.check(A, None)  # were it alive, it would not store its value
    dead.release_all()  # and it does not release what is no longer its own
    assert body(storage, A, None) == lock
    assert not [p for p in storage.list_paths("locks/") if ".stale" in p]


def test_of_two_runs_taking_over_one_stale_lock_only_one_wins(storage: ObjectStorage) -> None:
    clock = Clock()
    locks_for(storage, "run-0", clock, ttl=60).acquire(A, None, deadline=0)
    clock.advance(61)
    path = lock_path(A, None)
    seen = storage.get(path)
    assert seen is not None
    one = locks_for(storage, "run-1", clock, ttl=60)
    two = locks_for(storage, "run-2", clock, ttl=60)
    # Both read the stale lock; one takes it over first; the other's take-over of what it
    # read must then fail rather than replace a live lock.
    assert one._take_over((A, None), path, seen[0], seen[1])
    assert not two._take_over((A, None), path, seen[0], seen[1])
    lock = body(storage, A, None)
    assert lock is not None
    assert lock["runId"] == "run-1"
    assert list(storage.list_paths("locks/")) == [path]  # nothing left aside


def test_a_lock_with_an_unreadable_body_expires_ttl_after_it_was_written(
    storage: ObjectStorage,
) -> None:
    storage.put(lock_path(A, None), b"garbage")
    clock = Clock()
    clock.now = datetime.now(UTC)
    waiting = locks_for(storage, "run-1", clock, ttl=60, wait=0)
    with pytest.raises(LockTimeoutError, match=r"'a' is locked \(.*a/__unpartitioned__.lock\)"):
        waiting.acquire(A, None, deadline=clock.monotonic())
    clock.advance(61)
    waiting.acquire(A, None, deadline=clock.monotonic())
    assert waiting.holds(A, None)


def test_renewal_pushes_expiry_and_notices_a_take_over(storage: ObjectStorage) -> None:
    clock = Clock()
    mine = locks_for(storage, "run-1", clock, ttl=60)
    mine.acquire(A, None, deadline=0)
    mine.acquire(B, None, deadline=0)
    clock.advance(50)
    mine.renew()
    lock = body(storage, A, None)
    assert lock is not None
    assert lock["expires"] == "2015-06-02T06:01:50+00:00"
    assert lock["acquired"] == "2015-06-02T06:00:00+00:00"
    clock.advance(50)  # within the renewed expiry: nobody may take it
    other = locks_for(storage, "run-2", clock, wait=0)
    with pytest.raises(LockTimeoutError):
        other.acquire(A, None, deadline=clock.monotonic())
    clock.advance(61)  # renewals stopped (storage unreachable): expired
    with pytest.raises(LockLostError, match="expired before it could be renewed"):
        mine.check(A, None)
    other.acquire(B, None, deadline=clock.monotonic())
    mine.renew()
    with pytest.raises(LockLostError, match="taken over by run run-2"):
        mine.check(B, None)


def test_acquire_all_takes_locks_in_one_order_and_reports_each_failure(
    storage: ObjectStorage,
) -> None:
    clock = Clock()
    locks_for(storage, "other", clock, ttl=3600).acquire(B, "p", deadline=0)
    mine = locks_for(storage, "mine", clock, wait=5)
    failed = mine.acquire_all([(B, "p"), (A, "p"), (A, None), (A, "p")])
    assert list(failed) == [(B, "p")]
    assert "locked by run other" in str(failed[B, "p"])
    assert mine.holds(A, "p")
    assert mine.holds(A, None)


def test_a_run_whose_partition_is_locked_fails_that_asset_naming_the_holder(
    tmp_path: Path,
) -> None:
    @asset
    def a() -> int:
        return 1

    @asset
    def b(a: int) -> int:
        return a + 1

    @asset
    def c() -> int:
        return 3

    defs = Definitions(assets=[a, b, c])
    storage = ObjectStorage.local(tmp_path)
    clock = Clock()
    locks_for(storage, "holder-run", clock, ttl=3600).acquire(A, None, deadline=0)
    keys = plan(defs.graph, "*")
    result = materialize(
        defs,
        keys,
        run_id="waiting-run",
        scheduled_time=T0,
        partition_key=None,
        run_config={},
        configs=validate_run_config(defs, keys, {}),
        storage=storage,
        locks=locks_for(storage, "waiting-run", clock, wait=10),
    )
    outcomes = {o.key: (o.outcome, o.error) for o in result.outcomes}
    assert outcomes["a"][0] == "Failed"
    assert "'a' is locked by run holder-run (pod-holder-run" in str(outcomes["a"][1])
    assert outcomes["b"] == ("Skipped", "upstream 'a' did not materialize")
    assert outcomes["c"] == ("Materialized", None)
    records = RecordStore(storage)
    assert records.get("waiting-run", "a", None) is None  # the holder's to write, not ours
    assert not storage.exists(A, None)
    assert [p.name for p in tmp_path.rglob("*.lock")] == ["__unpartitioned__.lock"]  # its own


# ---------------------------------------------------------------- processes

CHAIN_PART = "2015-06-01"


def chain_defs(events: Path) -> Definitions:
    """a (a random number) -> b (derived from a); both append to an event log."""

    def log(line: str) -> None:
        with events.open("a") as fh:  # O_APPEND: one write per line, whole
            fh.write(line + "\n")

    @asset
    def a() -> int:
        log(f"{os.getpid()} start a")
        value = random.randrange(10**12)
        log(f"{os.getpid()} end a")
        return value

    @asset
    def b(a: int) -> dict[str, int]:
        log(f"{os.getpid()} start b")
        return {"a": a, "double": 2 * a}

    return Definitions(assets=[a, b])


def run_chain(
    url: str, run_id: str, events: str, waiting: Any, force: bool = False
) -> dict[str, str]:
    """One process: materialize a -> b with partition locks; returns each outcome."""
    from assetcron import open_storage

    storage = open_storage(url)
    defs = chain_defs(Path(events))
    keys = plan(defs.graph, "*")
    locks = PartitionLocks(
        storage, run_id=run_id, wait=120, on_wait=lambda k, p, h: waiting.put(os.getpid())
    )
    result = materialize(
        defs,
        keys,
        run_id=run_id,
        scheduled_time=T0,
        partition_key=CHAIN_PART,
        run_config={},
        configs=validate_run_config(defs, keys, {}),
        storage=storage,
        locks=locks,
        force=force,
    )
    return {o.key: o.outcome for o in result.outcomes}


def _child(url: str, run_id: str, events: str, queues: tuple[Any, Any], force: bool) -> None:
    waiting, results = queues
    results.put(run_chain(url, run_id, events, waiting, force))


def race_chain(
    url: str, storage: ObjectStorage, run_ids: list[str], events: Path, *, force: bool = False
) -> list[Any]:
    """Start one process per run id while a foreign lock holds ``a``, let them all queue
    behind it, then release it so that they all race; returns their outcomes. With
    ``force`` every run recomputes (as runs whose config differs must)."""
    ctx = multiprocessing.get_context("spawn")  # obstore's runtime does not survive fork
    waiting, results = ctx.Queue(), ctx.Queue()
    blocker = PartitionLocks(storage, run_id="blocker", ttl=3600, renew_every=0)
    blocker.acquire(A, None, deadline=0)
    procs = [
        ctx.Process(target=_child, args=(url, r, str(events), (waiting, results), force))
        for r in run_ids
    ]
    for p in procs:
        p.start()
    try:
        queued = {waiting.get(timeout=120) for _ in procs}  # every process is polling now
        assert len(queued) == len(procs)
        blocker.release_all()
        outcomes = [results.get(timeout=300) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0] * len(procs)
    return outcomes


def assert_runs_did_not_interleave(events: Path) -> None:
    """Every materialization of the chain is ``start a, end a, start b`` by one process,
    never split by another process's lines."""
    lines = events.read_text().splitlines()
    assert lines, "nothing was materialized"
    assert len(lines) % 3 == 0
    for i in range(0, len(lines), 3):
        pids = {line.split()[0] for line in lines[i : i + 3]}
        steps = [line.split(maxsplit=1)[1] for line in lines[i : i + 3]]
        assert steps == ["start a", "end a", "start b"], lines
        assert len(pids) == 1, lines


def test_concurrent_runs_of_a_chain_leave_b_consistent_with_a(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    storage = ObjectStorage.local(url)
    events = tmp_path / "events.log"
    outcomes = race_chain(url, storage, [f"run-{i}" for i in range(4)], events, force=True)
    assert all(o == {"a": "Materialized", "b": "Materialized"} for o in outcomes)
    assert_runs_did_not_interleave(events)
    assert len(events.read_text().splitlines()) == 12  # four whole runs, one after another
    a_value = storage.read(A, None)
    assert storage.read(B, None) == {"a": a_value, "double": 2 * a_value}
    assert list(storage.list_paths("locks/")) == []


def test_concurrent_runs_with_the_same_inputs_compute_once_and_reuse(tmp_path: Path) -> None:
    # Four different runs, same config, inputs and code: the first computes under the
    # locks, the others find a value of the same provenance and reuse it.
    url = str(tmp_path / "store")
    storage = ObjectStorage.local(url)
    events = tmp_path / "events.log"
    outcomes = race_chain(url, storage, [f"run-{i}" for i in range(4)], events)
    counted = Counter(tuple(sorted(o.items())) for o in outcomes)
    assert counted == {
        (("a", "Materialized"), ("b", "Materialized")): 1,
        (("a", "Reused"), ("b", "Reused")): 3,
    }
    assert len(events.read_text().splitlines()) == 3
    a_value = storage.read(A, None)
    assert storage.read(B, None) == {"a": a_value, "double": 2 * a_value}


def test_concurrent_processes_of_one_run_compute_each_asset_once(tmp_path: Path) -> None:
    url = str(tmp_path / "store")
    storage = ObjectStorage.local(url)
    events = tmp_path / "events.log"
    outcomes = race_chain(url, storage, ["same-run"] * 4, events)
    counted = Counter(tuple(sorted(o.items())) for o in outcomes)
    assert counted == {
        (("a", "Materialized"), ("b", "Materialized")): 1,
        (("a", "Reused"), ("b", "Reused")): 3,
    }
    assert_runs_did_not_interleave(events)
    assert len(events.read_text().splitlines()) == 3
    a_value = storage.read(A, None)
    assert storage.read(B, None) == {"a": a_value, "double": 2 * a_value}


def test_lock_info_round_trips_and_refuses_naive_times() -> None:
    info = LockInfo("r", "h/1", "t", T0, T0 + timedelta(seconds=60))
    assert LockInfo.from_json(info.to_json()) == info
    naive = json.loads(info.to_json())
    naive["expires"] = "2015-06-02T06:01:00"
    with pytest.raises(ValueError, match="UTC offset"):
        LockInfo.from_json(json.dumps(naive).encode())


def test_the_renewal_thread_renews_until_released(storage: ObjectStorage) -> None:
    from tests.conftest import poll

    clock = Clock()
    locks = PartitionLocks(storage, run_id="r", clock=clock, ttl=60, renew_every=0.01)
    locks.acquire(A, None, deadline=0)
    clock.advance(30)  # the thread renews to now + ttl: 06:01:30

    def renewed() -> bool:
        lock = body(storage, A, None)
        return lock is not None and lock["expires"] == "2015-06-02T06:01:30+00:00"

    poll(renewed, timeout=60, what="the renewal thread to push the expiry", interval=0.01)
    thread = locks._renewer
    assert thread is not None
    locks.release_all()
    assert not thread.is_alive()
    assert body(storage, A, None) is None


def test_a_key_part_that_cannot_be_a_path_fails_that_lock_only(storage: ObjectStorage) -> None:
    locks = locks_for(storage, "r", Clock())
    failed = locks.acquire_all([(AssetKey(["ok", ".."]), None), (A, None)])
    assert list(failed) == [(AssetKey(["ok", ".."]), None)]
    assert "bad path part '..'" in str(failed[AssetKey(["ok", ".."]), None])
    assert locks.holds(A, None)
