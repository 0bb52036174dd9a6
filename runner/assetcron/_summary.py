"""The run summary written to the pod's termination message (read by the operator).

Kubernetes keeps at most 4096 bytes of a container's termination message
(``terminationMessagePath``; "Determine the Reason for Pod Failure" in the Kubernetes
docs), so the summary is compact JSON and, when too big, drops per-asset entries of
outcome Materialized/Reused first (then Skipped, then Failed) and says
``"truncated": true``. Shape (the contract with the operator)::

    {"result": "Succeeded"|"Failed", "runId": str, "scheduledTime": ISO 8601,
     "partitionKey": str|null, "durationSeconds": float,
     "counts": {"materialized": int, "reused": int, "failed": int, "skipped": int},
     "assets": [{"key": "a/b", "outcome": "...", "error": str (Failed only, <= 200 chars)}]}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "MAX_ERROR_CHARS",
    "MAX_SUMMARY_BYTES",
    "AssetOutcome",
    "Outcome",
    "build_summary",
    "encode_summary",
    "write_termination_log",
]

#: Kubernetes' limit on a termination message, in bytes.
MAX_SUMMARY_BYTES = 4096
#: Longest error text kept per failed asset.
MAX_ERROR_CHARS = 200

Outcome = Literal["Materialized", "Reused", "Failed", "Skipped"]
_DROP_ORDER: tuple[Outcome, ...] = ("Materialized", "Reused", "Skipped", "Failed")


@dataclass(frozen=True)
class AssetOutcome:
    """What happened to one asset in a run; ``duration`` in seconds, ``error`` one line."""

    key: str
    outcome: Outcome
    duration: float = 0.0
    error: str | None = None


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"


def build_summary(
    *,
    run_id: str,
    scheduled_time: datetime,
    partition_key: str | None,
    duration_seconds: float,
    outcomes: Sequence[AssetOutcome],
) -> dict[str, Any]:
    """The summary dict (contract shape above) for a finished run."""
    counts = {"materialized": 0, "reused": 0, "failed": 0, "skipped": 0}
    assets: list[dict[str, str]] = []
    for o in outcomes:
        counts[o.outcome.lower()] += 1
        entry = {"key": o.key, "outcome": o.outcome}
        if o.outcome == "Failed":
            entry["error"] = _short(o.error or "failed")
        assets.append(entry)
    return {
        "result": "Failed" if counts["failed"] or counts["skipped"] else "Succeeded",
        "runId": run_id,
        "scheduledTime": scheduled_time.isoformat(),
        "partitionKey": partition_key,
        "durationSeconds": round(duration_seconds, 3),
        "counts": counts,
        "assets": assets,
    }


def _dump(summary: dict[str, Any]) -> str:
    return json.dumps(summary, separators=(",", ":"), ensure_ascii=False)


def encode_summary(summary: dict[str, Any], limit: int = MAX_SUMMARY_BYTES) -> str:
    """Compact JSON of ``summary`` within ``limit`` bytes (UTF-8).

    Drops ``assets`` entries (Materialized/Reused first, Failed last, later entries
    before earlier ones) and sets ``"truncated": true`` until it fits.
    """
    text = _dump(summary)
    if len(text.encode()) <= limit:
        return text
    trimmed = dict(summary, truncated=True)
    assets: list[dict[str, str]] = list(summary.get("assets", []))
    for outcome in _DROP_ORDER:
        while any(a["outcome"] == outcome for a in assets):
            last = max(i for i, a in enumerate(assets) if a["outcome"] == outcome)
            del assets[last]
            trimmed["assets"] = assets
            text = _dump(trimmed)
            if len(text.encode()) <= limit:
                return text
    return _dump(trimmed)


def write_termination_log(path: str | Path, summary: dict[str, Any]) -> None:
    """Write ``encode_summary(summary)`` to ``path`` (the container's
    terminationMessagePath), replacing its content."""
    Path(path).write_text(encode_summary(summary), encoding="utf-8")
