"""Storage, records and partition locks on a real S3 server (the dev plane's SeaweedFS).

The ``s3_storage`` fixture yields a storage URL ``s3://assetcron/<unique prefix>`` with
``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``
and ``AWS_ALLOW_HTTP`` set in ``os.environ``; the server must enforce credentials and
support S3 conditional writes (``If-None-Match: *`` and ``If-Match``), which the lock
protocol relies on and these tests check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assetcron import AssetKey, open_storage
from assetcron._locks import LockLostError, LockTimeoutError, PartitionLocks, lock_path
from assetcron._records import RecordStore
from tests.unit.test_locks import (
    Clock,
    assert_runs_did_not_interleave,
    locks_for,
    race_chain,
)

pytestmark = pytest.mark.controlplane

ASSETCRON = str(Path(sys.executable).parent / "assetcron")
MAT = ["asset", "materialize", "--select", "*", "--scheduled-time", "2015-06-02T06:00:00Z"]
A, B = AssetKey("a"), AssetKey("b")
T0 = datetime(2015, 6, 2, 6, tzinfo=UTC)

TERMINATED = """
import os
import signal
from assetcron import Definitions, asset


@asset
def first() -> int:
    return 1


@asset(deps=[first])
def slow() -> None:
    os.kill(os.getpid(), signal.SIGTERM)  # as the kubelet does when the pod is deleted


defs = Definitions(assets=[first, slow])
"""
HARMLESS = TERMINATED.replace("os.kill(", "print(")


def materialize_cli(
    tmp_path: Path, source: str, storage: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    loc = tmp_path / f"loc_{uuid.uuid4().hex}.py"
    loc.write_text(textwrap.dedent(source))
    return subprocess.run(
        [ASSETCRON, *MAT, "-f", str(loc), "--storage", storage],
        capture_output=True,
        text=True,
        check=False,
        env=env if env is not None else dict(os.environ),
        cwd=tmp_path,
        timeout=300,
    )


def test_values_and_records_round_trip(s3_storage: str) -> None:
    storage = open_storage(s3_storage)
    storage.check()
    where = storage.write(A, "2015-06-01", {"x": 1}, "json")
    assert where == f"{s3_storage}/assets/a/2015-06-01.json"
    assert storage.read(A, "2015-06-01") == {"x": 1}
    storage.write(A, "2015-06-01", {"x": 2}, "pickle")
    assert storage.get("assets/a/2015-06-01.json") is None  # no stale twin
    assert storage.read(A, "2015-06-01") == {"x": 2}
    records = RecordStore(storage)
    records.start("r1", "a", "2015-06-01", T0)
    records.finish("r1", "a", "2015-06-01", status="Materialized", when=T0, location=where)
    rec = records.get("r1", "a", "2015-06-01")
    assert rec is not None
    assert (rec.status, rec.location) == ("Materialized", where)
    assert [r.run_id for r in records.history("a")] == ["r1"]


def test_creating_a_lock_is_exclusive_and_a_stale_one_goes_to_one_heir(s3_storage: str) -> None:
    storage = open_storage(s3_storage)
    clock = Clock()
    first = locks_for(storage, "run-1", clock, ttl=60)
    first.acquire(A, None, deadline=0)
    with pytest.raises(LockTimeoutError, match="locked by run run-1"):
        locks_for(storage, "run-2", clock, wait=0).acquire(A, None, deadline=clock.monotonic())
    clock.advance(61)
    path = lock_path(A, None)
    seen = storage.get(path)
    assert seen is not None
    one = locks_for(storage, "run-3", clock, ttl=60)
    two = locks_for(storage, "run-4", clock, ttl=60)
    assert one._take_over((A, None), path, seen[0], seen[1])  # If-Match on the e-tag read
    assert not two._take_over((A, None), path, seen[0], seen[1])
    got = storage.get(path)
    assert got is not None
    assert json.loads(got[0])["runId"] == "run-3"
    first.release_all()  # no longer its lock: left alone
    assert storage.get(path) is not None
    one.release_all()
    assert storage.get(path) is None


def test_renewal_uses_if_match_and_notices_a_take_over(s3_storage: str) -> None:
    storage = open_storage(s3_storage)
    clock = Clock()
    mine = locks_for(storage, "run-1", clock, ttl=60)
    mine.acquire(B, None, deadline=0)
    clock.advance(30)
    mine.renew()
    mine.check(B, None)
    clock.advance(61)
    heir = locks_for(storage, "run-2", clock, ttl=60)
    heir.acquire(B, None, deadline=clock.monotonic())
    mine.renew()
    with pytest.raises(LockLostError, match="taken over by run run-2"):
        mine.check(B, None)
    heir.release_all()


def test_concurrent_runs_of_a_chain_leave_b_consistent_with_a(
    s3_storage: str, tmp_path: Path
) -> None:
    storage = open_storage(s3_storage)
    events = tmp_path / "events.log"
    outcomes = race_chain(s3_storage, storage, [f"run-{i}" for i in range(4)], events, force=True)
    assert all(o == {"a": "Materialized", "b": "Materialized"} for o in outcomes)
    assert_runs_did_not_interleave(events)
    assert len(events.read_text().splitlines()) == 12
    a_value = storage.read(A, None)
    assert storage.read(B, None) == {"a": a_value, "double": 2 * a_value}
    assert list(storage.list_paths("locks/")) == []


def test_sigterm_marks_the_running_asset_interrupted_and_releases_its_locks(
    s3_storage: str, tmp_path: Path
) -> None:
    proc = materialize_cli(tmp_path, TERMINATED, s3_storage)
    assert proc.returncode == 143, proc.stderr
    storage = open_storage(s3_storage)
    statuses = {
        path.split("/")[1]: json.loads(got[0])["status"]
        for path in storage.list_paths("records/")
        if (got := storage.get(path)) is not None
    }
    assert statuses == {"first": "Materialized", "slow": "Interrupted"}
    assert list(storage.list_paths("locks/")) == []


def test_a_missing_bucket_is_bad_input_naming_the_url(s3_storage: str, tmp_path: Path) -> None:
    missing = "s3://assetcron-missing-" + uuid.uuid4().hex[:12] + "/x"
    proc = materialize_cli(tmp_path, HARMLESS, missing)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith(
        f"error: storage {missing}: the bucket does not exist; create it or fix the storage URI"
    )
    assert proc.stderr.count("\n") == 1


def test_rejected_credentials_are_bad_input_in_one_line(s3_storage: str, tmp_path: Path) -> None:
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    proc = materialize_cli(tmp_path, HARMLESS, s3_storage, env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: storage {s3_storage}: ")
    assert "check AWS_SECRET_ACCESS_KEY" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_a_dead_holders_lock_is_taken_over_by_the_next_run(s3_storage: str, tmp_path: Path) -> None:
    storage = open_storage(s3_storage)
    clock = Clock()  # 2015: long expired by the server's and the runner's clock
    dead = PartitionLocks(storage, run_id="dead", clock=clock, renew_every=0, ttl=60)
    dead.acquire(AssetKey("first"), None, deadline=0)
    proc = materialize_cli(tmp_path, HARMLESS, s3_storage)
    assert proc.returncode == 0, proc.stderr
    assert "taking over the expired lock of 'first' from run dead" in proc.stderr
