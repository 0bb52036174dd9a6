"""Pure derivation of an AssetSchedule's status from what the cluster shows.

No I/O and no clock: the caller passes the Jobs and Pods it listed and ``now``. The
shapes written here are the status models of :mod:`assetcron_operator.models`
(camelCase keys, RFC 3339 UTC times ``YYYY-MM-DDTHH:MM:SSZ`` as Kubernetes writes them).

Sources of the rules:

* Job phase: the Job conditions ``Complete`` / ``Failed`` (and, since Kubernetes 1.31,
  ``SuccessCriteriaMet`` / ``FailureTarget`` which precede them),
  https://kubernetes.io/docs/concepts/workloads/controllers/job/#job-termination-and-cleanup.
* Scheduled time of a scheduled run: the CronJob controller names each Job
  ``<cronjob>-<scheduled unix time // 60>`` (DESIGN.md, data flow 5); a manual run carries
  it in the ``assetcron.dev/scheduled-time`` annotation or the ``ASSETCRON_SCHEDULED_TIME``
  env of its container.
* Per-asset outcome: the runner's termination summary (contract shape) in
  ``status.containerStatuses[].state.terminated.message`` of the Job's pod.
* Conditions: metav1.Condition semantics, ``lastTransitionTime`` changes only when
  ``status`` changes (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#typical-status-properties).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from assetcron import cron_next_ticks
from assetcron_operator.render import (
    CONTAINER_NAME,
    INSTANTIATE_ANNOTATION,
    LABEL_TRIGGER,
    SCHEDULED_TIME_ANNOTATION,
)

__all__ = [
    "ASSET_OUTCOMES",
    "MESSAGE_LIMIT",
    "derive_runs",
    "derive_status",
    "job_phase",
    "manual_runs_to_prune",
    "next_ticks",
    "next_ticks_cached",
    "parse_summary",
    "replaced_run",
    "rfc3339",
    "upsert_condition",
]

#: Outcomes the runner's termination summary may report per asset.
ASSET_OUTCOMES = frozenset({"Materialized", "Reused", "Failed", "Skipped"})
#: Longest raw termination message kept in a run's ``message`` (characters).
MESSAGE_LIMIT = 1024
_ERROR_LIMIT = 200
_JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")


def rfc3339(moment: datetime) -> str:
    """``moment`` as an RFC 3339 UTC string with second precision (``...Z``).

    Raises:
        ValueError: ``moment`` is naive (no time zone).
    """
    if moment.tzinfo is None:
        msg = f"expected a timezone-aware datetime, got naive {moment.isoformat()}"
        raise ValueError(msg)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _normalize(value: Any) -> str | None:
    """An RFC 3339 / ISO 8601 string (or datetime) as ``...Z``; ``None`` if unparsable."""
    if isinstance(value, datetime):
        return rfc3339(value if value.tzinfo else value.replace(tzinfo=UTC))
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return rfc3339(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def next_ticks(cron: str, tz: str, after: datetime, count: int = 3) -> list[str]:
    """The next ``count`` ticks of ``cron`` strictly after ``after``, in zone ``tz``.

    The ticks the Kubernetes CronJob controller will run: computed by
    :func:`assetcron.cron_next_ticks`, a port of the controller's own cron library
    (robfig/cron v3 ``ParseStandard("TZ=<tz> <cron>")`` and repeated ``Next``), so
    daylight-saving days match the Jobs it creates. In ``America/New_York``,
    ``30 2 * * *`` has no tick on the spring-forward day and ``30 1 * * *`` has two on
    the fall-back day (01:30 EDT and 01:30 EST); ``0 6 * * *`` in ``Europe/Paris`` is
    06:00 Paris time on either side of a change. Descriptors (``@daily``, ...) are
    understood as the controller understands them.

    Returns:
        RFC 3339 UTC strings (``YYYY-MM-DDTHH:MM:SSZ``), ascending; fewer than ``count``
        when the schedule stops firing (no tick within five years, e.g. ``0 0 30 2 *``).

    Raises:
        ValueError: ``after`` is naive, or the controller's parser refuses ``cron``
            (:class:`assetcron.CronError`, one line).
        KeyError: ``tz`` is not a known time zone (``ZoneInfoNotFoundError``).
    """
    if after.tzinfo is None:
        msg = f"after must be timezone-aware, got naive {after.isoformat()}"
        raise ValueError(msg)
    zone = ZoneInfo(tz)
    return [rfc3339(tick) for tick in cron_next_ticks(cron, zone, after, count)]


def next_ticks_cached(cron: str, tz: str, after: datetime, count: int = 3) -> list[str]:
    """:func:`next_ticks`, memoized per minute: every status refresh of every schedule asks
    for its next ticks, and schedules share a few cron strings.

    Exact: a cron tick is a whole minute of the zone's wall clock (robfig's ``Next``
    rounds ``after`` up to the second and only matches second 0), so when the zone's
    offset at ``after`` is a whole number of minutes (every zone since 1972), the ticks
    strictly after ``after`` are those strictly after the start of its minute. Otherwise
    nothing is cached. Same arguments, returns and errors as :func:`next_ticks`.
    """
    if after.tzinfo is None:
        return next_ticks(cron, tz, after, count)
    try:
        offset = after.astimezone(ZoneInfo(tz)).utcoffset() or timedelta(0)
    except (KeyError, ValueError):
        return next_ticks(cron, tz, after, count)  # raises as next_ticks does
    if offset.total_seconds() % 60:
        return next_ticks(cron, tz, after, count)
    minute = int(after.timestamp() // 60) * 60
    return list(_next_ticks_at(cron, tz, minute, count))


@functools.lru_cache(maxsize=4096)
def _next_ticks_at(cron: str, tz: str, minute: int, count: int) -> tuple[str, ...]:
    return tuple(next_ticks(cron, tz, datetime.fromtimestamp(minute, UTC), count))


def upsert_condition(
    conditions: Iterable[Mapping[str, Any]],
    *,
    type: str,
    status: str,
    reason: str,
    message: str,
    observed_generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """Return ``conditions`` with the condition ``type`` set (a new list; input untouched).

    ``lastTransitionTime`` becomes ``now`` only when the condition is new or its
    ``status`` changes; a change of reason or message alone keeps the old time
    (metav1.Condition semantics). Other condition types are kept in their order.

    Args:
        conditions: the current ``status.conditions``.
        type: condition type, e.g. ``Ready``.
        status: ``True``, ``False`` or ``Unknown``.
        reason: CamelCase reason, e.g. ``Reconciled``, ``InvalidSpec``, ``JobNotFound``.
        message: one human-readable line.
        observed_generation: the ``metadata.generation`` the condition reflects.
        now: aware time of the evaluation.
    """
    existing = next((c for c in conditions if c.get("type") == type), None)
    previous_time = (existing or {}).get("lastTransitionTime")
    changed = existing is None or existing.get("status") != status or not previous_time
    updated = _condition(
        type_=type,
        status=status,
        reason=reason,
        message=message,
        generation=observed_generation,
        when=rfc3339(now) if changed else str(previous_time),
    )
    out = [updated if c is existing else dict(c) for c in conditions]
    if existing is None:
        out.append(updated)
    return out


def _condition(
    *, type_: str, status: str, reason: str, message: str, generation: int | None, when: str
) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": type_, "status": status}
    if generation is not None:
        condition["observedGeneration"] = generation
    condition.update(lastTransitionTime=when, reason=reason, message=message)
    return condition


# ------------------------------------------------------------------------------ runs


def _true_conditions(job: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        str(c.get("type")): c
        for c in (job.get("status") or {}).get("conditions") or []
        if c.get("status") == "True"
    }


def job_phase(job: Mapping[str, Any], pods: Iterable[Mapping[str, Any]] = ()) -> str:
    """``Succeeded``, ``Failed``, ``Running`` or ``Pending`` for a Job (and its pods).

    Finished from the Job's conditions; otherwise Running when a pod runs (or, with no pod
    information, when the Job counts active pods), else Pending.
    """
    true = _true_conditions(job)
    if "Complete" in true or "SuccessCriteriaMet" in true:
        return "Succeeded"
    if "Failed" in true or "FailureTarget" in true:
        return "Failed"
    phases = {str((p.get("status") or {}).get("phase")) for p in pods}
    if "Running" in phases:
        return "Running"
    if not phases and (job.get("status") or {}).get("active"):
        return "Running"
    return "Pending"


def _is_manual(job: Mapping[str, Any]) -> bool:
    meta = job.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    return labels.get(LABEL_TRIGGER) in ("manual", "backfill") or annotations.get(
        INSTANTIATE_ANNOTATION
    ) == ("manual")


def _env_scheduled_time(job: Mapping[str, Any]) -> str | None:
    pod_spec = (((job.get("spec") or {}).get("template") or {}).get("spec")) or {}
    for container in pod_spec.get("containers") or []:
        for env in container.get("env") or []:
            if env.get("name") == "ASSETCRON_SCHEDULED_TIME":
                return _normalize(env.get("value"))
    return None


def _scheduled_time(job: Mapping[str, Any]) -> str | None:
    meta = job.get("metadata") or {}
    explicit = _normalize((meta.get("annotations") or {}).get(SCHEDULED_TIME_ANNOTATION))
    if explicit:
        return explicit
    from_env = _env_scheduled_time(job)
    if from_env:
        return from_env
    suffix = str(meta.get("name", "")).rsplit("-", 1)[-1]
    if suffix.isdigit() and not _is_manual(job):
        return rfc3339(datetime.fromtimestamp(int(suffix) * 60, tz=UTC))
    return None


def _pods_of(job: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    meta = job.get("metadata") or {}
    name, uid = meta.get("name"), meta.get("uid")
    found = []
    for pod in pods:
        pmeta = pod.get("metadata") or {}
        labels = pmeta.get("labels") or {}
        owners = pmeta.get("ownerReferences") or []
        if any(labels.get(key) == name for key in _JOB_NAME_LABELS) or any(
            o.get("kind") == "Job" and (o.get("uid") == uid if uid else o.get("name") == name)
            for o in owners
        ):
            found.append(pod)
    return found


def _termination_message(pods: Iterable[Mapping[str, Any]]) -> str | None:
    """The runner container's termination message of the newest terminated pod."""
    newest: tuple[str, str] | None = None
    for pod in pods:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        for cs in statuses:
            if cs.get("name") != CONTAINER_NAME and len(statuses) > 1:
                continue
            terminated = (cs.get("state") or {}).get("terminated") or {}
            message = terminated.get("message")
            if not message:
                continue
            when = str(terminated.get("finishedAt") or "")
            if newest is None or when >= newest[0]:
                newest = (when, str(message))
    return newest[1] if newest else None


#: Reasons a container waits that need a person (the kubelet's names): the run cannot start
#: until the image, its pull secret or the pod's configuration is fixed.
STUCK_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)


def _waiting_message(pods: Iterable[Mapping[str, Any]]) -> str | None:
    """Why a run's pod cannot start, or ``None`` when none is stuck.

    ``"<reason>: <message>"`` of a container stuck waiting (see :data:`STUCK_REASONS`),
    e.g. ``ErrImageNeverPull: Container image "x:1" is not present with pull policy of
    Never``, or of a pod the scheduler cannot place (``Unschedulable: 0/1 nodes are
    available: pod has unbound immediate PersistentVolumeClaims.``).
    """
    for pod in pods:
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                return f"{cond.get('reason') or 'Unschedulable'}: {cond.get('message', '')}"
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason")
            if reason in STUCK_REASONS:
                detail = waiting.get("message") or f"image {cs.get('image', '?')}"
                return f"{reason}: {detail}"
    return None


def parse_summary(message: str) -> dict[str, Any] | None:
    """Parse the runner's termination summary into ``recentRuns`` fields, or ``None``.

    Returns a dict with ``partitionKey``, ``counts`` (materialized, reused, failed,
    skipped) and ``assets`` ([{key, outcome, error?}], errors cut to 200 characters),
    ``truncated`` when the runner dropped entries, and ``message`` (cut to
    :data:`MESSAGE_LIMIT`) when the runner said why the run stopped early (bad input,
    SIGTERM, an unexpected error). ``None`` when ``message`` is not a summary (not JSON,
    not an object, or without counts/assets).
    """
    try:
        data = json.loads(message)
    except ValueError:
        return None
    if not isinstance(data, dict) or not ({"counts", "assets"} & data.keys()):
        return None
    raw_counts = data.get("counts")
    counts_in: dict[str, Any] = raw_counts if isinstance(raw_counts, dict) else {}
    counts = {}
    for key in ("materialized", "reused", "failed", "skipped"):
        value = counts_in.get(key, 0)
        counts[key] = value if isinstance(value, int) and value >= 0 else 0
    assets = []
    for entry in data.get("assets") or []:
        if not isinstance(entry, dict) or entry.get("outcome") not in ASSET_OUTCOMES:
            continue
        item: dict[str, Any] = {"key": str(entry.get("key", "")), "outcome": entry["outcome"]}
        if entry.get("error"):
            item["error"] = str(entry["error"])[:_ERROR_LIMIT]
        assets.append(item)
    out: dict[str, Any] = {
        "partitionKey": data.get("partitionKey")
        if isinstance(data.get("partitionKey"), str)
        else None,
        "counts": counts,
        "assets": assets,
    }
    if data.get("truncated") is True:
        out["truncated"] = True
    reason = data.get("message")
    if isinstance(reason, str) and reason:
        out["message"] = reason[:MESSAGE_LIMIT]
    return out


def _run(job: Mapping[str, Any], pods: list[Mapping[str, Any]]) -> dict[str, Any]:
    meta = job.get("metadata") or {}
    jstatus = job.get("status") or {}
    phase = job_phase(job, pods)
    completion = _normalize(jstatus.get("completionTime"))
    if completion is None and phase in ("Succeeded", "Failed"):
        true = _true_conditions(job)
        for kind in ("Complete", "Failed", "SuccessCriteriaMet", "FailureTarget"):
            if kind in true:
                completion = _normalize(true[kind].get("lastTransitionTime"))
                break
    scheduled = _scheduled_time(job)
    run: dict[str, Any] = {
        "name": str(meta.get("name", "")),
        "scheduledTime": scheduled,
        "trigger": _trigger(job, scheduled),
        "phase": phase,
        "startTime": _normalize(jstatus.get("startTime")),
        "completionTime": completion,
    }
    message = _termination_message(pods)
    if message is not None:
        summary = parse_summary(message)
        if summary is None:
            run["message"] = message[:MESSAGE_LIMIT]
        else:
            run.update(summary)
    elif phase in ("Pending", "Running") and (stuck := _waiting_message(pods)):
        # The pod cannot start (no such image on the node, a missing Secret, ...):
        # say so on the run rather than leave it Pending without a word.
        run["message"] = stuck[:MESSAGE_LIMIT]
    return run


#: A manual run whose scheduled time is more than this before the Job was created is a
#: backfill (seconds; the CronJob controller's own resolution is a minute).
BACKFILL_AFTER_SECONDS = 60


def _trigger(job: Mapping[str, Any], scheduled: str | None) -> str:
    if not _is_manual(job):
        return "Scheduled"
    if ((job.get("metadata") or {}).get("labels") or {}).get(LABEL_TRIGGER) == "backfill":
        return "Backfill"  # a backfill or catch-up run (assetcron_operator.backfill)
    created = _normalize((job.get("metadata") or {}).get("creationTimestamp"))
    if scheduled and created:
        late = _parse_time(created) - _parse_time(scheduled)
        if late.total_seconds() > BACKFILL_AFTER_SECONDS:
            return "Backfill"
    return "Manual"


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _started(run: Mapping[str, Any], job: Mapping[str, Any]) -> str:
    # When the run started: the Job's startTime, else (not started yet) its creation.
    created = _normalize((job.get("metadata") or {}).get("creationTimestamp")) or ""
    return str(run.get("startTime") or created)


def _sort_key(run: Mapping[str, Any], job: Mapping[str, Any]) -> tuple[str, str]:
    return (_started(run, job), str(run["name"]))


def replaced_run(
    job: Mapping[str, Any], cronjob: Mapping[str, Any] | None, *, now: datetime
) -> dict[str, Any] | None:
    """The ``lastReplacedRun`` record when a deleted Job was a run replaced unfinished.

    With ``concurrencyPolicy: Replace`` the CronJob controller deletes a still-running
    Job when the next tick comes (Kubernetes docs, CronJob "Concurrency policy"); if runs
    take longer than the period no run ever completes, and the Job simply vanishes.
    ``job`` is the Job's last state (its DELETED event), ``now`` the time of that event
    (aware). A run counts as replaced when it was a scheduled run of ``cronjob``, had not
    finished, the policy is ``Replace`` and the tick after its own has come (the
    CronJob's ``lastScheduleTime`` is written only after the replacement is created, so
    it cannot tell yet). Returns ``{"name", "scheduledTime", "replacedBy"}`` (the next
    tick, RFC 3339) or ``None``.
    """
    if cronjob is None or _is_manual(job):
        return None
    spec = cronjob.get("spec") or {}
    if spec.get("concurrencyPolicy") != "Replace" or job_phase(job) in ("Succeeded", "Failed"):
        return None
    owners = (job.get("metadata") or {}).get("ownerReferences") or []
    cj_name = (cronjob.get("metadata") or {}).get("name")
    if not any(o.get("kind") == "CronJob" and o.get("name") == cj_name for o in owners):
        return None
    scheduled = _scheduled_time(job)
    if scheduled is None:
        return None
    try:
        (following,) = next_ticks(
            str(spec.get("schedule") or ""),
            str(spec.get("timeZone") or "UTC"),
            _parse_time(scheduled),
            1,
        )
    except (ValueError, KeyError):
        return None
    if _parse_time(following) > now:
        return None  # deleted before the next tick: not by the controller's Replace
    name = str((job.get("metadata") or {}).get("name", ""))
    return {"name": name, "scheduledTime": scheduled, "replacedBy": following}


def manual_runs_to_prune(
    jobs: Iterable[Mapping[str, Any]], *, successful_limit: int, failed_limit: int
) -> list[tuple[str, str]]:
    """Finished manual runs beyond the history limits: ``[(name, uid)]`` to delete.

    The CronJob controller keeps the newest ``successfulJobsHistoryLimit`` succeeded and
    ``failedJobsHistoryLimit`` failed Jobs it created (newest by start time) and deletes
    the rest; manual runs are owned by the schedule, not the CronJob, so the operator
    applies the same rule to them. Only finished Jobs labelled
    ``assetcron.dev/trigger: manual`` with an AssetSchedule owner are considered;
    running ones are never pruned.
    """
    finished: dict[str, list[tuple[str, str, str]]] = {"Succeeded": [], "Failed": []}
    for job in jobs:
        meta = job.get("metadata") or {}
        owners = meta.get("ownerReferences") or []
        if not _is_manual(job) or not any(o.get("kind") == "AssetSchedule" for o in owners):
            continue
        phase = job_phase(job)
        if phase in finished:
            started = _normalize((job.get("status") or {}).get("startTime"))
            when = started or _normalize(meta.get("creationTimestamp")) or ""
            finished[phase].append((when, str(meta.get("name", "")), str(meta.get("uid", ""))))
    prune: list[tuple[str, str]] = []
    for phase, limit in (("Succeeded", successful_limit), ("Failed", failed_limit)):
        newest_first = sorted(finished[phase], reverse=True)
        prune.extend((name, uid) for _, name, uid in newest_first[max(limit, 0) :])
    return prune


def derive_runs(
    jobs: list[Mapping[str, Any]], pods: list[Mapping[str, Any]], *, limit: int
) -> list[dict[str, Any]]:
    """Recent runs of a schedule, newest first, at most ``limit``.

    Args:
        jobs: the Jobs owned by the schedule's CronJob, scheduled and manual (raw bodies).
        pods: pods of those Jobs (matched by the ``batch.kubernetes.io/job-name`` label or
            the Job ownerReference); pods of other Jobs are ignored.
        limit: the most runs to return (``ASSETCRON_RUN_HISTORY_LIMIT``).

    Returns:
        ``recentRuns`` entries: ``name``, ``scheduledTime``, ``trigger``
        (Scheduled|Manual|Backfill, see :data:`BACKFILL_AFTER_SECONDS`),
        ``phase`` (Pending|Running|Succeeded|Failed), ``startTime``, ``completionTime``,
        and from the termination message either the summary (``partitionKey``, ``counts``,
        ``assets``, ``truncated``) or, when it is not a summary, ``message``.
        Newest by start time (creation time until the Job starts), then by name: a
        backfill of an old date started now comes first, as it is the latest run.
    """
    keyed = []
    for job in jobs:
        run = _run(job, _pods_of(job, pods))
        keyed.append((_sort_key(run, job), run))
    keyed.sort(key=lambda item: item[0], reverse=True)
    return [run for _, run in keyed[: max(limit, 0)]]


def derive_status(
    *,
    generation: int | None,
    conditions: Iterable[Mapping[str, Any]],
    ready: str,
    reason: str,
    message: str,
    now: datetime,
    cron: str | None,
    time_zone: str,
    suspended: bool,
    cronjob_name: str | None,
    cronjob: Mapping[str, Any] | None,
    jobs: list[Mapping[str, Any]],
    pods: list[Mapping[str, Any]],
    limit: int,
    next_count: int = 3,
) -> dict[str, Any]:
    """The whole ``status`` of an AssetSchedule.

    ``nextRuns`` is empty when suspended, not Ready or the cron is unusable;
    ``lastScheduleTime`` / ``lastSuccessfulTime`` / ``active`` come from the live
    CronJob's status, completed by the runs (a manual run counts as a schedule time when
    the CronJob has none; the newest successful completion wins; ``active`` also lists
    unfinished manual and backfill runs and drops runs seen finished, and
    ``activeCount`` is its length, the ACTIVE column); ``lastRunTime`` is
    when the most recently started run started and ``lastResult`` the phase of the
    finished run that started last (so neither depends on scheduled times, which a
    backfill sets in the past).
    """
    next_runs: list[str] = []
    if cron and ready == "True" and not suspended:
        try:
            next_runs = next_ticks_cached(cron, time_zone, now, next_count)
        except (ValueError, KeyError):
            next_runs = []
    runs = derive_runs(jobs, pods, limit=limit)
    cj_status = (cronjob or {}).get("status") or {}
    finished = [r for r in runs if r["phase"] in ("Succeeded", "Failed")]
    successes = [r["completionTime"] for r in runs if r["phase"] == "Succeeded"]
    last_success = max(
        filter(None, [_normalize(cj_status.get("lastSuccessfulTime")), *successes]), default=None
    )
    # Running Jobs: the CronJob's (scheduled runs) and the unfinished runs seen (manual
    # and backfill runs too), minus those seen finished (the CronJob's list lags).
    done = {r["name"] for r in finished}
    active = sorted(
        {str(a["name"]) for a in cj_status.get("active") or [] if "name" in a}.union(
            r["name"] for r in runs if r["phase"] in ("Pending", "Running")
        ).difference(done)
    )
    last_schedule = _normalize(cj_status.get("lastScheduleTime"))
    if last_schedule is None:
        last_schedule = max(filter(None, (r["scheduledTime"] for r in runs)), default=None)
    return {
        "observedGeneration": generation,
        "conditions": upsert_condition(
            conditions,
            type="Ready",
            status=ready,
            reason=reason,
            message=message,
            observed_generation=generation,
            now=now,
        ),
        "cronJobName": cronjob_name,
        "nextRuns": next_runs,
        "lastScheduleTime": last_schedule,
        "lastSuccessfulTime": last_success,
        "lastRunTime": max(filter(None, (r["startTime"] for r in runs)), default=None),
        "lastResult": finished[0]["phase"] if finished else None,
        "active": active,
        "activeCount": len(active),
        "recentRuns": runs,
    }
