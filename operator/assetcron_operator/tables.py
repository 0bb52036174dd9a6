"""Pure rendering of the CLI's tables (``kubectl assetcron status|runs``, ``trigger
--wait``) from AssetSchedule bodies. No I/O; the caller passes ``now`` (aware, UTC).

Tables look like ``kubectl get``'s: upper-case headers, columns padded and separated by
three spaces, ``<none>`` for an empty value, times as ``YYYY-MM-DD HH:MM:SSZ`` (UTC)
with kubectl's ages (``41s``, ``5m``, ``3h``, ``2d``) where "how long ago" is the point.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from assetcron_operator.events import failure_reason

__all__ = [
    "format_duration",
    "render_table",
    "run_result",
    "runs_table",
    "schedule_detail",
    "schedules_table",
]

NONE = "<none>"
_COUNTS = ("materialized", "reused", "failed", "skipped")


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_duration(seconds: float) -> str:
    """kubectl's short duration: ``41s``, ``2m3s``, ``5m``, ``3h4m``, ``2d3h``, ``400d``."""
    s = max(int(seconds), 0)
    if s < 120:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 10:
        return f"{m}m{s}s" if s else f"{m}m"
    if m < 180:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 8:
        return f"{h}h{m}m" if m else f"{h}h"
    if h < 48:
        return f"{h}h"
    d, h = divmod(h, 24)
    return f"{d}d{h}h" if d < 8 and h else f"{d}d"


def _time(value: Any) -> str:
    parsed = _parse(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if parsed else NONE


def _ago(value: Any, now: datetime) -> str:
    parsed = _parse(value)
    if parsed is None:
        return NONE
    delta = (now - parsed).total_seconds()
    return f"{format_duration(delta)} ago" if delta >= 0 else f"in {format_duration(-delta)}"


def render_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A kubectl-style table: each column as wide as its widest cell, three spaces
    between columns, no trailing spaces; ``None`` and ``""`` cells print ``<none>``.
    Ends with a newline."""
    cells = [[str(h).upper() for h in headers]]
    cells += [[NONE if c is None or c == "" else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]  # fmt: skip
    return "\n".join(lines) + "\n"


def _duration(run: Mapping[str, Any], now: datetime) -> str:
    start = _parse(run.get("startTime"))
    if start is None:
        return NONE
    end = _parse(run.get("completionTime"))
    if end is None:
        return f"{format_duration((now - start).total_seconds())} (running)"
    return format_duration((end - start).total_seconds())


def _short(text: str, limit: int = 80) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 3] + "..."


def _why(run: Mapping[str, Any]) -> str:
    if run.get("phase") == "Failed":
        return _short(failure_reason(run))
    return _short(str(run.get("message") or ""))


def runs_table(runs: Sequence[Mapping[str, Any]], now: datetime) -> str:
    """The run history (``status.recentRuns``, newest first) as a table: run (its Job),
    trigger, scheduled time, start time, duration, result, the per-asset counts from the
    runner's summary, and why a run failed or waits (the failed asset and its error, or
    the runner's or kubelet's message)."""
    headers = ["run", "trigger", "scheduled", "started", "duration", "result",
               *_COUNTS, "message"]  # fmt: skip
    rows = []
    for run in runs:
        counts = run.get("counts") or {}
        rows.append(
            [
                run.get("name"),
                run.get("trigger"),
                _time(run.get("scheduledTime")),
                _time(run.get("startTime")),
                _duration(run, now),
                run.get("phase"),
                *[counts.get(k, "-") if counts else "-" for k in _COUNTS],
                _why(run),
            ]
        )
    if not rows:
        return "No runs yet.\n"
    return render_table(headers, rows)


def _ready(schedule: Mapping[str, Any]) -> str:
    status = schedule.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None:
        return "Unknown"
    if ready.get("status") == "True":
        return "True"
    return f"{ready.get('status')} ({ready.get('reason')})"


def schedules_table(
    schedules: Sequence[Mapping[str, Any]], now: datetime, *, all_namespaces: bool = False
) -> str:
    """AssetSchedules as a table: name, job, cron, time zone, suspended, ready (with the
    reason when not), next run, last run and result, last success (as ages)."""
    headers = ["name", "job", "schedule", "timezone", "suspend", "ready", "next run",
               "last result", "last run", "last success"]  # fmt: skip
    if all_namespaces:
        headers.insert(0, "namespace")
    rows = []
    for s in schedules:
        meta, spec = s.get("metadata") or {}, s.get("spec") or {}
        status = s.get("status") or {}
        row = [
            meta.get("name"),
            (spec.get("jobRef") or {}).get("name"),
            spec.get("cronSchedule"),
            spec.get("timeZone") or "UTC",
            str(bool(spec.get("suspend"))).lower(),
            _ready(s),
            _ago((status.get("nextRuns") or [None])[0], now),
            status.get("lastResult"),
            _ago(status.get("lastRunTime"), now),
            _ago(status.get("lastSuccessfulTime"), now),
        ]
        if all_namespaces:
            row.insert(0, meta.get("namespace"))
        rows.append(row)
    if not rows:
        return "No AssetSchedules found.\n"
    return render_table(headers, rows)


def schedule_detail(schedule: Mapping[str, Any], now: datetime) -> str:
    """One AssetSchedule in detail: its settings, readiness, next runs, active runs, last
    trigger and run history (:func:`runs_table`)."""
    meta, spec = schedule.get("metadata") or {}, schedule.get("spec") or {}
    status = schedule.get("status") or {}
    ready: Mapping[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {}
    )
    lines = [
        f"Name:          {meta.get('name')}",
        f"Namespace:     {meta.get('namespace')}",
        f"Job:           {(spec.get('jobRef') or {}).get('name')}",
        f"Schedule:      {spec.get('cronSchedule')} ({spec.get('timeZone') or 'UTC'})",
        f"Suspended:     {str(bool(spec.get('suspend'))).lower()}",
        f"Ready:         {ready.get('status', 'Unknown')}"
        + (f" {ready.get('reason')}: {ready.get('message')}" if ready.get("reason") else ""),
        f"CronJob:       {status.get('cronJobName') or NONE}",
        f"Last success:  {_time(status.get('lastSuccessfulTime'))}"
        f" ({_ago(status.get('lastSuccessfulTime'), now)})",
        "Next runs:     " + (", ".join(_time(t) for t in status.get("nextRuns") or []) or NONE),
        f"Active:        {', '.join(status.get('active') or []) or NONE}",
    ]
    trigger = status.get("lastTrigger") or {}
    if trigger:
        lines.append(
            f"Last trigger:  {trigger.get('result')}: {trigger.get('message') or ''}".rstrip()
        )
    if status.get("lastReplacedRun"):
        replaced = status["lastReplacedRun"]
        lines.append(
            f"Last replaced: {replaced.get('name')} (by the tick {replaced.get('replacedBy')})"
        )
    lines.append("Runs:")
    table = runs_table(status.get("recentRuns") or [], now)
    lines.extend("  " + line for line in table.rstrip("\n").splitlines())
    return "\n".join(lines) + "\n"


def run_result(run: Mapping[str, Any], now: datetime) -> str:
    """A finished run for ``trigger --wait``: one line with its result, duration and
    counts, then one line per asset with its outcome (and error)."""
    counts = run.get("counts") or {}
    head = f"job/{run.get('name')} {run.get('phase')} in {_duration(run, now)}"
    if counts:
        head += ": " + ", ".join(f"{counts.get(k, 0)} {k}" for k in _COUNTS)
    lines = [head]
    if run.get("phase") == "Failed":
        lines.append(f"  {failure_reason(run)}")
    elif run.get("message"):
        lines.append(f"  {_short(str(run['message']), 200)}")
    assets = run.get("assets") or []
    width = max((len(str(a.get("key"))) for a in assets), default=0)
    for asset in assets:
        line = f"  {str(asset.get('key')).ljust(width)}   {asset.get('outcome')}"
        if asset.get("error"):
            line += f": {_short(str(asset['error']), 120)}"
        lines.append(line)
    return "\n".join(lines) + "\n"
