"""Storage on obstore: values, run records and the storage URI, on a local directory
(obstore's LocalStore, real files) and in memory (obstore's MemoryStore).

S3 is tested against a real server in ``tests/integration/test_storage_s3.py``.
"""

from __future__ import annotations

import json
import logging
import pickle
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from assetcron import AssetKey, ObjectStorage, StorageError, open_storage
from assetcron._records import MaterializationRecord, RecordStore, record_path
from assetcron._storage import MissingValueError, StorageIOError, describe_error

T0 = datetime(2015, 6, 2, 6, tzinfo=UTC)
A = AssetKey(["weather", "daily"])


@pytest.fixture(params=["local", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStorage:
    if request.param == "local":
        return ObjectStorage.local(tmp_path / "store")
    return ObjectStorage.in_memory()


def test_values_round_trip_in_both_formats(storage: ObjectStorage) -> None:
    assert not storage.exists(A, "2015-06-01")
    with pytest.raises(MissingValueError, match=r"'weather/daily' \(partition 2015-06-01\)"):
        storage.read(A, "2015-06-01")
    where = storage.write(A, "2015-06-01", {"day": date(2015, 6, 1), "mm": 1.5}, "json")
    assert where.endswith("assets/weather/daily/2015-06-01.json")
    assert storage.read(A, "2015-06-01") == {"day": "2015-06-01", "mm": 1.5}
    storage.write(A, None, {1, 2}, "pickle")
    assert storage.read(A, None) == {1, 2}
    assert storage.exists(A, None)
    assert storage.exists(A, "2015-06-01")


def test_a_format_change_leaves_no_stale_twin(storage: ObjectStorage) -> None:
    storage.write(A, None, [1], "pickle")
    storage.write(A, None, [2], "json")
    assert storage.get("assets/weather/daily/__unpartitioned__.pickle") is None
    assert storage.read(A, None) == [2]
    storage.write(A, None, [3], "pickle")
    assert storage.get("assets/weather/daily/__unpartitioned__.json") is None
    assert storage.read(A, None) == [3]


def test_unserialisable_values_write_nothing(storage: ObjectStorage) -> None:
    with pytest.raises(TypeError, match="use output_format='pickle'"):
        storage.write(A, None, {"x": object()}, "json")
    with pytest.raises(ValueError, match="unknown output format"):
        storage.write(A, None, 1, "csv")
    assert not storage.exists(A, None)
    assert list(storage.list_paths("assets/")) == []


@pytest.mark.parametrize("part", [".", "..", "a/b", "nul\x00"])
def test_key_parts_that_are_not_one_path_segment_are_refused(
    storage: ObjectStorage, part: str
) -> None:
    with pytest.raises(StorageError, match="bad path part"):
        storage.write(AssetKey(["ok", part]), None, 1, "json")


def test_local_layout_is_the_one_earlier_versions_wrote(tmp_path: Path) -> None:
    # A store written before obstore: its values are read as they are.
    old = tmp_path / "assets" / "weather" / "daily"
    old.mkdir(parents=True)
    (old / "2015-06-01.json").write_text(json.dumps({"old": True}))
    (old / "__unpartitioned__.pickle").write_bytes(pickle.dumps("old"))
    (tmp_path / "records.sqlite3").write_bytes(b"SQLite format 3\x00")  # ignored now
    storage = open_storage(str(tmp_path))
    assert storage.read(A, "2015-06-01") == {"old": True}
    assert storage.read(A, None) == "old"
    storage.write(A, "2015-06-02", 7, "pickle")
    assert pickle.loads((old / "2015-06-02.pickle").read_bytes()) == 7
    assert not [p for p in tmp_path.rglob("*") if "#" in p.name], "staging files left"


def test_a_value_that_cannot_be_decoded_says_where_and_what_to_do(tmp_path: Path) -> None:
    storage = ObjectStorage.local(tmp_path)
    path = tmp_path / "assets" / "weather" / "daily" / "2015-06-01.pickle"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a pickle")
    with pytest.raises(StorageIOError, match="re-materialize 'weather/daily' with --force") as e:
        storage.read(A, "2015-06-01")
    assert str(path) in str(e.value)


def test_open_storage_accepts_paths_file_uris_and_object_store_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASSETCRON_SCRATCH", raising=False)
    by_path = open_storage(str(tmp_path / "a"))
    assert by_path.is_local
    assert by_path.local_root == tmp_path / "a"
    assert (tmp_path / "a").is_dir()  # created on open
    assert by_path.root == tmp_path / "a"  # assets' own files go beside the values
    by_uri = open_storage((tmp_path / "b").as_uri())
    assert by_uri.local_root == tmp_path / "b"
    # A remote URL is parsed without any request (check() makes the first).
    s3 = open_storage("s3://bucket/some/prefix")
    assert not s3.is_local
    assert s3.location("assets/a/x.json") == "s3://bucket/some/prefix/assets/a/x.json"
    # Assets' own files go to a writable local directory: the temporary one by default
    # (a pod's root file system is read-only), or $ASSETCRON_SCRATCH (a volume).
    assert s3.root == Path(tempfile.gettempdir()) / "assetcron-scratch"
    monkeypatch.setenv("ASSETCRON_SCRATCH", str(tmp_path / "files"))
    assert open_storage("s3://bucket/some/prefix").root == tmp_path / "files"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("ftp://host/x", "unsupported storage URI"),
        ("memory:///", "unsupported storage URI"),
        ("https://example.org/x", "unsupported storage URI"),
        ("s3:///prefix", "names no bucket"),
    ],
)
def test_open_storage_refuses_what_it_cannot_use(uri: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        open_storage(uri)


def test_open_storage_refuses_a_file_and_an_uncreatable_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="exists and is not a directory"):
        open_storage(str(tmp_path / "file"))
    with pytest.raises(StorageError, match="cannot create storage directory"):
        open_storage(str(tmp_path / "file" / "below"))


def test_describe_error_keeps_one_line_and_says_what_to_do() -> None:
    from obstore.exceptions import GenericError

    exc = GenericError(
        "Generic LocalFileSystem error: Unable to write /s/x#1: No space left on device "
        "(os error 28)\n\nDebug source:\nGeneric {...}"
    )
    text = describe_error(exc)
    assert "\n" not in text
    assert text.startswith("no space left on the storage volume; free space or enlarge it")
    assert "Debug source" not in text
    s3 = GenericError(
        "Generic S3 error: Error performing list request: ... 403 Forbidden: <?xml "
        'version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>'
        "The request signature we calculated does not match</Message></Error>\n\nDebug source:"
    )
    assert describe_error(s3) == (
        "the credentials were not accepted; check AWS_SECRET_ACCESS_KEY "
        "(SignatureDoesNotMatch: The request signature we calculated does not match)"
    )


# ---------------------------------------------------------------- records


def test_records_go_through_their_states(storage: ObjectStorage) -> None:
    records = RecordStore(storage)
    assert records.get("run-1", "weather/daily", "2015-06-01") is None
    records.start("run-1", "weather/daily", "2015-06-01", T0)
    rec = records.get("run-1", "weather/daily", "2015-06-01")
    assert rec is not None
    assert (rec.status, rec.start_time, rec.end_time) == ("Started", T0, None)
    end = T0 + timedelta(seconds=3)
    records.finish(
        "run-1", "weather/daily", "2015-06-01", status="Materialized", when=end, location="L"
    )
    rec = records.get("run-1", "weather/daily", "2015-06-01")
    assert rec is not None
    assert (rec.status, rec.start_time, rec.end_time, rec.location) == (
        "Materialized",
        T0,
        end,
        "L",
    )
    with pytest.raises(ValueError, match="not a final status"):
        records.finish("run-1", "weather/daily", None, status="Started", when=end)


def test_one_record_object_per_run_key_and_partition(tmp_path: Path) -> None:
    storage = ObjectStorage.local(tmp_path)
    records = RecordStore(storage)
    records.start("r1", "weather/daily", "2015-06-01", T0)
    records.start("r2", "weather/daily", "2015-06-01", T0 + timedelta(hours=1))
    records.start("r1", "weather/daily", None, T0)
    records.start("r1", "weather", None, T0)  # a shorter key: its folder holds the longer one's
    found = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json"))
    assert found == [
        "records/weather/__unpartitioned__/r1.json",
        "records/weather/daily/2015-06-01/r1.json",
        "records/weather/daily/2015-06-01/r2.json",
        "records/weather/daily/__unpartitioned__/r1.json",
    ]
    history = records.history("weather/daily")
    assert next((r.run_id, r.partition_key) for r in history) == ("r2", "2015-06-01")
    assert len(history) == 3
    assert [r.run_id for r in records.history("weather/daily", "2015-06-01")] == ["r2", "r1"]
    assert [r.asset_key for r in records.history("weather")] == ["weather"]


def test_records_keep_room_for_provenance_and_ignore_unknown_fields(
    storage: ObjectStorage,
) -> None:
    records = RecordStore(storage)
    rec = MaterializationRecord(
        "r", "a", None, "Materialized", T0, T0, inputs={"up": "v1"}, data_version="v2"
    )
    records.put(rec)
    assert records.get("r", "a", None) == rec
    doc = json.loads(rec.to_json())
    doc["somethingNew"] = {"from": "a later version"}
    storage.put(record_path("r", "a", None), json.dumps(doc).encode())
    assert records.get("r", "a", None) == rec


@pytest.mark.parametrize(
    "body", [b"", b"{not json", b"[]", b'{"status": "Exploded"}', b'{"status": "Started"}']
)
def test_an_unreadable_record_counts_as_absent_with_a_warning(
    storage: ObjectStorage, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    records = RecordStore(storage)
    storage.put(record_path("r", "a", "2015-06-01"), body)
    with caplog.at_level(logging.WARNING, logger="assetcron.records"):
        assert records.get("r", "a", "2015-06-01") is None
        assert records.history("a") == []
    assert "ignoring unreadable record" in caplog.text
    assert "records/a/2015-06-01/r.json" in caplog.text
    # The next run writes over it as if it was never there.
    records.start("r", "a", "2015-06-01", T0)
    rec = records.get("r", "a", "2015-06-01")
    assert rec is not None
    assert rec.status == "Started"


def test_obstore_is_imported_only_when_a_run_uses_the_storage() -> None:
    import subprocess
    import sys

    code = (
        "import sys, assetcron, assetcron.cli, assetcron._materialize\n"
        "assert 'obstore' not in sys.modules, 'imported with the package'\n"
        "assetcron.open_storage('s3://bucket/prefix')\n"
        "assert 'obstore' in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
