"""Kubernetes Events on AssetSchedules: one per run transition, and spec warnings.

What ``kubectl describe assetschedule NAME`` shows, newest last::

    Type     Reason        From                Message
    Normal   RunStarted    assetcron-operator  Run weather-daily-29384160 started (Scheduled,
                                               scheduled 2026-11-21T14:00:00Z)
    Normal   RunSucceeded  assetcron-operator  Run weather-daily-29384160 succeeded in 41 s:
                                               5 materialized, 0 reused, 0 failed, 0 skipped
    Warning  RunFailed     assetcron-operator  Run ... failed: asset weather/daily_weather
                                               failed: ...
    Warning  InvalidSpec   assetcron-operator  spec.cronSchedule: ...
    Normal   BackfillStarted    ...  Backfill b1 started: 7 ticks from ... to ...
    Normal   BackfillSucceeded  ...  Backfill b1 succeeded: 7 of 7 ticks (7 run by it, 0 had run)

Pure part: :func:`run_transitions` compares a schedule's ``status.recentRuns`` before and
after a status computation and lists what happened to each run since (started,
succeeded, failed); :func:`run_event` and :func:`spec_warning` turn that into Event
fields. I/O part: :class:`EventRecorder` creates ``core/v1`` Events through
:class:`assetcron_operator.kube.Kube`.

Deduplication, so that ``kubectl describe`` shows one event per run transition:

* transitions come from the status *diff*: a resync that recomputes the same status
  finds no transition, and an operator restarted after the status was written finds
  none either;
* two code paths computing the same diff from the same stale index (a Job event and
  the periodic refresh) are collapsed in memory (:class:`SeenOnce`);
* and across restarts by the Event's name, derived from the schedule's UID, the run and
  the transition (:func:`event_name`): a second create answers 409 and nothing is
  posted twice. A spec warning that comes back (same reason and message, e.g. after a
  fix was reverted) bumps the existing Event's ``count`` and ``lastTimestamp``, the
  series ``kubectl describe`` prints as ``(x2 over 5m)``.

``RunFailed`` is a Warning, as the Job controller's own ``BackoffLimitExceeded`` is, so
that ``kubectl get events --field-selector type=Warning`` and event-based alerting catch
failed runs; ``RunStarted`` and ``RunSucceeded`` are Normal.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "REPORTING_COMPONENT",
    "EventRecorder",
    "RunTransition",
    "SeenOnce",
    "backfill_events",
    "event_name",
    "run_event",
    "run_transitions",
    "spec_warning",
]

#: ``source.component`` / ``reportingComponent`` of our Events (the "From" column).
REPORTING_COMPONENT = "assetcron-operator"

_FINISHED = ("Succeeded", "Failed")
_STARTED = ("Running", *_FINISHED)
_MESSAGE_LIMIT = 1024  # core/v1 Event messages longer than this are refused by some tools

_log = logging.getLogger("assetcron_operator.events")

Kind = Literal["Started", "Succeeded", "Failed"]


@dataclass(frozen=True)
class RunTransition:
    """Something that happened to one run between two status computations.

    Attributes:
        kind: ``Started`` (its pod runs, or it finished before we saw it run),
            ``Succeeded`` or ``Failed`` (its Job finished).
        run: the run's ``status.recentRuns`` entry after the transition.
    """

    kind: Kind
    run: Mapping[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        """(run name, kind): identifies the transition within one schedule."""
        return (str(self.run.get("name", "")), self.kind)


def run_transitions(
    previous: Sequence[Mapping[str, Any]] | None, current: Sequence[Mapping[str, Any]]
) -> list[RunTransition]:
    """The run transitions between two ``status.recentRuns`` lists (newest first, as
    :func:`assetcron_operator.status.derive_runs` makes them).

    A run is *started* once its phase is ``Running``, ``Succeeded`` or ``Failed``, and
    *finished* once it is ``Succeeded`` or ``Failed``. For every run of ``current``, a
    ``Started`` transition when it is started and was not (or was absent) in
    ``previous``, and a ``Succeeded``/``Failed`` one when it is finished and was not. A
    run that started and finished between two computations gets both, in that order.
    Returned oldest run first. Runs only in ``previous`` (pruned, deleted) give nothing.
    """
    before = {str(r.get("name")): r for r in previous or ()}
    out: list[RunTransition] = []
    for run in reversed(list(current)):
        prior = before.get(str(run.get("name")))
        phase = run.get("phase")
        prior_phase = (prior or {}).get("phase")
        if phase in _STARTED and prior_phase not in _STARTED:
            out.append(RunTransition("Started", run))
        if phase in _FINISHED and prior_phase not in _FINISHED:
            out.append(RunTransition("Succeeded" if phase == "Succeeded" else "Failed", run))
    return out


def _seconds_between(start: Any, end: Any) -> float | None:
    try:
        a = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        b = datetime.fromisoformat(str(end).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (b - a).total_seconds()


def _counts(run: Mapping[str, Any]) -> str | None:
    counts = run.get("counts")
    if not isinstance(counts, Mapping):
        return None
    return ", ".join(
        f"{counts.get(k, 0)} {k}" for k in ("materialized", "reused", "failed", "skipped")
    )


def failure_reason(run: Mapping[str, Any]) -> str:
    """Why a failed run failed, in one line: the first failed asset and its error, else
    the runner's message (bad input, SIGTERM, unexpected error), else a pointer to the
    pod log (the runner left no summary: killed, out of memory, evicted)."""
    for asset in run.get("assets") or ():
        if asset.get("outcome") == "Failed":
            error = asset.get("error") or "no error text"
            return f"asset {asset.get('key')} failed: {error}"
    if run.get("message"):
        return str(run["message"])
    return "the runner left no summary (killed, out of memory or evicted?): see its pod log"


def run_event(transition: RunTransition) -> tuple[str, str, str]:
    """``(type, reason, message)`` of the Event for ``transition``.

    Reasons ``RunStarted`` (Normal), ``RunSucceeded`` (Normal) and ``RunFailed``
    (Warning, with the failed asset and why, :func:`failure_reason`). The message names
    the run (its Job), how it was triggered, its scheduled time and partition, and for a
    finished run its duration (seconds, Job start to completion) and per-asset counts.
    """
    run = transition.run
    name = run.get("name")
    if transition.kind == "Started":
        what = [str(run.get("trigger") or "Scheduled")]
        if run.get("scheduledTime"):
            what.append(f"scheduled {run['scheduledTime']}")
        if run.get("partitionKey"):
            what.append(f"partition {run['partitionKey']}")
        return "Normal", "RunStarted", f"Run {name} started ({', '.join(what)})"
    took = _seconds_between(run.get("startTime"), run.get("completionTime"))
    duration = f" in {took:.0f} s" if took is not None else ""
    counts = _counts(run)
    if transition.kind == "Succeeded":
        message = f"Run {name} succeeded{duration}" + (f": {counts}" if counts else "")
        return "Normal", "RunSucceeded", message
    message = f"Run {name} failed{duration}: {failure_reason(run)}"
    if counts:
        message += f" ({counts})"
    return "Warning", "RunFailed", _cut(message)


def backfill_events(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[tuple[tuple[str, str, str], tuple[str, ...]]]:
    """The Events for a backfill's phase change (``status.backfill`` ``before`` →
    ``after``, :mod:`assetcron_operator.backfill`), each with its identity for
    :func:`event_name`; empty when the phase did not change.

    Reasons: ``BackfillStarted``, ``BackfillSucceeded`` and ``BackfillCanceled``
    (Normal); ``BackfillFailed`` (Warning, naming failed runs) and ``BackfillRejected``
    (Warning, with why: a bad range, a schedule not Ready). A new backfill that ends in
    the step that starts it (every tick had run) gets both its start and its end.
    Progress between them (a tick done) posts nothing: ``kubectl get assetschedules``
    shows it.
    """
    if not after:
        return []
    phase = str(after.get("phase") or "")
    bid = str(after.get("id") or "")
    value = str(after.get("value") or "")
    new = not before or str(before.get("id") or "") != bid or before.get("value") != value
    if not new and before is not None and before.get("phase") == phase:
        return []
    ticks = int(after.get("ticks") or 0)
    # succeeded/failed count every tick's outcome; created/existing say who ran it.
    done = int(after.get("succeeded") or 0) + int(after.get("failed") or 0)
    out: list[tuple[tuple[str, str, str], tuple[str, ...]]] = []
    if phase == "Rejected":
        message = f"Backfill {value!r} rejected: {after.get('message')}"
        return [(("Warning", "BackfillRejected", _cut(message)), ("backfill", bid, phase, value))]
    if new:
        started = (
            f"Backfill {bid} started: {ticks} tick{'s' if ticks != 1 else ''} from"
            f" {after.get('from')} to {after.get('to')}"
        )
        out.append((("Normal", "BackfillStarted", started), ("backfill", bid, "Running", value)))
    if phase == "Succeeded":
        message = (
            f"Backfill {bid} succeeded: {after.get('succeeded') or 0} of {ticks} ticks"
            f" ({after.get('created') or 0} run by it, {after.get('existing') or 0} had run)"
        )
        out.append((("Normal", "BackfillSucceeded", message), ("backfill", bid, phase, value)))
    elif phase == "Failed":
        failed = ", ".join(str(r) for r in after.get("failedRuns") or [])
        message = f"Backfill {bid} failed: {after.get('failed') or 0} of {ticks} ticks failed"
        if failed:
            message += f" ({failed})"
        out.append((("Warning", "BackfillFailed", _cut(message)), ("backfill", bid, phase, value)))
    elif phase == "Canceled":
        message = f"Backfill {bid} canceled: {done} of {ticks} done"
        out.append((("Normal", "BackfillCanceled", message), ("backfill", bid, phase, value)))
    return out


def spec_warning(reason: str, message: str) -> tuple[str, str, str]:
    """``(type, reason, message)`` of the Warning for a schedule that is not Ready: the
    Ready condition's reason (``InvalidSpec``, ``JobNotFound``, ``CronJobInvalid``) and
    message."""
    return "Warning", reason, _cut(message)


def _cut(message: str) -> str:
    one_line = " ".join(message.split())
    if len(one_line) <= _MESSAGE_LIMIT:
        return one_line
    return one_line[: _MESSAGE_LIMIT - 3] + "..."


def event_name(object_name: str, uid: str, *parts: str) -> str:
    """A deterministic Event name ``<object>.<16 hex>`` for the event identified by
    ``parts`` on the object with ``uid`` (the ``<object>.<suffix>`` shape client-go's
    recorder uses). The object name is cut so the whole stays a valid name (253)."""
    digest = hashlib.sha256("\x00".join((uid, *parts)).encode("utf-8")).hexdigest()[:16]
    return f"{object_name[:230]}.{digest}"


class SeenOnce:
    """A bounded set of keys: :meth:`first` is True the first time a key is offered.

    Collapses the same transition computed twice in one process (a Job event and the
    periodic refresh reading the same stale index). Keeps the newest ``capacity`` keys;
    thread-safe (handlers run in a thread pool).
    """

    def __init__(self, capacity: int = 20_000) -> None:
        self._keys: OrderedDict[Hashable, None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def first(self, key: Hashable) -> bool:
        """True when ``key`` was not offered before (and remember it)."""
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                return False
            self._keys[key] = None
            if len(self._keys) > self._capacity:
                self._keys.popitem(last=False)
            return True


class EventRecorder:
    """Posts our Events through ``kube`` (:meth:`assetcron_operator.kube.Kube.post_event`).

    Args:
        kube: the storage layer (its ``post_event`` creates or bumps one Event).
        clock: the current time (aware, UTC).
    """

    def __init__(self, kube: Any, clock: Any) -> None:
        self.kube = kube
        self.clock = clock

    def _post(
        self,
        schedule: Mapping[str, Any],
        event: tuple[str, str, str],
        identity: Iterable[str],
        *,
        series: bool,
    ) -> None:
        meta = schedule.get("metadata") or {}
        name, namespace, uid = meta.get("name"), meta.get("namespace"), meta.get("uid")
        if not (name and namespace and uid):
            return
        type_, reason, message = event
        involved = {
            "apiVersion": "assetcron.dev/v1alpha1",
            "kind": "AssetSchedule",
            "name": name,
            "namespace": namespace,
            "uid": uid,
        }
        try:
            self.kube.post_event(
                namespace=str(namespace),
                name=event_name(str(name), str(uid), *identity),
                involved=involved,
                type_=type_,
                reason=reason,
                message=message,
                component=REPORTING_COMPONENT,
                now=self.clock(),
                series=series,
            )
        except Exception:  # an event is a courtesy: never fail the reconcile for it
            _log.warning(
                "cannot post event",
                exc_info=True,
                extra={"schedule": f"{namespace}/{name}", "reason": reason},
            )

    def run_transitions(
        self, schedule: Mapping[str, Any], transitions: Iterable[RunTransition]
    ) -> None:
        """Post the Event of each transition (once: named after run and transition)."""
        for transition in transitions:
            self._post(schedule, run_event(transition), transition.key, series=False)

    def backfill(
        self,
        schedule: Mapping[str, Any],
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> None:
        """Post the Events of a backfill's phase change (:func:`backfill_events`), once."""
        for event, identity in backfill_events(before, after):
            self._post(schedule, event, identity, series=False)

    def not_ready(self, schedule: Mapping[str, Any], reason: str, message: str) -> None:
        """Post (or count again) the Warning for a schedule gone not Ready."""
        self._post(schedule, spec_warning(reason, message), ("spec", reason, message), series=True)
