"""What the operator reports about a schedule each time it computes its status: run
metrics (:mod:`assetcron_operator.metrics`) and Events (:mod:`assetcron_operator.events`).

:class:`ScheduleService` calls :meth:`Telemetry.status_computed` with the schedule as last
seen and the status it just derived; the difference says which runs started or finished
and whether the schedule just went not Ready. Each transition is reported once per
process (:class:`assetcron_operator.events.SeenOnce`), whether the Job event handler or the
periodic refresh saw it first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from assetcron_operator.events import EventRecorder, SeenOnce, run_transitions

if TYPE_CHECKING:
    from assetcron_operator.metrics import OperatorMetrics
    from assetcron_operator.service import Observed

__all__ = ["Telemetry"]


def _ready(status: Mapping[str, Any]) -> Mapping[str, Any]:
    return next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Ready"),
        {},
    )


class Telemetry:
    """Dispatches run transitions and readiness changes to metrics and Events.

    Args:
        events: posts Events (``None``: no Events).
        metrics: counts runs (``None``: no metrics).
        seen: the in-process deduplication of transitions (a fresh one by default).
    """

    def __init__(
        self,
        *,
        events: EventRecorder | None = None,
        metrics: OperatorMetrics | None = None,
        seen: SeenOnce | None = None,
    ) -> None:
        self.events = events
        self.metrics = metrics
        self.seen = seen if seen is not None else SeenOnce()

    def status_computed(
        self, schedule: Mapping[str, Any], desired: Mapping[str, Any], observed: Observed
    ) -> None:
        """Report what changed between ``schedule``'s status and ``desired`` (the full
        status just derived for it from ``observed``)."""
        meta = schedule.get("metadata") or {}
        namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        uid = str(meta.get("uid", ""))
        current = schedule.get("status") or {}
        transitions = [
            t
            for t in run_transitions(current.get("recentRuns"), desired.get("recentRuns") or [])
            if self.seen.first((namespace, name, uid, *t.key))
        ]
        if transitions:
            if self.metrics is not None:
                self.metrics.record_runs(
                    namespace, name, transitions, list(observed.jobs), list(observed.pods)
                )
            if self.events is not None:
                self.events.run_transitions(schedule, transitions)
        before, now = _ready(current), _ready(desired)
        if now.get("status") != "False":
            return
        what = (now.get("status"), now.get("reason"), now.get("message"))
        if what == (before.get("status"), before.get("reason"), before.get("message")):
            return
        key = (namespace, name, uid, "spec", *map(str, what), str(now.get("lastTransitionTime")))
        if self.events is not None and self.seen.first(key):
            self.events.not_ready(schedule, str(now.get("reason")), str(now.get("message")))
