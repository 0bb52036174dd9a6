"""Backfills and catch-up: which ticks to run, under which names, in which order. Pure.

A backfill (``assetcron schedule backfill NAME --from T1 --to T2``) and a catch-up
(``spec.catchUp.policy: All``) both turn ticks of the schedule's cron into Jobs named
exactly as the CronJob controller names the Job of that tick,
``<cronjob>-<scheduled unix time // 60>`` (Kubernetes pkg/controller/cronjob
``getJobName`` / ``getTimeHashInMinutes``, v1.36). The name is the lock: whoever
creates the Job of a tick first runs it, the other gets ``409 AlreadyExists`` and
counts the tick as done or running. A backfill and a scheduled run of the same tick
can therefore never both run, and a backfill run twice creates nothing new while the
Jobs of the first are kept (history limits and ``ttlSecondsAfterFinished`` delete
finished Jobs; a tick whose Job is gone can run again).

Ownership: these Jobs carry a *controller* ownerReference to the CronJob (with its
UID), like the Jobs the controller makes. The controller's ``syncCronJob`` on a create
that answers AlreadyExists adopts a Job it controls (adds it to ``status.active``, sets
``lastScheduleTime`` to the tick and requeues for the next tick), but for a Job it does
*not* control it returns with neither a status update nor a requeue, so the CronJob
would not be synced again until some other event: its next ticks would be late. A
controlled Job also falls under the CronJob's history limits (one history for every
run of the schedule) and sets its ``lastSuccessfulTime``. The price: while such a Job
runs and is not in ``status.active`` the controller posts an ``UnexpectedJob`` warning
Event on the CronJob on each sync; it never deletes, replaces or counts it for
``concurrencyPolicy`` (which looks at ``status.active`` only).

How a backfill is asked for and carried out: the CLI sets the annotation
:data:`BACKFILL_ANNOTATION` on the AssetSchedule (the ValidatingAdmissionPolicy
requires the right to create Jobs to change it, as for ``assetcron.dev/trigger``); the
operator enumerates the ticks, creates at most ``maxConcurrent`` Jobs at a time, oldest
first, and keeps the progress in ``status.backfill`` (:func:`advance`), so the backfill
goes on when the CLI exits and survives an operator restart.

Annotation value: ``<from>/<to>#<id>[;maxConcurrent=N][;force]`` with ``from`` and
``to`` RFC 3339 UTC (``2015-06-02T13:00:00Z/2015-06-08T13:00:00Z#1a2b3c4d;force``);
``cancel#<id>`` stops the backfill ``<id>`` (no new Jobs; running ones finish).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from assetcron import CronError, parse_cron
from assetcron_operator.render import BACKFILL_ANNOTATION, LABEL_BACKFILL
from assetcron_operator.status import rfc3339 as _rfc3339
from assetcron_operator.trigger import TriggerError, parse_scheduled_time

__all__ = [
    "BACKFILL_ANNOTATION",
    "LABEL_BACKFILL",
    "MAX_CONCURRENT",
    "MAX_TICKS",
    "BackfillError",
    "BackfillRequest",
    "advance",
    "backfill_ticks",
    "finish",
    "missed_ticks",
    "new_state",
    "parse_backfill_value",
    "parse_time",
    "pruning_cutoff",
    "record_submitted",
    "rfc3339_list",
    "tick_job_name",
    "to_submit",
]

#: Most ticks in one backfill (a larger range is refused: split it).
MAX_TICKS = 1000
#: Most Jobs of one backfill running at once.
MAX_CONCURRENT = 20
#: Most ticks enumerated when looking for missed ones (two weeks of ``* * * * *``).
_SCAN_LIMIT = 20_160
_MAX_VALUE = 256
_ID_RE = re.compile(r"^[a-z0-9]{1,16}$")

JsonDict = dict[str, Any]


class BackfillError(ValueError):
    """A backfill request cannot be used; one-line ``str()``."""


@dataclass(frozen=True)
class BackfillRequest:
    """A parsed :data:`BACKFILL_ANNOTATION` value.

    Attributes:
        id: 1-16 lowercase letters/digits (the Jobs' :data:`LABEL_BACKFILL` value).
        start: first instant of the range (aware, UTC), inclusive.
        end: last instant of the range (aware, UTC), inclusive.
        max_concurrent: Jobs of the backfill running at once (1 = strictly in order).
        force: the runs recompute every asset (``ASSETCRON_FORCE=true``).
        cancel: the value asks to stop backfill ``id`` (``start``/``end`` unused).
    """

    id: str
    start: datetime
    end: datetime
    max_concurrent: int = 1
    force: bool = False
    cancel: bool = False

    def value(self) -> str:
        """The annotation value for this request."""
        if self.cancel:
            return f"cancel#{self.id}"
        out = f"{_rfc3339(self.start)}/{_rfc3339(self.end)}#{self.id}"
        if self.max_concurrent != 1:
            out += f";maxConcurrent={self.max_concurrent}"
        return out + (";force" if self.force else "")

    @classmethod
    def make(
        cls,
        start: datetime,
        end: datetime,
        *,
        max_concurrent: int = 1,
        force: bool = False,
        id: str | None = None,
    ) -> BackfillRequest:
        """A new request with a random 8-hex-character id unless ``id`` is given.

        Raises:
            BackfillError: naive times, ``end`` before ``start``, ``max_concurrent``
                outside 1..:data:`MAX_CONCURRENT`, or a bad ``id``.
        """
        request = cls(
            id=secrets.token_hex(4) if id is None else id,
            start=start,
            end=end,
            max_concurrent=max_concurrent,
            force=force,
        )
        _check(request)
        return request


def _check(request: BackfillRequest) -> None:
    if not _ID_RE.match(request.id):
        msg = f"bad backfill id {request.id!r}: 1 to 16 lowercase letters or digits"
        raise BackfillError(msg)
    if request.cancel:
        return
    for moment in (request.start, request.end):
        if moment.tzinfo is None or moment.utcoffset() is None:
            msg = "backfill times must be timezone-aware"
            raise BackfillError(msg)
    if request.end < request.start:
        msg = f"--to {_rfc3339(request.end)} is before --from {_rfc3339(request.start)}"
        raise BackfillError(msg)
    if not 1 <= request.max_concurrent <= MAX_CONCURRENT:
        msg = f"maxConcurrent must be 1 to {MAX_CONCURRENT}, got {request.max_concurrent}"
        raise BackfillError(msg)


def parse_backfill_value(value: str) -> BackfillRequest:
    """Parse a :data:`BACKFILL_ANNOTATION` value (format in the module docstring).

    Raises:
        BackfillError: empty or longer than 256 characters, a time without an offset,
            an unknown option, or what :meth:`BackfillRequest.make` refuses.
    """
    if not value or len(value) > _MAX_VALUE:
        msg = f"backfill value must have 1 to {_MAX_VALUE} characters"
        raise BackfillError(msg)
    head, sep, tail = value.strip().partition("#")
    if not sep:
        msg = f"backfill value {value!r} has no '#<id>'"
        raise BackfillError(msg)
    id_, *options = tail.split(";")
    if head == "cancel":
        request = BackfillRequest(id=id_, start=_EPOCH, end=_EPOCH, cancel=True)
        _check(request)
        return request
    start_text, slash, end_text = head.partition("/")
    if not slash:
        msg = f"backfill range {head!r} must be <from>/<to>"
        raise BackfillError(msg)
    start, end = (_aware(t) for t in (start_text, end_text))
    max_concurrent, force = 1, False
    for option in (o.strip() for o in options):
        if option == "force":
            force = True
        elif option.startswith("maxConcurrent="):
            try:
                max_concurrent = int(option.partition("=")[2])
            except ValueError:
                msg = f"bad backfill option {option!r}"
                raise BackfillError(msg) from None
        else:
            msg = f"unknown backfill option {option!r} (known: maxConcurrent=N, force)"
            raise BackfillError(msg)
    request = BackfillRequest(id_, start, end, max_concurrent, force)
    _check(request)
    return request


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _aware(text: str) -> datetime:
    try:
        return parse_scheduled_time(text)
    except TriggerError as exc:
        raise BackfillError(str(exc)) from None


def parse_time(text: str, zone: str) -> datetime:
    """A CLI time: ISO 8601 with an offset, or naive and then read in ``zone``.

    A naive wall time that a daylight-saving change repeats is its first occurrence
    (``fold=0``); one inside a spring-forward gap is read with the offset before the
    gap, as :mod:`zoneinfo` does. A date alone (``2015-06-02``) is its midnight.

    Returns:
        An aware datetime in UTC.

    Raises:
        BackfillError: not ISO 8601, or ``zone`` unknown.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        msg = f"not an ISO 8601 time: {text!r} (expected e.g. 2015-06-02T06:00 or ...Z)"
        raise BackfillError(msg) from None
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(zone))
        except (KeyError, ValueError):
            msg = f"unknown time zone {zone!r}"
            raise BackfillError(msg) from None
    return moment.astimezone(UTC)


def backfill_ticks(
    cron: str, zone: str, start: datetime, end: datetime, *, limit: int = MAX_TICKS
) -> list[datetime]:
    """The ticks of ``cron`` in ``zone`` with ``start <= tick <= end``, ascending (UTC).

    The ticks the CronJob controller computes (robfig/cron v3 ``Next``, through
    :func:`assetcron.parse_cron`), daylight-saving days included.

    Raises:
        BackfillError: the cron or zone is refused, or there are more than ``limit``
            ticks (the message gives the count so far and says to split the range).
    """
    try:
        schedule = parse_cron(cron, zone)
    except CronError as exc:
        raise BackfillError(str(exc)) from None
    ticks: list[datetime] = []
    tick = schedule.next(start - timedelta(seconds=1))
    while tick is not None and tick <= end:
        if len(ticks) == limit:
            msg = (
                f"more than {limit} ticks from {_rfc3339(start)} to {_rfc3339(end)}:"
                " split the range into several backfills"
            )
            raise BackfillError(msg)
        ticks.append(tick.astimezone(UTC))
        tick = schedule.next(tick)
    return ticks


def tick_job_name(cronjob_name: str, tick: datetime) -> str:
    """The Job name the CronJob controller gives ``tick``: ``<cronjob>-<unix minutes>``.

    Source: Kubernetes pkg/controller/cronjob ``getJobName`` (``fmt.Sprintf("%s-%d",
    cj.Name, scheduledTime.Unix()/60)``). Go's integer division truncates toward zero,
    which differs from ``//`` only before 1970.

    Raises:
        ValueError: ``tick`` is naive.
    """
    if tick.tzinfo is None or tick.utcoffset() is None:
        msg = "tick must be timezone-aware"
        raise ValueError(msg)
    seconds = int((tick - _EPOCH).total_seconds())
    minutes = seconds // 60 if seconds >= 0 else -((-seconds) // 60)
    return f"{cronjob_name}-{minutes}"


# ------------------------------------------------------------------ progress record


def new_state(
    request_id: str,
    *,
    ticks: int,
    now: datetime,
    max_concurrent: int = 1,
    force: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> JsonDict:
    """The status of a backfill that starts now (``status.backfill`` shape).

    Keys: ``id``, ``maxConcurrent``, ``force``, ``ticks`` (total), ``next`` (index of
    the next tick to submit), ``created`` (Jobs this backfill created), ``existing``
    (ticks whose Job existed already: counted, not run again), ``succeeded``,
    ``failed``, ``running`` (names of submitted Jobs not finished), ``failedRuns``
    (names of failed ones, the last 10), ``phase``, ``progress`` (the printer column,
    e.g. ``Running 3/7``), ``message``, ``startTime``, ``completionTime``; plus
    ``extra`` (e.g. ``value``, ``from``, ``to``).
    """
    state: JsonDict = dict(extra or {})
    state.update(
        id=request_id,
        maxConcurrent=max_concurrent,
        force=force,
        ticks=ticks,
        next=0,
        created=0,
        existing=0,
        succeeded=0,
        failed=0,
        running=[],
        failedRuns=[],
        phase="Running",
        startTime=_rfc3339(now),
        completionTime=None,
        message=None,
    )
    return finish(state, now=now)


_FAILED_RUNS_KEPT = 10


def _job_outcome(job: Mapping[str, Any]) -> str | None:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") != "True":
            continue
        if cond.get("type") in ("Complete", "SuccessCriteriaMet"):
            return "Succeeded"
        if cond.get("type") in ("Failed", "FailureTarget"):
            return "Failed"
    return None


def _count(state: JsonDict, name: str, outcome: str) -> None:
    if outcome == "Succeeded":
        state["succeeded"] += 1
    else:
        state["failed"] += 1
        state["failedRuns"] = [*state.get("failedRuns", []), name][-_FAILED_RUNS_KEPT:]


def advance(state: Mapping[str, Any], jobs: Mapping[str, Mapping[str, Any] | None]) -> JsonDict:
    """Settle the running Jobs of ``state`` that have finished (a new dict).

    Args:
        state: ``status.backfill`` (or a catch-up run) as :func:`new_state` made it.
        jobs: what is known of Jobs by name: the Job body, or ``None`` when the Job is
            known to be gone (a 404). A running name absent from ``jobs`` is unknown and
            stays running.

    A finished Job counts as succeeded or failed by its conditions (``Complete`` /
    ``Failed``, or their 1.31 forerunners); a Job gone before it was seen to finish
    counts as failed ("deleted").
    """
    out: JsonDict = {**state, "running": []}
    for name in state.get("running") or []:
        if name not in jobs:
            out["running"].append(name)
            continue
        job = jobs[name]
        if job is None:
            _count(out, name, "Failed")
            continue
        outcome = _job_outcome(job)
        if outcome is None:
            out["running"].append(name)
        else:
            _count(out, name, outcome)
    return out


def to_submit(state: Mapping[str, Any], total: int) -> list[int]:
    """Indexes of the ticks to submit now: the next ones, oldest first, as long as fewer
    than ``maxConcurrent`` Jobs run; none once the backfill is no longer Running."""
    if state.get("phase") != "Running":
        return []
    room = int(state.get("maxConcurrent") or 1) - len(state.get("running") or [])
    start = int(state.get("next") or 0)
    return list(range(start, min(total, start + max(room, 0))))


def record_submitted(
    state: Mapping[str, Any], name: str, *, created: bool, job: Mapping[str, Any] | None
) -> JsonDict:
    """``state`` after the Job ``name`` of tick ``state["next"]`` was created (``created``)
    or found existing (``job``, the existing Job: a finished one is counted at once)."""
    out: JsonDict = {**state, "next": int(state.get("next") or 0) + 1}
    key = "created" if created else "existing"
    out[key] = int(out.get(key) or 0) + 1
    outcome = None if job is None else _job_outcome(job)
    if outcome is None:
        out["running"] = [*(state.get("running") or []), name]
    else:
        _count(out, name, outcome)
    return out


def finish(state: Mapping[str, Any], *, now: datetime) -> JsonDict:
    """``state`` with ``phase``, ``progress`` and ``completionTime`` brought up to date.

    Phase ``Running`` until every tick is submitted and no Job runs; then
    ``Succeeded`` (no failure) or ``Failed``. ``Canceled`` stays ``Canceled`` (and
    becomes final once its running Jobs end).
    """
    out: JsonDict = dict(state)
    done = int(out.get("succeeded") or 0) + int(out.get("failed") or 0)
    total = int(out.get("ticks") or 0)
    running = out.get("running") or []
    phase = str(out.get("phase") or "Running")
    if phase == "Running" and int(out.get("next") or 0) >= total and not running:
        phase = "Failed" if out.get("failed") else "Succeeded"
    if phase != "Running" and not running and not out.get("completionTime"):
        out["completionTime"] = _rfc3339(now)
    out["phase"] = phase
    failed = f", {out.get('failed')} failed" if out.get("failed") else ""
    out["progress"] = f"{phase} {done}/{total}{failed}"
    return out


# ------------------------------------------------------------------ catch-up


def pruning_cutoff(
    jobs: Iterable[Mapping[str, Any]], *, successful_limit: int, failed_limit: int
) -> datetime | None:
    """The time before which a tick's Job may have been deleted by the history limits.

    The CronJob controller keeps the newest ``successfulJobsHistoryLimit`` succeeded
    and ``failedJobsHistoryLimit`` failed Jobs it controls, newest by start time
    (``cleanupFinishedJobs`` / ``removeOldestJobs``), and deletes the others. A deleted
    Job started no later than the oldest kept one of its kind, and a Job starts no
    earlier than its tick; so when a kind's history is full, a tick after its oldest
    kept Job's start cannot have been deleted. Returns that start time (the later of
    the two kinds with full histories), ``None`` when neither history is full (nothing
    was deleted), or :data:`datetime.max` (UTC) when a full history keeps no Job (limit
    0: anything may have been deleted).
    """
    starts: dict[str, list[datetime]] = {"Succeeded": [], "Failed": []}
    for job in jobs:
        outcome = _job_outcome(job)
        if outcome is None:
            continue
        status = job.get("status") or {}
        when = status.get("startTime") or (job.get("metadata") or {}).get("creationTimestamp")
        if when:
            starts[outcome].append(_parse(str(when)))
    cutoff: datetime | None = None
    for outcome, limit in (("Succeeded", successful_limit), ("Failed", failed_limit)):
        kept = starts[outcome]
        if len(kept) < limit:
            continue
        oldest = min(kept) if kept and limit > 0 else datetime.max.replace(tzinfo=UTC)
        cutoff = oldest if cutoff is None else max(cutoff, oldest)
    return cutoff


def missed_ticks(
    cron: str,
    zone: str,
    *,
    after: datetime,
    before: datetime,
    existing: Iterable[str],
    cronjob_name: str,
    cutoff: datetime | None,
    not_before: datetime | None,
    max_ticks: int,
) -> tuple[list[datetime], int]:
    """Ticks the cluster missed: ``after < tick < before`` without a Job, oldest first.

    ``before`` is the CronJob's ``lastScheduleTime`` (the tick the controller ran
    itself, the latest it found unmet, never repeated here); ``after`` the last tick
    already accounted for. A tick counts when no Job of its name is in ``existing``,
    it is after ``cutoff`` (:func:`pruning_cutoff`: its Job cannot have run and been
    deleted) and not before ``not_before`` (``startingDeadlineSeconds`` and
    ``ttlSecondsAfterFinished`` bounds). At most ``max_ticks``, the newest.

    Returns:
        ``(ticks, skipped)``: the ticks (aware, UTC, ascending) and how many more were
        missed than ``max_ticks`` allows.

    Raises:
        BackfillError: the cron or zone is refused.
    """
    try:
        schedule = parse_cron(cron, zone)
    except CronError as exc:
        raise BackfillError(str(exc)) from None
    names = set(existing)
    found: list[datetime] = []
    start = after if not_before is None else max(after, not_before - timedelta(seconds=1))
    tick = schedule.next(start)
    scanned = 0
    while tick is not None and tick < before and scanned < _SCAN_LIMIT:
        scanned += 1
        utc = tick.astimezone(UTC)
        if (
            tick_job_name(cronjob_name, utc) not in names
            and (cutoff is None or utc > cutoff)
            and (not_before is None or utc >= not_before)
        ):
            found.append(utc)
        tick = schedule.next(tick)
    kept = found[-max_ticks:] if max_ticks > 0 else []
    return kept, len(found) - len(kept)


def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rfc3339_list(ticks: Sequence[datetime]) -> list[str]:
    """``ticks`` as RFC 3339 UTC strings."""
    return [_rfc3339(t) for t in ticks]
