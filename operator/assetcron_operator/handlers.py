"""Thin kopf handlers: unpack what kopf gives, call the service, write the status patch.

Resources watched:

* ``assetschedules`` — one level-triggered reconcile on every event: creation, update,
  the initial listing after a (re)start (:func:`reconcile_schedule`), including a new
  ``assetcron.dev/trigger`` value (an annotation under kopf's own prefix, which kopf
  leaves out of the diff that would drive update handlers).
* ``assetjobs`` — status, and re-reconcile of every schedule that references the job
  (found through the :func:`schedules_by_job` index, never a list call); on deletion
  those schedules go ``Ready=False JobNotFound`` and their CronJobs are suspended.
* ``batch/v1`` CronJobs, Jobs and Pods labelled ``app.kubernetes.io/managed-by:
  assetcron`` — kept in indexes; a Job event refreshes its schedule's run history within
  seconds.

The index functions are ``async`` although they never await: kopf runs a sync function in
its thread pool, one thread hop per index per event, which cost more than the indexing
itself (py-spy of ``benchmarks/reconcile.py``: ~20% of the operator's CPU in
``run_in_executor``, ``call_soon_threadsafe`` and the executor's queue). Being pure and
short, they run on the event loop directly.

No deletion handler, no timer or daemon: both would make kopf put a finalizer on every
AssetSchedule (kopf requires one for timers, see nolar/kopf#896), and ownerReferences
plus the garbage collector already clean up. The periodic refresh of ``nextRuns`` and
the run history is one operator-wide loop started at startup (:func:`start`), which
reads the same indexes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import kopf

from assetcron_operator import metrics as metrics_mod
from assetcron_operator import naming, render
from assetcron_operator import status as status_mod
from assetcron_operator.backfill_service import BackfillService
from assetcron_operator.events import EventRecorder
from assetcron_operator.kube import GROUP, JOB_PLURAL, SCHEDULE_PLURAL, VERSION, Kube
from assetcron_operator.kube import make_api_client as _make_api_client
from assetcron_operator.logs import QuietEventHandlers
from assetcron_operator.service import Observed, ScheduleService
from assetcron_operator.settings import Settings
from assetcron_operator.telemetry import Telemetry

__all__ = [
    "Indexes",
    "asset_job_deleted",
    "asset_jobs",
    "cronjobs",
    "reconcile_asset_job",
    "reconcile_schedule",
    "run_changed",
    "run_jobs",
    "run_pods",
    "schedule_bodies",
    "schedules_by_job",
    "start",
    "stop",
]

_MANAGED = {render.LABEL_MANAGED_BY: render.MANAGED_BY}
_log = logging.getLogger("assetcron_operator.handlers")

Key = tuple[str, str]
JsonDict = dict[str, Any]


# ---------------------------------------------------------------------------- indexes
@dataclass(frozen=True)
class Indexes:
    """kopf's in-memory indexes this operator keeps (kopf passes them as keyword arguments
    named after the index functions below; they are live, read-only mappings).

    Attributes:
        schedules_by_job: (namespace, AssetJob name) -> names of referencing schedules.
        schedule_bodies: (namespace, name) -> AssetSchedule (metadata, spec, status).
        asset_jobs: (namespace, name) -> AssetJob (metadata, spec).
        cronjobs: (namespace, name) -> our CronJobs.
        run_jobs: (namespace, owning CronJob name) -> its Jobs.
        run_pods: (namespace, owning Job name) -> its Pods.
    """

    schedules_by_job: kopf.Index[Key, str]
    schedule_bodies: kopf.Index[Key, str]
    asset_jobs: kopf.Index[Key, str]
    cronjobs: kopf.Index[Key, str]
    run_jobs: kopf.Index[Key, str]
    run_pods: kopf.Index[Key, str]

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> Indexes:
        """Pick the indexes out of a handler's keyword arguments."""
        return cls(
            schedules_by_job=kwargs["schedules_by_job"],
            schedule_bodies=kwargs["schedule_bodies"],
            asset_jobs=kwargs["asset_jobs"],
            cronjobs=kwargs["cronjobs"],
            run_jobs=kwargs["run_jobs"],
            run_pods=kwargs["run_pods"],
        )

    def schedule(self, namespace: str, name: str) -> JsonDict | None:
        """The AssetSchedule as last seen, or None."""
        return _first(self.schedule_bodies, (namespace, name))

    def asset_job(self, namespace: str, name: str) -> JsonDict | None:
        """The AssetJob as last seen, or None (not seen *yet* is possible)."""
        return _first(self.asset_jobs, (namespace, name))

    def asset_job_names(self, namespace: str) -> list[str]:
        """Names of the AssetJobs seen in ``namespace`` (for did-you-mean hints)."""
        return [name for ns, name in list(self.asset_jobs.keys()) if ns == namespace]

    def schedules_of(self, namespace: str, job_name: str) -> list[str]:
        """Sorted names of the schedules referencing AssetJob ``job_name``."""
        try:
            return sorted(set(self.schedules_by_job[(namespace, job_name)]))
        except KeyError:
            return []

    def observed(self, namespace: str, schedule_name: str) -> Observed:
        """The schedule's CronJob, its Jobs and their Pods."""
        cj_name = naming.cronjob_name(schedule_name)
        jobs = _all(self.run_jobs, (namespace, cj_name))
        pods = [p for j in jobs for p in _all(self.run_pods, (namespace, j["metadata"]["name"]))]
        return Observed(cronjob=_first(self.cronjobs, (namespace, cj_name)), jobs=jobs, pods=pods)


def _pack(value: JsonDict) -> str:
    # Index values are kept as compact JSON text: a thousand CronJobs as nested dicts
    # cost several times the memory of their JSON (benchmarks/reconcile.py, peak RSS).
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _first(index: kopf.Index[Key, str], key: Key) -> JsonDict | None:
    try:
        store = index[key]
    except KeyError:
        return None
    for value in store:
        return cast(JsonDict, json.loads(value))
    return None


def _all(index: kopf.Index[Key, str], key: Key) -> list[JsonDict]:
    try:
        return [cast(JsonDict, json.loads(v)) for v in index[key]]
    except KeyError:
        return []


def _projection(body: kopf.Body, *, spec: bool = True, status: bool = True) -> JsonDict:
    # What the service needs of an object, without managedFields (memory: 1,000s of them).
    raw_meta = body.get("metadata", {})
    out: JsonDict = {
        "metadata": {
            k: raw_meta[k]
            for k in (
                "name",
                "namespace",
                "uid",
                "generation",
                "resourceVersion",
                "creationTimestamp",
                "labels",
                "annotations",
                "ownerReferences",
            )
            if k in raw_meta
        }
    }
    if spec:
        out["spec"] = body.get("spec") or {}
    if status:
        out["status"] = body.get("status") or {}
    return out


def _owner(body: kopf.Body, kind: str) -> str | None:
    for ref in body.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == kind and ref.get("name"):
            return str(ref["name"])
    return None


@kopf.index(GROUP, VERSION, SCHEDULE_PLURAL)
async def schedules_by_job(
    *, namespace: str | None, name: str, spec: kopf.Spec, **_: Any
) -> dict[Key, str]:
    """Index: (namespace, AssetJob name) -> the AssetSchedule's name."""
    job = (spec.get("jobRef") or {}).get("name")
    return {(namespace or "", str(job)): name} if job else {}


@kopf.index(GROUP, VERSION, SCHEDULE_PLURAL)
async def schedule_bodies(
    *, namespace: str | None, name: str, body: kopf.Body, **_: Any
) -> dict[Key, str]:
    """Index: (namespace, name) -> the AssetSchedule (metadata, spec, status), packed."""
    return {(namespace or "", name): _pack(_projection(body))}


@kopf.index(GROUP, VERSION, JOB_PLURAL)
async def asset_jobs(
    *, namespace: str | None, name: str, body: kopf.Body, **_: Any
) -> dict[Key, str]:
    """Index: (namespace, name) -> the AssetJob (metadata, spec, status), packed."""
    return {(namespace or "", name): _pack(_projection(body))}


@kopf.index("batch", "v1", "cronjobs", labels=_MANAGED)
async def cronjobs(
    *, namespace: str | None, name: str, body: kopf.Body, **_: Any
) -> dict[Key, str]:
    """Index: (namespace, name) -> our live CronJobs, packed."""
    return {(namespace or "", name): _pack(_projection(body))}


def _run_owner(body: kopf.Body) -> str | None:
    # The CronJob a run belongs to: its owner for scheduled runs (and ``kubectl create
    # job --from``), the schedule's CronJob for our manual runs (owned by the schedule).
    if (schedule := _owner(body, "AssetSchedule")) is not None:
        return naming.cronjob_name(schedule)
    return _owner(body, "CronJob")


@kopf.index("batch", "v1", "jobs", labels=_MANAGED)
async def run_jobs(*, namespace: str | None, body: kopf.Body, **_: Any) -> dict[Key, str]:
    """Index: (namespace, the schedule's CronJob name) -> its Jobs (scheduled and manual),
    packed."""
    owner = _run_owner(body)
    return {(namespace or "", owner): _pack(_projection(body))} if owner else {}


@kopf.index("", "v1", "pods", labels=_MANAGED)
async def run_pods(*, namespace: str | None, body: kopf.Body, **_: Any) -> dict[Key, str]:
    """Index: (namespace, owning Job name) -> its Pods (termination message), packed."""
    owner = _owner(body, "Job")
    return {(namespace or "", owner): _pack(_projection(body, spec=False))} if owner else {}


# ---------------------------------------------------------------------------- startup
#: Kinds we watch without change (create/update/resume) handlers: kopf needs no diff-base
#: essence of them.
_NO_CHANGE_HANDLERS = frozenset({"AssetSchedule", "CronJob", "Job", "Pod"})


class _AssetJobDiffBase(kopf.AnnotationsDiffBaseStorage):
    """kopf's last-handled-configuration storage, building essences only where they serve.

    kopf builds an object's essence (a deep copy of the whole body, managedFields
    included, then pruned) on every event of every watched kind, to diff it for change
    handlers. Only AssetJobs have change handlers here; for the other kinds the essence is
    built and thrown away (py-spy of ``benchmarks/reconcile.py``: ~6% of the operator's
    CPU in ``copy.deepcopy`` under ``DiffBaseStorage.build``). An empty essence for them
    changes nothing kopf does (no change or spawning handlers read it).
    """

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        if body.get("kind") in _NO_CHANGE_HANDLERS:
            return cast(kopf.BodyEssence, {})
        return super().build(body=body, extra_fields=extra_fields)


@kopf.on.startup()
async def start(
    *,
    settings: kopf.OperatorSettings,
    memo: Any,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    """Tune kopf, build the service, start the periodic status refresh.

    Our settings are read from the environment here (not at import), so importing the
    package never fails on a bad variable; a bad value stops the operator at startup
    with :class:`assetcron_operator.settings.SettingsError` naming the variable.

    * kopf's bookkeeping annotations go under ``assetcron.dev/`` (progress and the
      last-handled configuration), never into our status;
    * standalone: no kopf peering objects; replicas are kept apart by the Lease of
      :mod:`assetcron_operator.leader` (kopf only starts once it is held);
    * no namespace/CRD scanning when the namespaces are given (least privilege);
    * only warnings and errors become Kubernetes Events (each is an API write);
    * sync handlers run in a thread pool sized for bursts of creations;
    * Prometheus metrics on ``ASSETCRON_METRICS_PORT`` (:mod:`assetcron_operator.metrics`)
      and run Events (:mod:`assetcron_operator.events`), told by the service.
    """
    ours = Settings.from_env()
    logging.getLogger("kopf.objects").addFilter(
        QuietEventHandlers(("reconcile_schedule", "run_changed", "asset_job_deleted"))
    )
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = _AssetJobDiffBase(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.peering.standalone = True
    # With explicit namespaces kopf needs no namespace or CRD scanning (our CRDs exist
    # before the operator starts); without this it retries ~1 min on 403s under the
    # chart's namespaced RBAC, which grants neither.
    settings.scanning.disabled = bool(ours.namespaces)
    settings.posting.level = logging.WARNING
    workers = 16
    settings.execution.max_workers = workers
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330

    kube = Kube(_make_api_client(pool_size=workers + 4))
    ix = Indexes.from_kwargs(kwargs)
    metrics = _start_metrics(ours, ix, logger)
    service = ScheduleService(
        kube,
        run_history_limit=ours.run_history_limit,
        telemetry=Telemetry(events=EventRecorder(kube, clock=_utcnow), metrics=metrics),
    )
    memo["service"] = service
    memo["metrics"] = metrics
    memo["refresher"] = asyncio.create_task(
        _refresh_loop(service, ix, interval=ours.status_interval, metrics=metrics),
        name="assetcron-status-refresh",
    )
    logger.info(
        "assetcron operator started",
        extra={
            "namespaces": list(ours.namespaces) or "*",
            "runHistoryLimit": ours.run_history_limit,
            "statusInterval": ours.status_interval,
            "metricsPort": ours.metrics_port,
        },
    )


def _start_metrics(ours: Settings, ix: Indexes, logger: kopf.Logger) -> metrics_mod.OperatorMetrics:
    # The registry always exists (handlers count into it); it is served unless the port
    # is 0. A port that cannot be bound is logged, not fatal: the scrape then fails and
    # the "operator down" alert (up == 0) says so, while schedules keep being reconciled.
    metrics = metrics_mod.OperatorMetrics()
    metrics.add_schedule_collector(
        metrics_mod.ScheduleCollector(
            lambda: [b for key in list(ix.schedule_bodies.keys()) if (b := ix.schedule(*key))]
        )
    )
    metrics_mod.WatchRestartCounter(
        metrics.watch_restarts, verbose=logging.getLogger().isEnabledFor(logging.DEBUG)
    ).install()
    if ours.metrics_port:
        try:
            metrics_mod.serve(metrics, ours.metrics_port)
        except OSError as exc:
            logger.error(f"cannot serve metrics on port {ours.metrics_port}: {exc}")
    return metrics


def _utcnow() -> datetime:
    return datetime.now(UTC)


F = TypeVar("F", bound=Callable[..., None])


def _measured(resource: str) -> Callable[[F], F]:
    """Count and time the decorated handler as a reconcile of ``resource`` (metrics
    ``assetcron_reconcile_*``); kopf sees the same name and keyword arguments."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> None:
            metrics = (kwargs.get("memo") or {}).get("metrics")
            if metrics is None:
                return fn(**kwargs)
            with metrics.reconciling(resource):
                return fn(**kwargs)

        return cast(F, wrapper)

    return decorate


@kopf.on.cleanup()
async def stop(*, memo: Any, **_: Any) -> None:
    """Stop the periodic refresh."""
    task = memo.get("refresher")
    if isinstance(task, asyncio.Task):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _service(memo: Any) -> ScheduleService:
    return cast(ScheduleService, memo["service"])


# ---------------------------------------------------------------------------- schedules
def _has_news(body: kopf.Body, **_: Any) -> bool:
    # An event carries something for the reconcile when the spec (generation) is newer
    # than the status reflects, or a trigger value is still to act on. The echo of our own
    # status write carries neither and is skipped without a thread hop; the rest (a lost
    # CronJob, a tick passing, a label-only edit, which keeps the generation) is the
    # periodic refresh pass's job. The
    # status is only written after the CronJob apply succeeded, so a current
    # observedGeneration also means the CronJob was applied for this generation.
    status = body.get("status") or {}
    if status.get("observedGeneration") != body.get("metadata", {}).get("generation"):
        return True
    annotations = body.get("metadata", {}).get("annotations", {})
    trigger = annotations.get(render.TRIGGER_ANNOTATION)
    if trigger and trigger != (status.get("lastTrigger") or {}).get("value"):
        return True
    backfill = annotations.get(render.BACKFILL_ANNOTATION)
    return bool(backfill) and backfill != (status.get("backfill") or {}).get("value")


@kopf.on.event(GROUP, VERSION, SCHEDULE_PLURAL, when=_has_news)
@_measured("assetschedule")
def reconcile_schedule(
    *,
    type: str,
    body: kopf.Body,
    spec: kopf.Spec,
    name: str,
    namespace: str | None,
    patch: kopf.Patch,
    logger: kopf.Logger,
    memo: Any,
    **kwargs: Any,
) -> None:
    """Every AssetSchedule event (creation, change, the initial listing after a restart,
    our own status writes): one idempotent, level-triggered reconcile.

    An event handler rather than create/update/resume handlers on purpose: kopf then
    keeps no per-object bookkeeping (no progress or last-handled-configuration
    annotation to write), so a schedule costs one CronJob apply and one status write,
    and an event that changes nothing writes nothing. What kopf would retry is retried
    by the periodic refresh pass. A new ``assetcron.dev/trigger`` value creates the
    manual run once. An invalid spec or a missing AssetJob becomes ``Ready=False`` with
    the reason (logged as a warning when it changes), never a retry loop.
    """
    if type == "DELETED":
        return  # ownerReferences: the garbage collector removes the CronJob
    ns = namespace or ""
    ix = Indexes.from_kwargs(kwargs)
    service = _service(memo)
    job_name = str((spec.get("jobRef") or {}).get("name", ""))
    outcome = service.reconcile_schedule(
        body,
        job=ix.asset_job(ns, job_name),
        observed=ix.observed(ns, name),
        logger=logger,
        job_names=lambda: ix.asset_job_names(ns),
    )
    patch.status.update(outcome.status)
    pending = service.pending_trigger(body)
    if pending is not None:
        cronjob = outcome.cronjob
        if cronjob is None and outcome.ready == "True":
            cronjob = service.kube.get_cronjob(ns, naming.cronjob_name(name))
        patch.status.update(
            service.run_trigger(
                body, value=pending, cronjob=cronjob, logger=logger, outcome=outcome
            )
        )
    if outcome.ready != "True" and "conditions" in outcome.status:
        # Logged only: the Warning Event (reason = the condition's) is posted, once per
        # change, by the service's telemetry, not by kopf's logging-to-events.
        _log.warning(
            f"Not ready: {outcome.reason}: {outcome.message}",
            extra={"schedule": f"{ns}/{name}"},
        )
    service.backfills.step(
        body,
        jobs=ix.observed(ns, name).jobs,
        cronjob=outcome.cronjob,
        ready=outcome.ready == "True",
        logger=logger,
    )


# ---------------------------------------------------------------------------- asset jobs
@kopf.on.resume(GROUP, VERSION, JOB_PLURAL)
@kopf.on.create(GROUP, VERSION, JOB_PLURAL)
@kopf.on.update(GROUP, VERSION, JOB_PLURAL)
@_measured("assetjob")
def reconcile_asset_job(
    *,
    body: kopf.Body,
    name: str,
    namespace: str | None,
    patch: kopf.Patch,
    logger: kopf.Logger,
    memo: Any,
    **kwargs: Any,
) -> None:
    """AssetJob created/changed/resumed: its status, then re-render each of its schedules
    (found through the ``schedules_by_job`` index, not a list call)."""
    ns = namespace or ""
    ix = Indexes.from_kwargs(kwargs)
    service = _service(memo)
    names = ix.schedules_of(ns, name)
    patch.status.update(service.asset_job_status(body, schedule_count=len(names)))
    for schedule_name in names:
        _reconcile_from_index(service, ix, ns, schedule_name, job=body, logger=logger)


def _is_deletion(type: str, **_: Any) -> bool:
    return type == "DELETED"


@kopf.on.event(GROUP, VERSION, JOB_PLURAL, when=_is_deletion)
def asset_job_deleted(
    *,
    type: str,
    name: str,
    namespace: str | None,
    logger: kopf.Logger,
    memo: Any,
    **kwargs: Any,
) -> None:
    """AssetJob gone: its schedules go ``Ready=False JobNotFound``, CronJobs suspended."""
    if type != "DELETED":
        return
    ns = namespace or ""
    ix = Indexes.from_kwargs(kwargs)
    service = _service(memo)
    for schedule_name in ix.schedules_of(ns, name):
        _reconcile_from_index(
            service, ix, ns, schedule_name, job=None, logger=logger, job_missing=True
        )


def _reconcile_from_index(
    service: ScheduleService,
    ix: Indexes,
    namespace: str,
    schedule_name: str,
    *,
    job: Mapping[str, Any] | None,
    logger: kopf.Logger,
    job_missing: bool = False,
) -> None:
    schedule = ix.schedule(namespace, schedule_name)
    if schedule is None:
        return
    outcome = service.reconcile_schedule(
        schedule,
        job=job,
        observed=ix.observed(namespace, schedule_name),
        logger=logger,
        job_missing=job_missing,
        job_names=lambda: ix.asset_job_names(namespace),
    )
    if outcome.status:
        service.kube.patch_schedule_status(namespace, schedule_name, outcome.status)


# ---------------------------------------------------------------------------- runs
@kopf.on.event("batch", "v1", "jobs", labels=_MANAGED)
@_measured("run")
def run_changed(
    *,
    type: str,
    body: kopf.Body,
    namespace: str | None,
    memo: Any,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    """A run's Job changed: refresh its schedule's run history (no write if unchanged)
    and prune its finished manual runs beyond the history limits. A scheduled run
    deleted unfinished by the next tick (``concurrencyPolicy: Replace``) is recorded in
    ``status.lastReplacedRun`` and reported as a ``RunReplaced`` warning Event."""
    ns = namespace or ""
    ix = Indexes.from_kwargs(kwargs)
    service = _service(memo)
    names: list[str] = []
    cronjob: JsonDict | None = None
    if (direct := _owner(body, "AssetSchedule")) is not None:
        names.append(direct)  # a manual run
    elif (cj_name := _owner(body, "CronJob")) is not None:
        cronjob = _first(ix.cronjobs, (ns, cj_name))
        owners = (cronjob or {}).get("metadata", {}).get("ownerReferences") or []
        names.extend(o["name"] for o in owners if o.get("kind") == "AssetSchedule")
    replaced = None
    if type == "DELETED":
        replaced = status_mod.replaced_run(body, cronjob, now=service.clock())
    for name in names:
        schedule = ix.schedule(ns, name)
        if schedule is None:
            continue
        observed = ix.observed(ns, name)
        changes = service.refresh_runs(schedule, observed=observed)
        if replaced is not None:
            changes["lastReplacedRun"] = replaced
            message = (
                f"run {replaced['name']} (scheduled {replaced['scheduledTime']}) was still"
                f" running at the next tick ({replaced['replacedBy']}) and was deleted"
                " (concurrencyPolicy Replace): runs take longer than the period, so none"
                " completes"
            )
            target = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "AssetSchedule", **schedule}
            kopf.warn(cast(kopf.Body, target), reason="RunReplaced", message=message)
            logger.warning(message)
        if changes:
            service.kube.patch_schedule_status(ns, name, changes)
        if direct is not None:
            service.prune_manual_runs(schedule, observed=observed)
        job_name = str(body.get("metadata", {}).get("name", ""))
        service.backfills.step(
            schedule,
            jobs=observed.jobs,
            cronjob=observed.cronjob,
            ready=_is_ready(schedule),
            logger=logger,
            seen={job_name: None if type == "DELETED" else dict(body)},
        )


def _is_ready(schedule: Mapping[str, Any]) -> bool:
    conditions = (schedule.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


# ---------------------------------------------------------------------------- refresh loop
async def _refresh_loop(
    service: ScheduleService,
    ix: Indexes,
    *,
    interval: float,
    metrics: metrics_mod.OperatorMetrics | None = None,
) -> None:
    # Every `interval` seconds, reconcile every known schedule (compare-then-write: an idle
    # pass writes nothing). Catches what no event announces: a tick passing (nextRuns), a
    # pod's termination message arriving after its Job's last event, a missed trigger.
    # Each pass logs one line with the number of API writes made meanwhile (the idle
    # resync figure that tests and benchmarks/reconcile.py read).
    # A schedule whose refresh found it Ready and wrote nothing is skipped by the next
    # passes while everything its refresh reads is the same (the very index values, and
    # the minute, which nextRuns depends on): idle passes then decode nothing (py-spy:
    # decoding the index values was ~20% of the operator's CPU while 1,000 converged).
    # A schedule with news for the event handler (a generation its status has not
    # observed, a trigger to act on) is left to that handler for one pass: refreshing it
    # too wrote its status twice (6% more status writes while 1,000 converged). Only if
    # its packed value is still the same a pass later (the handler failed: kopf does not
    # retry event handlers) is it refreshed here.
    deferred: dict[Key, str] = {}
    quiet: dict[Key, _Inputs] = {}
    passes = 0
    while True:
        await asyncio.sleep(interval)
        started = time.monotonic()
        writes_before = service.kube.total_writes
        keys = list(ix.schedule_bodies.keys())
        minute = int(time.time() // 60)
        still_quiet: dict[Key, _Inputs] = {}
        for start in range(0, len(keys), _REFRESH_CHUNK):
            chunk: list[_RefreshItem] = []
            for key in keys[start : start + _REFRESH_CHUNK]:
                raw = _raw_first(ix.schedule_bodies, key)
                if raw is None:
                    continue
                inputs = _inputs(ix, key, raw, quiet.get(key), minute)
                if inputs == quiet.get(key):
                    still_quiet[key] = inputs
                    continue
                chunk.append((key, inputs, functools.partial(ix.asset_job_names, key[0])))
            if chunk:
                refreshed = await asyncio.to_thread(
                    _refresh_chunk, service, chunk, deferred, metrics
                )
                for key, inputs in refreshed:
                    still_quiet[key] = inputs
        quiet = still_quiet
        for key in deferred.keys() - set(keys):
            del deferred[key]  # deleted schedules
        for namespace, job_name in list(ix.asset_jobs.keys()):
            job = ix.asset_job(namespace, job_name)
            if job is None:
                continue
            try:
                await asyncio.to_thread(
                    _refresh_job, metrics, service, job, len(ix.schedules_of(namespace, job_name))
                )
            except Exception:
                _log.exception(
                    "AssetJob status refresh failed", extra={"job": f"{namespace}/{job_name}"}
                )
        passes += 1
        _log.info(
            "status refresh pass",
            extra={
                "pass": passes,
                "schedules": len(keys),
                "writes": service.kube.total_writes - writes_before,
                "seconds": round(time.monotonic() - started, 3),
            },
        )


#: Schedules refreshed per thread hop: one ``asyncio.to_thread`` per schedule cost about
#: as much CPU as an idle schedule's refresh itself.
_REFRESH_CHUNK = 64


@dataclass(frozen=True)
class _Inputs:
    """Everything one schedule's refresh reads: the packed index values themselves
    (compared, never decoded, to tell whether anything changed) and the minute."""

    schedule: str
    job_name: str
    job: str | None
    cronjob: str | None
    jobs: tuple[str, ...]
    job_names: tuple[str, ...]
    pods: tuple[str, ...]
    minute: int


def _raw_first(index: kopf.Index[Key, str], key: Key) -> str | None:
    try:
        store = index[key]
    except KeyError:
        return None
    for value in store:
        return value
    return None


def _raw_all(index: kopf.Index[Key, str], key: Key) -> tuple[str, ...]:
    try:
        return tuple(index[key])
    except KeyError:
        return ()


def _inputs(ix: Indexes, key: Key, raw: str, previous: _Inputs | None, minute: int) -> _Inputs:
    # What the refresh of schedule `key` (packed `raw`) would read now. Decodes only what
    # changed since `previous`: the schedule for its jobRef, the Jobs for their names.
    namespace, name = key
    if previous is not None and previous.schedule == raw:
        job_name = previous.job_name
    else:
        spec = json.loads(raw).get("spec") or {}
        job_name = str((spec.get("jobRef") or {}).get("name", ""))
    cj_name = naming.cronjob_name(name)
    jobs = _raw_all(ix.run_jobs, (namespace, cj_name))
    if previous is not None and previous.jobs == jobs:
        job_names = previous.job_names
    else:
        job_names = tuple(str(json.loads(j)["metadata"]["name"]) for j in jobs)
    return _Inputs(
        schedule=raw,
        job_name=job_name,
        job=_raw_first(ix.asset_jobs, (namespace, job_name)),
        cronjob=_raw_first(ix.cronjobs, (namespace, cj_name)),
        jobs=jobs,
        job_names=job_names,
        pods=tuple(p for j in job_names for p in _raw_all(ix.run_pods, (namespace, j))),
        minute=minute,
    )


_RefreshItem = tuple[Key, _Inputs, Callable[[], list[str]]]


def _refresh_chunk(
    service: ScheduleService,
    chunk: list[_RefreshItem],
    deferred: dict[Key, str],
    metrics: metrics_mod.OperatorMetrics | None = None,
) -> list[tuple[Key, _Inputs]]:
    # Refresh each schedule from its packed inputs; return those found Ready with nothing
    # to write. One failing schedule (an API error) is logged and does not stop the others.
    # A schedule with news for the event handler is skipped the first time its packed
    # value is seen (recorded in `deferred`; see _refresh_loop).
    quiet = []
    for key, inputs, job_names in chunk:
        try:
            schedule = json.loads(inputs.schedule)
            if deferred.get(key) != inputs.schedule and _has_news(schedule):
                deferred[key] = inputs.schedule
                continue
            deferred.pop(key, None)
            observed = Observed(
                cronjob=None if inputs.cronjob is None else json.loads(inputs.cronjob),
                jobs=[json.loads(j) for j in inputs.jobs],
                pods=[json.loads(p) for p in inputs.pods],
            )
            job = None if inputs.job is None else json.loads(inputs.job)
            if _refresh_one(service, schedule, job, observed, job_names, metrics=metrics):
                quiet.append((key, inputs))
        except Exception:
            _log.exception("status refresh failed", extra={"schedule": f"{key[0]}/{key[1]}"})
    return quiet


def _refresh_job(
    metrics: metrics_mod.OperatorMetrics | None,
    service: ScheduleService,
    job: Mapping[str, Any],
    schedules: int,
) -> None:
    # The AssetJob's schedule count changes with schedules created/deleted elsewhere.
    with metrics.reconciling("assetjob") if metrics else contextlib.nullcontext():
        _refresh_job_now(service, job, schedules)


def _refresh_job_now(service: ScheduleService, job: Mapping[str, Any], schedules: int) -> None:
    meta = job["metadata"]
    changes = service.asset_job_status(job, schedule_count=schedules)
    if changes:
        service.kube.patch_assetjob_status(meta["namespace"], meta["name"], changes)


def _refresh_one(
    service: ScheduleService,
    schedule: Mapping[str, Any],
    job: Mapping[str, Any] | None,
    observed: Observed,
    job_names: Callable[[], list[str]] | None = None,
    *,
    metrics: metrics_mod.OperatorMetrics | None = None,
) -> bool:
    # Returns True when the schedule is Ready, nothing was written and no backfill or
    # catch-up needs it: the next passes may skip it while its inputs stay the same.
    with metrics.reconciling("assetschedule") if metrics else contextlib.nullcontext():
        return _refresh_one_now(service, schedule, job, observed, job_names)


def _refresh_one_now(
    service: ScheduleService,
    schedule: Mapping[str, Any],
    job: Mapping[str, Any] | None,
    observed: Observed,
    job_names: Callable[[], list[str]] | None = None,
) -> bool:
    meta = schedule["metadata"]
    logger = logging.LoggerAdapter(_log, {"schedule": f"{meta['namespace']}/{meta['name']}"})
    outcome = service.reconcile_schedule(
        schedule, job=job, observed=observed, logger=logger, job_names=job_names
    )
    changes = dict(outcome.status)
    pending = service.pending_trigger(schedule)
    if pending is not None:
        changes.update(
            service.run_trigger(
                schedule, value=pending, cronjob=outcome.cronjob, logger=logger, outcome=outcome
            )
        )
    if changes:
        service.kube.patch_schedule_status(meta["namespace"], meta["name"], changes)
    service.backfills.step(
        schedule,
        jobs=observed.jobs,
        cronjob=outcome.cronjob,
        ready=outcome.ready == "True",
        logger=logger,
    )
    return (
        outcome.ready == "True"
        and not outcome.applied
        and not changes
        and not BackfillService.wanted(schedule)
    )
