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

import logging
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from assetcron._errors import AssetcronError, InvalidDefinitionError, RunConfigError, did_you_mean
from assetcron._graph import AssetKey
from assetcron._identity import config_fingerprint, provenance_key
from assetcron._locks import PartitionLocks
from assetcron._partitions import DailyPartitionsDefinition
from assetcron._records import CurrentVersion, RecordStore
from assetcron._sdk import AssetExecutionContext, AssetsDefinition, Definitions
from assetcron._storage import MissingValueError, ObjectStorage, StorageError
from assetcron._summary import AssetOutcome

__all__ = [
    "Failure",
    "RunResult",
    "configure_resources",
    "materialize",
    "run_id_for",
    "run_partition_key",
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
    (Dagster's ``dagster.Failure``)."""


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
    definition; else, when the planned assets are daily-partitioned, Dagster's rule for
    schedules from partitioned jobs (:meth:`DailyPartitionsDefinition.
    key_for_schedule_tick`); else ``None``. Raises :class:`InvalidDefinitionError` when
    the planned assets use different partitions definitions (Dagster requires one per
    job) and ``PartitionKeyError`` for a key outside the definition.
    """
    defs_used: list[DailyPartitionsDefinition] = []
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

    @property
    def success(self) -> bool:
        """True when every asset was Materialized or Reused."""
        return all(o.outcome in ("Materialized", "Reused") for o in self.outcomes)


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
) -> RunResult:
    """Materialize ``plan`` in order (see the module docstring for the semantics).

    ``configs`` comes from :func:`validate_run_config`; ``records`` defaults to the
    records in ``storage`` and ``locks`` to this run's locks in ``storage`` with the
    default wait and ttl; ``on_outcome(i, n, outcome)`` is called after each asset
    (1-based ``i``) for progress output; ``clock`` gives the UTC times written to the
    records. Exceptions raised by asset code and storage failures become Failed
    outcomes; ``BaseException`` (SIGTERM's unwinding, Ctrl-C) propagates after the
    running asset's record says ``Interrupted`` and the locks are released.
    """
    if records is None:
        records = RecordStore(storage)
    if locks is None:
        locks = PartitionLocks(storage, run_id=run_id)
    try:
        return _materialize_locked(
            defs,
            plan,
            run_id=run_id,
            scheduled_time=scheduled_time,
            partition_key=partition_key,
            run_config=run_config,
            configs=configs,
            storage=storage,
            records=records,
            locks=locks,
            force=force,
            on_outcome=on_outcome,
            clock=clock,
        )
    finally:
        locks.release_all()


def _materialize_locked(
    defs: Definitions,
    plan: Sequence[AssetKey],
    *,
    run_id: str,
    scheduled_time: datetime,
    partition_key: str | None,
    run_config: Mapping[str, Any],
    configs: Mapping[AssetKey, Any],
    storage: ObjectStorage,
    records: RecordStore,
    locks: PartitionLocks,
    force: bool,
    on_outcome: Callable[[int, int, AssetOutcome], None] | None,
    clock: Callable[[], datetime],
) -> RunResult:
    started = time.perf_counter()
    result = RunResult(run_id=run_id, scheduled_time=scheduled_time, partition_key=partition_key)
    planned = set(plan)
    values = result.values
    reused: set[AssetKey] = set()
    blocked: set[AssetKey] = set()  # failed or skipped in this run
    resolved = run_resources(defs, plan)
    resources = SimpleNamespace(**resolved)
    total = len(plan)
    parts = {k: partition_key if defs.assets[k].partitions_def is not None else None for k in plan}
    not_locked = locks.acquire_all(parts.items())
    versions: dict[AssetKey, str] = {}  # materialization id of each value this run used
    code_default = defs.code_location_version or "unversioned"
    for i, key in enumerate(plan, start=1):
        a = defs.assets[key]
        part = parts[key]
        user_key = key.to_user_string()
        t0 = time.perf_counter()
        bad_parent = next((d for d in a.deps if d in blocked), None)
        if bad_parent is not None:
            blocked.add(key)
            outcome = AssetOutcome(
                user_key,
                "Skipped",
                0.0,
                f"upstream {bad_parent.to_user_string()!r} did not materialize",
            )
        elif (key, part) in not_locked:
            blocked.add(key)
            error = str(not_locked[key, part])
            outcome = AssetOutcome(user_key, "Failed", time.perf_counter() - t0, error)
        else:
            inputs = {
                up.to_user_string(): _input_version(
                    records, versions, up, _part_of(defs, up, partition_key)
                )
                for up in a.inputs.values()
            }
            provenance = provenance_key(
                asset_key=user_key,
                partition_key=part,
                config=config_fingerprint(configs[key]),
                inputs=inputs,
                code_version=a.code_version or code_default,
            )
            # An input of unknown version could be anything: never reuse on top of it.
            fresh = force or _UNKNOWN in inputs.values()
            same = None if fresh else _reusable(records, storage, key, part, provenance)
            if same is not None:
                reused.add(key)
                versions[key] = same
                outcome = AssetOutcome(user_key, "Reused", time.perf_counter() - t0)
            else:
                outcome = _run_one(
                    defs,
                    a,
                    run_id=run_id,
                    scheduled_time=scheduled_time,
                    partition_key=part,
                    run_partition_key=partition_key,
                    run_config=run_config,
                    config=configs[key],
                    storage=storage,
                    records=records,
                    locks=locks,
                    resources=resources,
                    values=values,
                    reused=reused,
                    planned=planned,
                    clock=clock,
                    provenance=provenance,
                    inputs=inputs,
                    versions=versions,
                    errors=result.errors,
                )
                if outcome.outcome == "Failed":
                    blocked.add(key)
        result.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(i, total, outcome)
    result.duration = time.perf_counter() - started
    return result


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


def _run_one(
    defs: Definitions,
    a: AssetsDefinition,
    *,
    run_id: str,
    scheduled_time: datetime,
    partition_key: str | None,
    run_partition_key: str | None,
    run_config: Mapping[str, Any],
    config: Any,
    storage: ObjectStorage,
    records: RecordStore,
    locks: PartitionLocks,
    resources: SimpleNamespace,
    values: dict[AssetKey, Any],
    reused: set[AssetKey],
    planned: set[AssetKey],
    clock: Callable[[], datetime],
    provenance: str,
    inputs: Mapping[str, str],
    versions: dict[AssetKey, str],
    errors: dict[AssetKey, BaseException],
) -> AssetOutcome:
    key = a.key
    user_key = key.to_user_string()
    t0 = time.perf_counter()
    log = logging.getLogger(f"assetcron.asset.{user_key}")
    materialization_id = uuid.uuid4().hex
    try:
        records.start(run_id, user_key, partition_key, clock())
        kwargs: dict[str, Any] = {}
        for param, up in a.inputs.items():
            if up in values:
                kwargs[param] = values[up]
                continue
            up_def = defs.assets[up]
            up_part = run_partition_key if up_def.partitions_def is not None else None
            try:
                kwargs[param] = storage.read(up, up_part)
            except MissingValueError as exc:
                why = "" if up in planned else " (it is not in the selection; materialize it first)"
                raise Failure(f"{exc}{why}") from None
            if up in reused:
                values[up] = kwargs[param]
        op_config = run_config.get("ops", {}).get(a.op_name, {}).get("config") or {}
        context = AssetExecutionContext(
            asset_key=key,
            run_id=run_id,
            scheduled_time=scheduled_time,
            partition_key=partition_key,
            run_config=run_config,
            op_config=op_config,
            config=config,
            resources=resources,
            log=log,
            storage_dir=storage.root,
            partitions_def=a.partitions_def,
        )
        if a.context_param:
            kwargs[a.context_param] = context
        if a.config_param:
            kwargs[a.config_param] = config
        for param in a.resource_params:
            kwargs[param] = getattr(resources, param)
        value = a.fn(**kwargs)
        locks.check(key, partition_key)
        # Commit protocol: "Writing" first, so a run dying mid-write leaves a version no
        # one reuses; "Stored" once the value is.
        version = CurrentVersion("Writing", materialization_id, provenance, run_id)
        records.set_current(user_key, partition_key, version)
        location = storage.write(key, partition_key, value, a.output_format)
        records.set_current(
            user_key, partition_key, replace(version, status="Stored", location=location)
        )
        records.finish(
            run_id,
            user_key,
            partition_key,
            status="Materialized",
            when=clock(),
            location=location,
            inputs=inputs,
            data_version=materialization_id,
        )
    except Exception as exc:  # user code or storage: any error fails this asset only
        errors[key] = exc
        error = _one_line(exc)
        if not isinstance(exc, Failure | AssetcronError):
            log.error("asset %s failed:\n%s", user_key, traceback.format_exc().rstrip())
        _record_end(
            records, run_id, user_key, partition_key, status="Failed", when=clock(), error=error
        )
        return AssetOutcome(user_key, "Failed", time.perf_counter() - t0, error)
    except BaseException as exc:  # SIGTERM's unwinding, Ctrl-C: say so, then go on unwinding
        why = " ".join(str(exc).split()) or type(exc).__name__
        _record_end(
            records,
            run_id,
            user_key,
            partition_key,
            status="Interrupted",
            when=clock(),
            error=f"interrupted: {why}",
        )
        raise
    values[key] = value
    versions[key] = materialization_id
    return AssetOutcome(user_key, "Materialized", time.perf_counter() - t0)
