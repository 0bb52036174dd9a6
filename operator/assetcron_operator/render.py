"""Pure rendering of the objects the operator owns: the CronJob and manual-run Jobs.

No I/O, no clock, no randomness: the same CR bodies always give the same manifest, so
the reconcile can compare desired with live state and write nothing when they agree.

Inputs are raw CR bodies as kopf hands them over (``{"metadata": {...}, "spec": {...}}``);
the specs are parsed with :mod:`assetcron_operator.models` (defaults applied) here, so a
body that violates the models raises :class:`pydantic.ValidationError`.

Label propagation (allow-list, like Argo's cron controller): the CronJob, its Job
template and its pod template carry

* our labels (contract): ``app.kubernetes.io/managed-by: assetcron``,
  ``assetcron.dev/schedule: <schedule>``, ``assetcron.dev/job: <asset job>`` (values
  shortened with a hash suffix past 63 characters);
* the user's ``app.kubernetes.io/*`` labels from the AssetJob, then from the
  AssetSchedule (the schedule wins), except ``app.kubernetes.io/managed-by``.

Other user labels are not copied: they often select Services or policies, and copying
them onto run pods would change what those select. Our own ``assetcron.dev/*`` keys are
reserved and never taken from users.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from assetcron_operator import naming
from assetcron_operator.models import (
    API_VERSION,
    CATCH_UP_NONE_DEADLINE_SECONDS,
    AssetJobSpec,
    AssetScheduleSpec,
    ObjectMeta,
)

__all__ = [
    "BACKFILL_ANNOTATION",
    "CONTAINER_NAME",
    "LABEL_BACKFILL",
    "LABEL_JOB",
    "LABEL_MANAGED_BY",
    "LABEL_SCHEDULE",
    "LABEL_TRIGGER",
    "MANAGED_BY",
    "RESERVED_ENV",
    "SCHEDULED_TIME_ANNOTATION",
    "TERMINATION_LOG",
    "TRIGGER_ANNOTATION",
    "merge_run_config",
    "our_labels",
    "render_backfill_job",
    "render_cronjob",
    "render_manual_job",
    "run_config_json",
    "suspended_cronjob_patch",
]

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "assetcron"
LABEL_SCHEDULE = "assetcron.dev/schedule"
LABEL_JOB = "assetcron.dev/job"
#: Label on manual-run Jobs (value ``manual``).
LABEL_TRIGGER = "assetcron.dev/trigger"
#: Annotation on an AssetSchedule asking for a manual run; also recorded on the Job.
TRIGGER_ANNOTATION = "assetcron.dev/trigger"
#: Annotation on manual-run Jobs with the explicit scheduled time (RFC 3339, UTC).
SCHEDULED_TIME_ANNOTATION = "assetcron.dev/scheduled-time"
#: Annotation ``kubectl create job --from=cronjob/...`` sets on the Jobs it creates.
INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate"
#: Annotation the CronJob controller puts on its Jobs: the tick in the CronJob's zone.
CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
#: Label on backfill and catch-up Jobs: the backfill's id.
LABEL_BACKFILL = "assetcron.dev/backfill"
#: Annotation on an AssetSchedule asking for a backfill (:mod:`assetcron_operator.backfill`).
BACKFILL_ANNOTATION = "assetcron.dev/backfill"

CONTAINER_NAME = "assetcron"
#: ``fsGroup`` of run pods: the assetcron image's group (the Dockerfile's ``GID``).
RUN_FS_GROUP = 10001
TERMINATION_LOG = "/dev/termination-log"
#: Writable scratch space: the root filesystem is read-only (restricted pod security).
SCRATCH_VOLUME = "assetcron-tmp"
SCRATCH_PATH = "/tmp"  # noqa: S108 - a pod-local emptyDir, not the operator's /tmp

#: Environment variables the operator owns; user template entries with these names are
#: dropped. ``ASSETCRON_STORAGE`` is not reserved and not set by the operator: the root
#: file system is read-only, so users mount a volume in ``template`` and point
#: ``ASSETCRON_STORAGE`` at it (examples/weather/manifests/).
RESERVED_ENV = frozenset(
    {
        "ASSETCRON_JOB_NAME",
        "ASSETCRON_SCHEDULED_TIME",
        "ASSETCRON_TIMEZONE",
        "ASSETCRON_CRON_SCHEDULE",
        "ASSETCRON_RUN_CONFIG",
        "ASSETCRON_PARTITION_KEY",
        "ASSETCRON_SCHEDULE_DEFINITION",
        "ASSETCRON_TERMINATION_LOG",
        "ASSETCRON_FORCE",
    }
)

_USER_LABEL_PREFIXES = ("app.kubernetes.io/",)


def merge_run_config(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` over ``base`` (new dict; inputs untouched).

    Mappings merge key by key, recursively; any other value (lists included) in
    ``override`` replaces the one in ``base``. This is how the AssetSchedule's run-config
    template is laid over the AssetJob's static run config.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_run_config(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def run_config_json(run_config: Mapping[str, Any]) -> str:
    """Compact, key-sorted JSON of a run-config template (the ``ASSETCRON_RUN_CONFIG`` value)."""
    return json.dumps(run_config, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def our_labels(schedule_name: str, job_name: str) -> dict[str, str]:
    """The contract labels on everything created for ``schedule_name`` / ``job_name``."""
    return {
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_SCHEDULE: naming.label_value(schedule_name),
        LABEL_JOB: naming.label_value(job_name),
    }


def _user_labels(*sources: Mapping[str, str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for source in sources:
        for key, value in source.items():
            if key.startswith(_USER_LABEL_PREFIXES) and key != LABEL_MANAGED_BY:
                labels[key] = value
    return labels


def _container_env(schedule: AssetScheduleSpec, job: AssetJobSpec) -> list[dict[str, Any]]:
    template = merge_run_config(job.run_config, schedule.run_config)
    env: list[dict[str, Any]] = [
        {
            "name": "ASSETCRON_JOB_NAME",
            "valueFrom": {
                "fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}
            },
        },
        {"name": "ASSETCRON_TIMEZONE", "value": schedule.time_zone},
        {"name": "ASSETCRON_CRON_SCHEDULE", "value": schedule.cron_schedule},
        {"name": "ASSETCRON_RUN_CONFIG", "value": run_config_json(template)},
    ]
    if schedule.partition_key is not None:
        env.append({"name": "ASSETCRON_PARTITION_KEY", "value": schedule.partition_key})
    if schedule.schedule_definition is not None:
        env.append({"name": "ASSETCRON_SCHEDULE_DEFINITION", "value": schedule.schedule_definition})
    env.append({"name": "ASSETCRON_TERMINATION_LOG", "value": TERMINATION_LOG})
    user_env = [
        e.model_dump(by_alias=True, exclude_none=True)
        for e in job.template.env
        if e.name not in RESERVED_ENV
    ]
    return env + user_env


def _pod_spec(schedule: AssetScheduleSpec, job: AssetJobSpec) -> dict[str, Any]:
    tpl = job.template
    loc = job.code_location
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": loc.image,
        "command": [
            "assetcron",
            "asset",
            "materialize",
            "-m",
            loc.module,
            "-a",
            loc.attribute,
            "--select",
            job.selection,
        ],
        "env": _container_env(schedule, job),
    }
    if tpl.env_from:
        container["envFrom"] = copy.deepcopy(tpl.env_from)
    if tpl.resources is not None:
        container["resources"] = copy.deepcopy(tpl.resources)
    container["volumeMounts"] = [
        {"name": SCRATCH_VOLUME, "mountPath": SCRATCH_PATH},
        *copy.deepcopy(tpl.volume_mounts),
    ]
    container["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    container["terminationMessagePath"] = TERMINATION_LOG
    # The runner writes its summary there; should a run die before it can (the
    # interpreter cannot start, the module cannot be imported, a kill), the kubelet takes
    # the log's tail instead, so a failed run always says why.
    container["terminationMessagePolicy"] = "FallbackToLogsOnError"

    pod: dict[str, Any] = {"restartPolicy": "Never"}
    if tpl.service_account_name:
        pod["serviceAccountName"] = tpl.service_account_name
    if tpl.node_selector:
        pod["nodeSelector"] = dict(tpl.node_selector)
    if tpl.tolerations:
        pod["tolerations"] = copy.deepcopy(tpl.tolerations)
    if tpl.affinity is not None:
        pod["affinity"] = copy.deepcopy(tpl.affinity)
    if tpl.image_pull_secrets:
        pod["imagePullSecrets"] = copy.deepcopy(tpl.image_pull_secrets)
    pod["securityContext"] = {
        "runAsNonRoot": True,
        # Volumes (the run's storage claim) become writable by the pod's user whatever
        # the volume's owner: Kubernetes gives them this group and adds it to the
        # container's groups. The group of the assetcron image (Dockerfile GID), so code
        # locations built FROM it own what they write.
        "fsGroup": RUN_FS_GROUP,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    pod["containers"] = [container]
    pod["volumes"] = [
        {"name": SCRATCH_VOLUME, "emptyDir": {}},
        *copy.deepcopy(tpl.volumes),
    ]
    return pod


def render_cronjob(
    schedule: Mapping[str, Any],
    job: Mapping[str, Any],
    *,
    run_history_limit: int = 10,
) -> dict[str, Any]:
    """Render the desired ``batch/v1`` CronJob for an AssetSchedule and its AssetJob.

    Args:
        schedule: the AssetSchedule body (``metadata`` with name, namespace, uid, labels;
            ``spec``).
        job: the referenced AssetJob body (``metadata``, ``spec``).
        run_history_limit: default for ``successfulJobsHistoryLimit`` and
            ``failedJobsHistoryLimit`` when the schedule leaves them unset, so the CronJob
            keeps as many Jobs as the status lists recent runs (operator setting
            ``ASSETCRON_RUN_HISTORY_LIMIT``).

    Returns:
        The full manifest (apiVersion, kind, metadata with name, namespace, labels and a
        controller ownerReference to the schedule, spec). The CronJob name is
        :func:`assetcron_operator.naming.cronjob_name` of the schedule name.

    Raises:
        pydantic.ValidationError: a spec does not match the models.
    """
    meta = ObjectMeta.model_validate(schedule.get("metadata") or {})
    job_meta = ObjectMeta.model_validate(job.get("metadata") or {})
    spec = AssetScheduleSpec.model_validate(schedule.get("spec") or {})
    job_spec = AssetJobSpec.model_validate(job.get("spec") or {})

    labels = {
        **_user_labels(job_meta.labels, meta.labels),
        **our_labels(meta.name, job_meta.name),
    }
    history = run_history_limit
    cron_spec: dict[str, Any] = {
        "schedule": spec.cron_schedule,
        "timeZone": spec.time_zone,
        "suspend": spec.suspend,
        "concurrencyPolicy": spec.concurrency_policy,
    }
    if spec.starting_deadline_seconds is not None:
        cron_spec["startingDeadlineSeconds"] = spec.starting_deadline_seconds
    elif spec.catch_up.policy == "None":
        # A tick not started within this deadline is never started (the controller's
        # own "missed" rule): catchUp None without a deadline of the user's.
        cron_spec["startingDeadlineSeconds"] = CATCH_UP_NONE_DEADLINE_SECONDS
    cron_spec["successfulJobsHistoryLimit"] = (
        history
        if spec.successful_jobs_history_limit is None
        else spec.successful_jobs_history_limit
    )
    cron_spec["failedJobsHistoryLimit"] = (
        history if spec.failed_jobs_history_limit is None else spec.failed_jobs_history_limit
    )
    job_spec_out: dict[str, Any] = {"backoffLimit": job_spec.backoff_limit}
    if job_spec.active_deadline_seconds is not None:
        job_spec_out["activeDeadlineSeconds"] = job_spec.active_deadline_seconds
    if job_spec.ttl_seconds_after_finished is not None:
        job_spec_out["ttlSecondsAfterFinished"] = job_spec.ttl_seconds_after_finished
    job_spec_out["template"] = {
        "metadata": {"labels": dict(labels)},
        "spec": _pod_spec(spec, job_spec),
    }
    cron_spec["jobTemplate"] = {"metadata": {"labels": dict(labels)}, "spec": job_spec_out}

    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": naming.cronjob_name(meta.name),
            "namespace": meta.namespace,
            "labels": labels,
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": "AssetSchedule",
                    "name": meta.name,
                    "uid": meta.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": cron_spec,
    }


def suspended_cronjob_patch() -> dict[str, Any]:
    """Merge patch that suspends a CronJob (used when its AssetJob is gone: JobNotFound).

    The CronJob is kept, not deleted, so its run history survives until the job returns.
    """
    return {"spec": {"suspend": True}}


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        msg = f"scheduled_time must be timezone-aware, got naive {moment.isoformat()}"
        raise ValueError(msg)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_manual_job(
    cronjob: Mapping[str, Any], *, scheduled_time: datetime, trigger: str, force: bool = False
) -> dict[str, Any]:
    """Render a manual-run ``batch/v1`` Job from a CronJob, like ``kubectl create job --from``.

    The Job is the CronJob's ``jobTemplate`` with ``ASSETCRON_SCHEDULED_TIME`` set
    explicitly in the runner container (the name carries no scheduled minute), annotated
    ``cronjob.kubernetes.io/instantiate: manual`` and labelled
    ``assetcron.dev/trigger: manual``. It is owned by the AssetSchedule (the CronJob's
    own controller owner), not by the CronJob as ``kubectl create job --from`` does: the
    CronJob controller warns ``UnexpectedJob`` on every active Job it controls but did
    not create (kubernetes pkg/controller/cronjob ``syncCronJob``), and would count it in
    its history limits; the reference is a plain owner, not a controller (see the code).
    The operator lists it in the run history and prunes it
    (:func:`assetcron_operator.status.manual_runs_to_prune`); the garbage collector
    deletes it with the schedule.

    Args:
        cronjob: the live CronJob (needs metadata name, namespace, uid and spec.jobTemplate).
        scheduled_time: timezone-aware time the run stands for (seconds are kept).
        trigger: the trigger value (``assetcron.dev/trigger`` annotation); the Job name is
            :func:`assetcron_operator.naming.manual_job_name` of it, so one value gives
            one Job.
        force: set ``ASSETCRON_FORCE=true``: the runner recomputes every asset.

    Raises:
        ValueError: ``scheduled_time`` is naive.
        KeyError: the CronJob has no ``spec.jobTemplate`` or no AssetSchedule owner.
    """
    meta = cronjob.get("metadata") or {}
    name = str(meta.get("name", ""))
    owner = next(
        (
            dict(ref)
            for ref in meta.get("ownerReferences") or []
            if ref.get("kind") == "AssetSchedule" and ref.get("controller")
        ),
        None,
    )
    if owner is None:
        msg = f"CronJob {name} has no AssetSchedule controller ownerReference"
        raise KeyError(msg)
    # Not a *controller* reference: the CronJob controller adopts every Job whose
    # controller reference has the CronJob's name, whatever its kind
    # (``getJobsToBeReconciled`` compares ``controllerRef.Name`` only), and our CronJob is
    # named like its schedule. A plain owner reference still has the Job deleted with the
    # schedule by the garbage collector.
    owner["controller"] = False
    return _job_from_template(
        cronjob,
        name=naming.manual_job_name(name, trigger),
        scheduled_time=scheduled_time,
        trigger="manual",
        annotations={INSTANTIATE_ANNOTATION: "manual", TRIGGER_ANNOTATION: trigger},
        owner=owner,
        force=force,
    )


def render_backfill_job(
    cronjob: Mapping[str, Any],
    *,
    scheduled_time: datetime,
    name: str,
    backfill_id: str,
    force: bool = False,
) -> dict[str, Any]:
    """Render the Job a backfill or catch-up runs for one tick, as the CronJob controller
    would have made it (:mod:`assetcron_operator.backfill` explains the choices).

    Same content as :func:`render_manual_job` (the CronJob's ``jobTemplate`` with
    ``ASSETCRON_SCHEDULED_TIME``), but named ``name`` (the controller's
    ``<cronjob>-<unix minutes>``), labelled ``assetcron.dev/trigger: backfill`` and
    ``assetcron.dev/backfill: <id>``, annotated with the controller's
    ``batch.kubernetes.io/cronjob-scheduled-timestamp`` (the tick in the CronJob's
    zone, RFC 3339), and *controlled* by the CronJob (its UID), so that the controller
    adopts it when it reaches the same tick and prunes it with its own history.

    Raises:
        ValueError: ``scheduled_time`` is naive.
        KeyError: the CronJob has no ``spec.jobTemplate``, name or uid.
    """
    meta = cronjob.get("metadata") or {}
    zone_name = str((cronjob.get("spec") or {}).get("timeZone") or "UTC")
    try:
        zone: Any = ZoneInfo(zone_name)
    except (KeyError, ValueError):
        zone = UTC
    if scheduled_time.tzinfo is None:
        msg = f"scheduled_time must be timezone-aware, got naive {scheduled_time.isoformat()}"
        raise ValueError(msg)
    owner = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "name": str(meta["name"]),
        "uid": str(meta["uid"]),
        "controller": True,
        # No blockOwnerDeletion: where OwnerReferencesPermissionEnforcement is on, setting
        # it needs update rights on cronjobs/finalizers, and it only matters for a
        # foreground deletion of the CronJob.
    }
    return _job_from_template(
        cronjob,
        name=name,
        scheduled_time=scheduled_time,
        trigger="backfill",
        labels={LABEL_BACKFILL: backfill_id},
        annotations={
            CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION: scheduled_time.astimezone(zone).isoformat()
        },
        owner=owner,
        force=force,
    )


def _job_from_template(
    cronjob: Mapping[str, Any],
    *,
    name: str,
    scheduled_time: datetime,
    trigger: str,
    owner: Mapping[str, Any],
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    # The one way a run Job is made from the CronJob's template outside the controller:
    # the template's labels and annotations, plus the trigger label (on the pod too), the
    # explicit scheduled time (annotation and ASSETCRON_SCHEDULED_TIME) and ASSETCRON_FORCE.
    when = _rfc3339(scheduled_time)
    meta = cronjob.get("metadata") or {}
    template = copy.deepcopy(dict(cronjob["spec"]["jobTemplate"]))
    tmeta = template.get("metadata") or {}
    job_labels = {**dict(tmeta.get("labels") or {}), LABEL_TRIGGER: trigger, **(labels or {})}
    job_annotations = {
        **dict(tmeta.get("annotations") or {}),
        SCHEDULED_TIME_ANNOTATION: when,
        **(annotations or {}),
    }
    spec: dict[str, Any] = template.get("spec") or {}
    pod_template = spec.setdefault("template", {})
    pod_meta = pod_template.setdefault("metadata", {})
    pod_meta["labels"] = {**dict(pod_meta.get("labels") or {}), LABEL_TRIGGER: trigger}
    for container in pod_template.get("spec", {}).get("containers", []):
        if container.get("name") != CONTAINER_NAME:
            continue
        ours = {"ASSETCRON_SCHEDULED_TIME", "ASSETCRON_FORCE"}
        env = [e for e in container.get("env", []) if e.get("name") not in ours]
        env.append({"name": "ASSETCRON_SCHEDULED_TIME", "value": when})
        if force:
            env.append({"name": "ASSETCRON_FORCE", "value": "true"})
        container["env"] = env
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace", "default"),
            "labels": job_labels,
            "annotations": job_annotations,
            "ownerReferences": [dict(owner)],
        },
        "spec": spec,
    }
