"""The reconcile logic: desired state from the pure render, compared with the live state,
written only when they differ; status derived from what is observed.

The handlers (:mod:`assetcron_operator.handlers`) are thin: they hand this service CR
bodies and what kopf's indexes already hold (the live CronJob, its Jobs and their Pods)
and write the status patch it returns. All API calls go through
:class:`assetcron_operator.kube.Kube`; the clock is injected.

One idempotent reconcile serves create, update, resume, the periodic timer and AssetJob
changes (the "level-triggered" design kopf's author recommends): it never looks at what
changed, only at what is wanted and what is there.

Write discipline (so that an idle resync writes nothing):

* the CronJob is applied only when the live object lacks the desired content hash
  annotation :data:`SPEC_HASH_ANNOTATION` or differs from the desired manifest on any
  field the manifest sets (drift made by hand is repaired);
* the status patch only holds the top-level status keys whose value changes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from assetcron_operator import render, validation
from assetcron_operator import status as status_mod
from assetcron_operator.backfill_service import BackfillService
from assetcron_operator.kube import Kube, RefusedError
from assetcron_operator.telemetry import Telemetry
from assetcron_operator.trigger import TriggerError, parse_trigger_options, parse_trigger_value
from assetcron_operator.validation import did_you_mean

__all__ = [
    "SPEC_HASH_ANNOTATION",
    "Observed",
    "ScheduleService",
    "check_job_spec",
    "check_specs",
    "desired_differs",
    "spec_hash",
    "status_changes",
]

#: Annotation on the CronJob: SHA-256 of the rendered manifest it was applied from.
SPEC_HASH_ANNOTATION = "assetcron.dev/spec-hash"

READY = "Ready"
REASON_RECONCILED = "Reconciled"
REASON_INVALID = "InvalidSpec"
REASON_JOB_NOT_FOUND = "JobNotFound"
#: The API server refused the rendered CronJob (HTTP 400/422): fix the spec, no retry.
REASON_CRONJOB_INVALID = "CronJobInvalid"

JsonDict = dict[str, Any]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def spec_hash(manifest: Mapping[str, Any]) -> str:
    """SHA-256 (hex, first 16 characters) of ``manifest`` as canonical JSON."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _subset(desired: Any, live: Any) -> bool:
    # Every value the desired object sets is present, equal, in the live one. Lists must
    # have the same length and match element-wise (live adds server defaults inside
    # elements, e.g. imagePullPolicy, but never adds elements to lists we set).
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return False
        return all(k in live and _subset(v, live[k]) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            return False
        return all(_subset(d, lv) for d, lv in zip(desired, live, strict=True))
    return bool(desired == live)


def desired_differs(desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
    """True when ``live`` (a CronJob as read from the API, or None) must be (re)applied.

    ``desired`` carries :data:`SPEC_HASH_ANNOTATION`. Removing a field from the desired
    manifest changes the hash; editing a field of the live object by hand breaks the subset
    check; both cause a write. Server-side defaults on the live object do not.
    """
    if live is None:
        return True
    want = desired.get("metadata", {}).get("annotations", {}).get(SPEC_HASH_ANNOTATION)
    have = (live.get("metadata") or {}).get("annotations", {}).get(SPEC_HASH_ANNOTATION)
    if want != have:
        return True
    if not _subset(desired.get("spec", {}), live.get("spec", {})):
        return True
    live_meta = live.get("metadata") or {}
    want_meta = desired.get("metadata", {})
    return not (
        _subset(want_meta.get("labels", {}), live_meta.get("labels", {}))
        and _subset(want_meta.get("ownerReferences", []), live_meta.get("ownerReferences", []))
    )


def status_changes(current: Mapping[str, Any], desired: Mapping[str, Any]) -> JsonDict:
    """The merge patch turning ``current`` status into ``desired``: changed top-level keys.

    A key whose desired value is ``None`` and which is absent now is not a change.
    """
    return {
        k: v
        for k, v in desired.items()
        if current.get(k) != v and not (v is None and current.get(k) is None)
    }


@dataclass(frozen=True)
class Observed:
    """What the operator observed about a schedule's children (from kopf's indexes).

    Attributes:
        cronjob: the live CronJob (``None``: not there, or not seen yet).
        jobs: the ``batch/v1`` Jobs the CronJob owns (scheduled and manual runs).
        pods: the Pods of those Jobs (for the runner's termination summary).
    """

    cronjob: Mapping[str, Any] | None = None
    jobs: Sequence[Mapping[str, Any]] = ()
    pods: Sequence[Mapping[str, Any]] = ()


@dataclass
class Outcome:
    """Result of one reconcile.

    Attributes:
        status: the status patch to write (only the keys that change; may be empty).
        ready: the Ready condition's status (``"True"``/``"False"``).
        reason: the Ready condition's reason.
        message: the Ready condition's message.
        applied: whether the CronJob was written (applied or suspended).
        cronjob: the CronJob after this reconcile (live or as applied), if any.
    """

    status: JsonDict
    ready: str
    reason: str
    message: str
    applied: bool = False
    cronjob: Mapping[str, Any] | None = None


class ScheduleService:
    """Reconciles AssetSchedules (and the AssetJobs they reference) into CronJobs.

    Args:
        kube: the storage layer.
        run_history_limit: runs kept in ``status.recentRuns`` and the default CronJob
            history limits (operator setting ``ASSETCRON_RUN_HISTORY_LIMIT``).
        clock: returns the current time (aware, UTC); injected for tests.
        next_count: how many upcoming ticks ``status.nextRuns`` lists.
        monotonic: seconds from a monotonic clock (how recent our own applies are).
        telemetry: told each status computation (run metrics and Events); none by default.
    """

    def __init__(
        self,
        kube: Kube,
        *,
        run_history_limit: int = 10,
        clock: Callable[[], datetime] = _utcnow,
        next_count: int = 3,
        monotonic: Callable[[], float] = time.monotonic,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.kube = kube
        self.telemetry = telemetry
        self.run_history_limit = run_history_limit
        self.clock = clock
        self.next_count = next_count
        self.monotonic = monotonic
        # (namespace, CronJob name) -> (spec hash, monotonic time) of our latest apply.
        self._applied: dict[tuple[str, str], tuple[str, float]] = {}
        self._applied_lock = threading.Lock()
        #: Backfills and catchUp All (:mod:`assetcron_operator.backfill_service`).
        self.backfills = BackfillService(
            kube, clock=self.clock, events=telemetry.events if telemetry else None
        )
        # (namespace, schedule name) -> the inputs (see _inputs_version) with which the
        # live CronJob was last found valid and up to date: the same inputs again need no
        # validation, render or comparison. Plain dict operations (atomic under the GIL).
        self._verified: dict[tuple[str, str], tuple[object, ...]] = {}

    #: Seconds during which an apply we made is trusted over an index that has not yet
    #: seen its watch event (the index lags the write by one event round trip).
    APPLY_TRUST_SECONDS = 30.0

    def _just_applied(self, key: tuple[str, str], desired: Mapping[str, Any]) -> bool:
        want = desired["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
        with self._applied_lock:
            entry = self._applied.get(key)
        return (
            entry is not None
            and entry[0] == want
            and self.monotonic() - entry[1] < self.APPLY_TRUST_SECONDS
        )

    def _remember_applied(self, key: tuple[str, str], desired: Mapping[str, Any]) -> None:
        now = self.monotonic()
        applied = self._applied
        with self._applied_lock:
            # Oldest first (re-inserted on each apply), so forgetting the entries the index
            # has certainly caught up on stops at the first recent one: O(1) per apply even
            # while a burst of 1,000 creations keeps every entry recent (py-spy: scanning
            # them all on each apply was ~2% of the operator's CPU while 1,000 converged).
            applied.pop(key, None)
            applied[key] = (desired["metadata"]["annotations"][SPEC_HASH_ANNOTATION], now)
            while now - next(iter(applied.values()))[1] >= self.APPLY_TRUST_SECONDS:
                del applied[next(iter(applied))]

    #: Most entries kept in the verified-inputs memo before it starts afresh.
    VERIFIED_LIMIT = 100_000

    def _remember_verified(self, key: tuple[str, str], version: tuple[object, ...]) -> None:
        if len(self._verified) >= self.VERIFIED_LIMIT:
            self._verified.clear()  # deleted schedules' entries; the live ones re-verify once
        self._verified[key] = version

    # ------------------------------------------------------------------ schedules
    def reconcile_schedule(
        self,
        schedule: Mapping[str, Any],
        *,
        job: Mapping[str, Any] | None,
        observed: Observed,
        logger: logging.Logger | logging.LoggerAdapter[Any],
        job_missing: bool = False,
        job_names: Callable[[], Iterable[str]] | None = None,
    ) -> Outcome:
        """Make the schedule's CronJob match its spec and compute its status patch.

        Args:
            schedule: the AssetSchedule body (metadata, spec, status).
            job: the referenced AssetJob body, or ``None`` when the caller does not have
                it (the API is then asked once, unless ``job_missing``).
            observed: the live CronJob, Jobs and Pods.
            logger: where to report writes.
            job_missing: the caller knows the AssetJob is gone (its DELETED event).
            job_names: the AssetJob names of the namespace, for a did-you-mean when the
                referenced one is missing (called only then).

        Never raises for bad input: an invalid spec gives Ready=False ``InvalidSpec``, a
        missing AssetJob gives Ready=False ``JobNotFound`` (with a did-you-mean when a name
        is close), and a CronJob the API server refuses gives Ready=False
        ``CronJobInvalid`` with the API server's message. Whenever the schedule is not
        Ready its live CronJob is suspended (kept with its history, not deleted), so it
        never runs an outdated spec; ``trigger`` refuses while it is not Ready. Other API errors
        (``kubernetes.client.ApiException``) propagate so that the caller (kopf) retries.
        """
        meta = schedule.get("metadata") or {}
        namespace = str(meta.get("namespace", "default"))
        spec = schedule.get("spec") or {}
        job_ref = str((spec.get("jobRef") or {}).get("name", ""))

        if job is None and job_ref and not job_missing:
            job = self.kube.get_assetjob(namespace, job_ref)

        # The idle case (every refresh pass, for every schedule): nothing that the CronJob
        # is rendered from, nor the CronJob, changed since it was last found up to date.
        # Validating, rendering, hashing and comparing again cost ~0.6 ms per schedule
        # (cProfile of a refresh pass of 1,000 schedules), most of an idle pass.
        version = None if job_missing else _inputs_version(schedule, job, observed.cronjob)
        verified_key = (namespace, str(meta.get("name", "")))
        if version is not None and self._verified.get(verified_key) == version:
            return self._up_to_date(schedule, observed, applied=False)

        problem = check_specs(
            _canonical(spec), None if job is None else _canonical(job.get("spec") or {})
        )
        if problem is not None:
            reason, message, of_job = problem
            if of_job:
                message = f"AssetJob {job_ref}: {message}"
            return self._not_ready(schedule, observed, reason, message, logger=logger)

        if job is None:
            message = f"AssetJob {job_ref!r} not found in namespace {namespace!r}"
            hint = did_you_mean(job_ref, job_names() if job_names is not None else ())
            if hint:
                message = f"{message}; {hint}"
            return self._not_ready(schedule, observed, REASON_JOB_NOT_FOUND, message, logger=logger)

        desired = render.render_cronjob(schedule, job, run_history_limit=self.run_history_limit)
        desired["metadata"].setdefault("annotations", {})[SPEC_HASH_ANNOTATION] = spec_hash(desired)
        cronjob: Mapping[str, Any] | None = observed.cronjob
        applied = False
        key = (namespace, desired["metadata"]["name"])
        differs = desired_differs(desired, cronjob)
        if not differs and version is not None:
            self._remember_verified(verified_key, version)
        if differs and not self._just_applied(key, desired):
            try:
                cronjob = self.kube.apply_cronjob(desired)
            except RefusedError as exc:
                # A retry cannot help (the same spec renders the same CronJob): say why on
                # the schedule and wait for its spec or its AssetJob to change.
                name = desired["metadata"]["name"]
                logger.warning("CronJob refused", extra={"cronJob": name, "reason": exc.message})
                message = f"the API server refused CronJob {name}: {exc.message}"
                return self._not_ready(
                    schedule, observed, REASON_CRONJOB_INVALID, message, logger=logger
                )
            applied = True
            self._remember_applied(key, desired)
            # The CronJob as applied is up to date at the resourceVersion the API server
            # returned: the watch event that brings it to the index needs no new check.
            after = None if job_missing else _inputs_version(schedule, job, cronjob)
            if after is not None:
                self._remember_verified(verified_key, after)
            logger.info(
                "CronJob applied",
                extra={
                    "cronJob": desired["metadata"]["name"],
                    "uid": (cronjob.get("metadata") or {}).get("uid"),
                },
            )
        return self._up_to_date(
            schedule,
            Observed(cronjob=cronjob, jobs=observed.jobs, pods=observed.pods),
            applied=applied,
            cronjob_name=desired["metadata"]["name"],
        )

    def _up_to_date(
        self,
        schedule: Mapping[str, Any],
        observed: Observed,
        *,
        applied: bool,
        cronjob_name: str | None = None,
    ) -> Outcome:
        # Ready: the status for a CronJob that is (now) as rendered. Without a name, the
        # live CronJob's is used (the verified case: it was rendered with that name).
        cronjob = observed.cronjob
        if cronjob_name is None:
            cronjob_name = str((cronjob or {}).get("metadata", {}).get("name", ""))
        desired_status = self._status(
            schedule,
            cronjob_name=cronjob_name,
            observed=observed,
            ready="True",
            reason=REASON_RECONCILED,
            message=f"CronJob {cronjob_name} is up to date",
        )
        return Outcome(
            status=status_changes(schedule.get("status") or {}, desired_status),
            ready="True",
            reason=REASON_RECONCILED,
            message="",
            applied=applied,
            cronjob=cronjob,
        )

    def refresh_runs(self, schedule: Mapping[str, Any], *, observed: Observed) -> JsonDict:
        """The status patch after a run changed (Job events): the Ready condition is kept
        as it is, everything run-derived is recomputed. Empty when nothing changes."""
        current = schedule.get("status") or {}
        ready = next((c for c in current.get("conditions") or [] if c.get("type") == READY), None)
        if ready is None:
            return {}  # never reconciled yet: the reconcile will write the whole status
        name = current.get("cronJobName") or (observed.cronjob or {}).get("metadata", {}).get(
            "name"
        )
        desired = self._status(
            schedule,
            cronjob_name=name,
            observed=observed,
            ready=str(ready.get("status", "Unknown")),
            reason=str(ready.get("reason", REASON_RECONCILED)),
            message=str(ready.get("message", "")),
        )
        return status_changes(current, desired)

    def _not_ready(
        self,
        schedule: Mapping[str, Any],
        observed: Observed,
        reason: str,
        message: str,
        *,
        logger: logging.Logger | logging.LoggerAdapter[Any],
    ) -> Outcome:
        # Not Ready: the status says why, and a CronJob left from an earlier valid spec is
        # suspended (kept, with its history), so it no longer runs a spec that is not the
        # schedule's any more. A valid spec re-applies it with the schedule's own suspend.
        current = schedule.get("status") or {}
        live = observed.cronjob
        name = (live or {}).get("metadata", {}).get("name") or current.get("cronJobName")
        outcome = Outcome(status={}, ready="False", reason=reason, message=message)
        if live is not None and not (live.get("spec") or {}).get("suspend", False):
            namespace = str(live["metadata"].get("namespace") or "default")
            with self._applied_lock:
                self._applied.pop((namespace, str(name)), None)
            patched = self.kube.patch_cronjob(
                namespace, live["metadata"]["name"], render.suspended_cronjob_patch()
            )
            outcome.applied = patched is not None
            live = patched if patched is not None else live
            logger.info("CronJob suspended", extra={"cronJob": name, "reason": reason})
        outcome.cronjob = live
        desired = self._status(
            schedule,
            cronjob_name=name,
            observed=Observed(cronjob=live, jobs=observed.jobs, pods=observed.pods),
            ready="False",
            reason=reason,
            message=message,
        )
        outcome.status = status_changes(current, desired)
        return outcome

    def _status(
        self,
        schedule: Mapping[str, Any],
        *,
        cronjob_name: str | None,
        observed: Observed,
        ready: str,
        reason: str,
        message: str,
    ) -> JsonDict:
        # The whole desired status, from the pure derivation in assetcron_operator.status.
        meta = schedule.get("metadata") or {}
        spec = schedule.get("spec") or {}
        current = schedule.get("status") or {}
        desired = status_mod.derive_status(
            generation=meta.get("generation"),
            conditions=list(current.get("conditions") or []),
            ready=ready,
            reason=reason,
            message=message,
            now=self.clock(),
            cron=str(spec.get("cronSchedule") or "") or None,
            time_zone=str(spec.get("timeZone") or "UTC"),
            suspended=bool(spec.get("suspend")),
            cronjob_name=cronjob_name,
            cronjob=observed.cronjob,
            jobs=list(observed.jobs),
            pods=list(observed.pods),
            limit=self.run_history_limit,
            next_count=self.next_count,
        )
        if self.telemetry is not None:
            try:
                self.telemetry.status_computed(schedule, desired, observed)
            except Exception:  # metrics and Events never fail a reconcile
                logging.getLogger("assetcron_operator.service").exception("telemetry failed")
        return desired

    # ------------------------------------------------------------------ manual runs
    def pending_trigger(self, schedule: Mapping[str, Any]) -> str | None:
        """The ``assetcron.dev/trigger`` value still to act on, or ``None``.

        A value is acted on once: after the run is created its value is recorded in
        ``status.lastTrigger.value``.
        """
        annotations = (schedule.get("metadata") or {}).get("annotations") or {}
        value = annotations.get(render.TRIGGER_ANNOTATION)
        if not value:
            return None
        last = ((schedule.get("status") or {}).get("lastTrigger") or {}).get("value")
        return None if last == value else str(value)

    def run_trigger(
        self,
        schedule: Mapping[str, Any],
        *,
        value: str,
        cronjob: Mapping[str, Any] | None,
        logger: logging.Logger | logging.LoggerAdapter[Any],
        outcome: Outcome | None = None,
    ) -> JsonDict:
        """Create the manual run for trigger ``value`` (once) and return the status patch.

        The Job is rendered by :func:`render.render_manual_job` from the live CronJob and
        owned by the schedule, so it shows in the run history. A bad value, a schedule
        that is not Ready (``outcome`` of this reconcile: its reason and message are
        quoted, since its CronJob is suspended and would run an outdated spec) or a
        missing CronJob is reported in ``status.lastTrigger`` (``result: Rejected``) and
        not retried.
        """
        now = self.clock()
        record: JsonDict = {"value": value, "handledTime": _rfc3339(now)}
        try:
            scheduled_time = parse_trigger_value(value)
            force = "force" in parse_trigger_options(value)
        except TriggerError as exc:
            record.update(result="Rejected", message=str(exc))
            return {"lastTrigger": record}
        if outcome is not None and outcome.ready != "True":
            why = f"the schedule is not Ready ({outcome.reason}): {outcome.message}"
            record.update(result="Rejected", message=why[: status_mod.MESSAGE_LIMIT])
            return {"lastTrigger": record}
        if cronjob is None or "jobTemplate" not in (cronjob.get("spec") or {}):
            record.update(result="Rejected", message="the schedule has no CronJob (not Ready)")
            return {"lastTrigger": record}
        manifest = render.render_manual_job(
            cronjob, scheduled_time=scheduled_time, trigger=value, force=force
        )
        job, created = self.kube.create_job(manifest)
        job_name = job["metadata"]["name"]
        logger.info(
            "Manual run created" if created else "Manual run already existed",
            extra={"job": job_name, "scheduledTime": _rfc3339(scheduled_time)},
        )
        record.update(
            result="Created",
            jobName=job_name,
            scheduledTime=_rfc3339(scheduled_time),
            message=f"Job {job_name} created for {_rfc3339(scheduled_time)}"
            + (", recomputing every asset (force)" if force else ""),
        )
        return {"lastTrigger": record}

    def prune_manual_runs(self, schedule: Mapping[str, Any], *, observed: Observed) -> list[str]:
        """Delete the schedule's finished manual runs beyond its history limits.

        Limits: ``spec.successfulJobsHistoryLimit`` / ``failedJobsHistoryLimit``, else
        :attr:`run_history_limit`, as for the CronJob's own runs
        (:func:`assetcron_operator.status.manual_runs_to_prune`). Returns the names
        deleted; a Job already gone is skipped.
        """
        spec = schedule.get("spec") or {}

        def limit(field: str) -> int:
            value = spec.get(field)
            return value if isinstance(value, int) else self.run_history_limit

        doomed = status_mod.manual_runs_to_prune(
            observed.jobs,
            successful_limit=limit("successfulJobsHistoryLimit"),
            failed_limit=limit("failedJobsHistoryLimit"),
        )
        namespace = str((schedule.get("metadata") or {}).get("namespace", "default"))
        return [name for name, uid in doomed if self.kube.delete_job(namespace, name, uid=uid)]

    # ------------------------------------------------------------------ asset jobs
    def asset_job_status(self, job: Mapping[str, Any], *, schedule_count: int) -> JsonDict:
        """Status patch for an AssetJob: observedGeneration, Ready, number of schedules."""
        meta = job.get("metadata") or {}
        current = job.get("status") or {}
        generation = meta.get("generation")
        problem = check_job_spec(_canonical(job.get("spec") or {}))
        if problem is not None:
            ready, (reason, message) = "False", problem
        else:
            ready, reason, message = "True", REASON_RECONCILED, "valid"
        conditions = status_mod.upsert_condition(
            list(current.get("conditions") or []),
            type=READY,
            status=ready,
            reason=reason,
            message=message,
            observed_generation=generation,
            now=self.clock(),
        )
        desired = {
            "observedGeneration": generation,
            "conditions": conditions,
            "schedules": schedule_count,
        }
        return status_changes(current, desired)


def _inputs_version(
    schedule: Mapping[str, Any], job: Mapping[str, Any] | None, cronjob: Mapping[str, Any] | None
) -> tuple[object, ...] | None:
    """What identifies one state of what a CronJob is rendered from, and of the live
    CronJob: for the schedule and its AssetJob, the uid, ``generation`` (which the API
    server bumps on every spec change, and only then: both CRDs have the status
    subresource) and labels (the only metadata the render reads besides the name,
    namespace and uid); for the live CronJob, its uid and ``resourceVersion`` (any change).

    A status write (ours on the schedule, the schedule count on the AssetJob) keeps the
    version, so it does not send a schedule through validation, render and comparison
    again. ``None`` when one of the three is missing or lacks these fields.
    """
    out: list[object] = []
    for body in (schedule, job):
        meta = (body or {}).get("metadata") or {}
        if not meta.get("uid") or meta.get("generation") is None:
            return None
        out += (meta["uid"], meta["generation"], tuple(sorted((meta.get("labels") or {}).items())))
    live = (cronjob or {}).get("metadata") or {}
    if not live.get("uid") or not live.get("resourceVersion"):
        return None
    return (*out, live["uid"], live["resourceVersion"])


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@functools.lru_cache(maxsize=4096)
def check_specs(schedule_spec: str, job_spec: str | None) -> tuple[str, str, bool] | None:
    """Validate a schedule spec (and its AssetJob's spec) given as canonical JSON.

    Returns ``None`` when both are valid, else ``(reason, message, of_job)`` where
    ``of_job`` says the problem is in the AssetJob. Pure, so memoized: the periodic
    resync and a thousand schedules sharing one spec validate it once (the template
    syntax check compiles Jinja2 and dominates a reconcile's CPU otherwise).
    """
    try:
        model = validation.parse_asset_schedule({"spec": json.loads(schedule_spec)})
    except validation.InvalidSpecError as exc:
        return exc.reason, exc.message, False
    job_model = None
    if job_spec is not None:
        try:
            job_model = validation.parse_asset_job({"spec": json.loads(job_spec)}).spec
            validation.validate_asset_job(job_model)
        except validation.InvalidSpecError as exc:
            return exc.reason, exc.message, True
    try:
        validation.validate_asset_schedule(model.spec, job_model)
    except validation.InvalidSpecError as exc:
        return exc.reason, exc.message, False
    return None


@functools.lru_cache(maxsize=1024)
def check_job_spec(job_spec: str) -> tuple[str, str] | None:
    """Validate an AssetJob spec given as canonical JSON: ``None`` or ``(reason, message)``."""
    try:
        validation.validate_asset_job(
            validation.parse_asset_job({"spec": json.loads(job_spec)}).spec
        )
    except validation.InvalidSpecError as exc:
        return exc.reason, exc.message
    return None


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
