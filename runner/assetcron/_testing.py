"""Unit-testing helpers with Dagster's names: ``materialize``, ``materialize_to_memory``,
``build_asset_context``.

``materialize(assets)`` runs the assets in this process exactly as a run pod does
(binding, config validation, resources, reuse rules, records, checks) but on a temporary
local storage that is deleted when it returns; the values stay in memory on the result
(``result.asset_value(key)``). Nothing else is written, and there is no Dagster instance:
``instance=`` is refused.

``build_asset_context(...)`` makes the context to pass when calling an asset function
directly (``my_asset(build_asset_context(resources=...))``); the context learns the
asset's key when it is passed.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from assetcron._errors import InvalidDefinitionError
from assetcron._graph import AssetKey, CoercibleToAssetKey
from assetcron._materialize import (
    Failure,
    RunResult,
    configure_resources,
    run_partition_key,
    validate_run_config,
)
from assetcron._materialize import materialize as run_plan
from assetcron._results import AssetCheckSeverity
from assetcron._schedules import CoercibleToAssetSelection, coerce_selection
from assetcron._schedules import _run_config as plain_run_config
from assetcron._sdk import (
    UNBOUND_KEY,
    AssetCheckKey,
    AssetChecksDefinition,
    AssetExecutionContext,
    AssetsDefinition,
    Definitions,
    MultiAssetsDefinition,
)
from assetcron._selection import plan
from assetcron._storage import ObjectStorage, _default_scratch
from assetcron._summary import AssetOutcome

__all__ = [
    "AssetCheckEvaluation",
    "AssetMaterialization",
    "ExecuteInProcessResult",
    "MaterializationEvent",
    "build_asset_context",
    "materialize",
    "materialize_to_memory",
]


@dataclass(frozen=True)
class AssetMaterialization:
    """One materialization (Dagster's ``AssetMaterialization``); ``metadata`` holds the
    plain values the asset reported (not Dagster's ``MetadataValue`` wrappers)."""

    asset_key: AssetKey
    description: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    partition: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MaterializationEvent:
    """What ``get_asset_materialization_events()`` lists (the fields of Dagster's event
    that tests read: ``asset_key`` and ``materialization``)."""

    asset_key: AssetKey
    materialization: AssetMaterialization

    @property
    def partition(self) -> str | None:
        """The partition materialized, if any."""
        return self.materialization.partition


@dataclass(frozen=True)
class AssetCheckEvaluation:
    """One check's result in a run (Dagster's ``AssetCheckEvaluation``)."""

    asset_key: AssetKey
    check_name: str
    passed: bool
    metadata: Mapping[str, Any] = field(default_factory=dict)
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR
    description: str | None = None


class ExecuteInProcessResult:
    """The result of :func:`materialize` (Dagster's ``ExecuteInProcessResult``).

    ``success`` is true when every asset was materialized; ``outcomes`` lists each
    asset's :class:`~assetcron._summary.AssetOutcome` (as in the run summary); values
    are read with :meth:`asset_value` or :meth:`output_for_node`.
    """

    def __init__(self, run: RunResult, defs: Definitions, tags: Mapping[str, str]) -> None:
        self._run = run
        self._defs = defs
        self.tags: Mapping[str, str] = dict(tags)

    @property
    def success(self) -> bool:
        """Whether every asset materialized."""
        return self._run.success

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._run.run_id

    @property
    def outcomes(self) -> list[AssetOutcome]:
        """Each asset's outcome, in plan order."""
        return list(self._run.outcomes)

    @property
    def run_result(self) -> RunResult:
        """The engine's own result."""
        return self._run

    def asset_value(self, asset_key: CoercibleToAssetKey) -> Any:
        """The value ``asset_key`` (``"a/b"`` is the two-part key) had in this run.
        Raises ``KeyError`` when the run produced none (the asset failed or was
        skipped)."""
        key = (
            AssetKey.from_user_string(asset_key)
            if isinstance(asset_key, str)
            else AssetKey.from_coercible(asset_key)
        )
        if key not in self._run.values:
            outcome = next((o for o in self._run.outcomes if o.key == key.to_user_string()), None)
            why = f" ({outcome.outcome}: {outcome.error})" if outcome and outcome.error else ""
            raise KeyError(f"asset {key.to_user_string()!r} has no value in this run{why}")
        return self._run.values[key]

    def output_for_node(self, node_str: str, output_name: str = "result") -> Any:
        """The value of op ``node_str`` (``a__b`` for key ``a/b``); for an op with several
        assets (``multi_asset``), ``output_name`` is the asset's key joined by ``__``."""
        names = self._defs.op_names()
        keys = [k for k, a in self._defs.assets.items() if a.op_name == node_str]
        if not keys:
            raise KeyError(f"no op named {node_str!r} (ops: {', '.join(sorted(names))})")
        if len(keys) > 1 or output_name != "result":
            keys = [k for k in keys if "__".join(k.path) == output_name]
            if not keys:
                raise KeyError(f"op {node_str!r} has no output named {output_name!r}")
        return self.asset_value(keys[0])

    def get_asset_check_evaluations(self) -> list[AssetCheckEvaluation]:
        """The checks that ran and what they gave (a check that raised is not listed:
        see ``run_result.checks``)."""
        return [
            AssetCheckEvaluation(
                asset_key=AssetKey.from_user_string(c.asset),
                check_name=c.name,
                passed=c.outcome == "Passed",
                metadata=dict(c.metadata or {}),
                severity=AssetCheckSeverity(c.severity),
                description=c.message,
            )
            for c in self._run.checks
            if c.outcome != "Errored"
        ]

    def get_asset_materialization_events(self) -> list[MaterializationEvent]:
        """One event per asset materialized in this run (not reused, failed or
        skipped), in plan order, with the metadata the asset reported."""
        events = []
        metadata: Mapping[AssetKey, Mapping[str, Any]] = getattr(self._run, "metadata", {})
        for o in self._run.outcomes:
            if o.outcome != "Materialized":
                continue
            key = AssetKey.from_user_string(o.key)
            a = self._defs.assets.get(key)
            part = self._run.partition_key if a is not None and a.partitions_def else None
            mat = AssetMaterialization(key, metadata=dict(metadata.get(key, {})), partition=part)
            events.append(MaterializationEvent(key, mat))
        return events


def _definitions(assets: Iterable[Any], resources: Mapping[str, object] | None) -> Definitions:
    listed = list(assets)
    for item in listed:
        if not isinstance(item, AssetsDefinition | MultiAssetsDefinition | AssetChecksDefinition):
            raise InvalidDefinitionError(
                f"materialize(assets=...) expects asset definitions, got {item!r}"
            )
    return Definitions(assets=listed, resources=resources)


def materialize(  # noqa: PLR0917 - Dagster's signature
    assets: Sequence[Any],
    run_config: Any = None,
    instance: object | None = None,
    resources: Mapping[str, object] | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    selection: CoercibleToAssetSelection | None = None,
    *,
    scheduled_time: datetime | None = None,
) -> ExecuteInProcessResult:
    """Materialize ``assets`` in this process (Dagster's ``materialize``).

    ``run_config`` is Dagster-shaped (a mapping or a ``RunConfig``); ``resources`` are
    the resources of the run; ``partition_key`` the partition of partitioned assets
    (default: the last complete day at ``scheduled_time``, as for a schedule tick);
    ``selection`` narrows the run to some of ``assets`` (the others must not be needed,
    since nothing is stored beforehand); the checks among ``assets`` run after theirs.
    ``scheduled_time`` (assetcron's; default now, UTC) is ``context.scheduled_time``.

    Values go to a temporary local storage deleted on return and stay in memory on
    the result. With ``raise_on_error`` (the default) an asset's (or else a check's)
    exception is raised again once the run ends, as Dagster does, and a failed blocking
    check raises :class:`Failure`; otherwise inspect ``result.success``.
    Definition and config errors raise before anything runs. ``instance`` is refused.
    """
    if instance is not None:
        raise InvalidDefinitionError(
            "materialize(instance=...): assetcron has no Dagster instance; values go to a"
            " temporary storage and stay on the result"
        )
    defs = _definitions(assets, resources)
    selected = coerce_selection(selection, "materialize(selection=...)")
    keys = plan(defs.graph, selected)
    config = dict(plain_run_config(run_config, "materialize(run_config=...)"))
    defs = configure_resources(defs, config)
    when = scheduled_time or datetime.now(UTC)
    part = run_partition_key(defs, keys, when, partition_key)
    configs = validate_run_config(defs, keys, config)
    with tempfile.TemporaryDirectory(prefix="assetcron-materialize-") as tmp:
        storage = ObjectStorage.local(Path(tmp))
        run = run_plan(
            defs,
            keys,
            run_id=str(uuid.uuid4()),
            scheduled_time=when,
            partition_key=part,
            run_config=config,
            configs=configs,
            storage=storage,
        )
    if raise_on_error and not run.success:
        for outcome in run.outcomes:
            if outcome.outcome != "Failed":
                continue
            exc = run.errors.get(AssetKey.from_user_string(outcome.key))
            if exc is not None:
                raise exc
            raise Failure(f"asset {outcome.key!r} failed: {outcome.error}")
        for check in run.checks:
            if not check.fails_run:
                continue
            key = AssetCheckKey(AssetKey.from_user_string(check.asset), check.name)
            exc = run.check_errors.get(key)
            if exc is not None:
                raise exc
            raise Failure(f"blocking asset check {key.to_user_string()!r} failed: {check.message}")
    return ExecuteInProcessResult(run, defs, tags or {})


def materialize_to_memory(  # noqa: PLR0917 - Dagster's signature
    assets: Sequence[Any],
    run_config: Any = None,
    instance: object | None = None,
    resources: Mapping[str, object] | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    selection: CoercibleToAssetSelection | None = None,
    *,
    scheduled_time: datetime | None = None,
) -> ExecuteInProcessResult:
    """The same as :func:`materialize` (which already keeps the values in memory and
    deletes its temporary storage)."""
    return materialize(
        assets,
        run_config,
        instance,
        resources,
        partition_key,
        raise_on_error,
        tags,
        selection,
        scheduled_time=scheduled_time,
    )


def build_asset_context(  # noqa: PLR0917 - Dagster's signature
    resources: Mapping[str, Any] | None = None,
    resources_config: Mapping[str, Any] | None = None,
    asset_config: Mapping[str, Any] | None = None,
    instance: object | None = None,
    partition_key: str | None = None,
    partition_key_range: object | None = None,
    run_tags: Mapping[str, str] | None = None,
    event_loop: object | None = None,
    *,
    scheduled_time: datetime | None = None,
) -> AssetExecutionContext:
    """A context for calling an asset function directly in a test (Dagster's
    ``build_asset_context``): ``my_asset(build_asset_context(resources={...}))``.

    ``resources_config`` configures pydantic-model resources (as run config's
    ``resources.<name>.config``); their ``EnvVar`` fields are resolved now.
    ``asset_config`` is ``context.op_config`` (and ``context.config``).
    ``scheduled_time`` (assetcron's) defaults to now (UTC). ``instance``,
    ``partition_key_range`` and ``event_loop`` are refused.
    """
    where = "build_asset_context"
    if instance is not None:
        raise InvalidDefinitionError(f"{where}(instance=...): assetcron has no Dagster instance")
    if partition_key_range is not None:
        raise InvalidDefinitionError(
            f"{where}(partition_key_range=...): a run materializes one partition; pass"
            " partition_key"
        )
    if event_loop is not None:
        raise InvalidDefinitionError(f"{where}(event_loop=...): asset functions run synchronously")
    defs = Definitions(resources=resources)
    section = {n: {"config": dict(c)} for n, c in (resources_config or {}).items()}
    defs = configure_resources(defs, {"resources": section})
    configured = dict(defs.resources)
    if "assetcron._configurable" in sys.modules:  # else no resource can hold an EnvVar
        from assetcron._configurable import _EnvVarFields, resolve_env_vars  # noqa: PLC0415

        for name, value in configured.items():
            if isinstance(value, _EnvVarFields):
                configured[name] = resolve_env_vars(value, f"resource {name!r}")
    op_config = dict(asset_config or {})
    run_id = str(uuid.uuid4())
    return AssetExecutionContext(
        asset_key=UNBOUND_KEY,
        run_id=run_id,
        scheduled_time=scheduled_time or datetime.now(UTC),
        partition_key=partition_key,
        run_config={},
        op_config=op_config,
        config=op_config,
        resources=SimpleNamespace(**configured),
        log=logging.getLogger("assetcron.asset"),
        storage_dir=_default_scratch(),
        run_tags=dict(run_tags or {}),
    )
