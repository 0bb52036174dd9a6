"""The run summary written to the pod's termination message (read by the operator).

Kubernetes keeps at most 4096 bytes of a container's termination message
(``terminationMessagePath``; "Determine the Reason for Pod Failure" in the Kubernetes
docs), so the summary is compact JSON and, when too big, drops per-asset entries of
outcome Materialized/Reused first (then Skipped, then Failed) and says
``"truncated": true``. Shape (the contract with the operator)::

    {"result": "Succeeded"|"Failed", "runId": str|null, "scheduledTime": ISO 8601|null,
     "partitionKey": str|null, "durationSeconds": float,
     "counts": {"materialized": int, "reused": int, "failed": int, "skipped": int},
     "assets": [{"key": "a/b", "outcome": "...", "error": str (Failed only, <= 200 chars),
                 "metadata": {...} (Materialized only, when its JSON is <= 200 chars)}],
     "checks": [{"asset": "a/b", "name": str, "outcome": "Passed"|"Failed"|"Errored",
                 "severity": "ERROR"|"WARN" (not Passed), "blocking": true (if so),
                 "message": str (not Passed, when there is one, <= 200 chars)}]
               (only when the run executed asset checks),
     "message": str (<= 500 chars; only when the run stopped early, see below)}

``checks`` are the asset checks the run executed (``@asset_check``). As in Dagster, a
failed check does not fail the run unless it is blocking with severity ERROR; a check
that raised (``Errored``) does; either makes ``result`` ``Failed``, the counts stay
about assets.

``metadata`` is what an asset reported (``MaterializeResult`` / ``Output``), kept only
when small; the record of the materialization always has it. ``message`` says, in one
line, why a run stopped before going through its plan: bad input (the runner's exit 2,
e.g. ``unknown asset key 'x'``), SIGTERM (``terminated by SIGTERM after 12 s while
materializing a/b``) or an unexpected error; its presence makes the result ``Failed``.
``runId`` and ``scheduledTime`` are null when the run stopped before they were known.

Errors and the message may quote an exception raised with a secret in it; callers pass
``redact`` (:class:`assetcron._redact.Redactor`) to hide environment values before the
text is cut to length, so no prefix of a secret survives the cut.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "MAX_ERROR_CHARS",
    "MAX_MESSAGE_CHARS",
    "MAX_METADATA_CHARS",
    "MAX_SUMMARY_BYTES",
    "AssetOutcome",
    "CheckOutcome",
    "Outcome",
    "build_summary",
    "encode_summary",
    "write_termination_log",
]

#: Kubernetes' limit on a termination message, in bytes.
MAX_SUMMARY_BYTES = 4096
#: Longest error text kept per failed asset.
MAX_ERROR_CHARS = 200
#: Longest compact JSON of an asset's metadata shown in the summary.
MAX_METADATA_CHARS = 200
#: Longest ``message`` kept (2000 bytes at most in UTF-8, so the summary still fits).
MAX_MESSAGE_CHARS = 500

Outcome = Literal["Materialized", "Reused", "Failed", "Skipped"]
_DROP_ORDER: tuple[tuple[str, str], ...] = (
    ("checks", "Passed"),
    ("assets", "Materialized"),
    ("assets", "Reused"),
    ("assets", "Skipped"),
    ("checks", "Failed"),
    ("checks", "Errored"),
    ("assets", "Failed"),
)


CheckResult = Literal["Passed", "Failed", "Errored"]


@dataclass(frozen=True)
class CheckOutcome:
    """What one asset check gave in a run: ``outcome`` Passed/Failed (its result) or
    Errored (it raised); ``message`` the result's description or the error (one line);
    ``duration`` in seconds."""

    asset: str
    name: str
    outcome: CheckResult
    severity: str = "ERROR"
    blocking: bool = False
    duration: float = 0.0
    message: str | None = None
    metadata: Mapping[str, Any] | None = None

    @property
    def fails_run(self) -> bool:
        """Whether it makes the run fail (Dagster's rule): it raised, or it is blocking
        and failed with severity ERROR."""
        return self.outcome == "Errored" or (
            self.outcome == "Failed" and self.blocking and self.severity == "ERROR"
        )


@dataclass(frozen=True)
class AssetOutcome:
    """What happened to one asset in a run; ``duration`` in seconds, ``error`` one line,
    ``metadata`` what a materialized asset reported."""

    key: str
    outcome: Outcome
    duration: float = 0.0
    error: str | None = None
    metadata: Mapping[str, Any] | None = None


def _short(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _unchanged(text: str) -> str:
    return text


def build_summary(
    *,
    run_id: str | None,
    scheduled_time: datetime | None,
    partition_key: str | None,
    duration_seconds: float,
    outcomes: Sequence[AssetOutcome],
    message: str | None = None,
    redact: Callable[[str], str] = _unchanged,
    checks: Sequence[CheckOutcome] = (),
) -> dict[str, Any]:
    """The summary dict (contract shape above) for a run that ended.

    ``duration_seconds`` is the run's wall time; ``outcomes`` the assets that finished
    (all of the plan when the run went through it). ``message``: why the run stopped
    early (bad input, SIGTERM, an unexpected error); it makes the result ``Failed``.
    ``redact`` is applied to every asset error and to ``message`` before they are cut
    to :data:`MAX_ERROR_CHARS` / :data:`MAX_MESSAGE_CHARS` and made one line.
    """
    counts = {"materialized": 0, "reused": 0, "failed": 0, "skipped": 0}
    assets: list[dict[str, Any]] = []
    for o in outcomes:
        counts[o.outcome.lower()] += 1
        entry: dict[str, Any] = {"key": o.key, "outcome": o.outcome}
        if o.outcome == "Failed":
            entry["error"] = _short(redact(o.error or "failed"))
        if o.metadata:
            shown = redact(_dump(dict(o.metadata)))
            if len(shown) <= MAX_METADATA_CHARS:
                with contextlib.suppress(ValueError):  # redaction broke the JSON: leave it out
                    entry["metadata"] = json.loads(shown)
        assets.append(entry)
    failed = bool(counts["failed"] or counts["skipped"] or message is not None)
    failed = failed or any(c.fails_run for c in checks)
    summary: dict[str, Any] = {
        "result": "Failed" if failed else "Succeeded",
        "runId": run_id,
        "scheduledTime": scheduled_time.isoformat() if scheduled_time else None,
        "partitionKey": partition_key,
        "durationSeconds": round(duration_seconds, 3),
        "counts": counts,
        "assets": assets,
    }
    if checks:
        summary["checks"] = [_check_entry(c, redact) for c in checks]
    if message is not None:
        summary["message"] = _short(redact(message), MAX_MESSAGE_CHARS)
    return summary


def _check_entry(c: CheckOutcome, redact: Callable[[str], str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"asset": c.asset, "name": c.name, "outcome": c.outcome}
    if c.outcome != "Passed":
        entry["severity"] = c.severity
        if c.blocking:
            entry["blocking"] = True
        if c.message:
            entry["message"] = _short(redact(c.message))
    return entry


def _dump(summary: dict[str, Any]) -> str:
    return json.dumps(summary, separators=(",", ":"), ensure_ascii=False)


def encode_summary(summary: dict[str, Any], limit: int = MAX_SUMMARY_BYTES) -> str:
    """Compact JSON of ``summary`` within ``limit`` bytes (UTF-8).

    Drops the assets' ``metadata``, then the passed ``checks``, then ``assets`` entries
    (Materialized/Reused first, then Skipped), then the other checks, then the Failed
    assets (later entries before earlier ones), and sets ``"truncated": true`` until it
    fits.
    """
    text = _dump(summary)
    if len(text.encode()) <= limit:
        return text
    trimmed = dict(summary, truncated=True)
    assets: list[dict[str, Any]] = [
        {k: v for k, v in a.items() if k != "metadata"} for a in summary.get("assets", [])
    ]
    trimmed["assets"] = assets
    text = _dump(trimmed)
    if len(text.encode()) <= limit:
        return text
    sections = {"assets": assets}
    if "checks" in summary:
        sections["checks"] = trimmed["checks"] = list(summary["checks"])
    for section, outcome in _DROP_ORDER:
        entries = sections.get(section, [])
        while any(e["outcome"] == outcome for e in entries):
            last = max(i for i, e in enumerate(entries) if e["outcome"] == outcome)
            del entries[last]
            text = _dump(trimmed)
            if len(text.encode()) <= limit:
                return text
    return _dump(trimmed)


def write_termination_log(path: str | Path, summary: dict[str, Any]) -> None:
    """Write ``encode_summary(summary)`` to ``path`` (the container's
    terminationMessagePath), replacing its content."""
    Path(path).write_text(encode_summary(summary), encoding="utf-8")
