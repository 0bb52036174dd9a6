"""Pydantic v2 models of the ``AssetJob`` and ``AssetSchedule`` custom resources.

These models are the single source of truth for the API: the CRD YAML in ``crds/`` is
generated from them (``python -m assetcron_operator.crdgen``), and the operator parses
every CR body into them at the edge. Field names are the Kubernetes camelCase names
(aliases); Python code may use either spelling (``populate_by_name``).

Admission rules that a structural schema or CEL can express live here, next to the field
they guard, as ``x-kubernetes-validations`` (CEL) or ``minimum``/``minLength``/``enum``.
What only the operator can check (cron semantics, zoneinfo, the selection grammar, the
template syntax, the run-config budget) is in :mod:`assetcron_operator.validation`.

Specs forbid unknown fields (``extra="forbid"``); statuses ignore them, so that a status
written by an older or newer operator still parses.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.config import JsonValue

__all__ = [
    "API_VERSION",
    "CRON_FIELD_PATTERNS",
    "CRON_MACROS",
    "GROUP",
    "VERSION",
    "AssetJob",
    "AssetJobSpec",
    "AssetJobStatus",
    "AssetOutcome",
    "AssetSchedule",
    "AssetScheduleSpec",
    "AssetScheduleStatus",
    "BackfillStatus",
    "CatchUp",
    "CatchUpStatus",
    "CodeLocation",
    "Condition",
    "EnvVar",
    "JobRef",
    "ObjectMeta",
    "PodTemplate",
    "RecentRun",
    "RunCounts",
    "TriggerRecord",
]

GROUP = "assetcron.dev"

#: Ranges of the Kubernetes fields our integers become (int32 and int64 in the Go types):
#: larger values would wrap (2^40 history became 0, a TTL of 2^32+5 became 5 s).
INT32_MAX = 2**31 - 1
#: For int64 fields: the largest integer a JSON number keeps exactly (2^53 - 1; the API
#: server reads schema bounds as float64, in which 2^63 - 1 is no integer).
INT64_MAX = 2**53 - 1
#: The CronJob controller's sync period, the smallest startingDeadlineSeconds that works.
MIN_STARTING_DEADLINE_SECONDS = 10
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

#: Cron macros the Kubernetes CronJob controller accepts (robfig/cron ``ParseStandard``
#: descriptors), minus ``@every`` which Kubernetes' API validation refuses.
CRON_MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_DAYS = "sun|mon|tue|wed|thu|fri|sat"


def _field_pattern(value: str) -> str:
    # One cron field as robfig/cron (Kubernetes' parser) reads it: a comma list of
    # `*` or `?` or `v` or `v-v`, each optionally followed by `/step` with step >= 1.
    element = rf"(\*|\?|({value})(-({value}))?)(/0*[1-9][0-9]*)?"
    return rf"{element}(,{element})*"


#: Per-field regular expressions (RE2 and Python compatible), in cron field order, with the
#: range of each field from robfig/cron's bounds: minute 0-59, hour 0-23, day of month
#: 1-31, month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT (case-insensitive names).
CRON_FIELD_PATTERNS: tuple[tuple[str, str, str], ...] = (
    ("minute", "0-59", _field_pattern("[0-5]?[0-9]")),
    ("hour", "0-23", _field_pattern("[01]?[0-9]|2[0-3]")),
    ("day-of-month", "1-31", _field_pattern("0?[1-9]|[12][0-9]|3[01]")),
    ("month", "1-12 or JAN-DEC", _field_pattern(f"0?[1-9]|1[0-2]|(?i:{_MONTHS})")),
    ("day-of-week", "0-6 or SUN-SAT", _field_pattern(f"0?[0-6]|(?i:{_DAYS})")),
)

_FIVE_FIELDS = r"^\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s*$"


def _cel_quote(pattern: str) -> str:
    """Quote ``pattern`` as a CEL single-quoted string literal (backslashes doubled)."""
    return "'" + pattern.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _cron_rules() -> list[JsonValue]:
    macros = ", ".join(f"'{m}'" for m in CRON_MACROS)
    is_macro = "self.startsWith('@')"
    rules: list[JsonValue] = [
        {
            "rule": "!self.contains('TZ=')",
            "message": "must not contain TZ= or CRON_TZ=; set spec.timeZone instead",
        },
        {
            "rule": f"!{is_macro} || self in [{macros}]",
            "message": "unsupported macro: use one of "
            + ", ".join(CRON_MACROS)
            + " (@every is not supported by Kubernetes CronJobs)",
        },
        {
            "rule": f"{is_macro} || self.matches({_cel_quote(_FIVE_FIELDS)})",
            "message": "must have exactly 5 fields (minute hour day-of-month month day-of-week)"
            " or be a macro such as @daily; seconds and years are not supported",
        },
    ]
    for index, (name, bounds, pattern) in enumerate(CRON_FIELD_PATTERNS):
        before = r"\S+\s+" * index
        after = r"\s+\S+" * (len(CRON_FIELD_PATTERNS) - index - 1)
        field_re = rf"^\s*{before}({pattern}){after}\s*$"
        rules.append(
            {
                "rule": f"{is_macro} || !self.matches({_cel_quote(_FIVE_FIELDS)})"
                f" || self.matches({_cel_quote(field_re)})",
                "message": f"{name} field must be *, ?, a value, range or list in {bounds},"
                " with an optional /step",
            }
        )
    return rules


_DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_PY_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
_PY_MODULE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
_TIME_ZONE = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"

_PRESERVE: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}
_PRESERVE_OBJECT: dict[str, Any] = {"type": "object", **_PRESERVE}

#: Most tags on a job or schedule, and the longest tag value (characters). Tags travel
#: into every run; the bounds keep one object from carrying megabytes of them.
MAX_TAGS = 64
MAX_TAG_VALUE = 1024
#: Most top-level keys of a run config (Dagster's shape has four: ops, resources,
#: execution, loggers; the runner refuses others with a message).
MAX_RUN_CONFIG_KEYS = 16
_TAG_KEYS_RULE: dict[str, Any] = {
    "x-kubernetes-validations": [
        {"rule": "self.all(k, size(k) <= 253)", "message": "tag keys are at most 253 characters"}
    ]
}
_TAGS_DESCRIPTION = (
    f"Free-form run tags (at most {MAX_TAGS}; values up to {MAX_TAG_VALUE} characters)."
)
TagValue = Annotated[str, Field(max_length=MAX_TAG_VALUE)]


class _Model(BaseModel):
    """Base: camelCase aliases, population by either name, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=False,
    )


class _StatusModel(_Model):
    """Base for status models: unknown fields are ignored, not rejected."""

    model_config = ConfigDict(extra="ignore")


class ObjectMeta(BaseModel):
    """The parts of ``metadata`` the operator reads (all other keys are ignored)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, alias_generator=to_camel)

    name: str = ""
    namespace: str = "default"
    uid: str = ""
    generation: int = 0
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


# ----------------------------------------------------------------------------- AssetJob


class EnvVar(_Model):
    """A container environment variable (core/v1 ``EnvVar``)."""

    name: str = Field(min_length=1, description="Name of the environment variable.")
    value: str | None = Field(default=None, description="Literal value.")
    value_from: dict[str, Any] | None = Field(
        default=None,
        description="Source for the value (core/v1 EnvVarSource: fieldRef, secretKeyRef, ...).",
        json_schema_extra=_PRESERVE,
    )


class PodTemplate(_Model):
    """Pod settings copied into every run's pod (core/v1 shapes, not re-modelled)."""

    env: list[EnvVar] = Field(
        default_factory=list, description="Extra environment variables for the runner."
    )
    env_from: list[dict[str, Any]] = Field(
        default_factory=list,
        description="core/v1 EnvFromSource list (configMapRef / secretRef).",
        json_schema_extra={"items": _PRESERVE_OBJECT},
    )
    resources: dict[str, Any] | None = Field(
        default=None,
        description="core/v1 ResourceRequirements of the runner container.",
        json_schema_extra=_PRESERVE,
    )
    service_account_name: str | None = Field(
        default=None, max_length=253, description="Service account the run pods use."
    )
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="Node labels the run pods must match."
    )
    tolerations: list[dict[str, Any]] = Field(
        default_factory=list,
        description="core/v1 Toleration list.",
        json_schema_extra={"items": _PRESERVE_OBJECT},
    )
    affinity: dict[str, Any] | None = Field(
        default=None, description="core/v1 Affinity.", json_schema_extra=_PRESERVE
    )
    volumes: list[dict[str, Any]] = Field(
        default_factory=list,
        description="core/v1 Volume list added to the run pods.",
        json_schema_extra={"items": _PRESERVE_OBJECT},
    )
    volume_mounts: list[dict[str, Any]] = Field(
        default_factory=list,
        description="core/v1 VolumeMount list for the runner container.",
        json_schema_extra={"items": _PRESERVE_OBJECT},
    )
    image_pull_secrets: list[dict[str, Any]] = Field(
        default_factory=list,
        description="core/v1 LocalObjectReference list ({name: ...}).",
        json_schema_extra={"items": _PRESERVE_OBJECT},
    )


class CodeLocation(_Model):
    """Where the asset definitions live: an image and the ``Definitions`` object in it."""

    image: str = Field(
        min_length=1,
        max_length=1024,
        description="Container image holding the code location and assetcron.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.matches('^\\\\S+$')",
                    "message": "must be a non-empty image reference without whitespace",
                }
            ]
        },
    )
    module: str = Field(
        min_length=1,
        max_length=253,
        pattern=_PY_MODULE,
        description="Python module that defines the Definitions object (assetcron -m).",
    )
    attribute: str = Field(
        default="defs",
        min_length=1,
        max_length=253,
        pattern=_PY_IDENTIFIER,
        description="Name of the Definitions object in the module (assetcron -a).",
    )


class AssetJobSpec(_Model):
    """Which assets to materialize, from which code location, with which pod settings."""

    selection: str = Field(
        min_length=1,
        max_length=4096,
        description="Dagster asset selection string, e.g. 'group:weather' or 'key:raw/*+'.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self.matches('\\\\S')", "message": "must not be empty or blank"}
            ]
        },
    )
    code_location: CodeLocation = Field(description="Image, module and attribute to load.")
    run_config: dict[str, Any] = Field(
        default_factory=dict,
        max_length=MAX_RUN_CONFIG_KEYS,
        description="Static run config in Dagster's shape: ops.<asset>.config.",
        json_schema_extra=_PRESERVE,
    )
    tags: dict[str, TagValue] = Field(
        default_factory=dict,
        max_length=MAX_TAGS,
        description=_TAGS_DESCRIPTION,
        json_schema_extra=_TAG_KEYS_RULE,
    )
    description: str | None = Field(default=None, max_length=4096, description="Free text.")
    template: PodTemplate = Field(
        default_factory=PodTemplate, description="Pod settings for every run."
    )
    backoff_limit: int = Field(
        default=0,
        ge=0,
        le=INT32_MAX,
        description="Job backoffLimit: pod retries of a failed run (default 0, no retry).",
    )
    active_deadline_seconds: int | None = Field(
        default=None,
        ge=1,
        le=INT64_MAX,
        description="Job activeDeadlineSeconds: wall-clock limit of a run, in seconds.",
    )
    ttl_seconds_after_finished: int | None = Field(
        default=None,
        ge=0,
        le=INT32_MAX,
        description="Job ttlSecondsAfterFinished, in seconds (unset: the history limits clean up).",
    )


class Condition(_StatusModel):
    """A metav1.Condition."""

    type: str = Field(min_length=1, max_length=316, description="Condition type, e.g. Ready.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    observed_generation: int | None = Field(
        default=None, ge=0, description=".metadata.generation the condition was set from."
    )
    last_transition_time: str = Field(
        description="When status last changed (RFC 3339, UTC).",
        json_schema_extra={"format": "date-time"},
    )
    reason: str = Field(
        min_length=1, max_length=1024, description="CamelCase reason, e.g. Reconciled."
    )
    message: str = Field(default="", max_length=32768, description="Human-readable details.")


_CONDITIONS_EXTRA: dict[str, Any] = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
}


class AssetJobStatus(_StatusModel):
    """Observed state of an AssetJob."""

    observed_generation: int | None = Field(
        default=None, description="The .metadata.generation this status reflects."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready and error conditions.",
        json_schema_extra=_CONDITIONS_EXTRA,
    )
    schedules: int | None = Field(
        default=None, ge=0, description="Number of AssetSchedules referencing this job."
    )


class AssetJob(_Model):
    """An ``AssetJob`` (assetcron.dev/v1alpha1): which assets to materialize."""

    KIND: ClassVar[str] = "AssetJob"
    PLURAL: ClassVar[str] = "assetjobs"

    model_config = ConfigDict(extra="ignore")

    api_version: str = API_VERSION
    kind: Literal["AssetJob"] = "AssetJob"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: AssetJobSpec
    status: AssetJobStatus = Field(default_factory=AssetJobStatus)


# ------------------------------------------------------------------------ AssetSchedule


def _job_ref_schema(schema: dict[str, Any]) -> None:
    # `namespace` is declared only so that the API server can refuse it with a clear
    # message instead of silently pruning it (unknown fields are pruned, not rejected,
    # unless the client asks for strict field validation).
    schema.setdefault("properties", {})["namespace"] = {
        "type": "string",
        "description": "Not supported: the AssetJob must be in the schedule's namespace.",
    }
    schema["x-kubernetes-validations"] = [
        {
            "rule": "!has(self.__namespace__)",
            "message": "jobRef.namespace is not supported: an AssetSchedule can only"
            " reference an AssetJob in its own namespace",
        }
    ]


class JobRef(_Model):
    """Reference to an AssetJob in the same namespace."""

    model_config = ConfigDict(json_schema_extra=_job_ref_schema)

    name: str = Field(
        min_length=1,
        max_length=253,
        pattern=_DNS1123_SUBDOMAIN,
        description="Name of the AssetJob (same namespace).",
    )


#: Default and bounds of ``spec.catchUp.maxTicks``.
CATCH_UP_MAX_TICKS_DEFAULT = 10
CATCH_UP_MAX_TICKS_LIMIT = 100
#: ``startingDeadlineSeconds`` given to the CronJob of a schedule with ``catchUp.policy:
#: None`` that sets none itself: a tick not started within a minute is missed, and a
#: missed tick never runs (the controller starts ticks within a second when it is up).
CATCH_UP_NONE_DEADLINE_SECONDS = 60


class CatchUp(_Model):
    """What happens to ticks missed while the cluster (its CronJob controller) was down."""

    policy: Literal["Latest", "All", "None"] = Field(
        default="Latest",
        description=(
            "Latest (the CronJob controller's own behaviour: the latest missed tick runs"
            " when it comes back, within startingDeadlineSeconds), All (the operator also"
            " runs the earlier missed ticks, oldest first, at most maxTicks, as Jobs with"
            " the controller's own names) or None (no missed tick runs: the CronJob gets"
            f" startingDeadlineSeconds {CATCH_UP_NONE_DEADLINE_SECONDS} unless the schedule"
            " sets one)."
        ),
    )
    max_ticks: int = Field(
        default=CATCH_UP_MAX_TICKS_DEFAULT,
        ge=1,
        le=CATCH_UP_MAX_TICKS_LIMIT,
        description="With policy All: the most missed ticks run after one outage (the newest).",
    )


class AssetScheduleSpec(_Model):
    """When to run an AssetJob, and with which per-tick run config."""

    job_ref: JobRef = Field(description="The AssetJob to run, in this namespace.")
    cron_schedule: str = Field(
        min_length=1,
        max_length=256,
        description="Cron expression (5 fields, Kubernetes syntax) or a macro like @daily.",
        json_schema_extra={"x-kubernetes-validations": _cron_rules()},
    )
    time_zone: str = Field(
        default="UTC",
        min_length=1,
        max_length=64,
        description="IANA time zone of the schedule and its run-config dates.",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": f"self.matches({_cel_quote(_TIME_ZONE)}) && self != 'Local'",
                    "message": "must be an IANA time zone name such as UTC or Europe/Paris",
                }
            ]
        },
    )
    suspend: bool = Field(default=False, description="Suspend future runs.")
    run_config: dict[str, Any] = Field(
        default_factory=dict,
        max_length=MAX_RUN_CONFIG_KEYS,
        description="Run-config template rendered per tick and merged over the job's.",
        json_schema_extra=_PRESERVE,
    )
    partition_key: str | None = Field(
        default=None,
        max_length=1024,
        description="Template string for the run's partition key (default: Dagster's rule).",
    )
    schedule_definition: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description=(
            "Name of a ScheduleDefinition in the job's code location whose function the"
            " run pod evaluates for each tick, as Dagster's daemon would: its RunRequest's"
            " run config (over runConfig) and partition key are the run's, a SkipReason"
            " skips the tick (recorded in status). Written by `assetcron manifests`."
        ),
    )
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] = Field(
        default="Allow", description="CronJob concurrencyPolicy: Allow, Forbid or Replace."
    )
    starting_deadline_seconds: int | None = Field(
        default=None,
        # The CronJob controller checks every 10 s: a shorter deadline may never fire
        # (Kubernetes docs, CronJob "Deadline for delayed Job start"); 0 never does.
        ge=MIN_STARTING_DEADLINE_SECONDS,
        le=INT64_MAX,
        description="CronJob startingDeadlineSeconds, in seconds (at least 10: the CronJob"
        " controller checks every 10 s, so a shorter deadline may never start a run).",
    )
    catch_up: CatchUp = Field(
        default_factory=CatchUp,
        description="Ticks missed while the cluster was down: Latest (default), All or None.",
    )
    successful_jobs_history_limit: int | None = Field(
        default=None,
        ge=0,
        le=INT32_MAX,
        description="Finished successful runs to keep (default: the operator's history size).",
    )
    failed_jobs_history_limit: int | None = Field(
        default=None,
        ge=0,
        le=INT32_MAX,
        description="Failed runs to keep (default: the operator's history size).",
    )
    description: str | None = Field(default=None, max_length=4096, description="Free text.")
    tags: dict[str, TagValue] = Field(
        default_factory=dict,
        max_length=MAX_TAGS,
        description=_TAGS_DESCRIPTION,
        json_schema_extra=_TAG_KEYS_RULE,
    )


class AssetOutcome(_StatusModel):
    """One asset's outcome in a run (from the runner's termination summary)."""

    key: str = Field(description="Asset key, a/b for multi-part keys.")
    outcome: Literal["Materialized", "Reused", "Failed", "Skipped"] = Field(
        description="Materialized, Reused, Failed or Skipped."
    )
    error: str | None = Field(default=None, description="Error summary (Failed only).")


class RunCounts(_StatusModel):
    """Number of assets per outcome in a run."""

    materialized: int = Field(default=0, ge=0)
    reused: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    skipped: int = Field(default=0, ge=0)


class RecentRun(_StatusModel):
    """One run (a Job) of the schedule, newest first in ``recentRuns``."""

    name: str = Field(description="Job name.")
    scheduled_time: str | None = Field(
        default=None,
        description="The tick's scheduled time (RFC 3339, UTC).",
        json_schema_extra={"format": "date-time"},
    )
    trigger: Literal["Scheduled", "Manual", "Backfill"] = Field(
        description=(
            "Scheduled (created by the CronJob), Manual (triggered for about the time it"
            " was made) or Backfill (made by `schedule backfill` or catchUp All, or"
            " triggered for a scheduled time over a minute before it was made)."
        )
    )
    phase: Literal["Pending", "Running", "Succeeded", "Failed"] = Field(
        description="Pending, Running, Succeeded or Failed."
    )
    start_time: str | None = Field(
        default=None, description="Job start (RFC 3339).", json_schema_extra={"format": "date-time"}
    )
    completion_time: str | None = Field(
        default=None,
        description="Job end (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    partition_key: str | None = Field(default=None, description="The run's partition key.")
    counts: RunCounts | None = Field(default=None, description="Assets per outcome.")
    assets: list[AssetOutcome] = Field(
        default_factory=list, description="Per-asset outcome (may be truncated)."
    )
    truncated: bool | None = Field(
        default=None, description="True when the runner dropped asset entries to fit."
    )
    message: str | None = Field(
        default=None,
        description="Why the run stopped early (the runner's summary message: bad input, "
        "SIGTERM, an unexpected error), or the raw termination message when it is not a "
        "summary.",
    )


class TriggerRecord(_StatusModel):
    """The last ``assetcron.dev/trigger`` value the operator acted on (acted on once)."""

    value: str = Field(description="The annotation value that was handled.")
    handled_time: str | None = Field(
        default=None,
        description="When the operator handled it (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    result: Literal["Created", "Rejected"] | None = Field(
        default=None, description="Created (a Job was made) or Rejected (see message)."
    )
    job_name: str | None = Field(default=None, description="The manual run's Job name.")
    scheduled_time: str | None = Field(
        default=None,
        description="Scheduled time passed to the run (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    message: str | None = Field(default=None, description="What happened, one line.")


class ReplacedRun(_StatusModel):
    """A run deleted unfinished by the next tick (``concurrencyPolicy: Replace``)."""

    name: str = Field(description="The replaced Job's name.")
    scheduled_time: str = Field(
        description="Its scheduled time (RFC 3339).", json_schema_extra={"format": "date-time"}
    )
    replaced_by: str = Field(
        description="The tick that replaced it (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )


class BackfillStatus(_StatusModel):
    """A backfill's progress (``assetcron schedule backfill``), or a catch-up batch's."""

    id: str = Field(description="The backfill's id (label assetcron.dev/backfill on its Jobs).")
    value: str | None = Field(
        default=None, description="The assetcron.dev/backfill annotation value handled."
    )
    from_: str | None = Field(
        default=None,
        alias="from",
        description="First instant of the range (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    to: str | None = Field(
        default=None,
        description="Last instant of the range (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    schedule: str | None = Field(
        default=None,
        description="The time zone and cron the ticks are of (a change cancels the backfill).",
    )
    tick_times: list[str] = Field(
        default_factory=list,
        description="Catch-up only: the missed ticks being run, oldest first (RFC 3339).",
        json_schema_extra={"items": {"format": "date-time"}},
    )
    max_concurrent: int | None = Field(default=None, description="Jobs running at once.")
    force: bool | None = Field(default=None, description="Runs recompute every asset.")
    ticks: int = Field(default=0, ge=0, description="Ticks in total.")
    next: int = Field(default=0, ge=0, description="Ticks submitted so far (oldest first).")
    created: int = Field(default=0, ge=0, description="Jobs this backfill created.")
    existing: int = Field(
        default=0,
        ge=0,
        description="Ticks whose Job existed already (scheduled or earlier): not run again.",
    )
    succeeded: int = Field(default=0, ge=0, description="Ticks whose run succeeded.")
    failed: int = Field(default=0, ge=0, description="Ticks whose run failed (or was deleted).")
    running: list[str] = Field(default_factory=list, description="Jobs submitted and not finished.")
    failed_runs: list[str] = Field(
        default_factory=list, description="The last failed Jobs (at most 10)."
    )
    phase: Literal["Running", "Succeeded", "Failed", "Canceled", "Rejected"] = Field(
        description="Running, Succeeded, Failed, Canceled or Rejected (see message)."
    )
    progress: str | None = Field(
        default=None, description="Phase and done/total, e.g. 'Running 3/7' (printer column)."
    )
    message: str | None = Field(default=None, description="Why it was rejected, one line.")
    start_time: str | None = Field(
        default=None,
        description="When the operator started it (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    completion_time: str | None = Field(
        default=None,
        description="When its last Job finished (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )


class CatchUpStatus(_StatusModel):
    """What ``catchUp.policy: All`` has accounted for."""

    schedule: str | None = Field(
        default=None,
        description=(
            "The time zone and cron (and 'suspended') the fields below belong to: a change"
            " starts over, so an edited cron never replays ticks."
        ),
    )
    since: str | None = Field(
        default=None,
        description="When the operator first saw this schedule (RFC 3339): no earlier tick"
        " is caught up.",
        json_schema_extra={"format": "date-time"},
    )
    last_tick: str | None = Field(
        default=None,
        description="The latest tick accounted for (run by the CronJob or caught up).",
        json_schema_extra={"format": "date-time"},
    )
    skipped: int = Field(
        default=0, ge=0, description="Missed ticks not run because of maxTicks (in total)."
    )
    run: BackfillStatus | None = Field(
        default=None, description="The latest batch of missed ticks and its progress."
    )


class AssetScheduleStatus(_StatusModel):
    """Observed state of an AssetSchedule."""

    observed_generation: int | None = Field(
        default=None, description="The .metadata.generation this status reflects."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready (reasons Reconciled, InvalidSpec, JobNotFound, ...).",
        json_schema_extra=_CONDITIONS_EXTRA,
    )
    cron_job_name: str | None = Field(default=None, description="Name of the owned CronJob.")
    next_runs: list[str] = Field(
        default_factory=list,
        description="Next scheduled times (RFC 3339, UTC); empty when suspended.",
        json_schema_extra={"items": {"format": "date-time"}},
    )
    last_schedule_time: str | None = Field(
        default=None,
        description="Last tick a run was created for (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    last_successful_time: str | None = Field(
        default=None,
        description="Completion of the last successful run (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    last_run_time: str | None = Field(
        default=None,
        description=(
            "When the most recently started run started (RFC 3339), whatever its"
            " scheduled time: a backfill of an old date started now is the last run."
        ),
        json_schema_extra={"format": "date-time"},
    )
    last_result: Literal["Succeeded", "Failed"] | None = Field(
        default=None,
        description="Phase of the finished run that started most recently (backfills too).",
    )
    active: list[str] = Field(
        default_factory=list,
        description="Names of the running Jobs: scheduled, manual and backfill runs.",
    )
    active_count: int = Field(
        default=0, ge=0, description="How many runs are active (the length of active)."
    )
    recent_runs: list[RecentRun] = Field(
        default_factory=list, description="Most recent runs, newest first (bounded)."
    )
    last_trigger: TriggerRecord | None = Field(
        default=None, description="The last manual trigger handled (assetcron.dev/trigger)."
    )
    backfill: BackfillStatus | None = Field(
        default=None,
        description="The latest backfill (assetcron schedule backfill) and its progress.",
    )
    catch_up: CatchUpStatus | None = Field(
        default=None, description="Missed ticks accounted for (catchUp.policy All)."
    )
    last_replaced_run: ReplacedRun | None = Field(
        default=None,
        description=(
            "The last run the next tick replaced before it finished (concurrencyPolicy"
            " Replace): runs take longer than the period. Also a RunReplaced warning Event."
        ),
    )


class AssetSchedule(_Model):
    """An ``AssetSchedule`` (assetcron.dev/v1alpha1): when to run an AssetJob."""

    KIND: ClassVar[str] = "AssetSchedule"
    PLURAL: ClassVar[str] = "assetschedules"

    model_config = ConfigDict(extra="ignore")

    api_version: str = API_VERSION
    kind: Literal["AssetSchedule"] = "AssetSchedule"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: AssetScheduleSpec
    status: AssetScheduleStatus = Field(default_factory=AssetScheduleStatus)
