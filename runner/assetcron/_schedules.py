"""Jobs and schedules in Python: Dagster's ``define_asset_job``, ``ScheduleDefinition``,
``@schedule``, ``RunRequest``, ``SkipReason``, ``build_schedule_context``.

A job names a selection of a code location's assets with static run config and tags
(what an ``AssetJob`` manifest holds). A schedule says when a job runs (one cron string
in an IANA zone, as an ``AssetSchedule``) and what each tick asks for: static run config
and tags, or a function of the tick (Dagster's schedule function) that returns a
:class:`RunRequest`, several, a :class:`SkipReason` or a run-config dict. Evaluating a
tick is pure: ``schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=
t))`` gives a :class:`ScheduleExecutionData`, so a schedule's logic is unit-tested
without a cluster.

Everything is checked when it is defined, with Dagster's names and signatures: the cron
string with assetcron's port of the CronJob controller's parser (robfig/cron, five
fields or a ``@daily``-style descriptor), the zone with :mod:`zoneinfo`, names with
Dagster's rule (``^[A-Za-z0-9_]+$``), selection strings with assetcron's parser (the
whole Dagster syntax: ``group:x or tag:k=v``, traversals, functions). A job's selection
is resolved against the assets when :class:`~assetcron.Definitions` is built.

What a schedule cannot do here is refused with the reason and what to use instead:
several cron strings (define one schedule per string), ``environment_vars`` (set the
pod's env on the job's template), a Dagster instance in the context, config mappings
and partitioned config on jobs. Unlike Dagster, no ``dagster/schedule_name`` tag is
added to run requests (the CronJob's labels name the schedule).
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from types import MappingProxyType, SimpleNamespace
from typing import Any, Protocol, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assetcron._cron import CronError
from assetcron._cron import parse as parse_cron
from assetcron._errors import AssetcronError, InvalidDefinitionError
from assetcron._graph import AssetGraph, AssetKey
from assetcron._partitions import (
    PartitionKeyError,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from assetcron._selection import AssetSelection, parse_selection, plan

__all__ = [
    "CoercibleToAssetSelection",
    "DefaultScheduleStatus",
    "RunRequest",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "ScheduleExecutionData",
    "SkipReason",
    "UnresolvedAssetJobDefinition",
    "build_schedule_context",
    "build_schedule_from_partitioned_job",
    "define_asset_job",
    "schedule",
]

#: Dagster's rule for job and schedule names.
_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")
#: The top-level sections of run config (Dagster's; the runner validates the rest).
_RUN_CONFIG_SECTIONS = frozenset({"ops", "resources", "execution", "loggers"})
_log = logging.getLogger("assetcron.schedules")


class _HasKeys(Protocol):
    """An asset definition (``@asset``, ``multi_asset``): what a selection may list."""

    @property
    def keys(self) -> tuple[AssetKey, ...]: ...


#: What ``define_asset_job(selection=...)`` and ``target=`` accept, as in Dagster: a
#: selection string (assetcron's parser, the whole syntax), an :class:`AssetSelection`,
#: or a sequence of keys (``"a/b"`` user strings, :class:`AssetKey`) and asset
#: definitions.
CoercibleToAssetSelection: TypeAlias = str | AssetSelection | Sequence["str | AssetKey | _HasKeys"]


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidDefinitionError(
            f"{what} name {name!r} is not valid: names must match ^[A-Za-z0-9_]+$ (as in Dagster)"
        )
    return name


def _check_tags(tags: Mapping[str, Any] | None, where: str) -> Mapping[str, str]:
    out: dict[str, str] = {}
    for k, v in (tags or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise InvalidDefinitionError(
                f"{where}: tag {k!r} must map a string to a string, got {type(v).__name__}"
            )
        out[k] = v
    return MappingProxyType(out)


def _refuse(value: object, where: str, why: str) -> None:
    if value is not None:
        raise InvalidDefinitionError(f"{where}: {why}")


def _run_config(value: object, where: str) -> Mapping[str, Any]:
    """Run config as a plain mapping: a mapping, a ``RunConfig`` (anything with
    ``to_config_dict``) or ``None``; the top-level sections are Dagster's."""
    if value is None:
        return MappingProxyType({})
    to_dict = getattr(value, "to_config_dict", None)
    if callable(to_dict):
        value = to_dict()
    if not isinstance(value, Mapping):
        raise InvalidDefinitionError(
            f"{where}: run config must be a mapping ({{'ops': {{...}}, 'resources': {{...}}}}) "
            f"or a RunConfig, got {type(value).__name__}; for config that depends on the "
            "tick, use a schedule function returning RunRequest(run_config=...)"
        )
    extra = sorted(str(k) for k in set(value) - _RUN_CONFIG_SECTIONS)
    if extra:
        raise InvalidDefinitionError(
            f"{where}: run config has unexpected top-level key {extra[0]!r} (expected "
            "ops, resources, execution or loggers)"
        )
    return MappingProxyType(dict(value))


def coerce_selection(selection: CoercibleToAssetSelection | None, where: str) -> AssetSelection:
    """An :class:`AssetSelection` from what ``define_asset_job(selection=...)`` accepts
    (``None`` = every asset). Raises :class:`InvalidDefinitionError` naming ``where``."""
    if selection is None:
        return AssetSelection.all()
    if isinstance(selection, AssetSelection):
        return selection
    if isinstance(selection, str):
        try:
            return parse_selection(selection)
        except AssetcronError as exc:
            raise InvalidDefinitionError(f"{where}: {exc}") from exc
    keys: list[AssetKey] = []
    items: Iterable[Any] = selection if isinstance(selection, Iterable) else [selection]
    for item in items:
        if isinstance(item, str):
            keys.append(AssetKey.from_user_string(item))
        elif isinstance(item, AssetKey):
            keys.append(item)
        elif isinstance(getattr(item, "keys", None), tuple):
            keys.extend(item.keys)
        else:
            raise InvalidDefinitionError(
                f"{where}: cannot select {item!r} (expected a selection string, an "
                "AssetSelection, asset keys or asset definitions)"
            )
    return AssetSelection.assets(*keys)


# ------------------------------------------------------------------------- jobs
@dataclass(frozen=True, eq=False)
class UnresolvedAssetJobDefinition:
    """A job over a selection of assets, as Dagster's ``define_asset_job`` returns.

    ``selection`` is an :class:`AssetSelection` (resolved against the assets by
    :meth:`resolve` and when :class:`~assetcron.Definitions` is built); ``config`` the
    static run config of every run (``{"ops": ..., "resources": ...}``); ``tags`` the
    runs' tags (``run_tags`` overrides them for runs, as in Dagster).
    """

    name: str
    selection: AssetSelection
    config: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    run_tags: Mapping[str, str] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    partitions_def: PartitionsDefinition | None = None
    owners: tuple[str, ...] = ()

    def resolve(self, graph: AssetGraph) -> list[AssetKey]:
        """The job's assets in materialization order. Raises
        :class:`InvalidDefinitionError` naming the job for an unknown key (with its
        "did you mean" hint) or a selection that matches nothing."""
        try:
            return plan(graph, self.selection)
        except AssetcronError as exc:
            raise InvalidDefinitionError(f"job {self.name!r}: {exc}") from exc

    @property
    def selection_string(self) -> str:
        """The selection in Dagster's string syntax (what an ``AssetJob`` spec holds)."""
        return str(self.selection)


def define_asset_job(  # noqa: PLR0917 - Dagster's signature, positional parameters included
    name: str,
    selection: CoercibleToAssetSelection | None = None,
    config: Mapping[str, Any] | Any | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    run_tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    executor_def: object | None = None,
    hooks: object | None = None,
    op_retry_policy: object | None = None,
    owners: Sequence[str] | None = None,
    automation_condition: object | None = None,
) -> UnresolvedAssetJobDefinition:
    """A job materializing ``selection`` (Dagster's ``define_asset_job``).

    ``selection``: a selection string (the whole Dagster syntax, parsed now), an
    :class:`AssetSelection`, or keys (``"a/b"`` is the two-part key) and asset
    definitions; ``None`` selects every asset. ``config``: static run config (a mapping
    or a ``RunConfig``). ``tags``/``run_tags``: string tags of its runs.
    ``partitions_def``: the partitions its assets share (checked when
    ``Definitions`` is built).

    Refused, with what to use instead: ``executor_def`` (each run is one pod: set its
    resources on the job's template), ``hooks`` (not supported), ``op_retry_policy``
    (set ``retry_policy`` on ``@asset``), ``automation_condition`` (assetcron runs on
    schedules: use a ``ScheduleDefinition``), config mappings or partitioned config.
    """
    _check_name(name, "job")
    where = f"job {name!r}"
    _refuse(
        executor_def,
        where,
        "executor_def is not supported: each run is one Kubernetes pod (set its resources"
        " on the AssetJob's template)",
    )
    _refuse(hooks, where, "hooks are not supported (run the follow-up work in an asset)")
    _refuse(
        op_retry_policy,
        where,
        "op_retry_policy is not supported: set retry_policy=RetryPolicy(...) on each @asset",
    )
    _refuse(
        automation_condition,
        where,
        "automation_condition is not supported: assetcron runs jobs on schedules (use a"
        " ScheduleDefinition)",
    )
    if partitions_def is not None and not isinstance(partitions_def, PartitionsDefinition):
        raise InvalidDefinitionError(
            f"{where}: partitions_def must be an assetcron partitions definition (Hourly,"
            " Daily, Weekly, Monthly, TimeWindow or Static)"
        )
    return UnresolvedAssetJobDefinition(
        name=name,
        selection=coerce_selection(selection, where),
        config=_run_config(config, where),
        description=description,
        tags=_check_tags(tags, where),
        run_tags=None if run_tags is None else _check_tags(run_tags, where),
        metadata=MappingProxyType(dict(metadata or {})),
        partitions_def=partitions_def,
        owners=tuple(owners or ()),
    )


def _partition_cron(
    pd: TimeWindowPartitionsDefinition,
    minute_of_hour: int | None,
    hour_of_day: int | None,
    day_of_week: int | None,
    day_of_month: int | None,
    *,
    where: str,
) -> str:
    """Dagster ``TimeWindowPartitionsDefinition.get_cron_schedule``: the partitions' cron
    with its minute/hour/day replaced. Raises :class:`InvalidDefinitionError` for an
    override the cadence does not have."""
    if (minute_of_hour, hour_of_day, day_of_week, day_of_month) == (None, None, None, None):
        return pd.cron_schedule
    fields = pd.cron_schedule.split()
    kinds = {
        "hourly": r"\d+ \* \* \* \*",
        "daily": r"\d+ \d+ \* \* \*",
        "weekly": r"\d+ \d+ \* \* \d+",
        "monthly": r"\d+ \d+ \d+ \* \*",
    }
    kind = next((k for k, rx in kinds.items() if re.fullmatch(rx, pd.cron_schedule)), None)
    if kind is None:
        raise InvalidDefinitionError(
            f"{where}: the cron {pd.cron_schedule!r} does not support"
            " minute_of_hour/hour_of_day/day_of_week/day_of_month arguments"
        )
    if kind == "hourly" and hour_of_day is not None:
        raise InvalidDefinitionError(f"{where}: cannot set hour_of_day with hourly partitions")
    if kind in ("hourly", "daily") and (day_of_week is not None or day_of_month is not None):
        raise InvalidDefinitionError(
            f"{where}: cannot set day_of_week or day_of_month with {kind} partitions"
        )
    if kind == "weekly" and day_of_month is not None:
        raise InvalidDefinitionError(f"{where}: cannot set day_of_month with weekly partitions")
    if kind == "monthly" and day_of_week is not None:
        raise InvalidDefinitionError(f"{where}: cannot set day_of_week with monthly partitions")
    minute = fields[0] if minute_of_hour is None else str(minute_of_hour)
    if kind == "hourly":
        return f"{minute} * * * *"
    hour = fields[1] if hour_of_day is None else str(hour_of_day)
    if kind == "daily":
        return f"{minute} {hour} * * *"
    if kind == "weekly":
        return f"{minute} {hour} * * {fields[4] if day_of_week is None else day_of_week}"
    return f"{minute} {hour} {fields[2] if day_of_month is None else day_of_month} * *"


# ------------------------------------------------------------- run requests
@dataclass(frozen=True, init=False)
class RunRequest:
    """One run a schedule tick asks for (Dagster's ``RunRequest``).

    ``run_config`` is merged over the job's config by the runner; ``partition_key``
    ``None`` lets the runner derive the partition from the tick; ``asset_selection``
    narrows the job's assets for this run. ``stale_assets_only`` is accepted for
    compatibility: assetcron always reuses a stored value whose config, inputs and code
    are unchanged.
    """

    run_key: str | None
    run_config: Mapping[str, Any]
    tags: Mapping[str, str]
    job_name: str | None
    asset_selection: tuple[AssetKey, ...] | None
    stale_assets_only: bool
    partition_key: str | None

    def __init__(  # noqa: PLR0917 - Dagster's signature
        self,
        run_key: str | None = None,
        run_config: Mapping[str, Any] | Any | None = None,
        tags: Mapping[str, Any] | None = None,
        job_name: str | None = None,
        asset_selection: Sequence[AssetKey | str] | None = None,
        stale_assets_only: bool = False,
        partition_key: str | None = None,
        asset_check_keys: Sequence[object] | None = None,
    ) -> None:
        _refuse(
            asset_check_keys,
            "RunRequest",
            "asset_check_keys is not supported: a run executes the checks of the assets"
            " it materializes",
        )
        sel = None
        if asset_selection is not None:
            sel = tuple(
                AssetKey.from_user_string(k) if isinstance(k, str) else AssetKey.from_coercible(k)
                for k in asset_selection
            )
        object.__setattr__(self, "run_key", run_key)
        object.__setattr__(self, "run_config", _run_config(run_config, "RunRequest"))
        object.__setattr__(self, "tags", _check_tags(tags, "RunRequest"))
        object.__setattr__(self, "job_name", job_name)
        object.__setattr__(self, "asset_selection", sel)
        object.__setattr__(self, "stale_assets_only", bool(stale_assets_only))
        object.__setattr__(self, "partition_key", partition_key)


@dataclass(frozen=True)
class SkipReason:
    """A schedule tick that runs nothing, and why (Dagster's ``SkipReason``)."""

    skip_message: str | None = None


@dataclass(frozen=True)
class ScheduleExecutionData:
    """What evaluating one tick gave (Dagster's ``ScheduleExecutionData``): the run
    requests (empty when skipped) and the skip message."""

    run_requests: list[RunRequest]
    skip_message: str | None = None
    log_key: Sequence[str] | None = None


@dataclass(frozen=True)
class ScheduleEvaluationContext:
    """What a schedule function receives (Dagster's ``ScheduleEvaluationContext``).

    ``scheduled_execution_time`` is the tick (aware, in the schedule's zone when the
    runner evaluates it; as given by :func:`build_schedule_context`); ``resources`` the
    resources by attribute; ``log`` a :class:`logging.Logger`. There is no Dagster
    instance: :attr:`instance` raises.
    """

    scheduled_execution_time: datetime | None
    resources: SimpleNamespace = field(default_factory=SimpleNamespace)
    schedule_name: str | None = None
    log: logging.Logger = _log

    @property
    def instance(self) -> Any:
        """Refused: assetcron has no Dagster instance (run history lives in the storage's
        records and in the schedule's status)."""
        raise InvalidDefinitionError(
            "ScheduleEvaluationContext.instance: assetcron has no Dagster instance; a"
            " schedule decides from the tick (context.scheduled_execution_time) and resources"
        )


def build_schedule_context(
    instance: object | None = None,
    scheduled_execution_time: datetime | None = None,
    resources: Mapping[str, object] | None = None,
    repository_def: object | None = None,
    instance_ref: object | None = None,
) -> ScheduleEvaluationContext:
    """A context for evaluating a schedule in a test (Dagster's
    ``build_schedule_context``). ``instance``, ``instance_ref`` and ``repository_def``
    are refused: assetcron has no Dagster instance or repository."""
    where = "build_schedule_context"
    why = "assetcron has no Dagster instance (pass scheduled_execution_time and resources)"
    _refuse(instance, where, f"instance: {why}")
    _refuse(instance_ref, where, f"instance_ref: {why}")
    _refuse(repository_def, where, "repository_def is not supported (pass resources)")
    return ScheduleEvaluationContext(
        scheduled_execution_time=scheduled_execution_time,
        resources=SimpleNamespace(**dict(resources or {})),
    )


# ------------------------------------------------------------------ schedules
class DefaultScheduleStatus(Enum):
    """Whether a schedule starts running when deployed (Dagster's enum): ``STOPPED``
    becomes a suspended ``AssetSchedule``, ``RUNNING`` an active one."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


ScheduleFunction: TypeAlias = Callable[..., Any]


def _call(fn: Callable[..., Any], context: ScheduleEvaluationContext) -> Any:
    """Call a schedule function with the context, or with nothing when it takes none."""
    try:
        takes = bool(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        takes = True
    return fn(context) if takes else fn()


def _check_zone(zone: str | None, where: str) -> str:
    name = zone or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidDefinitionError(
            f"{where}: unknown execution_timezone {name!r} (expected an IANA zone name such"
            " as 'Europe/Paris')"
        ) from None
    return name


class ScheduleDefinition:
    """A schedule (Dagster's ``ScheduleDefinition``; ``@schedule`` builds one from a
    function).

    ``cron_schedule``: one cron string (five fields or ``@daily``-style), ticking in
    ``execution_timezone`` (IANA, default UTC) exactly as a Kubernetes CronJob does.
    Exactly one of ``job`` (from :func:`define_asset_job`), ``job_name`` (a job in
    ``Definitions(jobs=...)``) or ``target`` (a selection; an anonymous job
    ``__anonymous_asset_job_<name>`` is made for it, as in Dagster) says what runs.
    Each tick asks for ``run_config`` and ``tags`` (static), or what ``run_config_fn``
    / ``tags_fn`` return for the tick, or what ``execution_fn`` returns;
    ``should_execute`` returning false skips the tick. ``name`` defaults to
    ``<job name>_schedule``. ``default_status`` (:class:`DefaultScheduleStatus`)
    decides whether the schedule is active when deployed.

    Raises :class:`InvalidDefinitionError` for an invalid cron string or zone, a bad
    name, conflicting arguments, several cron strings or ``environment_vars``.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        cron_schedule: str | Sequence[str] | None = None,
        job_name: str | None = None,
        run_config: Mapping[str, Any] | Any | None = None,
        run_config_fn: Callable[..., Any] | None = None,
        tags: Mapping[str, str] | None = None,
        tags_fn: Callable[..., Mapping[str, str]] | None = None,
        metadata: Mapping[str, Any] | None = None,
        should_execute: Callable[..., bool] | None = None,
        environment_vars: Mapping[str, str] | None = None,
        execution_timezone: str | None = None,
        execution_fn: ScheduleFunction | None = None,
        description: str | None = None,
        job: UnresolvedAssetJobDefinition | None = None,
        default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
        required_resource_keys: set[str] | None = None,
        target: CoercibleToAssetSelection | UnresolvedAssetJobDefinition | None = None,
        owners: Sequence[str] | None = None,
    ) -> None:
        if isinstance(target, UnresolvedAssetJobDefinition):
            job, target = (job, None) if job is not None else (target, None)
        given = [x for x in (job, job_name, target) if x is not None]
        where = f"schedule {name!r}" if name else "schedule"
        if len(given) != 1:
            raise InvalidDefinitionError(
                f"{where}: give exactly one of job, job_name and target (what the schedule runs)"
            )
        if job is not None and not isinstance(job, UnresolvedAssetJobDefinition):
            raise InvalidDefinitionError(
                f"{where}: job must come from define_asset_job(...), got {type(job).__name__}"
            )
        if target is not None:
            if name is None:
                raise InvalidDefinitionError(f"{where}: a schedule with target= needs a name")
            job = define_asset_job(f"__anonymous_asset_job_{name}", selection=target)
        resolved_job_name = job.name if job is not None else job_name
        if resolved_job_name is None or (
            job is None and (not isinstance(job_name, str) or not _NAME_RE.match(job_name))
        ):
            raise InvalidDefinitionError(f"{where}: job_name {job_name!r} is not a valid job name")
        self._name = _check_name(name or f"{resolved_job_name}_schedule", "schedule")
        where = f"schedule {self._name!r}"
        if cron_schedule is None:
            raise InvalidDefinitionError(f"{where}: cron_schedule is required")
        if not isinstance(cron_schedule, str):
            raise InvalidDefinitionError(
                f"{where}: give one cron string, not {len(list(cron_schedule))}: an"
                " AssetSchedule has one cronSchedule, so define one ScheduleDefinition per"
                " cron string"
            )
        self._execution_timezone = _check_zone(execution_timezone, where)
        try:
            parse_cron(cron_schedule, self._execution_timezone)
        except CronError as exc:
            raise InvalidDefinitionError(
                f"{where}: invalid cron_schedule {cron_schedule!r}: {exc} (five fields:"
                " minute hour day-of-month month day-of-week, or @hourly/@daily/@weekly/"
                "@monthly/@yearly)"
            ) from None
        _refuse(
            environment_vars,
            where,
            "environment_vars is not supported: set env or envFrom on the AssetJob's template"
            " (the run pod's settings)",
        )
        if execution_fn is not None and (
            run_config is not None
            or run_config_fn is not None
            or tags_fn is not None
            or should_execute is not None
        ):
            raise InvalidDefinitionError(
                f"{where}: execution_fn decides run config and tags itself; do not also give"
                " run_config, run_config_fn, tags_fn or should_execute"
            )
        if run_config is not None and run_config_fn is not None:
            raise InvalidDefinitionError(f"{where}: give run_config or run_config_fn, not both")
        if tags and tags_fn is not None:
            raise InvalidDefinitionError(f"{where}: give tags or tags_fn, not both")
        if isinstance(default_status, str):
            try:
                default_status = DefaultScheduleStatus(default_status)
            except ValueError:
                raise InvalidDefinitionError(
                    f"{where}: default_status must be DefaultScheduleStatus.RUNNING or STOPPED"
                ) from None
        if not isinstance(default_status, DefaultScheduleStatus):
            raise InvalidDefinitionError(
                f"{where}: default_status must be DefaultScheduleStatus.RUNNING or STOPPED"
            )
        self._cron_schedule = cron_schedule
        self._job = job
        self._job_name = resolved_job_name
        self._run_config = _run_config(run_config, where)
        self._run_config_fn = run_config_fn
        self._tags = _check_tags(tags, where)
        self._tags_fn = tags_fn
        self._metadata: Mapping[str, Any] = MappingProxyType(dict(metadata or {}))
        self._should_execute = should_execute
        self._execution_fn = execution_fn
        self._description = description
        self._default_status = default_status
        self._required_resource_keys = frozenset(required_resource_keys or ())
        self._owners = tuple(owners or ())

    # Dagster exposes these as read-only properties.
    @property
    def name(self) -> str:
        """The schedule's name."""
        return self._name

    @property
    def cron_schedule(self) -> str:
        """The cron string."""
        return self._cron_schedule

    @property
    def execution_timezone(self) -> str:
        """The IANA zone the cron string ticks in (``UTC`` when none was given)."""
        return self._execution_timezone

    @property
    def job_name(self) -> str:
        """The name of the job it runs."""
        return self._job_name

    @property
    def job(self) -> UnresolvedAssetJobDefinition:
        """The job it runs; raises :class:`InvalidDefinitionError` when the schedule
        names its job by ``job_name`` only (``Definitions.get_job_def`` finds it)."""
        if self._job is None:
            raise InvalidDefinitionError(
                f"schedule {self._name!r} names its job by job_name={self._job_name!r}; use"
                " Definitions.get_job_def(schedule.job_name)"
            )
        return self._job

    @property
    def has_job_object(self) -> bool:
        """Whether the job was given as an object (``job=`` or ``target=``)."""
        return self._job is not None

    @property
    def run_config(self) -> Mapping[str, Any]:
        """The static run config (empty for a function schedule)."""
        return self._run_config

    @property
    def tags(self) -> Mapping[str, str]:
        """The static tags of its runs."""
        return self._tags

    @property
    def metadata(self) -> Mapping[str, Any]:
        """Free-form metadata."""
        return self._metadata

    @property
    def description(self) -> str | None:
        """The description."""
        return self._description

    @property
    def default_status(self) -> DefaultScheduleStatus:
        """Whether it runs when deployed."""
        return self._default_status

    @property
    def required_resource_keys(self) -> frozenset[str]:
        """Resources its functions read from ``context.resources``."""
        return self._required_resource_keys

    @property
    def owners(self) -> tuple[str, ...]:
        """Its owners."""
        return self._owners

    @property
    def execution_fn(self) -> ScheduleFunction | None:
        """The schedule function (``@schedule``), or ``None``."""
        return self._execution_fn

    @property
    def is_static(self) -> bool:
        """Whether every tick asks for the same run config and tags (no function), so the
        schedule is fully described by its cron string, zone, run config and tags."""
        return (
            self._execution_fn is None
            and self._run_config_fn is None
            and self._tags_fn is None
            and self._should_execute is None
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the schedule function directly (as Dagster allows in tests)."""
        if self._execution_fn is None:
            raise InvalidDefinitionError(f"schedule {self._name!r} has no function to call")
        return self._execution_fn(*args, **kwargs)

    def __repr__(self) -> str:
        return (
            f"ScheduleDefinition(name={self._name!r}, cron_schedule={self._cron_schedule!r}, "
            f"job_name={self._job_name!r}, execution_timezone={self._execution_timezone!r})"
        )

    def evaluate_tick(self, context: ScheduleEvaluationContext) -> ScheduleExecutionData:
        """What the tick in ``context`` asks for (Dagster's ``evaluate_tick``).

        A static schedule gives one :class:`RunRequest` with its run config and tags. A
        function's result is read as Dagster reads it: a :class:`RunRequest`, a list or
        generator of them (a :class:`SkipReason` among none skips), a
        :class:`SkipReason`, a run-config dict (one request with the schedule's tags) or
        ``None`` (skipped: "Schedule function returned an empty result"). Exceptions
        raised by the function propagate. Raises :class:`InvalidDefinitionError` for any
        other result or a request naming another job.
        """
        if not isinstance(context, ScheduleEvaluationContext):
            raise InvalidDefinitionError(
                f"schedule {self._name!r}: evaluate_tick expects build_schedule_context(...)"
            )
        if context.schedule_name is None:
            context = ScheduleEvaluationContext(
                scheduled_execution_time=context.scheduled_execution_time,
                resources=context.resources,
                schedule_name=self._name,
                log=context.log,
            )
        if self._should_execute is not None and not _call(self._should_execute, context):
            return ScheduleExecutionData(
                [], skip_message=f"should_execute function for {self._name} returned false."
            )
        if self._execution_fn is not None:
            result = _call(self._execution_fn, context)
        elif self._run_config_fn is not None:
            result = _call(self._run_config_fn, context)
            if result is None:
                result = {}
        else:
            return self._static_request(context)
        return self._read_result(result, context)

    def _static_request(self, context: ScheduleEvaluationContext) -> ScheduleExecutionData:
        """The request of a schedule without function: its run config and tags, and,
        for a partitioned job and a known tick, the partition the runner derives from the
        tick (the last partition at the tick, Dagster's rule for partitioned schedules;
        skipped when no partition exists yet). Static partitions get no key here: the
        AssetSchedule's ``partitionKey`` (or ``--partition-key``) gives it, and the run
        stops with a clear error when nothing does."""
        when = context.scheduled_execution_time
        partitions = self._job.partitions_def if self._job is not None else None
        key = None
        if isinstance(partitions, TimeWindowPartitionsDefinition) and when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=ZoneInfo(self._execution_timezone))
            try:
                key = partitions.key_for_schedule_tick(when)
            except PartitionKeyError as exc:
                return ScheduleExecutionData([], skip_message=f"no partition for this tick: {exc}")
        request = RunRequest(run_config=self._run_config, tags=self._tags, partition_key=key)
        return ScheduleExecutionData([request])

    def _tags_for(self, context: ScheduleEvaluationContext) -> Mapping[str, str]:
        if self._tags_fn is None:
            return self._tags
        return _check_tags(_call(self._tags_fn, context), f"schedule {self._name!r} tags_fn")

    def _read_result(
        self, result: Any, context: ScheduleEvaluationContext
    ) -> ScheduleExecutionData:
        where = f"schedule {self._name!r}"
        if result is None:
            # Dagster's message for the same case.
            empty = "Schedule function returned an empty result"
            return ScheduleExecutionData([], skip_message=empty)
        if isinstance(result, SkipReason):
            return ScheduleExecutionData([], skip_message=result.skip_message)
        if isinstance(result, RunRequest):
            items: list[Any] = [result]
        elif isinstance(result, Mapping) or callable(getattr(result, "to_config_dict", None)):
            items = [RunRequest(run_config=result, tags=self._tags_for(context))]
        elif isinstance(result, Iterator | list | tuple):
            items = list(result)
        else:
            raise InvalidDefinitionError(
                f"{where}: the schedule function returned a {type(result).__name__}; return a"
                " RunRequest, a list of them, a SkipReason or a run-config dict"
            )
        requests: list[RunRequest] = []
        skip: str | None = None
        for item in items:
            if isinstance(item, SkipReason):
                skip = item.skip_message
            elif isinstance(item, RunRequest):
                if item.job_name is not None and item.job_name != self._job_name:
                    raise InvalidDefinitionError(
                        f"{where}: a RunRequest names job {item.job_name!r}, but the schedule"
                        f" runs {self._job_name!r}"
                    )
                requests.append(item)
            else:
                raise InvalidDefinitionError(
                    f"{where}: the schedule function gave a {type(item).__name__}; expected"
                    " RunRequest or SkipReason"
                )
        if requests and skip is not None:
            raise InvalidDefinitionError(
                f"{where}: the schedule function gave both RunRequests and a SkipReason"
            )
        return ScheduleExecutionData(requests, skip_message=None if requests else skip)


def schedule(
    cron_schedule: str | Sequence[str],
    *,
    job_name: str | None = None,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
    tags_fn: Callable[..., Mapping[str, str]] | None = None,
    metadata: Mapping[str, Any] | None = None,
    should_execute: Callable[..., bool] | None = None,
    environment_vars: Mapping[str, str] | None = None,
    execution_timezone: str | None = None,
    description: str | None = None,
    job: UnresolvedAssetJobDefinition | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    required_resource_keys: set[str] | None = None,
    target: CoercibleToAssetSelection | UnresolvedAssetJobDefinition | None = None,
    owners: Sequence[str] | None = None,
) -> Callable[[ScheduleFunction], ScheduleDefinition]:
    """Make a :class:`ScheduleDefinition` from a function of the tick (Dagster's
    ``@schedule``).

    The function takes ``context`` (:class:`ScheduleEvaluationContext`) or nothing and
    returns a :class:`RunRequest`, a list or generator of them, a :class:`SkipReason`
    or a run-config dict (see :meth:`ScheduleDefinition.evaluate_tick`). ``name``
    defaults to the function's name; the other arguments are
    :class:`ScheduleDefinition`'s. A run-config dict result gets ``tags`` (or what
    ``tags_fn`` returns); a :class:`RunRequest` keeps its own tags, as in Dagster.
    """

    def decorator(fn: ScheduleFunction) -> ScheduleDefinition:
        if not callable(fn):
            raise InvalidDefinitionError(f"@schedule expects a function, got {fn!r}")
        definition = ScheduleDefinition(
            name=name or fn.__name__,
            cron_schedule=cron_schedule,
            job_name=job_name,
            metadata=metadata,
            environment_vars=environment_vars,
            execution_timezone=execution_timezone,
            execution_fn=fn,
            description=description,
            job=job,
            default_status=default_status,
            required_resource_keys=required_resource_keys,
            target=target,
            owners=owners,
        )
        # The function's result gets the tags, as should_execute gates it: ScheduleDefinition
        # refuses these beside execution_fn, so they are attached after validation.
        if tags and tags_fn is not None:
            raise InvalidDefinitionError(
                f"schedule {definition.name!r}: give tags or tags_fn, not both"
            )
        definition._tags = _check_tags(tags, f"schedule {definition.name!r}")
        definition._tags_fn = tags_fn
        definition._should_execute = should_execute
        return definition

    return decorator


def build_schedule_from_partitioned_job(  # noqa: PLR0917 - Dagster's signature
    job: UnresolvedAssetJobDefinition,
    description: str | None = None,
    name: str | None = None,
    minute_of_hour: int | None = None,
    hour_of_day: int | None = None,
    day_of_week: int | None = None,
    day_of_month: int | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    cron_schedule: str | None = None,
    execution_timezone: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    owners: Sequence[str] | None = None,
) -> ScheduleDefinition:
    """A schedule running a partitioned job (Dagster's ``build_schedule_from_partitioned_job``).

    Time-window partitions: the cron is the partitions' own (``minute_of_hour``,
    ``hour_of_day``, ``day_of_week``, ``day_of_month`` override its offsets as Dagster's
    ``get_cron_schedule`` does), in the partitions' zone; each tick asks for the last
    partition at the tick. ``cron_schedule``/``execution_timezone`` are refused for them,
    as in Dagster. Static partitions: ``cron_schedule`` is required, and each tick needs
    an explicit partition key (Dagster asks for one run per key; an assetcron run is one
    partition): the tick is skipped with a message saying so.

    Raises :class:`InvalidDefinitionError` for an unpartitioned job or a refused
    argument combination.
    """
    if not isinstance(job, UnresolvedAssetJobDefinition) or job.partitions_def is None:
        raise InvalidDefinitionError(
            "build_schedule_from_partitioned_job: the job needs partitions, give"
            " define_asset_job(..., partitions_def=DailyPartitionsDefinition(...))"
        )
    where = f"build_schedule_from_partitioned_job({job.name!r})"
    pd = job.partitions_def
    overrides = (minute_of_hour, hour_of_day, day_of_week, day_of_month)
    if isinstance(pd, StaticPartitionsDefinition):
        if not cron_schedule:
            raise InvalidDefinitionError(
                f"{where}: creating a schedule from a static partitions definition requires"
                " a cron schedule"
            )
        cron = cron_schedule
        zone = execution_timezone
    else:
        assert isinstance(pd, TimeWindowPartitionsDefinition)
        if cron_schedule or execution_timezone:
            raise InvalidDefinitionError(
                f"{where}: cannot provide cron_schedule or execution_timezone for a"
                " time-partitioned job (the partitions' cron and zone are used)"
            )
        cron = _partition_cron(pd, *overrides, where=where)
        zone = pd.timezone
    return ScheduleDefinition(
        name=name,
        cron_schedule=cron,
        job=job,
        tags=tags,
        execution_timezone=zone,
        description=description,
        default_status=default_status,
        metadata=metadata,
        owners=owners,
    )
