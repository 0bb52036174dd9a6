"""Backfills and catch-up, the I/O half: create the tick Jobs, write the progress.

The pure rules are in :mod:`assetcron_operator.backfill`. One step
(:meth:`BackfillService.step`) reads the AssetSchedule, settles the backfill's and the
catch-up batch's finished Jobs, starts the next ticks (oldest first, at most
``maxConcurrent`` running) and writes ``status.backfill`` / ``status.catchUp``. The
counts there are computed from the previous status, so the write carries the
``resourceVersion`` it was computed from (optimistic concurrency); on a conflict the
step reads the schedule again and recomputes, which is safe because creating a tick's
Job again only answers AlreadyExists. Steps of one schedule are serialized by a lock.

Steps run on the schedule's events, on every event of its Jobs and on the periodic
refresh, so a backfill goes on without the CLI and after an operator restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from assetcron_operator import backfill as bf
from assetcron_operator import naming, render
from assetcron_operator.events import EventRecorder
from assetcron_operator.kube import ConflictError, Kube
from assetcron_operator.status import rfc3339 as _rfc3339

__all__ = ["BackfillService"]

JsonDict = dict[str, Any]
Logger = logging.Logger | logging.LoggerAdapter[Any]

_ATTEMPTS = 3


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _schedule_key(spec: Mapping[str, Any]) -> str:
    key = f"{spec.get('timeZone') or 'UTC'} {spec.get('cronSchedule') or ''}"
    return key + (" suspended" if spec.get("suspend") else "")


class BackfillService:
    """Carries out backfills (``assetcron.dev/backfill``) and ``catchUp.policy: All``.

    Args:
        kube: the storage layer.
        clock: returns the current time (aware, UTC).
        events: posts the Backfill* Events (``None``: no Events).
    """

    def __init__(
        self,
        kube: Kube,
        *,
        clock: Callable[[], datetime],
        events: EventRecorder | None = None,
    ) -> None:
        self.kube = kube
        self.clock = clock
        self.events = events
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @staticmethod
    def wanted(schedule: Mapping[str, Any]) -> bool:
        """Whether ``schedule`` has anything for :meth:`step`: a backfill value not yet
        handled, a backfill or catch-up batch in progress, or ``catchUp.policy: All``
        (or a catch-up record to clear)."""
        spec = schedule.get("spec") or {}
        status = schedule.get("status") or {}
        annotations = (schedule.get("metadata") or {}).get("annotations") or {}
        value = annotations.get(render.BACKFILL_ANNOTATION)
        current = status.get("backfill") or {}
        if value and value != current.get("value"):
            return True
        if current.get("phase") in ("Running", "Canceled") and current.get("running"):
            return True
        if current.get("phase") == "Running":
            return True
        return (spec.get("catchUp") or {}).get("policy") == "All" or bool(status.get("catchUp"))

    def _lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def step(
        self,
        schedule: Mapping[str, Any],
        *,
        jobs: Sequence[Mapping[str, Any]],
        cronjob: Mapping[str, Any] | None,
        ready: bool,
        logger: Logger,
        seen: Mapping[str, Mapping[str, Any] | None] | None = None,
    ) -> JsonDict:
        """One step for ``schedule`` (as last seen); returns the status written ({} if none).

        Args:
            schedule: the AssetSchedule (an index's copy is fine: it is read again
                from the API before anything is written).
            jobs: the schedule's Jobs as the operator's index holds them.
            cronjob: its live CronJob (``None``: not there; no Job is created).
            ready: the schedule's Ready condition is True (no Job is created otherwise).
            logger: where to report.
            seen: the latest state of Jobs from their own events (``None``: deleted),
                which may be newer than ``jobs``.
        """
        if not self.wanted(schedule):
            return {}
        meta = schedule.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or "default"), str(meta.get("name"))
        with self._lock((namespace, name)):
            for _ in range(_ATTEMPTS):
                # The index's copy may lag our own last write: compute from the API's.
                fresh = self.kube.get_schedule(namespace, name)
                if fresh is None or not self.wanted(fresh):
                    return {}
                changes = self._compute(
                    fresh, jobs=jobs, cronjob=cronjob, ready=ready, logger=logger, seen=seen or {}
                )
                if not changes:
                    return {}
                version = (fresh.get("metadata") or {}).get("resourceVersion")
                try:
                    self.kube.patch_schedule_status(
                        namespace, name, changes, resource_version=version
                    )
                except ConflictError:
                    continue
                if self.events is not None and "backfill" in changes:
                    before = (fresh.get("status") or {}).get("backfill")
                    self.events.backfill(fresh, before, changes["backfill"])
                return changes
        logger.info("backfill progress not written (the schedule kept changing); next event")
        return {}

    # ------------------------------------------------------------------ the computation
    def _compute(
        self,
        schedule: Mapping[str, Any],
        *,
        jobs: Sequence[Mapping[str, Any]],
        cronjob: Mapping[str, Any] | None,
        ready: bool,
        logger: Logger,
        seen: Mapping[str, Mapping[str, Any] | None],
    ) -> JsonDict:
        status = schedule.get("status") or {}
        by_name: dict[str, Mapping[str, Any] | None] = {
            str((j.get("metadata") or {}).get("name")): j for j in jobs
        }
        by_name.update(seen)
        changes: JsonDict = {}
        current = status.get("backfill")
        backfill = self._backfill(
            schedule, current, by_name=by_name, cronjob=cronjob, ready=ready, logger=logger
        )
        if backfill != current:
            changes["backfill"] = backfill
        current_cu = status.get("catchUp")
        catch_up = self._catch_up(
            schedule,
            current_cu,
            jobs=jobs,
            by_name=by_name,
            cronjob=cronjob,
            ready=ready,
            logger=logger,
        )
        if catch_up != current_cu:
            changes["catchUp"] = catch_up
        return changes

    def _lookup(
        self, namespace: str, names: Sequence[str], by_name: Mapping[str, Mapping[str, Any] | None]
    ) -> dict[str, Mapping[str, Any] | None]:
        # Running Jobs the index does not hold (yet, or any more) are asked for.
        out: dict[str, Mapping[str, Any] | None] = {}
        for name in names:
            out[name] = by_name[name] if name in by_name else self.kube.get_job(namespace, name)
        return out

    def _run_ticks(
        self,
        state: JsonDict,
        ticks: Sequence[datetime],
        *,
        schedule: Mapping[str, Any],
        by_name: Mapping[str, Mapping[str, Any] | None],
        cronjob: Mapping[str, Any] | None,
        ready: bool,
        logger: Logger,
    ) -> JsonDict:
        """Settle ``state``'s running Jobs, then submit its next ticks (when Ready)."""
        namespace = str((schedule.get("metadata") or {}).get("namespace") or "default")
        state = bf.advance(state, self._lookup(namespace, state.get("running") or [], by_name))
        if not (ready and cronjob is not None and "uid" in (cronjob.get("metadata") or {})):
            return bf.finish(state, now=self.clock())
        cj_name = str(cronjob["metadata"]["name"])
        # Ticks whose Job had already finished take no room: go on until the room is full.
        while indexes := bf.to_submit(state, len(ticks)):
            for index in indexes:
                tick = ticks[index]
                job_name = bf.tick_job_name(cj_name, tick)
                manifest = render.render_backfill_job(
                    cronjob,
                    scheduled_time=tick,
                    name=job_name,
                    backfill_id=str(state["id"]),
                    force=bool(state.get("force")),
                )
                job, created = self.kube.create_job(manifest)
                labels = (job.get("metadata") or {}).get("labels") or {}
                ours = created or labels.get(render.LABEL_BACKFILL) == state["id"]
                logger.info(
                    "Backfill Job created" if created else "Backfill tick's Job existed",
                    extra={"job": job_name, "scheduledTime": _rfc3339(tick), "id": state["id"]},
                )
                state = bf.record_submitted(
                    state, job_name, created=ours, job=None if ours else job
                )
        return bf.finish(state, now=self.clock())

    def _backfill(
        self,
        schedule: Mapping[str, Any],
        current: Mapping[str, Any] | None,
        *,
        by_name: Mapping[str, Mapping[str, Any] | None],
        cronjob: Mapping[str, Any] | None,
        ready: bool,
        logger: Logger,
    ) -> JsonDict | None:
        spec = schedule.get("spec") or {}
        annotations = (schedule.get("metadata") or {}).get("annotations") or {}
        value = annotations.get(render.BACKFILL_ANNOTATION)
        state: JsonDict | None = None if current is None else dict(current)
        now = self.clock()
        if value and value != (current or {}).get("value"):
            state = self._start(value, spec, state, ready=ready, cronjob=cronjob, now=now)
            logger.info(
                f"Backfill {state.get('phase')}: {state.get('message') or state.get('progress')}",
                extra={"value": value},
            )
        if state is None or state.get("phase") not in ("Running", "Canceled"):
            return state
        if state.get("phase") == "Canceled" and not state.get("running"):
            return state
        if state.get("phase") == "Running" and state.get("schedule") != _schedule_key(
            {**spec, "suspend": False}
        ):
            state.update(phase="Canceled", message="the schedule's cron or time zone changed")
        try:
            ticks = bf.backfill_ticks(
                str(spec.get("cronSchedule") or ""),
                str(spec.get("timeZone") or "UTC"),
                _parse(state.get("from")) or now,
                _parse(state.get("to")) or now,
            )
        except bf.BackfillError as exc:
            state.update(phase="Canceled", message=str(exc))
            ticks = []
        return self._run_ticks(
            state,
            ticks,
            schedule=schedule,
            by_name=by_name,
            cronjob=cronjob,
            ready=ready and not spec.get("suspend"),
            logger=logger,
        )

    def _start(
        self,
        value: str,
        spec: Mapping[str, Any],
        current: JsonDict | None,
        *,
        ready: bool,
        cronjob: Mapping[str, Any] | None,
        now: datetime,
    ) -> JsonDict:
        def rejected(message: str) -> JsonDict:
            return bf.finish(
                {
                    **bf.new_state("rejected", ticks=0, now=now, extra={"value": value}),
                    "phase": "Rejected",
                    "message": message,
                },
                now=now,
            )

        try:
            request = bf.parse_backfill_value(value)
        except bf.BackfillError as exc:
            return rejected(str(exc))
        if request.cancel:
            if current is not None and current.get("id") == request.id:
                if current.get("phase") == "Running":
                    return {**current, "value": value, "phase": "Canceled", "message": "canceled"}
                return {**current, "value": value}
            return rejected(f"no backfill {request.id!r} to cancel")
        if not ready or cronjob is None:
            return rejected("the schedule is not Ready (see its Ready condition)")
        # Ticks still to come are the CronJob's to run, at their time.
        end = min(request.end, now)
        if end < request.start:
            return rejected(f"the range starts after now ({_rfc3339(now)}): nothing to backfill")
        try:
            ticks = bf.backfill_ticks(
                str(spec.get("cronSchedule") or ""),
                str(spec.get("timeZone") or "UTC"),
                request.start,
                end,
            )
        except bf.BackfillError as exc:
            return rejected(str(exc))
        return bf.new_state(
            request.id,
            ticks=len(ticks),
            now=now,
            max_concurrent=request.max_concurrent,
            force=request.force,
            extra={
                "value": value,
                "from": _rfc3339(request.start),
                "to": _rfc3339(end),
                "schedule": _schedule_key({**spec, "suspend": False}),
            },
        )

    def _catch_up(
        self,
        schedule: Mapping[str, Any],
        current: Mapping[str, Any] | None,
        *,
        jobs: Sequence[Mapping[str, Any]],
        by_name: Mapping[str, Mapping[str, Any] | None],
        cronjob: Mapping[str, Any] | None,
        ready: bool,
        logger: Logger,
    ) -> JsonDict | None:
        spec = schedule.get("spec") or {}
        policy = (spec.get("catchUp") or {}).get("policy") or "Latest"
        now = self.clock()
        state: JsonDict = dict(current or {})
        run: JsonDict | None = state.get("run")
        if policy != "All":
            # Forget what was accounted for, so that turning All on again never replays;
            # a batch still running is kept until its Jobs end.
            if run is not None and run.get("phase") == "Running" and run.get("running"):
                state["run"] = bf.advance(
                    {**run, "phase": "Canceled"},
                    self._lookup(
                        str(schedule["metadata"].get("namespace")), run["running"], by_name
                    ),
                )
                return state
            return None
        key = _schedule_key(spec)
        if state.get("schedule") != key:
            # New, edited, suspended or resumed: count from now (Dagster #13597).
            return {"schedule": key, "since": _rfc3339(now), "skipped": state.get("skipped", 0)}
        last_schedule = _parse(((cronjob or {}).get("status") or {}).get("lastScheduleTime"))
        since = _parse(state.get("since")) or now
        created = _parse((schedule.get("metadata") or {}).get("creationTimestamp"))
        watermark = max(filter(None, [_parse(state.get("lastTick")), since, created]))
        if (
            ready
            and not spec.get("suspend")
            and cronjob is not None
            and last_schedule is not None
            and last_schedule > watermark
        ):
            ticks, skipped = self._missed(
                spec, cronjob, jobs, by_name, after=watermark, before=last_schedule, now=now
            )
            state["lastTick"] = _rfc3339(last_schedule)
            if skipped:
                state["skipped"] = int(state.get("skipped") or 0) + skipped
                logger.warning(
                    f"catch-up: {skipped} missed ticks beyond catchUp.maxTicks are not run"
                )
            if ticks:
                times = bf.rfc3339_list(ticks)
                if run is not None and run.get("phase") == "Running":
                    listed = list(run.get("tickTimes") or [])
                    run = {**run, "tickTimes": listed + [t for t in times if t not in listed]}
                    run["ticks"] = len(run["tickTimes"])
                else:
                    run = bf.new_state(
                        f"c{int(last_schedule.timestamp()) // 60}",
                        ticks=len(times),
                        now=now,
                        extra={"tickTimes": times},
                    )
                logger.info(f"catch-up: running {len(times)} missed ticks: {', '.join(times)}")
        if run is not None and (run.get("phase") == "Running" or run.get("running")):
            ticks_run = [t for t in (_parse(x) for x in run.get("tickTimes") or []) if t]
            run = self._run_ticks(
                run,
                ticks_run,
                schedule=schedule,
                by_name=by_name,
                cronjob=cronjob,
                ready=ready and not spec.get("suspend"),
                logger=logger,
            )
        if run is not None:
            state["run"] = run
        return state

    def _missed(
        self,
        spec: Mapping[str, Any],
        cronjob: Mapping[str, Any],
        jobs: Sequence[Mapping[str, Any]],
        by_name: Mapping[str, Mapping[str, Any] | None],
        *,
        after: datetime,
        before: datetime,
        now: datetime,
    ) -> tuple[list[datetime], int]:
        cj_spec = cronjob.get("spec") or {}
        cj_name = str(cronjob["metadata"]["name"])
        controlled = [
            j
            for j in jobs
            if any(
                o.get("kind") == "CronJob" and o.get("controller") and o.get("name") == cj_name
                for o in (j.get("metadata") or {}).get("ownerReferences") or []
            )
        ]
        cutoff = bf.pruning_cutoff(
            controlled,
            successful_limit=int(cj_spec.get("successfulJobsHistoryLimit", 3)),
            failed_limit=int(cj_spec.get("failedJobsHistoryLimit", 1)),
        )
        bounds = []
        deadline = cj_spec.get("startingDeadlineSeconds")
        if isinstance(deadline, int):
            bounds.append(now - timedelta(seconds=deadline))
        ttl = ((cj_spec.get("jobTemplate") or {}).get("spec") or {}).get("ttlSecondsAfterFinished")
        if isinstance(ttl, int):
            # A Job of a later tick cannot have finished and been deleted by its TTL yet.
            bounds.append(now - timedelta(seconds=ttl))
        max_ticks = int((spec.get("catchUp") or {}).get("maxTicks") or 10)
        return bf.missed_ticks(
            str(spec.get("cronSchedule") or ""),
            str(spec.get("timeZone") or "UTC"),
            after=after,
            before=before,
            existing=[n for n, j in by_name.items() if j is not None],
            cronjob_name=naming.cronjob_name(str(cj_name)),
            cutoff=cutoff,
            not_before=max(bounds) if bounds else None,
            max_ticks=max_ticks,
        )
