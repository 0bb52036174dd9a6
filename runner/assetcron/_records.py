"""Materialization records: one small JSON object per (run id, asset key, partition).

Stored beside the values (:mod:`assetcron._storage`) at
``records/<key part>/.../<partition key or __unpartitioned__>/<run id>.json``, written
with one put each, so they work on any object store and on a local directory alike.
A record's status is ``Started``, then ``Materialized``, ``Failed`` or ``Interrupted``
(SIGTERM or Ctrl-C during the asset). The record of an asset partition in a run decides
whether a re-run of that run resumes (Materialized and the value still stored = reuse)
or recomputes. Records are written only by the holder of the partition's lock
(:mod:`assetcron._locks`), so two processes of one run never overwrite each other's.

Object shape (``version`` 1; readers ignore fields they do not know)::

    {"version": 1, "runId": str, "assetKey": "a/b", "partitionKey": str|null,
     "status": "Started"|"Materialized"|"Failed"|"Interrupted",
     "startTime": ISO 8601 UTC, "endTime": ISO 8601 UTC|null, "error": str|null,
     "location": str|null, "inputs": {"<asset key>": str}|null, "dataVersion": str|null,
     "metadata": {...}|null}

``inputs`` (each input's materialization id, as read) and ``dataVersion`` (this
materialization's id) say what produced a value; ``metadata`` is what the asset reported
(``MaterializeResult``/``Output`` metadata, ``context.add_output_metadata``; JSON data,
at most 16 KiB: :mod:`assetcron._results`). Beside the records, one
:class:`CurrentVersion` per asset partition (``versions/<key parts>/<partition>.json``)
says which materialization the stored value is and under which provenance key it was
produced: reuse across runs compares it with the provenance of the run at hand
(:mod:`assetcron._identity`). A record or version that cannot be decoded (hand-edited,
truncated by a broken disk) is treated as absent, with a warning.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from assetcron._graph import AssetKey
from assetcron._storage import ObjectStorage, object_parts

__all__ = [
    "RECORD_STATUSES",
    "CurrentVersion",
    "MaterializationRecord",
    "PartitionState",
    "RecordStore",
]

RECORD_STATUSES = ("Started", "Materialized", "Failed", "Interrupted")
_VERSION = 1
_log = logging.getLogger("assetcron.records")


@dataclass(frozen=True)
class MaterializationRecord:
    """One record; times are aware UTC datetimes, ``partition_key`` None = unpartitioned,
    ``inputs`` maps an input's asset key to its data version (reserved, see above)."""

    run_id: str
    asset_key: str
    partition_key: str | None
    status: str
    start_time: datetime
    end_time: datetime | None = None
    error: str | None = None
    location: str | None = None
    inputs: Mapping[str, str] | None = field(default=None)
    data_version: str | None = None
    metadata: Mapping[str, Any] | None = field(default=None)

    def to_json(self) -> bytes:
        """The stored object (see the module docstring)."""
        doc = {
            "version": _VERSION,
            "runId": self.run_id,
            "assetKey": self.asset_key,
            "partitionKey": self.partition_key,
            "status": self.status,
            "startTime": self.start_time.isoformat(),
            "endTime": self.end_time.isoformat() if self.end_time else None,
            "error": self.error,
            "location": self.location,
            "inputs": dict(self.inputs) if self.inputs is not None else None,
            "dataVersion": self.data_version,
            "metadata": dict(self.metadata) if self.metadata is not None else None,
        }
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: bytes) -> MaterializationRecord:
        """Parse a stored record; raises ``ValueError`` (or ``KeyError``/``TypeError``)
        for anything that is not one."""
        doc: dict[str, Any] = json.loads(data)
        if doc.get("status") not in RECORD_STATUSES:
            raise ValueError(f"unknown status {doc.get('status')!r}")
        end = doc.get("endTime")
        inputs = doc.get("inputs")
        metadata = doc.get("metadata")
        return cls(
            run_id=str(doc["runId"]),
            asset_key=str(doc["assetKey"]),
            partition_key=doc.get("partitionKey"),
            status=doc["status"],
            start_time=datetime.fromisoformat(doc["startTime"]),
            end_time=datetime.fromisoformat(end) if end else None,
            error=doc.get("error"),
            location=doc.get("location"),
            inputs={str(k): str(v) for k, v in inputs.items()} if inputs is not None else None,
            data_version=doc.get("dataVersion"),
            metadata=dict(metadata) if isinstance(metadata, dict) else None,
        )


def record_path(run_id: str, asset_key: str, partition_key: str | None) -> str:
    """The object path of one record (``asset_key`` in user form, ``a/b``)."""
    parts = object_parts(AssetKey.from_user_string(asset_key), partition_key)
    if not run_id or "/" in run_id or run_id in (".", ".."):
        raise ValueError(f"bad run id {run_id!r}")
    return "/".join(("records", *parts, f"{run_id}.json"))


@dataclass(frozen=True)
class CurrentVersion:
    """Which materialization produced the value stored now for one asset partition.

    ``status`` is ``Writing`` from just before a value is written until it is stored,
    then ``Stored``: a run that dies in between leaves ``Writing``, which nobody reuses.
    ``materialization_id`` is unique per materialization (what downstream provenance
    keys name), ``provenance`` the :func:`assetcron._identity.provenance_key` it was
    produced under.
    """

    status: str
    materialization_id: str
    provenance: str
    run_id: str
    location: str | None = None

    def to_json(self) -> bytes:
        """The stored object (``versions/<key parts>/<partition>.json``)."""
        doc = {
            "version": _VERSION,
            "status": self.status,
            "materializationId": self.materialization_id,
            "provenance": self.provenance,
            "runId": self.run_id,
            "location": self.location,
        }
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def version_path(asset_key: str, partition_key: str | None) -> str:
    """The object path of an asset partition's :class:`CurrentVersion`."""
    parts = object_parts(AssetKey.from_user_string(asset_key), partition_key)
    return "/".join(("versions", *parts[:-1], f"{parts[-1]}.json"))


@dataclass(frozen=True)
class PartitionState:
    """What the records say about one asset partition: the latest attempt's record
    (newest by the store's modification time) and whether a value is stored now (its
    :class:`CurrentVersion` says ``Stored``)."""

    latest: MaterializationRecord
    stored: bool


class RecordStore:
    """Materialization records in ``storage`` (see the module docstring). Every method
    may raise :class:`assetcron._storage.StorageIOError` when the storage fails."""

    def __init__(self, storage: ObjectStorage) -> None:
        self.storage = storage

    def close(self) -> None:
        """Nothing to close (kept for callers of the former SQLite store)."""

    def _load(self, path: str) -> MaterializationRecord | None:
        got = self.storage.get(path)
        if got is None:
            return None
        try:
            return MaterializationRecord.from_json(got[0])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            _log.warning(
                "ignoring unreadable record %s (%s: %s); treating it as absent",
                self.storage.location(path),
                type(exc).__name__,
                " ".join(str(exc).split()),
            )
            return None

    def current(self, asset_key: str, partition_key: str | None) -> CurrentVersion | None:
        """The :class:`CurrentVersion` of an asset partition, or ``None`` when none is
        recorded (values stored before versions existed) or it cannot be read."""
        path = version_path(asset_key, partition_key)
        got = self.storage.get(path)
        if got is None:
            return None
        try:
            doc = json.loads(got[0])
            return CurrentVersion(
                status=str(doc["status"]),
                materialization_id=str(doc["materializationId"]),
                provenance=str(doc["provenance"]),
                run_id=str(doc["runId"]),
                location=doc.get("location"),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            _log.warning(
                "ignoring unreadable version %s (%s); the value will be recomputed",
                self.storage.location(path),
                " ".join(str(exc).split()),
            )
            return None

    def set_current(
        self, asset_key: str, partition_key: str | None, version: CurrentVersion
    ) -> None:
        """Store the :class:`CurrentVersion` of an asset partition (one put)."""
        self.storage.put(version_path(asset_key, partition_key), version.to_json())

    def get(
        self, run_id: str, asset_key: str, partition_key: str | None
    ) -> MaterializationRecord | None:
        """The record of ``asset_key``/``partition_key`` in run ``run_id``, if any (an
        unreadable one counts as none)."""
        return self._load(record_path(run_id, asset_key, partition_key))

    def put(self, record: MaterializationRecord) -> None:
        """Store ``record``, replacing the run's previous record of that partition."""
        path = record_path(record.run_id, record.asset_key, record.partition_key)
        self.storage.put(path, record.to_json())

    def start(self, run_id: str, asset_key: str, partition_key: str | None, when: datetime) -> None:
        """Record that a materialization started at ``when`` (UTC)."""
        self.put(MaterializationRecord(run_id, asset_key, partition_key, "Started", when))

    def finish(
        self,
        run_id: str,
        asset_key: str,
        partition_key: str | None,
        *,
        status: str,
        when: datetime,
        error: str | None = None,
        location: str | None = None,
        inputs: Mapping[str, str] | None = None,
        data_version: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the outcome (``Materialized``, ``Failed`` or ``Interrupted``) at
        ``when`` (UTC), keeping the start time of the ``Started`` record (``when`` when
        there is none); ``inputs`` (input asset key -> materialization id read) and
        ``data_version`` (this materialization's id) say what produced the value;
        ``metadata`` is what the asset reported."""
        if status not in RECORD_STATUSES[1:]:
            raise ValueError(f"not a final status: {status!r}")
        started = self.get(run_id, asset_key, partition_key)
        base = started or MaterializationRecord(run_id, asset_key, partition_key, status, when)
        self.put(
            replace(
                base,
                status=status,
                end_time=when,
                error=error,
                location=location,
                inputs=dict(inputs) if inputs is not None else base.inputs,
                data_version=data_version or base.data_version,
                metadata=dict(metadata) if metadata is not None else base.metadata,
            )
        )

    def history(
        self, asset_key: str, partition_key: str | None = None
    ) -> list[MaterializationRecord]:
        """Every record of ``asset_key`` (optionally one partition), newest start first.
        Lists the key's records folder, so it costs one read per record."""
        key = AssetKey.from_user_string(asset_key)
        prefix = "/".join(("records", *object_parts(key, partition_key)[:-1])) + "/"
        if partition_key is not None:
            prefix = "/".join(("records", *object_parts(key, partition_key))) + "/"
        found: list[MaterializationRecord] = []
        for path in self.storage.list_paths(prefix):
            if not path.endswith(".json"):
                continue
            rec = self._load(path)
            if rec is None or rec.asset_key != asset_key:
                continue  # a record of a longer key below this one's folder
            if partition_key is not None and rec.partition_key != partition_key:
                continue
            found.append(rec)
        found.sort(key=lambda r: r.start_time, reverse=True)
        return found

    def partition_states(self, asset_key: str) -> dict[str | None, PartitionState]:
        """The :class:`PartitionState` of every partition of ``asset_key`` that has a
        record (``None``: the unpartitioned value). Costs one listing of the key's
        records and two reads per partition (its newest record and its version), not one
        per record."""
        key = AssetKey.from_user_string(asset_key)
        prefix = "/".join(("records", *key.path)) + "/"
        newest: dict[str, tuple[datetime, str]] = {}
        for path, modified in self.storage.list_modified(prefix):
            rest = path[len(prefix) :].split("/")
            if len(rest) != 2 or not rest[1].endswith(".json"):
                continue  # a record of a longer key below this one's folder
            seen = newest.get(rest[0])
            if seen is None or modified > seen[0]:
                newest[rest[0]] = (modified, path)
        out: dict[str | None, PartitionState] = {}
        for _, path in newest.values():
            rec = self._load(path)
            if rec is None or rec.asset_key != asset_key:
                continue
            current = self.current(asset_key, rec.partition_key)
            out[rec.partition_key] = PartitionState(
                rec, current is not None and current.status == "Stored"
            )
        return out
