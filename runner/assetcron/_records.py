"""Materialization records in an embedded SQLite database beside the stored values.

One row per (run id, asset key, partition): status (``Started``, ``Materialized``,
``Failed``), UTC start/end times, the error line and where the value was stored. The
latest row per run decides whether a re-run of the same run resumes (Materialized =
reuse) or recomputes. SQLite is imported on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

__all__ = ["MaterializationRecord", "RecordStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS materializations (
    run_id TEXT NOT NULL,
    asset_key TEXT NOT NULL,
    partition_key TEXT NOT NULL,     -- '' when unpartitioned
    status TEXT NOT NULL,            -- Started | Materialized | Failed
    start_time TEXT NOT NULL,        -- ISO 8601, UTC
    end_time TEXT,                   -- ISO 8601, UTC; NULL while Started
    error TEXT,
    location TEXT,
    PRIMARY KEY (run_id, asset_key, partition_key)
);
CREATE INDEX IF NOT EXISTS materializations_by_asset
    ON materializations (asset_key, partition_key, end_time);
"""


@dataclass(frozen=True)
class MaterializationRecord:
    """One record; times are aware UTC datetimes, ``partition_key`` None = unpartitioned."""

    run_id: str
    asset_key: str
    partition_key: str | None
    status: str
    start_time: datetime
    end_time: datetime | None
    error: str | None
    location: str | None


_COLUMNS = "run_id, asset_key, partition_key, status, start_time, end_time, error, location"


def _record(row: tuple[str, ...]) -> MaterializationRecord:
    return MaterializationRecord(
        run_id=row[0],
        asset_key=row[1],
        partition_key=row[2] or None,
        status=row[3],
        start_time=datetime.fromisoformat(row[4]),
        end_time=datetime.fromisoformat(row[5]) if row[5] else None,
        error=row[6],
        location=row[7],
    )


class RecordStore:
    """Materialization records in ``<path>`` (SQLite, created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            import sqlite3

            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            # WAL with synchronous=NORMAL: commits need no fsync (only checkpoints do) and
            # stay atomic; a crash may lose the last records, never corrupt the file
            # (sqlite.org/wal.html). A lost record only means an asset is recomputed.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def close(self) -> None:
        """Close the database connection (reopened on next use)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get(
        self, run_id: str, asset_key: str, partition_key: str | None
    ) -> MaterializationRecord | None:
        """The record of ``asset_key``/``partition_key`` in run ``run_id``, if any."""
        if not self.path.exists():
            return None
        row = (
            self._db()
            .execute(
                f"SELECT {_COLUMNS} FROM materializations "  # noqa: S608 - constant columns
                "WHERE run_id=? AND asset_key=? AND partition_key=?",
                (run_id, asset_key, partition_key or ""),
            )
            .fetchone()
        )
        return None if row is None else _record(row)

    def start(self, run_id: str, asset_key: str, partition_key: str | None, when: datetime) -> None:
        """Record that a materialization started at ``when`` (UTC)."""
        self._db().execute(
            "INSERT OR REPLACE INTO materializations "
            "(run_id, asset_key, partition_key, status, start_time) VALUES (?,?,?,?,?)",
            (run_id, asset_key, partition_key or "", "Started", when.isoformat()),
        )

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
    ) -> None:
        """Record the outcome (``Materialized`` or ``Failed``) at ``when`` (UTC)."""
        self._db().execute(
            "UPDATE materializations SET status=?, end_time=?, error=?, location=? "
            "WHERE run_id=? AND asset_key=? AND partition_key=?",
            (status, when.isoformat(), error, location, run_id, asset_key, partition_key or ""),
        )

    def history(
        self, asset_key: str, partition_key: str | None = None
    ) -> list[MaterializationRecord]:
        """Every record of ``asset_key`` (optionally one partition), newest first."""
        if not self.path.exists():
            return []
        sql = f"SELECT {_COLUMNS} FROM materializations WHERE asset_key=?"  # noqa: S608
        args: tuple[str, ...] = (asset_key,)
        if partition_key is not None:
            sql += " AND partition_key=?"
            args = (asset_key, partition_key)
        rows = self._db().execute(sql + " ORDER BY start_time DESC", args).fetchall()
        return [_record(r) for r in rows]
