"""Materialize a plan of assets: bind inputs, run, persist, record, resume.

The plan (asset keys in topological order) comes from the selection; this module does
the I/O. Semantics:

* the run id is deterministic (:func:`run_id_for`), so re-running the same run
  (same code location, selection, partition key and scheduled time) resumes: an asset
  whose record in that run is ``Materialized`` and whose value is still stored is
  *Reused*, not recomputed, unless ``force``;
* when an asset fails, every asset in the plan that depends on it (directly or through
  other skipped assets) is *Skipped*; independent branches still run (Dagster's
  behaviour for a failed step);
* an upstream asset outside the plan is read from storage for the run's partition
  (its latest stored value); when none is stored, the asset that needs it fails;
* all run config is validated before anything runs (:func:`validate_run_config`), so
  bad config writes nothing;
* before it writes anything, a run takes the partition lock of every planned asset
  (:mod:`assetcron._locks`) and holds them to its end, so runs writing the same asset
  partition never interleave; an asset whose lock another run held for longer than the
  lock wait fails, naming that run (its dependents are skipped). The check for a value
  already materialized in this run (above) is made with the lock held, so a duplicate
  process of the same run reuses what the first one stored;
* an asset interrupted by SIGTERM or Ctrl-C (a ``BaseException`` unwinding through it)
  gets an ``Interrupted`` record; locks are released on every way out;
* a storage failure (disk full, read-only, permission denied) fails the asset being
  materialized with one line naming the object and what to do, never a traceback.
"""

from __future__ import annotations

import inspect
import logging
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from assetcron._errors import (
    AssetcronError,
    InvalidDefinitionError,
    PartitionKeyError,
    RunConfigError,
    did_you_mean,
)
from assetcron._graph import AssetKey
from assetcron._identity import config_fingerprint, provenance_key
from assetcron._locks import PartitionLocks
from assetcron._records import CurrentVersion, RecordStore
from assetcron._results import AssetCheckResult, MaterializeResult, Output, normalize_metadata
from assetcron._runlog import asset_scope
from assetcron._sdk import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetChecksDefinition,
    AssetExecutionContext,
    AssetsDefinition,
    Definitions,
)
from assetcron._storage import MissingValueError, ObjectStorage, StorageError
from assetcron._summary import AssetOutcome, CheckOutcome

if TYPE_CHECKING:
    # Imported where used (partitioned assets only): a run of unpartitioned assets does
    # not load partitions at its start (benchmarks/startup.py).
    from assetcron._partition_mappings import PartitionMapping
    from assetcron._partitions import PartitionsDefinition
    from assetcron._policy import RetryPolicy

__all__ = [
    "Failure",
    "RunResult",
    "configure_resources",
    "materialize",
    "run_id_for",
    "run_partition_key",
    "run_partition_window",
    "run_resources",
    "validate_run_config",
]

#: Namespace of the deterministic run ids (uuid5).
_RUN_NAMESPACE = uuid.UUID("6f7c2a52-3f7b-4d0e-9d59-5a1f1f0c4a11")
_log = logging.getLogger("assetcron.materialize")
#: The input version of a stored value with no recorded version.
_UNKNOWN = "unknown"


class Failure(Exception):  # noqa: N818 - Dagster's name for the same thing
    """Raise from an asset to fail it with a clear one-line message and no traceback
    (Dagster's ``dagster.Failure``). ``allow_retries=False`` fails it at once even when
    it has a ``retry_policy``; ``metadata`` is kept on the exception."""

    def __init__(
        self,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        allow_retries: bool | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.metadata = dict(metadata or {})
        self.allow_retries = True if allow_retries is None else allow_retries


def run_id_for(
    code_location: str,
    selection: str,
    partition_key: str | None,
    scheduled_time: datetime,
    job_name: str | None = None,
) -> str:
    """The deterministic run id: a UUID5 of the code location, the selection text, the
    partition key, the scheduled time (as UTC ISO 8601) and the Kubernetes Job's name.

    The Job name (``ASSETCRON_JOB_NAME``: ``<cronjob>-<minute>`` for a tick, one per
    trigger for a manual run) makes the id unique per schedule and tick, while a retried
    pod of the same Job keeps it. Reuse does not depend on the run id: a value is reused
    when its provenance matches (:mod:`assetcron._identity`).
    """
    stamp = scheduled_time.astimezone(UTC).isoformat()
    name = "\x1f".join((code_location, selection, partition_key or "", stamp, job_name or ""))
    return str(uuid.uuid5(_RUN_NAMESPACE, name))


def run_partition_key(
    defs: Definitions,
    plan: Sequence[AssetKey],
    scheduled_time: datetime,
    explicit: str | None,
) -> str | None:
    """The partition key of a run over ``plan``.

    ``explicit`` (already rendered) wins and is validated against the plan's partitions
    definition; else, when the planned assets are partitioned, Dagster's rule for
    schedules from partitioned jobs (:meth:`PartitionsDefinition.key_for_schedule_tick`:
    the last partition at the tick; none for static partitions); else ``None``. Raises
    :class:`InvalidDefinitionError` when the planned assets use different partitions
    definitions (Dagster requires one per job) and ``PartitionKeyError`` for a key
    outside the definition or a tick without partition.
    """
    defs_used: list[PartitionsDefinition] = []
    for key in plan:
        pd = defs.assets[key].partitions_def
        if pd is not None and pd not in defs_used:
            defs_used.append(pd)
    if len(defs_used) > 1:
        raise InvalidDefinitionError(
            "the selected assets have different partitions definitions; select assets "
            "that share one"
        )
    if not defs_used:
        return explicit or None
    if explicit:
        return defs_used[0].validate_key(explicit)
    return defs_used[0].key_for_schedule_tick(scheduled_time)


def run_partition_window(
    defs: Definitions, plan: Sequence[AssetKey], partition_key: str | None
) -> tuple[datetime, datetime] | None:
    """The time window of the run's partition (``partition_start``/``partition_end`` in
    run-config templates), or None for static or no partitions."""
    if partition_key is None:
        return None
    from assetcron._partitions import TimeWindowPartitionsDefinition

    for key in plan:
        pd = defs.assets[key].partitions_def
        if isinstance(pd, TimeWindowPartitionsDefinition):
            start, end = pd.time_window(partition_key)
            return start, end
    return None


def validate_run_config(
    defs: Definitions, plan: Sequence[AssetKey], run_config: Mapping[str, Any]
) -> dict[AssetKey, Any]:
    """Validate Dagster-shaped run config (``{"ops": {"<op>": {"config": {...}}}}``).

    Returns each planned asset's validated config (model instance or dict). Raises
    :class:`RunConfigError` for a malformed shape, an ``ops`` entry that names no asset
    (with a "did you mean" hint) or config failing an asset's model.
    """
    extra = sorted(set(run_config) - {"ops", "resources", "execution", "loggers"})
    if extra:
        raise RunConfigError(f"run config has unexpected top-level key {extra[0]!r}")
    ops = run_config.get("ops") or {}
    if not isinstance(ops, Mapping):
        raise RunConfigError("run config 'ops' must be a mapping of op name to {config: ...}")
    names = defs.op_names()
    for op, entry in ops.items():
        if op not in names:
            # The asset name alone ("b" for op "p__b") is the usual slip with key prefixes.
            hint = [n for n, k in names.items() if k.path[-1] == op] or did_you_mean(str(op), names)
            also = f"; did you mean {' or '.join(map(repr, hint))}?" if hint else ""
            raise RunConfigError(f"run config ops.{op}: no asset has op name {op!r}{also}")
        if not isinstance(entry, Mapping) or set(entry) - {"config"}:
            raise RunConfigError(f"run config ops.{op}: expected {{config: {{...}}}}")
    out: dict[AssetKey, Any] = {}
    for key in plan:
        a = defs.assets[key]
        entry = ops.get(a.op_name) or {}
        config = entry.get("config") or {}
        if not isinstance(config, Mapping):
            raise RunConfigError(f"run config ops.{a.op_name}.config must be a mapping")
        out[key] = a.validate_config(config)
    run_resources(defs, plan)  # an EnvVar that is not set is bad input, found before the run
    return out


def run_resources(defs: Definitions, plan: Sequence[AssetKey]) -> dict[str, Any]:
    """The resources of a run over ``plan``: those the planned assets use with their
    :class:`~assetcron.EnvVar` fields resolved from the environment (now, in the run's
    pod), the others as they are. Raises :class:`RunConfigError` naming the resource and
    field of a variable that is not set."""
    resources = dict(defs.resources)
    if "assetcron._configurable" not in sys.modules:
        return resources  # no ConfigurableResource or Config exists, so no EnvVar field
    from pydantic import BaseModel

    from assetcron._configurable import resolve_env_vars

    used: set[str] = set()
    for key in plan:
        a = defs.assets[key]
        used.update(a.resource_params, a.required_resource_keys)
        for check in defs.checks_for(key):
            used.update(check.required_resource_keys)
    for name in sorted(used & set(resources)):
        value = resources[name]
        if isinstance(value, BaseModel):
            resources[name] = resolve_env_vars(value, f"resource {name!r}")
    return resources


def configure_resources(defs: Definitions, run_config: Mapping[str, Any]) -> Definitions:
    """Apply the ``resources`` section of run config (``{"<name>": {"config": {...}}}``).

    As Dagster does for its ``ConfigurableResource``: a resource that is a pydantic
    model instance takes config (its fields, validated strictly over the values it was
    built with) and is replaced by the configured copy; any other resource takes none.
    Returns ``defs`` itself when there is nothing to configure, else new
    :class:`Definitions` with the configured resources. Raises :class:`RunConfigError`
    for an unknown resource (with a did-you-mean), config for a resource that takes
    none, or config its model refuses.
    """
    section = run_config.get("resources") or {}
    if not isinstance(section, Mapping):
        raise RunConfigError("run config 'resources' must be a mapping of name to {config: ...}")
    if not section:
        return defs
    from assetcron._sdk import unknown_fields

    resources = dict(defs.resources)
    for name, entry in section.items():
        where = f"run config resources.{name}"
        if name not in resources:
            hint = did_you_mean(str(name), resources)
            also = f"; did you mean {' or '.join(map(repr, hint))}?" if hint else ""
            raise RunConfigError(f"{where}: no resource named {name!r}{also}")
        if not isinstance(entry, Mapping) or set(entry) - {"config"}:
            raise RunConfigError(f"{where}: expected {{config: {{...}}}}")
        config = entry.get("config") or {}
        if not isinstance(config, Mapping):
            raise RunConfigError(f"{where}.config must be a mapping")
        if not config:
            continue
        current = resources[name]
        dump = getattr(current, "model_dump", None)
        if dump is None:
            raise RunConfigError(
                f"{where}: resource {name!r} takes no config (only pydantic-model"
                " resources, like Dagster's ConfigurableResource, do)"
            )
        from pydantic import ValidationError

        try:
            current_config = dump(by_alias=True, warnings=False)  # EnvVar fields kept as they are
            configured = type(current).model_validate({**current_config, **config})
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "<config>"
            raise RunConfigError(f"{where}.config: field {loc!r}: {first['msg']}") from None
        unknown = unknown_fields(config, configured.model_dump(by_alias=True))
        if unknown:
            raise RunConfigError(f"{where}.config: unexpected field {unknown!r}")
        resources[name] = configured
    return defs.with_resources(resources)


@dataclass
class RunResult:
    """The outcome of a run; ``duration`` in seconds."""

    run_id: str
    scheduled_time: datetime
    partition_key: str | None
    outcomes: list[AssetOutcome] = field(default_factory=list)
    duration: float = 0.0
    #: The values this run produced, or read from storage for a later asset (in memory).
    values: dict[AssetKey, Any] = field(default_factory=dict, repr=False)
    #: The exception that failed each asset raising one (for ``materialize()`` in tests).
    errors: dict[AssetKey, BaseException] = field(default_factory=dict, repr=False)
    #: The metadata each materialized asset reported (``MaterializeResult``, ``Output``,
    #: ``context.add_output_metadata``).
    metadata: dict[AssetKey, dict[str, Any]] = field(default_factory=dict, repr=False)
    #: The asset checks the run executed, in the order they ran.
    checks: list[CheckOutcome] = field(default_factory=list)
    #: The exception of each check that raised.
    check_errors: dict[AssetCheckKey, BaseException] = field(default_factory=dict, repr=False)

    @property
    def success(self) -> bool:
        """True when every asset was Materialized or Reused and no check failed the run
        (raised, or blocking and failed with severity ERROR)."""
        return all(o.outcome in ("Materialized", "Reused") for o in self.outcomes) and not any(
            c.fails_run for c in self.checks
        )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, Failure | AssetcronError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def materialize(
    defs: Definitions,
    plan: Sequence[AssetKey],
    *,
    run_id: str,
    scheduled_time: datetime,
    partition_key: str | None,
    run_config: Mapping[str, Any],
    configs: Mapping[AssetKey, Any],
    storage: ObjectStorage,
    records: RecordStore | None = None,
    locks: PartitionLocks | None = None,
    force: bool = False,
    on_outcome: Callable[[int, int, AssetOutcome], None] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """Materialize ``plan`` in order (see the module docstring for the semantics).

    ``configs`` comes from :func:`validate_run_config`; ``records`` defaults to the
    records in ``storage`` and ``locks`` to this run's locks in ``storage`` with the
    default wait and ttl; ``on_outcome(i, n, outcome)`` is called after each asset
    (1-based ``i``) for progress output; ``clock`` gives the UTC times written to the
    records; ``sleep`` waits between the attempts of an asset with a ``retry_policy``.
    Exceptions raised by asset code and storage failures become Failed
    outcomes; ``BaseException`` (SIGTERM's unwinding, Ctrl-C) propagates after the
    running asset's record says ``Interrupted`` and the locks are released.
    """
    if records is None:
        records = RecordStore(storage)
    if locks is None:
        locks = PartitionLocks(storage, run_id=run_id)
    result = RunResult(run_id=run_id, scheduled_time=scheduled_time, partition_key=partition_key)
    runner = _Runner(
        defs=defs,
        run_id=run_id,
        scheduled_time=scheduled_time,
        partition_key=partition_key,
        run_config=run_config,
        configs=configs,
        storage=storage,
        records=records,
        locks=locks,
        force=force,
        clock=clock,
        sleep=sleep,
        result=result,
        plan=plan,
    )
    try:
        runner.run(on_outcome)
    finally:
        locks.release_all()
    return result


@dataclass
class _Runner:
    """One run's state while it goes through its plan (see the module docstring).

    The plan is walked op by op: an ``@asset`` is one op; the planned assets of a
    ``multi_asset`` are one op, run (or reused) at the first of them in plan order, their
    outcomes reported at their own places in the plan.
    """

    defs: Definitions
    run_id: str
    scheduled_time: datetime
    partition_key: str | None
    run_config: Mapping[str, Any]
    configs: Mapping[AssetKey, Any]
    storage: ObjectStorage
    records: RecordStore
    locks: PartitionLocks
    force: bool
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    result: RunResult
    plan: Sequence[AssetKey]
    reused: set[AssetKey] = field(default_factory=set)
    blocked: set[AssetKey] = field(default_factory=set)  # failed or skipped in this run
    #: The materialization id of each value this run produced or reused.
    versions: dict[AssetKey, str] = field(default_factory=dict)
    #: Assets whose blocking check failed: their dependents are skipped, saying why.
    held: dict[AssetKey, str] = field(default_factory=dict)
    #: Checks of materialized assets waiting for their other inputs in the plan.
    pending: list[AssetChecksDefinition] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.planned = set(self.plan)
        self.position = {k: i for i, k in enumerate(self.plan)}
        self.resources = SimpleNamespace(**run_resources(self.defs, self.plan))
        self.parts = {
            k: self.partition_key if self.defs.assets[k].partitions_def is not None else None
            for k in self.plan
        }
        self.code_default = self.defs.code_location_version or "unversioned"
        self.mapping_time = _mapping_time(
            self.defs, self.plan, self.partition_key, self.scheduled_time
        )

    def run(self, on_outcome: Callable[[int, int, AssetOutcome], None] | None) -> None:
        """Go through the plan, calling ``on_outcome`` after each asset."""
        started = time.perf_counter()
        self.not_locked = self.locks.acquire_all(self.parts.items())
        ready: dict[AssetKey, AssetOutcome] = {}
        total = len(self.plan)
        for i, key in enumerate(self.plan, start=1):
            if key not in ready:
                a = self.defs.assets[key]
                members = sorted(
                    (k for k in a.siblings if k in self.planned), key=self.position.__getitem__
                )
                group = [self.defs.assets[k] for k in members] or [a]
                with asset_scope(key.to_user_string()):  # JSON log lines name the asset
                    outcomes = self._op(group)
                    ready.update(outcomes)
                    self._checks_after(outcomes)
            outcome = ready.pop(key)
            self.result.outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(i, total, outcome)
        self.result.duration = time.perf_counter() - started

    def _op(self, group: list[AssetsDefinition]) -> dict[AssetKey, AssetOutcome]:
        """The outcomes of one op's planned assets (they share deps and inputs)."""
        t0 = time.perf_counter()
        a = group[0]
        bad_parent = next((d for d in a.deps if d in self.blocked or d in self.held), None)
        if bad_parent is not None:
            self.blocked.update(m.key for m in group)
            why = self.held.get(
                bad_parent, f"upstream {bad_parent.to_user_string()!r} did not materialize"
            )
            return {m.key: AssetOutcome(m.key.to_user_string(), "Skipped", 0.0, why) for m in group}
        lock_error: BaseException | None = None
        for m in group:
            if (m.key, self.parts[m.key]) in self.not_locked:
                lock_error = self.not_locked[m.key, self.parts[m.key]]
                break
        if lock_error is not None:
            self.blocked.update(m.key for m in group)
            elapsed = time.perf_counter() - t0
            return {
                m.key: AssetOutcome(m.key.to_user_string(), "Failed", elapsed, str(lock_error))
                for m in group
            }
        try:
            mapped = {up: self._mapped(a, up) for up in a.inputs.values()}
        except (PartitionKeyError, InvalidDefinitionError) as exc:
            self.blocked.update(m.key for m in group)
            error = _one_line(exc)
            self._end_all(group, "Failed", error)
            elapsed = time.perf_counter() - t0
            return {
                m.key: AssetOutcome(m.key.to_user_string(), "Failed", elapsed, error) for m in group
            }
        inputs = {
            up.to_user_string(): self._input_versions(up, parts) for up, parts in mapped.items()
        }
        provenance = {
            m.key: provenance_key(
                asset_key=m.key.to_user_string(),
                partition_key=self.parts[m.key],
                config=config_fingerprint(self.configs[m.key]),
                inputs=inputs,
                code_version=m.code_version or self.code_default,
            )
            for m in group
        }
        # An input of unknown version could be anything: never reuse on top of it.
        if not self.force and _UNKNOWN not in inputs.values():
            same = {
                m.key: _reusable(
                    self.records, self.storage, m.key, self.parts[m.key], provenance[m.key]
                )
                for m in group
            }
            if all(v is not None for v in same.values()):
                for k, v in same.items():
                    assert v is not None
                    self.reused.add(k)
                    self.versions[k] = v
                elapsed = time.perf_counter() - t0
                return {
                    m.key: AssetOutcome(m.key.to_user_string(), "Reused", elapsed) for m in group
                }
        outcomes = self._execute(group, inputs, provenance, mapped)
        self.blocked.update(k for k, o in outcomes.items() if o.outcome == "Failed")
        return outcomes

    def _end_all(self, group: Sequence[AssetsDefinition], status: str, error: str) -> None:
        for m in group:
            _record_end(
                self.records,
                self.run_id,
                m.key.to_user_string(),
                self.parts[m.key],
                status=status,
                when=self.clock(),
                error=error,
            )

    def _execute(
        self,
        group: list[AssetsDefinition],
        inputs: Mapping[str, str],
        provenance: Mapping[AssetKey, str],
        mapped: Mapping[AssetKey, list[str] | None],
    ) -> dict[AssetKey, AssetOutcome]:
        """Run the op's function once and store each planned asset's value (``mapped``:
        the upstream partitions each input reads)."""
        a = group[0]
        t0 = time.perf_counter()
        label = a.key.to_user_string() if not a.siblings else a.op_name
        log = logging.getLogger(f"assetcron.asset.{label}")
        attempts = [0]
        try:
            for m in group:
                self.records.start(
                    self.run_id, m.key.to_user_string(), self.parts[m.key], self.clock()
                )
            kwargs = self._values(a.inputs, mapped, a.allow_missing_partitions)
            context = AssetExecutionContext(
                asset_key=a.key,
                run_id=self.run_id,
                scheduled_time=self.scheduled_time,
                partition_key=self.parts[a.key],
                run_config=self.run_config,
                op_config=self.run_config.get("ops", {}).get(a.op_name, {}).get("config") or {},
                config=self.configs[a.key],
                resources=self.resources,
                log=log,
                storage_dir=self.storage.root,
                partitions_def=a.partitions_def,
                input_partitions={param: mapped[up] for param, up in a.inputs.items()},
                selected_asset_keys=frozenset(m.key for m in group),
            )
            if a.context_param:
                kwargs[a.context_param] = context
            if a.config_param:
                kwargs[a.config_param] = self.configs[a.key]
            for param in a.resource_params:
                kwargs[param] = getattr(self.resources, param)
            raw, generated = _call_with_retries(
                a.fn, a.retry_policy, label, kwargs, context, log, self.sleep, attempts
            )
            outputs = _read_outputs(group, raw, generated, context)
        except Exception as exc:  # user code or storage: any error fails this op only
            error = _one_line(exc)
            if attempts[0] > 1:
                error = f"{error} (after {attempts[0]} attempts)"
            if not isinstance(exc, Failure | AssetcronError):
                log.error("asset %s failed:\n%s", label, traceback.format_exc().rstrip())
            self._end_all(group, "Failed", error)
            elapsed = time.perf_counter() - t0
            for m in group:
                self.result.errors[m.key] = exc
            return {
                m.key: AssetOutcome(m.key.to_user_string(), "Failed", elapsed, error) for m in group
            }
        except BaseException as exc:  # SIGTERM's unwinding, Ctrl-C: say so, then go on
            why = " ".join(str(exc).split()) or type(exc).__name__
            self._end_all(group, "Interrupted", f"interrupted: {why}")
            raise
        outcomes: dict[AssetKey, AssetOutcome] = {}
        for n, m in enumerate(group):
            try:
                outcomes[m.key] = self._store(m, outputs[m.key], inputs, provenance[m.key], t0)
            except BaseException as exc:  # the rest of the op never gets stored
                why = " ".join(str(exc).split()) or type(exc).__name__
                self._end_all(group[n + 1 :], "Interrupted", f"interrupted: {why}")
                raise
        return outcomes

    def _checks_after(self, outcomes: Mapping[AssetKey, AssetOutcome]) -> None:
        """Queue the checks of the assets just materialized or reused, then run every
        queued check whose planned inputs are all done (dropping those with an input
        that failed or was skipped)."""
        for key, o in outcomes.items():
            if o.outcome in ("Materialized", "Reused"):
                self.pending.extend(self.defs.checks_for(key))
        waiting: list[AssetChecksDefinition] = []
        for check in self.pending:
            needed = [d for d in check.deps if d in self.planned]
            if any(d in self.blocked for d in needed):
                continue  # an input did not materialize: the check does not run
            if any(d not in self.versions for d in needed):
                waiting.append(check)
                continue
            self.result.checks.append(self._run_check(check))
        self.pending = waiting

    def _run_check(self, check: AssetChecksDefinition) -> CheckOutcome:
        """Run one check (see ``asset_check``); a blocking ERROR failure holds back the
        assets downstream of the checked asset."""
        t0 = time.perf_counter()
        label = check.key.to_user_string()
        where = f"asset check {label!r}"
        log = logging.getLogger(f"assetcron.check.{label}")
        asset = self.defs.assets[check.asset_key]
        attempts = [0]
        try:
            kwargs = self._values(
                check.inputs,
                {
                    up: _upstream_partition_keys(
                        None,
                        _part_of(self.defs, check.asset_key, self.partition_key),
                        asset.partitions_def,
                        self.defs.assets[up].partitions_def,
                        self.mapping_time,
                    )
                    for up in check.inputs.values()
                },
            )
            context = AssetCheckExecutionContext(
                asset_key=check.asset_key,
                run_id=self.run_id,
                scheduled_time=self.scheduled_time,
                partition_key=_part_of(self.defs, check.asset_key, self.partition_key),
                run_config=self.run_config,
                op_config={},
                config={},
                resources=self.resources,
                log=log,
                storage_dir=self.storage.root,
                partitions_def=asset.partitions_def,
                check_name=check.name,
            )
            if check.context_param:
                kwargs[check.context_param] = context
            for param in check.resource_params:
                kwargs[param] = getattr(self.resources, param)
            raw, generated = _call_with_retries(
                check.fn, check.retry_policy, label, kwargs, context, log, self.sleep, attempts
            )
            if generated:
                raw = raw[0] if len(raw) == 1 else raw
            if not isinstance(raw, AssetCheckResult):
                raise Failure(
                    f"{where} returned a {type(raw).__name__}; return AssetCheckResult(passed=...)"
                )
            if raw.asset_key not in (None, check.asset_key) or raw.check_name not in (
                None,
                check.name,
            ):
                raise Failure(f"{where} returned the result of another check")
            metadata = normalize_metadata(raw.metadata, where)
        except Exception as exc:  # the check's code: it errored, the run goes on
            error = _one_line(exc)
            if attempts[0] > 1:
                error = f"{error} (after {attempts[0]} attempts)"
            if not isinstance(exc, Failure | AssetcronError):
                log.error("%s raised:\n%s", where, traceback.format_exc().rstrip())
            else:
                log.error("%s raised: %s", where, error)
            self.result.check_errors[check.key] = exc
            if check.blocking:
                self.held.setdefault(check.asset_key, f"blocking check {label!r} raised")
            return CheckOutcome(
                check.asset_key.to_user_string(),
                check.name,
                "Errored",
                blocking=check.blocking,
                duration=time.perf_counter() - t0,
                message=error,
            )
        outcome = CheckOutcome(
            check.asset_key.to_user_string(),
            check.name,
            "Passed" if raw.passed else "Failed",
            severity=raw.severity.value,
            blocking=check.blocking,
            duration=time.perf_counter() - t0,
            message=raw.description,
            metadata=metadata or None,
        )
        if outcome.fails_run:
            self.held.setdefault(check.asset_key, f"blocking check {label!r} failed")
        if raw.passed:
            log.info("%s passed", where)
        else:
            desc = f": {raw.description}" if raw.description else ""
            log.warning("%s FAILED (%s)%s", where, raw.severity.value, desc)
        return outcome

    def _mapped(self, a: AssetsDefinition, up: AssetKey) -> list[str] | None:
        """The partitions of ``up`` that ``a``'s run partition reads (None: ``up`` is
        unpartitioned); see :mod:`assetcron._partition_mappings`."""
        return _upstream_partition_keys(
            a.partition_mappings.get(up),
            self.parts[a.key],
            a.partitions_def,
            self.defs.assets[up].partitions_def,
            self.mapping_time,
        )

    def _input_versions(self, up: AssetKey, parts: list[str] | None) -> str:
        """The version of an input as provenance sees it: one materialization id, or for
        several partitions ``key=id`` joined (unknown if any is)."""
        if parts is None or parts == [self.parts.get(up)]:
            return _input_version(self.records, self.versions, up, parts[0] if parts else None)
        found = []
        for part in parts:
            v = _input_version(self.records, {}, up, part)
            if v == _UNKNOWN:
                return _UNKNOWN
            found.append(f"{part}={v}")
        return "[" + ",".join(found) + "]"

    def _read(self, up: AssetKey, part: str | None, allow_missing: bool = False) -> Any:
        """The value of ``up``/``part``: this run's, else the stored one (kept for later
        readers when reused). Raises :class:`Failure` when it is missing, unless
        ``allow_missing`` (then :data:`_MISSING`)."""
        if up in self.result.values and part == self.parts.get(up):
            return self.result.values[up]
        try:
            value = self.storage.read(up, part)
        except MissingValueError as exc:
            if allow_missing:
                _log.warning("partition %s of %s is missing; left out", part, up.to_user_string())
                return _MISSING
            why = (
                "" if up in self.planned else " (it is not in the selection; materialize it first)"
            )
            raise Failure(f"{exc}{why}") from None
        if up in self.reused and part == self.parts.get(up):
            self.result.values[up] = value
        return value

    def _values(
        self,
        inputs: Mapping[str, AssetKey],
        mapped: Mapping[AssetKey, list[str] | None],
        allow_missing: frozenset[AssetKey] = frozenset(),
    ) -> dict[str, Any]:
        """The values of ``inputs`` (parameter -> asset) for the mapped partitions, as
        Dagster's default IO manager passes them: unpartitioned or one partition -> the
        value; none -> ``None``; several -> ``{partition_key: value}``. With
        ``allow_missing_partitions`` a partition never stored is left out (one: ``None``)."""
        kwargs: dict[str, Any] = {}
        for param, up in inputs.items():
            parts = mapped[up]
            ok = up in allow_missing
            if parts is None:
                kwargs[param] = self._read(up, None)
            elif not parts:
                kwargs[param] = None
            elif len(parts) == 1:
                value = self._read(up, parts[0], ok)
                kwargs[param] = None if value is _MISSING else value
            else:
                values = {part: self._read(up, part, ok) for part in parts}
                # As Dagster's UPath IO manager: a partition that loads as None is left out.
                kwargs[param] = {
                    k: v for k, v in values.items() if v is not _MISSING and v is not None
                }
        return kwargs

    def _store(
        self,
        m: AssetsDefinition,
        output: tuple[Any, dict[str, Any]],
        inputs: Mapping[str, str],
        provenance: str,
        t0: float,
    ) -> AssetOutcome:
        """Store one asset's value and record it (Materialized, or Failed on a storage
        error)."""
        key, part = m.key, self.parts[m.key]
        user_key = key.to_user_string()
        value, metadata = output
        materialization_id = uuid.uuid4().hex
        try:
            self.locks.check(key, part)
            # Commit protocol: "Writing" first, so a run dying mid-write leaves a version no
            # one reuses; "Stored" once the value is.
            version = CurrentVersion("Writing", materialization_id, provenance, self.run_id)
            self.records.set_current(user_key, part, version)
            location = self.storage.write(key, part, value, m.output_format)
            self.records.set_current(
                user_key, part, replace(version, status="Stored", location=location)
            )
            self.records.finish(
                self.run_id,
                user_key,
                part,
                status="Materialized",
                when=self.clock(),
                location=location,
                inputs=inputs,
                data_version=materialization_id,
                metadata=metadata or None,
            )
        except Exception as exc:  # storage: this asset fails, the op's others may be stored
            error = _one_line(exc)
            self.result.errors[key] = exc
            _record_end(
                self.records,
                self.run_id,
                user_key,
                part,
                status="Failed",
                when=self.clock(),
                error=error,
            )
            return AssetOutcome(user_key, "Failed", time.perf_counter() - t0, error)
        self.result.values[key] = value
        self.result.metadata[key] = metadata
        self.versions[key] = materialization_id
        return AssetOutcome(
            user_key, "Materialized", time.perf_counter() - t0, metadata=metadata or None
        )


def _call_with_retries(  # noqa: PLR0917 - private helper
    fn: Callable[..., Any],
    policy: RetryPolicy | None,
    label: str,
    kwargs: Mapping[str, Any],
    context: AssetExecutionContext,
    log: logging.Logger,
    sleep: Callable[[float], None],
    attempts: list[int],
) -> tuple[Any, bool]:
    """Call ``fn`` (draining a generator), retrying as ``policy`` says; returns
    ``(result, whether it was a generator)`` and counts the calls in ``attempts[0]``. A
    ``Failure(allow_retries=False)`` is not retried."""
    while True:
        attempts[0] += 1
        context.output_metadata.clear()
        try:
            raw = fn(**kwargs)
            if inspect.isgenerator(raw):
                return list(raw), True
            return raw, False
        except Exception as exc:
            if (
                policy is None
                or attempts[0] > policy.max_retries
                or not getattr(exc, "allow_retries", True)
            ):
                raise
            delay = policy.delay_before(attempts[0])
            log.warning(
                "%s failed (attempt %d of %d): %s; retrying in %.1f s",
                label,
                attempts[0],
                policy.max_retries + 1,
                _one_line(exc),
                delay,
            )
            sleep(delay)


def _one_output(item: Any, where: str) -> tuple[Any, Mapping[str, Any]]:
    """The value and metadata of one result (a plain value, ``Output`` or
    ``MaterializeResult``)."""
    if isinstance(item, MaterializeResult):
        return (item.value if item.has_value else None), item.metadata
    if isinstance(item, Output):
        return item.value, item.metadata
    if isinstance(item, AssetCheckResult):
        raise Failure(
            f"{where} returned an AssetCheckResult: define the check with @asset_check(asset=...)"
        )
    return item, {}


def _read_outputs(
    group: Sequence[AssetsDefinition],
    raw: Any,
    generated: bool,
    context: AssetExecutionContext,
) -> dict[AssetKey, tuple[Any, dict[str, Any]]]:
    """Each planned asset's ``(value, metadata)`` from what the op's function gave (see
    :mod:`assetcron._results`). Raises :class:`Failure` for a result that does not say
    which asset it is for, or misses a planned asset."""
    a = group[0]
    if not a.siblings:
        where = f"asset {a.key.to_user_string()!r}"
        if generated:
            if len(raw) != 1:
                raise Failure(
                    f"{where}: the function yielded {len(raw)} results; an @asset yields one"
                    " Output or MaterializeResult"
                )
            raw = raw[0]
        if isinstance(raw, MaterializeResult) and raw.asset_key not in (None, a.key):
            raise Failure(
                f"{where} returned MaterializeResult(asset_key="
                f"{raw.asset_key.to_user_string()!r}) for another asset"
            )
        if isinstance(raw, Output) and raw.output_name != "result":
            raise Failure(
                f"{where}: Output(output_name={raw.output_name!r}): an @asset has one"
                " output, 'result'"
            )
        value, metadata = _one_output(raw, where)
        merged = {**context.output_metadata.get("result", {}), **metadata}
        return {a.key: (value, normalize_metadata(merged, where))}
    where = f"multi_asset {a.op_name!r}"
    by_output = {"__".join(k.path): k for k in a.siblings}
    if generated or (
        isinstance(raw, tuple | list)
        and raw
        and all(isinstance(x, Output | MaterializeResult) for x in raw)
    ):
        items = list(raw)
    elif isinstance(raw, Output | MaterializeResult):
        items = [raw]
    elif isinstance(raw, tuple) and len(raw) == len(a.siblings):
        items = [Output(v, output_name=n) for v, n in zip(raw, by_output, strict=True)]
    else:
        raise Failure(
            f"{where} returned a {type(raw).__name__}: return (or yield) one"
            " MaterializeResult(asset_key=...) or Output(value, output_name=...) per spec, or a"
            f" tuple of {len(a.siblings)} values in spec order"
        )
    found: dict[AssetKey, tuple[Any, Mapping[str, Any]]] = {}
    for item in items:
        if isinstance(item, MaterializeResult):
            key = item.asset_key or (a.siblings[0] if len(a.siblings) == 1 else None)
            if key is None:
                raise Failure(
                    f"{where}: a MaterializeResult without asset_key (say which spec it is for)"
                )
        elif isinstance(item, Output):
            key = by_output.get(item.output_name)
            if key is None:
                raise Failure(
                    f"{where}: Output(output_name={item.output_name!r}) names no spec (outputs:"
                    f" {', '.join(by_output)})"
                )
        else:
            raise Failure(
                f"{where} gave a {type(item).__name__}; expected MaterializeResult or Output"
            )
        if key not in by_output.values():
            raise Failure(f"{where}: {key.to_user_string()!r} is not one of its specs")
        if key in found:
            raise Failure(f"{where} gave two results for {key.to_user_string()!r}")
        found[key] = _one_output(item, where)
    out: dict[AssetKey, tuple[Any, dict[str, Any]]] = {}
    for m in group:
        if m.key not in found:
            raise Failure(f"{where} gave no result for {m.key.to_user_string()!r}")
        value, metadata = found[m.key]
        extra = context.output_metadata.get("__".join(m.key.path), {})
        out[m.key] = (
            value,
            normalize_metadata({**extra, **metadata}, f"asset {m.key.to_user_string()!r}"),
        )
    return out


#: What :meth:`_Runner._read` returns for a missing partition an input may go without.
_MISSING = object()


def _mapping_time(
    defs: Definitions, plan: Sequence[AssetKey], partition_key: str | None, tick: datetime
) -> datetime:
    """The time partition mappings are evaluated at ("which upstream partitions exist"):
    the tick, or the end of the run's time partition when that is later (a partition
    given explicitly may not have ended at the tick; its run reads as if it had)."""
    if partition_key is None:
        return tick
    from assetcron._partitions import TimeWindowPartitionsDefinition

    for key in plan:
        pd = defs.assets[key].partitions_def
        if isinstance(pd, TimeWindowPartitionsDefinition):
            try:
                end = pd.time_window(partition_key).end
            except PartitionKeyError:
                return tick
            return max(tick, end)
    return tick


def _upstream_partition_keys(
    mapping: PartitionMapping | None,
    downstream_key: str | None,
    downstream: PartitionsDefinition | None,
    upstream: PartitionsDefinition | None,
    current_time: datetime,
) -> list[str] | None:
    """:func:`assetcron._partition_mappings.upstream_partition_keys`, which is imported
    only when partitions or a mapping are involved: an unpartitioned upstream read
    without a mapping is ``None`` (its one value), as that function says too."""
    if upstream is None and mapping is None:
        return None
    from assetcron._partition_mappings import upstream_partition_keys

    return upstream_partition_keys(mapping, downstream_key, downstream, upstream, current_time)


def _part_of(defs: Definitions, key: AssetKey, run_partition_key: str | None) -> str | None:
    """The partition of ``key`` a run for ``run_partition_key`` reads or writes."""
    return run_partition_key if defs.assets[key].partitions_def is not None else None


def _input_version(
    records: RecordStore, versions: Mapping[AssetKey, str], key: AssetKey, part: str | None
) -> str:
    """The materialization id of the ``key``/``part`` value a run reads: the one this run
    produced or reused, else the stored one's. ``"unknown"`` when the stored value has no
    recorded version (stored before versions existed, or being written): whatever uses
    it is recomputed, then recorded against it."""
    if key in versions:
        return versions[key]
    try:
        current = records.current(key.to_user_string(), part)
    except StorageError as exc:
        _log.warning("cannot read the version of %s: %s", key.to_user_string(), exc)
        return _UNKNOWN
    if current is None or current.status != "Stored":
        return _UNKNOWN
    return current.materialization_id


def _reusable(
    records: RecordStore, storage: ObjectStorage, key: AssetKey, part: str | None, provenance: str
) -> str | None:
    """The materialization id of the stored ``key``/``part`` value when it was produced
    under ``provenance`` (same config, inputs and code) and is still stored, else
    ``None``. A storage that cannot be read counts as "no": materializing again reports
    the failure on the asset."""
    try:
        current = records.current(key.to_user_string(), part)
        if (
            current is not None
            and current.status == "Stored"
            and current.provenance == provenance
            and storage.exists(key, part)
        ):
            return current.materialization_id
    except StorageError as exc:
        _log.warning("cannot tell whether %s is materialized: %s", key.to_user_string(), exc)
    return None


def _record_end(
    records: RecordStore,
    run_id: str,
    user_key: str,
    part: str | None,
    *,
    status: str,
    when: datetime,
    error: str | None,
) -> None:
    """Record an asset's failure or interruption; a storage failure here is logged,
    since the asset's outcome already says what went wrong."""
    try:
        records.finish(run_id, user_key, part, status=status, when=when, error=error)
    except StorageError as exc:
        _log.warning("cannot record that %s ended %s: %s", user_key, status, exc)
