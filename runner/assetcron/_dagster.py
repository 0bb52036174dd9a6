"""Run an unchanged Dagster code location: the optional extra ``assetcron[dagster]``.

When a code location's attribute is a ``dagster.Definitions`` (:mod:`assetcron._loader`
tells by the object's type, without importing Dagster), ``assetcron asset list`` and
``assetcron asset materialize`` hand it to this module, the only one in ``assetcron``
that imports ``dagster`` (an import-linter contract). The rest of the run is the same as
for a native code location: the scheduled time, the run-config template and its
rendering, the run id, the storage, the partition locks, the progress lines, the
summary in the termination message and the exit codes (:mod:`assetcron._cli_asset`).
What Dagster decides, Dagster's own code decides:

* **Selection**: ``AssetSelection.from_string`` resolved on the code location's asset
  graph (what ``dagster asset list/materialize --select`` and ``dg launch --assets`` do),
  keys in ``AssetGraph.toposorted_asset_keys`` order. An empty result is an error
  (exit 2), as for native code locations, with a "did you mean" for ``key:`` values.
* **Partition of the tick**: the selected assets' one ``partitions_def``; for a
  ``TimeWindowPartitionsDefinition`` the last partition that has ended at the tick,
  ``partitions_def.get_last_partition_key()`` inside
  ``partition_loading_context(effective_dt=tick)``: the rule of Dagster's
  ``build_schedule_from_partitioned_job`` (``_get_schedule_evaluation_fn`` in
  ``dagster/_core/definitions/partitions/partitioned_schedule.py``). Dagster schedules
  for static and multi partitions launch one run per partition; a pod is one run, so
  those need ``--partition-key`` (one AssetSchedule per partition). An explicit key is
  checked with ``has_partition_key``.
* **Run config**: the rendered template, checked with ``dagster.validate_run_config``
  before anything is stored (exit 2 on error).
* **Execution**: ``dagster.execute_job`` of an asset job (``define_asset_job`` over the
  selected keys) built from the code location's assets, asset checks, resources and
  loggers, with Dagster's ``in_process_executor``: steps run in the pod's process, one
  after another, with the user's resources and IO managers. The code location's own
  executor, jobs, schedules and sensors are not used.
* **Default IO manager**: when the code location binds no ``io_manager`` resource,
  :class:`ObjectStorageIOManager` stores each asset's value as a pickle in the run's
  storage (directory, ``s3://``, ``gs://``, ``az://``; obstore), where a native asset
  stores its value (``assets/<key>/<partition or __unpartitioned__>.pickle``), following
  Dagster's ``UPathIOManager`` for partitions (a dict for several upstream partitions,
  ``allow_missing_partitions``). IO managers the code location binds are used as bound.
* **Resume on retry**: each assetcron run (its deterministic run id; a retried pod of a
  Job keeps it) has its own persistent ``DagsterInstance`` (SQLite) under
  ``dagster/runs/<run id>/`` in the storage. A retry finds the failed (or killed) Dagster
  run there and re-executes it from failure: ``ReexecutionOptions.from_failure`` with
  ``execute_job``; the steps that succeeded are not run again and their assets are
  reported ``Reused``. On a local directory the instance lives there; on an object store
  it lives in a temporary directory and is copied from the store at the start of an
  attempt and back at its end (also on failure and SIGTERM; SIGKILL loses it, and the
  retry then runs everything again). ``--force`` starts afresh. A run that succeeds
  deletes its instance (nothing is left to resume), so a re-run after success runs
  everything again, as re-launching a Dagster run does.
* **Outcomes**: Dagster's events map to the summary's outcomes: an
  ``ASSET_MATERIALIZATION`` in this attempt is ``Materialized``; a ``STEP_FAILURE`` makes
  the step's assets ``Failed`` (the user's exception, one line); assets whose steps did
  not run because an upstream step failed (Dagster logs "Dependencies for step ...
  failed") are ``Skipped``; a failed step that materializes no selected asset (an asset
  check) is reported under its step key. SIGTERM (Dagster turns it into an interrupt of
  the running step) makes the run end as a native run ends on SIGTERM.

Refused, with one line and exit 2: a ``Definitions`` attribute that is some other
Dagster object, Dagster older than :data:`MIN_VERSION`, a selection of assets with
different partitions definitions, dynamic partitions (their keys live in a Dagster
instance the run pod does not have), static or multi partitions without an explicit key.
"""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from assetcron._errors import AssetcronError, EmptySelectionError, RunConfigError, did_you_mean
from assetcron._graph import AssetKey
from assetcron._locks import PartitionLocks
from assetcron._partitions import PartitionKeyError
from assetcron._storage import ObjectStorage
from assetcron._summary import AssetOutcome

__all__ = [
    "MIN_VERSION",
    "DagsterCodeLocation",
    "DagsterJobInfo",
    "DagsterLocationError",
    "DagsterPlan",
    "DagsterRunResult",
    "DagsterScheduleInfo",
    "DagsterTick",
    "ObjectStorageIOManager",
]

#: The oldest Dagster release the extra supports (``assetcron[dagster]``).
MIN_VERSION = (1, 8)
#: Name of the asset job a run executes (the code location's own jobs are not used).
JOB_NAME = "assetcron"
#: Tags on every Dagster run: the assetcron run id and the tick.
TAG_RUN_ID = "assetcron/run-id"
TAG_SCHEDULED_TIME = "assetcron/scheduled-time"
#: Object prefix (in the run's storage) of the per-run Dagster instances.
INSTANCES_PREFIX = "dagster/runs"
#: Object prefix of op outputs that are not assets (graph-backed assets' inner ops).
OPS_PREFIX = "dagster/ops"

_log = logging.getLogger("assetcron.dagster")
_UNFINISHED = frozenset(
    {
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    }
)
_RESUMABLE = frozenset({dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED})
_INTERRUPTED = "DagsterExecutionInterruptedError"
_REUSED = "materialized by an earlier attempt of this run, resumed from failure"


class DagsterLocationError(AssetcronError):
    """A Dagster code location cannot be run as asked (exit 2, one line)."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _version(text: str) -> tuple[int, ...] | None:
    match = re.match(r"(\d+)\.(\d+)", text)
    return (int(match[1]), int(match[2])) if match else None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence Dagster's beta/preview warnings about its own internals (its selection
    parser passes ``include_sources``, a beta parameter); they say nothing to the user,
    and where warnings are errors ``AssetSelection.from_string`` would fall back to its
    legacy syntax because of them."""
    with warnings.catch_warnings():
        for name in ("BetaWarning", "PreviewWarning", "SupersessionWarning"):
            category = getattr(dg, name, None)
            if isinstance(category, type) and issubclass(category, Warning):
                warnings.simplefilter("ignore", category)
        yield


def user_key(key: dg.AssetKey) -> str:
    """``a/b`` for Dagster's ``AssetKey(["a", "b"])``, as native keys are printed."""
    return "/".join(key.path)


# ---------------------------------------------------------------- the IO manager
class ObjectStorageIOManager(dg.IOManager):
    """The default ``io_manager`` of a Dagster run: pickles in the run's storage, where
    a native asset's value is (module docstring). ``storage`` and ``locks`` are set for
    the run's execution; before storing a value the run's lock of that asset partition is
    checked, as for native assets (:mod:`assetcron._locks`)."""

    def __init__(self) -> None:
        self.storage: ObjectStorage | None = None
        self.locks: PartitionLocks | None = None

    def _storage(self) -> ObjectStorage:
        if self.storage is None:
            raise RuntimeError("assetcron's IO manager is only usable during an assetcron run")
        return self.storage

    @staticmethod
    def _op_path(identifier: Sequence[str]) -> str:
        return "/".join((OPS_PREFIX, *identifier)) + ".pickle"

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        storage = self._storage()
        if not context.has_asset_key:
            storage.put(self._op_path(context.get_identifier()), pickle.dumps(obj))
            return
        key = AssetKey(tuple(context.asset_key.path))
        partition = None
        if context.has_asset_partitions:
            keys = context.asset_partition_keys
            if len(keys) != 1:
                raise ValueError(
                    f"assetcron's default IO manager stores one partition per output, not "
                    f"{len(keys)}: bind an io_manager of your own for single-run backfills"
                )
            partition = keys[0]
        if self.locks is not None:
            self.locks.check(key, partition)
        location = storage.write(key, partition, obj, "pickle")
        if obj is not None:
            context.add_output_metadata({"path": dg.MetadataValue.path(location)})

    def load_input(self, context: dg.InputContext) -> Any:
        storage = self._storage()
        if not context.has_asset_key:
            got = storage.get(self._op_path(context.get_identifier()))
            if got is None:
                raise FileNotFoundError(f"no stored output {'/'.join(context.get_identifier())}")
            return pickle.loads(got[0])  # noqa: S301 - written by this IO manager
        key = AssetKey(tuple(context.asset_key.path))
        if not context.has_asset_partitions:
            return storage.read(key, None)
        partitions = context.asset_partition_keys
        if not partitions:
            return None
        if len(partitions) == 1:
            return storage.read(key, partitions[0])
        meta = context.definition_metadata or {}
        allow_missing = bool(meta.get("allow_missing_partitions", False))
        values: dict[str, Any] = {}
        for partition in partitions:
            try:
                values[partition] = storage.read(key, partition)
            except LookupError:
                if not allow_missing:
                    raise
                context.log.warning(f"partition {partition} of {context.asset_key} is missing")
        return values


# ---------------------------------------------------------------- the code location
@dataclass
class DagsterCodeLocation:
    """A code location whose attribute is a ``dagster.Definitions``."""

    defs: dg.Definitions
    location: str

    @classmethod
    def wrap(cls, obj: object, location: str) -> DagsterCodeLocation:
        """Wrap ``obj`` (a Dagster object, as :mod:`assetcron._loader` found); raises
        :class:`DagsterLocationError` when it is not a ``dagster.Definitions`` or Dagster
        is older than :data:`MIN_VERSION`."""
        version = _version(dg.__version__)  # None for a source checkout ("1!0+dev")
        if version is not None and version < MIN_VERSION:
            need = ".".join(map(str, MIN_VERSION))
            raise DagsterLocationError(
                f"dagster {dg.__version__} is older than {need}: install assetcron[dagster]"
            )
        if not isinstance(obj, dg.Definitions):
            raise DagsterLocationError(
                f"{location} is a {type(obj).__module__}.{type(obj).__name__}, not "
                "dagster.Definitions (wrap it: defs = dagster.Definitions(assets=[...]))"
            )
        return cls(obj, location)

    @cached_property
    def asset_graph(self) -> Any:
        """The code location's resolved asset graph (``Definitions.resolve_asset_graph``)."""
        try:
            with _quiet():
                return self.defs.resolve_asset_graph()
        except dg.DagsterError as exc:
            raise DagsterLocationError(f"{self.location}: {_one_line(str(exc))}") from None

    @cached_property
    def op_names(self) -> set[str]:
        """The op names of the code location's assets (run config's ``ops`` keys)."""
        names = set()
        for key in self.asset_graph.materializable_asset_keys:
            op = getattr(getattr(self.asset_graph.get(key), "assets_def", None), "node_def", None)
            if op is not None:
                names.add(op.name)
        return names

    def plan(self, select: str) -> DagsterPlan:
        """Resolve ``select`` with Dagster's selection (see the module docstring): the
        selected materializable keys in topological order. Raises
        :class:`DagsterLocationError` for a selection Dagster refuses and
        :class:`EmptySelectionError` (with a hint for ``key:`` values) for no asset."""
        graph = self.asset_graph
        try:
            with _quiet():
                selection = dg.AssetSelection.from_string(select)
                selected = set(selection.resolve(graph))
        except dg.DagsterError as exc:
            raise DagsterLocationError(f"selection {select!r}: {_one_line(str(exc))}") from None
        selected &= set(graph.materializable_asset_keys)
        keys = [k for k in graph.toposorted_asset_keys if k in selected]
        if not keys:
            known = [user_key(k) for k in graph.materializable_asset_keys]
            for value in re.findall(r'key:\s*"?([^\s"()]+)"?', select):
                hint = [] if "*" in value or value in known else did_you_mean(value, known)
                if hint:
                    also = " or ".join(map(repr, hint))
                    raise DagsterLocationError(
                        f"selection {select!r} matched no asset; did you mean {also}?"
                    )
            raise EmptySelectionError(select)
        return DagsterPlan(self, select, keys)

    # ------------------------------------------------------------ jobs and schedules
    def jobs_and_schedules(
        self,
    ) -> tuple[list[DagsterJobInfo], list[DagsterScheduleInfo], list[str]]:
        """The code location's asset jobs and schedules as ``assetcron manifests`` writes
        them: ``(jobs, schedules, left_out)``, each list in name order; ``left_out`` says,
        one line each, what cannot run under assetcron and why (op jobs, schedules of
        them, schedules with several cron strings).

        A job's selection is its ``AssetSelection`` in Dagster's string syntax
        (``to_selection_str``) when that string resolves to the same assets on this
        code location, else the explicit keys (``key:"a" or key:"b"``). A schedule
        targeting assets directly (``target=``) gets an anonymous job of the same name.
        Raises :class:`DagsterLocationError` when Dagster cannot resolve the schedules.
        """
        jobs: dict[str, DagsterJobInfo] = {}
        left_out: list[str] = []
        for job in self.defs.jobs or []:
            info = self._job_info(job, job.name)
            if isinstance(info, str):
                left_out.append(info)
            else:
                jobs[info.name] = info
        schedules: list[DagsterScheduleInfo] = []
        for schedule in self.defs.schedules or []:
            try:
                with _quiet():
                    resolved = self.defs.resolve_schedule_def(schedule.name)
            except dg.DagsterError as exc:
                raise DagsterLocationError(
                    f"{self.location}: schedule {schedule.name!r}: {_one_line(str(exc))}"
                ) from None
            job_name = resolved.job_name
            if job_name not in jobs and resolved.has_anonymous_job:
                info = self._job_info(resolved.job, schedule.name)
                if isinstance(info, str):
                    left_out.append(info)
                    continue
                jobs[info.name] = info
                job_name = info.name
            if job_name not in jobs:
                left_out.append(f"schedule {schedule.name}: its job {job_name} is not an asset job")
                continue
            cron = resolved.cron_schedule
            if not isinstance(cron, str):
                left_out.append(
                    f"schedule {schedule.name}: {len(cron)} cron strings; an AssetSchedule "
                    "has one (write one schedule per cron string)"
                )
                continue
            schedules.append(
                DagsterScheduleInfo(
                    name=schedule.name,
                    job_name=job_name,
                    cron_schedule=cron,
                    execution_timezone=resolved.execution_timezone,
                    running=resolved.default_status == dg.DefaultScheduleStatus.RUNNING,
                    description=resolved.description,
                    tags=dict(resolved.tags),
                )
            )
        return (
            sorted(jobs.values(), key=lambda j: j.name),
            sorted(schedules, key=lambda s: s.name),
            left_out,
        )

    def _job_info(self, job: Any, name: str) -> DagsterJobInfo | str:
        """One asset job as :class:`DagsterJobInfo`, or why it is left out (``str``)."""
        selection = getattr(job, "selection", None)
        if not isinstance(selection, dg.AssetSelection):
            return f"job {job.name}: an op job; assetcron runs assets (define_asset_job)"
        graph = self.asset_graph
        with _quiet():
            wanted = set(selection.resolve(graph))
            text = selection.to_selection_str()
            try:
                same = set(dg.AssetSelection.from_string(text).resolve(graph)) == wanted
            except (dg.DagsterError, ValueError):
                same = False
        if not same:
            ordered = [k for k in graph.toposorted_asset_keys if k in wanted]
            text = " or ".join(f'key:"{user_key(k)}"' for k in ordered)
        if not text:
            return f"job {job.name}: selects no asset"
        return DagsterJobInfo(
            name=name,
            selection=text,
            description=getattr(job, "description", None),
            config=getattr(job, "config", None),
            tags={str(k): str(v) for k, v in (getattr(job, "tags", None) or {}).items()},
        )

    def evaluate_schedule(self, name: str, scheduled: datetime) -> DagsterTick | str:
        """Evaluate Dagster schedule ``name`` for the tick at ``scheduled`` (aware), as
        Dagster's daemon does: ``ScheduleDefinition.evaluate_tick`` with a context whose
        ``scheduled_execution_time`` is the tick in the schedule's
        ``execution_timezone`` (UTC when it has none) and the code location's repository
        (resources included). Returns the one run request as :class:`DagsterTick`, or
        the skip message (``str``) when the schedule asked for no run.

        Raises:
            DagsterLocationError: no schedule ``name``, the schedule function raised
                (its message, one line), or it asked for several runs in one tick (each
                would be its own run; one AssetSchedule per run is the way).
        """
        try:
            with _quiet(), warnings.catch_warnings():
                # Dagster's partitioned schedules call its own deprecated API
                # (run_request_for_partition): nothing for the user to act on.
                warnings.simplefilter("ignore", DeprecationWarning)
                schedule = self.defs.resolve_schedule_def(name)
                tick = scheduled.astimezone(ZoneInfo(schedule.execution_timezone or "UTC"))
                context = dg.build_schedule_context(
                    scheduled_execution_time=tick,
                    repository_def=self.defs.get_repository_def(),
                )
                data = schedule.evaluate_tick(context)
        except (dg.DagsterError, KeyError) as exc:
            known = sorted(s.name for s in self.defs.schedules or [])
            if not any(s == name for s in known):
                hint = did_you_mean(name, known)
                also = f"; did you mean {' or '.join(map(repr, hint))}?" if hint else ""
                raise DagsterLocationError(
                    f"{self.location} has no schedule {name!r}{also}"
                ) from None
            cause = exc.__cause__ or exc
            raise DagsterLocationError(
                f"schedule {name!r} failed for the tick {scheduled.isoformat()}: "
                f"{_one_line(str(cause))}"
            ) from None
        requests = list(data.run_requests or [])
        if not requests:
            return data.skip_message or "the schedule function asked for no run"
        if len(requests) > 1:
            raise DagsterLocationError(
                f"schedule {name!r} asked for {len(requests)} runs in one tick; one run per "
                "tick is supported (return one RunRequest, or one AssetSchedule per run)"
            )
        request = requests[0]
        return DagsterTick(
            run_config=dict(request.run_config or {}),
            partition_key=request.partition_key,
            asset_keys=(
                None
                if request.asset_selection is None
                else [user_key(k) for k in request.asset_selection]
            ),
            tags=dict(request.tags or {}),
        )


@dataclass(frozen=True)
class DagsterJobInfo:
    """A Dagster asset job as an AssetJob says it: ``name`` (Dagster's), ``selection``
    (Dagster's string syntax), ``description``, ``config`` (the job's static run config:
    a dict or ``RunConfig``) and ``tags``."""

    name: str
    selection: str
    description: str | None
    config: Any
    tags: dict[str, str]


@dataclass(frozen=True)
class DagsterScheduleInfo:
    """A Dagster schedule as an AssetSchedule says it: its ``name``, its asset job's
    ``job_name``, one ``cron_schedule``, ``execution_timezone`` (None: UTC, Dagster's
    default), ``running`` (``default_status`` is RUNNING), ``description``, ``tags``.
    Its run config is always evaluated at the tick (:meth:`evaluate_schedule`)."""

    name: str
    job_name: str
    cron_schedule: str
    execution_timezone: str | None
    running: bool
    description: str | None
    tags: dict[str, str]


@dataclass(frozen=True)
class DagsterTick:
    """What a Dagster schedule asked for at one tick (its ``RunRequest``): the run
    config, the partition key (None: the runner's rule), the asset keys to run (``a/b``
    strings; None: the whole selection) and the request's tags."""

    run_config: dict[str, Any]
    partition_key: str | None
    asset_keys: list[str] | None
    tags: dict[str, str]


# ---------------------------------------------------------------- a plan
@dataclass
class DagsterRunResult:
    """What a Dagster run did: per-asset outcomes in plan order (failed steps that
    materialize no selected asset after them), the wall time of the execution in
    seconds, whether SIGTERM interrupted it, and Dagster's own run id."""

    outcomes: list[AssetOutcome] = field(default_factory=list)
    duration: float = 0.0
    interrupted: bool = False
    dagster_run_id: str | None = None

    @property
    def success(self) -> bool:
        """True when every asset was Materialized or Reused."""
        return all(o.outcome in ("Materialized", "Reused") for o in self.outcomes)


#: The job :func:`execute` runs, for :func:`prepared_job` (``dagster.reconstructable``
#: needs a module-level function; the in-process executor never leaves this process).
_PREPARED: list[dg.JobDefinition] = []


def prepared_job() -> dg.JobDefinition:
    """The job being executed (the target of ``dagster.reconstructable``)."""
    if not _PREPARED:
        raise RuntimeError("no assetcron Dagster job is being executed in this process")
    return _PREPARED[-1]


@dataclass
class DagsterPlan:
    """The selected assets of a Dagster code location, in topological order."""

    code_location: DagsterCodeLocation
    select: str
    keys: list[dg.AssetKey]
    io_manager: ObjectStorageIOManager = field(default_factory=ObjectStorageIOManager)

    @property
    def user_keys(self) -> list[str]:
        """The keys as ``a/b`` strings."""
        return [user_key(k) for k in self.keys]

    def only(self, user_keys: Sequence[str]) -> DagsterPlan:
        """This plan narrowed to ``user_keys`` (``a/b`` strings; a schedule's
        ``RunRequest.asset_selection``), in plan order. Raises
        :class:`EmptySelectionError` when none of them is in the plan."""
        wanted = set(user_keys)
        keys = [k for k in self.keys if user_key(k) in wanted]
        if not keys:
            raise EmptySelectionError(f"{self.select} and the run request's asset_selection")
        return DagsterPlan(self.code_location, self.select, keys)

    def rows(self) -> list[dict[str, Any]]:
        """``asset list --json`` rows (the fields native rows have)."""
        graph = self.code_location.asset_graph
        rows = []
        for key in self.keys:
            node = graph.get(key)
            op = getattr(getattr(node, "assets_def", None), "node_def", None)
            rows.append(
                {
                    "key": user_key(key),
                    "opName": getattr(op, "name", None),
                    "group": node.group_name,
                    "deps": sorted(user_key(d) for d in node.parent_keys),
                    "tags": {k: v for k, v in node.tags.items() if not k.startswith("dagster/")},
                    "owners": list(node.owners),
                    "kinds": sorted(node.kinds),
                    "description": node.description,
                    "partitioned": node.partitions_def is not None,
                }
            )
        return rows

    @cached_property
    def partitions_def(self) -> dg.PartitionsDefinition | None:
        """The one partitions definition of the selected assets (None when none is
        partitioned). Raises :class:`DagsterLocationError` when they have several."""
        graph = self.code_location.asset_graph
        found: list[dg.PartitionsDefinition] = []
        for key in self.keys:
            pd = graph.get(key).partitions_def
            if pd is not None and pd not in found:
                found.append(pd)
        if len(found) > 1:
            raise DagsterLocationError(
                "the selected assets have different partitions definitions; select assets "
                "that share one"
            )
        return found[0] if found else None

    def partition_key(self, scheduled: datetime, explicit: str | None) -> str | None:
        """The run's partition key: ``explicit`` (checked), else Dagster's rule for a
        schedule on a partitioned job at tick ``scheduled`` (module docstring), else None
        for unpartitioned assets. Raises :class:`PartitionKeyError` (exit 2)."""
        pd = self.partitions_def
        if pd is None:
            return explicit or None
        kind = type(pd).__name__
        if _is_dynamic(pd):
            raise PartitionKeyError(
                f"the selected assets use a {kind} with dynamic partitions, whose keys live in "
                "a Dagster instance a run pod does not have; assetcron cannot run them"
            )
        with _effective_time(scheduled):
            if explicit:
                if not pd.has_partition_key(explicit):
                    raise PartitionKeyError(
                        f"partition key {explicit!r} is not a partition of the selected "
                        f"assets' {kind} (at {scheduled.isoformat()})"
                    )
                return explicit
            if not isinstance(pd, dg.TimeWindowPartitionsDefinition):
                raise PartitionKeyError(
                    f"the selected assets have a {kind}: a Dagster schedule on it launches one "
                    "run per partition, an assetcron run is one partition; pass "
                    "--partition-key (or $ASSETCRON_PARTITION_KEY), one schedule per partition"
                )
            key = _last_partition_key(pd, scheduled)
        if key is None:
            raise PartitionKeyError(
                f"no partition of the selected assets has ended at {scheduled.isoformat()} "
                "(the tick is before the first partition)"
            )
        return key

    def partition_window(self, partition_key: str | None) -> tuple[datetime, datetime] | None:
        """The time window of ``partition_key`` (``partition_start``/``partition_end`` in
        run-config templates) by Dagster's ``time_window_for_partition_key``; None for
        other partitions or none."""
        pd = self.partitions_def
        if partition_key is None or not isinstance(pd, dg.TimeWindowPartitionsDefinition):
            return None
        window = pd.time_window_for_partition_key(partition_key)
        return window.start, window.end

    @cached_property
    def job(self) -> dg.JobDefinition:
        """The asset job over the selected keys (module docstring, "Execution")."""
        defs = self.code_location.defs
        resources = dict(defs.resources or {})
        resources.setdefault("io_manager", self.io_manager)
        if defs.executor is not None and defs.executor is not dg.in_process_executor:
            name = getattr(defs.executor, "name", type(defs.executor).__name__)
            _log.info("running steps in process; the code location's executor %s is not used", name)
        try:
            with _quiet():
                prepared = dg.Definitions(
                    assets=defs.assets,
                    asset_checks=defs.asset_checks,
                    resources=resources,
                    loggers=defs.loggers,
                    executor=dg.in_process_executor,
                    jobs=[dg.define_asset_job(JOB_NAME, selection=self.keys)],
                )
                return prepared.resolve_job_def(JOB_NAME)
        except dg.DagsterError as exc:
            raise DagsterLocationError(
                f"{self.code_location.location}: {_one_line(str(exc))}"
            ) from None

    def run_config(self, rendered: Mapping[str, Any]) -> dict[str, Any]:
        """``rendered`` checked with ``dagster.validate_run_config`` against the job;
        Dagster's console logger at INFO unless the run config or the code location
        configures loggers. Raises :class:`RunConfigError` (exit 2)."""
        config = dict(rendered)
        ops = config.get("ops")
        if isinstance(ops, Mapping):
            # As for native runs, config of the code location's other assets is ignored.
            others = self.code_location.op_names - set(self.job.graph.node_dict)
            config["ops"] = {k: v for k, v in ops.items() if k not in others}
        if "loggers" not in config and not self.code_location.defs.loggers:
            config["loggers"] = {"console": {"config": {"log_level": "INFO"}}}
        try:
            with _quiet():
                dg.validate_run_config(self.job, config)
        except dg.DagsterInvalidConfigError as exc:
            first = exc.errors[0].message if exc.errors else str(exc)
            raise RunConfigError(f"run config: {_one_line(first)}") from None
        return config

    def partitions_of(self, partition_key: str | None) -> dict[AssetKey, str | None]:
        """The (asset, partition) each selected asset writes: the lock targets."""
        graph = self.code_location.asset_graph
        return {
            AssetKey(tuple(k.path)): partition_key if graph.get(k).partitions_def else None
            for k in self.keys
        }

    def execute(
        self,
        *,
        run_id: str,
        scheduled: datetime,
        partition_key: str | None,
        run_config: Mapping[str, Any],
        storage: ObjectStorage,
        locks: PartitionLocks,
        force: bool = False,
        on_outcome: Callable[[int, int, AssetOutcome], None] | None = None,
    ) -> DagsterRunResult:
        """Take the partition locks, execute (or resume) the run in its Dagster instance,
        release the locks, and report per-asset outcomes (module docstring)."""
        started = time.perf_counter()
        self.io_manager.storage = storage
        self.io_manager.locks = locks
        try:
            parts = self.partitions_of(partition_key)
            not_locked = locks.acquire_all(parts.items())
            blocked = {
                k
                for k in self.keys
                if (AssetKey(tuple(k.path)), parts[AssetKey(tuple(k.path))]) in not_locked
            }
            runnable = self._without_downstream(blocked)
            tags = {TAG_RUN_ID: run_id, TAG_SCHEDULED_TIME: scheduled.isoformat()}
            if partition_key is not None and self.partitions_def is not None:
                tags.update(
                    self.job.get_tags_for_partition_key(
                        partition_key, selected_asset_keys=self.keys
                    )
                )
            with _run_instance(storage, run_id) as held:
                result = self._execute_in(held.instance, runnable, run_config, tags, force)
                outcomes, interrupted = self._outcomes(
                    held.instance, result, blocked, not_locked, parts
                )
                held.keep = not all(o.outcome in ("Materialized", "Reused") for o in outcomes)
        finally:
            locks.release_all()
            self.io_manager.storage = None
            self.io_manager.locks = None
        for i, outcome in enumerate(outcomes, start=1):
            if on_outcome is not None:
                on_outcome(i, len(outcomes), outcome)
        return DagsterRunResult(
            outcomes=outcomes,
            duration=time.perf_counter() - started,
            interrupted=interrupted,
            dagster_run_id=result.run_id if result is not None else None,
        )

    def _without_downstream(self, blocked: set[dg.AssetKey]) -> list[dg.AssetKey]:
        graph = self.code_location.asset_graph
        out: set[dg.AssetKey] = set(blocked)
        for key in self.keys:  # topological: parents first
            if graph.get(key).parent_keys & out:
                out.add(key)
        return [k for k in self.keys if k not in out]

    def _execute_in(
        self,
        instance: dg.DagsterInstance,
        runnable: list[dg.AssetKey],
        run_config: Mapping[str, Any],
        tags: Mapping[str, str],
        force: bool,
    ) -> Any:
        """Execute ``runnable`` (all of the plan, or what the locks left) in ``instance``:
        from failure when an earlier attempt of this run failed or was killed. Returns
        ``execute_job``'s result, or None when nothing can run."""
        if not runnable:
            return None
        earlier = instance.get_runs(limit=1)
        parent = earlier[0] if earlier else None
        if parent is not None and parent.status in _UNFINISHED:
            # The attempt before this one was killed (SIGKILL, OOM, a lost node): its run
            # never finished. Mark it failed so that it can be resumed from failure.
            instance.report_run_failed(parent)
            parent = instance.get_run_by_id(parent.run_id)
        options = None
        if (
            parent is not None
            and parent.status in _RESUMABLE
            and not force
            and len(runnable) == len(self.keys)
        ):
            options = dg.ReexecutionOptions.from_failure(parent.run_id, instance)
            _log.info("resuming Dagster run %s from failure", parent.run_id)
        _PREPARED.append(self.job)
        try:
            job = dg.reconstructable(prepared_job)
            if len(runnable) != len(self.keys):
                job = job.get_subset(asset_selection=set(runnable))
            _forget_earlier_jobs(job)
            with _quiet():
                try:
                    return dg.execute_job(
                        job, instance, run_config=dict(run_config), tags=dict(tags),
                        reexecution_options=options,
                    )  # fmt: skip
                except (dg.DagsterError, ValueError) as exc:
                    # Resuming is impossible (the code changed the steps since the failed
                    # attempt): run everything, unless a run was already started.
                    if options is None or len(instance.get_runs()) != len(earlier):
                        raise
                    _log.warning("cannot resume from failure (%s); running everything", exc)
                    return dg.execute_job(
                        job, instance, run_config=dict(run_config), tags=dict(tags)
                    )
        finally:
            _PREPARED.pop()

    def _outcomes(
        self,
        instance: dg.DagsterInstance,
        result: Any,
        blocked: set[dg.AssetKey],
        not_locked: Mapping[tuple[AssetKey, str | None], AssetcronError],
        parts: Mapping[AssetKey, str | None],
    ) -> tuple[list[AssetOutcome], bool]:
        """Per-asset outcomes of ``result``'s Dagster run, from its events (module
        docstring, "Outcomes"), and whether SIGTERM (or Ctrl-C) interrupted it."""
        graph = self.code_location.asset_graph
        step_of: dict[dg.AssetKey, str] = {}
        materialized: set[dg.AssetKey] = set()
        started: dict[str, float] = {}
        ended: dict[str, float] = {}
        failed: dict[str, str] = {}
        interrupted = False
        if result is not None:
            run = instance.get_run_by_id(result.run_id)
            interrupted = run is not None and run.status == dg.DagsterRunStatus.CANCELED
            for entry in instance.all_logs(result.run_id):
                event = entry.dagster_event
                if event is None:
                    continue
                kind = event.event_type
                at = event.step_key or ""
                if kind == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
                    if event.asset_key is not None:
                        step_of[event.asset_key] = at
                elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
                    if event.asset_key is not None:
                        materialized.add(event.asset_key)
                elif kind == dg.DagsterEventType.STEP_START:
                    started[at] = entry.timestamp
                elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                    ended[at] = entry.timestamp
                    if kind == dg.DagsterEventType.STEP_FAILURE:
                        error, was_interrupt = _failure_text(event)
                        failed[at] = error
                        interrupted = interrupted or was_interrupt
        reused = self._materialized_before(instance, result.run_id if result else None)

        def duration(step: str | None) -> float:
            if step is None or step not in started:
                return 0.0
            return max(0.0, ended.get(step, started[step]) - started[step])

        outcomes: list[AssetOutcome] = []
        bad: set[dg.AssetKey] = set()
        for key in self.keys:
            name = user_key(key)
            ours = AssetKey(tuple(key.path))
            step = step_of.get(key)
            if key in blocked:
                bad.add(key)
                error = str(not_locked[ours, parts[ours]])
                outcomes.append(AssetOutcome(name, "Failed", 0.0, error))
            elif step is not None and step in failed:
                bad.add(key)
                outcomes.append(AssetOutcome(name, "Failed", duration(step), failed[step]))
            elif key in materialized:
                outcomes.append(AssetOutcome(name, "Materialized", duration(step)))
            elif step is None and key in reused:
                outcomes.append(AssetOutcome(name, "Reused", 0.0, _REUSED))
            else:
                bad.add(key)
                parent = next(
                    (p for p in self.keys if p in bad and p in graph.get(key).parent_keys), None
                )
                if parent is not None:
                    why = f"upstream {user_key(parent)!r} did not materialize"
                elif step is not None and step in ended:
                    why = f"step {step!r} succeeded without materializing it"
                else:
                    why = "not run"
                outcomes.append(AssetOutcome(name, "Skipped", 0.0, why))
        # A failed step that produces no selected asset (an asset check, an op).
        for at, error in failed.items():
            if at not in step_of.values():
                outcomes.append(AssetOutcome(at, "Failed", duration(at), error))
        return outcomes, interrupted

    def _materialized_before(
        self, instance: dg.DagsterInstance, current: str | None
    ) -> set[dg.AssetKey]:
        """Assets the earlier attempts of this run (the instance's other runs)
        materialized."""
        done: set[dg.AssetKey] = set()
        for run in instance.get_runs():
            if run.run_id == current:
                continue
            for entry in instance.all_logs(
                run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            ):
                event = entry.dagster_event
                if event is not None and event.asset_key is not None:
                    done.add(event.asset_key)
        return done


def _forget_earlier_jobs(job: Any) -> None:
    """Empty ``ReconstructableJob``'s definition caches (``functools.lru_cache`` on its
    methods, keyed by equal pointers): a second run in one process (tests, embedders)
    would otherwise execute the first run's job, IO manager included."""
    for name in ("get_definition", "get_repository_definition"):
        clear = getattr(getattr(type(job), name, None), "cache_clear", None)
        if callable(clear):
            clear()


def _target(key: dg.AssetKey, parts: Mapping[AssetKey, str | None]) -> tuple[AssetKey, str | None]:
    ours = AssetKey(tuple(key.path))
    return ours, parts[ours]


def _failure_text(event: Any) -> tuple[str, bool]:
    """One line for a STEP_FAILURE event (the user's exception, or ``dagster.Failure``'s
    description) and whether it was an interrupt (SIGTERM, Ctrl-C)."""
    data = event.step_failure_data
    error = getattr(data, "error", None)
    user = getattr(data, "user_failure_data", None)
    if user is not None and getattr(user, "description", None):
        return _one_line(user.description), False
    if error is None:
        return "failed", False
    if error.cls_name == _INTERRUPTED:
        return "interrupted (SIGTERM)", True
    cause = error.cause if error.cause is not None else error
    text = _one_line(cause.message) or cause.cls_name or "failed"
    return text, cause.cls_name == _INTERRUPTED


def _is_dynamic(pd: Any) -> bool:
    if isinstance(pd, dg.DynamicPartitionsDefinition):
        return True
    if isinstance(pd, dg.MultiPartitionsDefinition):
        return any(
            isinstance(d.partitions_def, dg.DynamicPartitionsDefinition) for d in pd.partitions_defs
        )
    return False


@contextlib.contextmanager
def _effective_time(when: datetime) -> Iterator[None]:
    """Dagster's partition loading context at ``when`` (Dagster >= 1.11); older releases
    take the time as ``current_time`` arguments instead (:func:`_last_partition_key`)."""
    ctx = getattr(dg, "partition_loading_context", None)
    if ctx is None:
        yield
        return
    with ctx(effective_dt=when):
        yield


def _last_partition_key(pd: dg.TimeWindowPartitionsDefinition, when: datetime) -> str | None:
    if hasattr(dg, "partition_loading_context"):
        return pd.get_last_partition_key()
    return pd.get_last_partition_key(current_time=when)  # type: ignore[call-arg]  # dagster < 1.11


# ---------------------------------------------------------------- the run's instance
def _instance_config(artifacts: Path) -> dict[str, Any]:
    """``dagster.yaml`` of a run's instance: SQLite storage in its directory (Dagster's
    default), no compute-log capture (the pod's log has the output), no telemetry;
    ``storage_directory()`` (where an explicitly bound ``fs_io_manager`` without a
    ``base_dir`` writes) is ``<artifacts>/storage``, shared by the runs."""
    return {
        "telemetry": {"enabled": False},
        "compute_logs": {
            "module": "dagster._core.storage.noop_compute_log_manager",
            "class": "NoOpComputeLogManager",
        },
        "local_artifact_storage": {
            "module": "dagster._core.storage.root",
            "class": "LocalArtifactStorage",
            "config": {"base_dir": str(artifacts)},
        },
    }


@dataclass
class _RunInstance:
    """A run's Dagster instance, and whether to keep it when the attempt ends."""

    instance: dg.DagsterInstance
    keep: bool = True


@contextlib.contextmanager
def _run_instance(storage: ObjectStorage, run_id: str) -> Iterator[_RunInstance]:
    """The persistent Dagster instance of assetcron run ``run_id`` (module docstring,
    "Resume on retry"): ``dagster/runs/<run id>/`` in a local storage directory, or a
    temporary copy of those objects for an object store, put back when the attempt ends.
    When the caller clears ``keep`` (the run succeeded: nothing left to resume) it is
    deleted instead, so only failed runs leave one (about 0.5 MB of SQLite)."""
    prefix = f"{INSTANCES_PREFIX}/{run_id}"
    with contextlib.ExitStack() as stack:
        if storage.local_root is not None:
            home = storage.local_root.joinpath(*prefix.split("/"))
            artifacts = storage.local_root / "dagster"
            remote = False
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="assetcron-")))
            home, artifacts, remote = tmp / "instance", tmp, True
            _download(storage, prefix, home)
        home.mkdir(parents=True, exist_ok=True)
        (home / "dagster.yaml").write_text(json.dumps(_instance_config(artifacts)), "utf-8")
        held = None
        try:
            with _quiet(), dg.DagsterInstance.from_config(str(home)) as instance:
                held = _RunInstance(instance)
                yield held
        finally:
            if held is not None and not held.keep:
                _forget(storage, prefix, home)
            elif remote:
                _upload(home, storage, prefix)


def _forget(storage: ObjectStorage, prefix: str, home: Path) -> None:
    """Delete a run's instance (a failure is a warning: it only takes space)."""
    try:
        if storage.local_root is not None:
            shutil.rmtree(home)
        else:
            for path in list(storage.list_paths(prefix + "/")):
                storage.delete(path)
    except (OSError, AssetcronError) as exc:
        _log.warning("cannot delete the Dagster instance of this finished run: %s", exc)


def _download(storage: ObjectStorage, prefix: str, home: Path) -> None:
    for path in storage.list_paths(prefix + "/"):
        got = storage.get(path)
        if got is None:
            continue
        target = home.joinpath(*path[len(prefix) + 1 :].split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(got[0])


def _upload(home: Path, storage: ObjectStorage, prefix: str) -> None:
    """Copy the instance's files to the store; a failure is a warning (the run's
    outcome stands; a retry would run everything again)."""
    try:
        for path in sorted(home.rglob("*")):
            if path.is_file():
                storage.put(f"{prefix}/{path.relative_to(home).as_posix()}", path.read_bytes())
    except AssetcronError as exc:
        _log.warning("cannot keep the Dagster instance of this run (a retry starts over): %s", exc)
