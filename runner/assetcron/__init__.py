"""assetcron: Dagster-style data assets, materialized by Kubernetes CronJob pods.

The public API is what this module re-exports in ``__all__``; implementation lives in
underscore-private modules. This package is the SDK users import in their code location
and the runner every CronJob pod executes; it never imports kopf, the Kubernetes client
or ``assetcron_operator``.

Importing it stays cheap: every name is loaded from its module on first use
(:func:`__getattr__`, PEP 562), so ``from assetcron import Definitions, asset`` in a code
location loads the SDK and not the test helpers, templates or storage; Jinja2, pydantic,
obstore and YAML are imported only by the functions that need them. Each run of the
runner is a new pod, so this is paid per run (``benchmarks/startup.py``).
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assetcron._config import EnvVar, RunConfig
    from assetcron._configurable import Config, ConfigurableResource
    from assetcron._cron import CronError, CronSchedule
    from assetcron._cron import next_ticks as cron_next_ticks
    from assetcron._cron import parse as parse_cron
    from assetcron._errors import (
        AssetcronError,
        DependencyCycleError,
        EmptySelectionError,
        InvalidDefinitionError,
        PartitionKeyError,
        RunConfigError,
        ScheduledTimeError,
        SelectionSyntaxError,
        TemplateError,
        UnknownAssetKeyError,
    )
    from assetcron._graph import AssetGraph, AssetKey, AssetNode
    from assetcron._loader import CodeLocationError, load_definitions
    from assetcron._materialize import Failure
    from assetcron._partition_mappings import (
        AllPartitionMapping,
        IdentityPartitionMapping,
        LastPartitionMapping,
        PartitionMapping,
        TimeWindowPartitionMapping,
    )
    from assetcron._partitions import (
        DailyPartitionsDefinition,
        HourlyPartitionsDefinition,
        MonthlyPartitionsDefinition,
        PartitionsDefinition,
        StaticPartitionsDefinition,
        TimeWindow,
        TimeWindowPartitionsDefinition,
        WeeklyPartitionsDefinition,
    )
    from assetcron._policy import Backoff, Jitter, RetryPolicy
    from assetcron._results import AssetCheckResult, AssetCheckSeverity, MaterializeResult, Output
    from assetcron._schedules import (
        DefaultScheduleStatus,
        RunRequest,
        ScheduleDefinition,
        ScheduleEvaluationContext,
        ScheduleExecutionData,
        SkipReason,
        UnresolvedAssetJobDefinition,
        build_schedule_context,
        build_schedule_from_partitioned_job,
        define_asset_job,
        schedule,
    )
    from assetcron._sdk import (
        AssetCheckExecutionContext,
        AssetCheckKey,
        AssetChecksDefinition,
        AssetDep,
        AssetExecutionContext,
        AssetIn,
        AssetsDefinition,
        AssetSpec,
        Definitions,
        MultiAssetsDefinition,
        asset,
        asset_check,
        multi_asset,
    )
    from assetcron._selection import AssetSelection, parse_selection, plan
    from assetcron._storage import ObjectStorage, Storage, StorageError, open_storage
    from assetcron._summary import build_summary, encode_summary
    from assetcron._templates import (
        RenderLimits,
        check_template,
        render_run_config,
        template_context,
    )
    from assetcron._testing import (
        ExecuteInProcessResult,
        build_asset_context,
        materialize,
        materialize_to_memory,
    )
    from assetcron._timing import resolve_scheduled_time, scheduled_time_from_job_name

#: Every public name: the module that defines it and its name there. The imports above
#: (for type checkers) and the literal ``__all__`` below (which mypy's strict no-implicit-
#: re-export needs) name the same; tests/unit/test_package_exports.py checks they agree.
_EXPORTS: dict[str, tuple[str, str]] = {
    "AllPartitionMapping": ("assetcron._partition_mappings", "AllPartitionMapping"),
    "AssetCheckExecutionContext": ("assetcron._sdk", "AssetCheckExecutionContext"),
    "AssetCheckKey": ("assetcron._sdk", "AssetCheckKey"),
    "AssetCheckResult": ("assetcron._results", "AssetCheckResult"),
    "AssetCheckSeverity": ("assetcron._results", "AssetCheckSeverity"),
    "AssetChecksDefinition": ("assetcron._sdk", "AssetChecksDefinition"),
    "AssetDep": ("assetcron._sdk", "AssetDep"),
    "AssetExecutionContext": ("assetcron._sdk", "AssetExecutionContext"),
    "AssetGraph": ("assetcron._graph", "AssetGraph"),
    "AssetIn": ("assetcron._sdk", "AssetIn"),
    "AssetKey": ("assetcron._graph", "AssetKey"),
    "AssetNode": ("assetcron._graph", "AssetNode"),
    "AssetSelection": ("assetcron._selection", "AssetSelection"),
    "AssetSpec": ("assetcron._sdk", "AssetSpec"),
    "AssetcronError": ("assetcron._errors", "AssetcronError"),
    "AssetsDefinition": ("assetcron._sdk", "AssetsDefinition"),
    "Backoff": ("assetcron._policy", "Backoff"),
    "CodeLocationError": ("assetcron._loader", "CodeLocationError"),
    "Config": ("assetcron._configurable", "Config"),
    "ConfigurableResource": ("assetcron._configurable", "ConfigurableResource"),
    "CronError": ("assetcron._cron", "CronError"),
    "CronSchedule": ("assetcron._cron", "CronSchedule"),
    "DailyPartitionsDefinition": ("assetcron._partitions", "DailyPartitionsDefinition"),
    "DefaultScheduleStatus": ("assetcron._schedules", "DefaultScheduleStatus"),
    "Definitions": ("assetcron._sdk", "Definitions"),
    "DependencyCycleError": ("assetcron._errors", "DependencyCycleError"),
    "EmptySelectionError": ("assetcron._errors", "EmptySelectionError"),
    "EnvVar": ("assetcron._config", "EnvVar"),
    "ExecuteInProcessResult": ("assetcron._testing", "ExecuteInProcessResult"),
    "Failure": ("assetcron._materialize", "Failure"),
    "HourlyPartitionsDefinition": ("assetcron._partitions", "HourlyPartitionsDefinition"),
    "IdentityPartitionMapping": ("assetcron._partition_mappings", "IdentityPartitionMapping"),
    "InvalidDefinitionError": ("assetcron._errors", "InvalidDefinitionError"),
    "Jitter": ("assetcron._policy", "Jitter"),
    "LastPartitionMapping": ("assetcron._partition_mappings", "LastPartitionMapping"),
    "MaterializeResult": ("assetcron._results", "MaterializeResult"),
    "MonthlyPartitionsDefinition": ("assetcron._partitions", "MonthlyPartitionsDefinition"),
    "MultiAssetsDefinition": ("assetcron._sdk", "MultiAssetsDefinition"),
    "ObjectStorage": ("assetcron._storage", "ObjectStorage"),
    "Output": ("assetcron._results", "Output"),
    "PartitionKeyError": ("assetcron._errors", "PartitionKeyError"),
    "PartitionMapping": ("assetcron._partition_mappings", "PartitionMapping"),
    "PartitionsDefinition": ("assetcron._partitions", "PartitionsDefinition"),
    "RenderLimits": ("assetcron._templates", "RenderLimits"),
    "RetryPolicy": ("assetcron._policy", "RetryPolicy"),
    "RunConfig": ("assetcron._config", "RunConfig"),
    "RunConfigError": ("assetcron._errors", "RunConfigError"),
    "RunRequest": ("assetcron._schedules", "RunRequest"),
    "ScheduleDefinition": ("assetcron._schedules", "ScheduleDefinition"),
    "ScheduleEvaluationContext": ("assetcron._schedules", "ScheduleEvaluationContext"),
    "ScheduleExecutionData": ("assetcron._schedules", "ScheduleExecutionData"),
    "ScheduledTimeError": ("assetcron._errors", "ScheduledTimeError"),
    "SelectionSyntaxError": ("assetcron._errors", "SelectionSyntaxError"),
    "SkipReason": ("assetcron._schedules", "SkipReason"),
    "StaticPartitionsDefinition": ("assetcron._partitions", "StaticPartitionsDefinition"),
    "Storage": ("assetcron._storage", "Storage"),
    "StorageError": ("assetcron._storage", "StorageError"),
    "TemplateError": ("assetcron._errors", "TemplateError"),
    "TimeWindow": ("assetcron._partitions", "TimeWindow"),
    "TimeWindowPartitionMapping": ("assetcron._partition_mappings", "TimeWindowPartitionMapping"),
    "TimeWindowPartitionsDefinition": ("assetcron._partitions", "TimeWindowPartitionsDefinition"),
    "UnknownAssetKeyError": ("assetcron._errors", "UnknownAssetKeyError"),
    "UnresolvedAssetJobDefinition": ("assetcron._schedules", "UnresolvedAssetJobDefinition"),
    "WeeklyPartitionsDefinition": ("assetcron._partitions", "WeeklyPartitionsDefinition"),
    "asset": ("assetcron._sdk", "asset"),
    "asset_check": ("assetcron._sdk", "asset_check"),
    "build_asset_context": ("assetcron._testing", "build_asset_context"),
    "build_schedule_context": ("assetcron._schedules", "build_schedule_context"),
    "build_schedule_from_partitioned_job": (
        "assetcron._schedules",
        "build_schedule_from_partitioned_job",
    ),
    "build_summary": ("assetcron._summary", "build_summary"),
    "check_template": ("assetcron._templates", "check_template"),
    "cron_next_ticks": ("assetcron._cron", "next_ticks"),
    "define_asset_job": ("assetcron._schedules", "define_asset_job"),
    "encode_summary": ("assetcron._summary", "encode_summary"),
    "load_definitions": ("assetcron._loader", "load_definitions"),
    "materialize": ("assetcron._testing", "materialize"),
    "materialize_to_memory": ("assetcron._testing", "materialize_to_memory"),
    "multi_asset": ("assetcron._sdk", "multi_asset"),
    "open_storage": ("assetcron._storage", "open_storage"),
    "parse_cron": ("assetcron._cron", "parse"),
    "parse_selection": ("assetcron._selection", "parse_selection"),
    "plan": ("assetcron._selection", "plan"),
    "render_run_config": ("assetcron._templates", "render_run_config"),
    "resolve_scheduled_time": ("assetcron._timing", "resolve_scheduled_time"),
    "schedule": ("assetcron._schedules", "schedule"),
    "scheduled_time_from_job_name": ("assetcron._timing", "scheduled_time_from_job_name"),
    "template_context": ("assetcron._templates", "template_context"),
}


def __getattr__(name: str) -> Any:
    """Load an exported name from its module on first use (and keep it as a module
    global, so later lookups do not come here). A Dagster name assetcron does not offer
    (``sensor``, ``DynamicPartitionsDefinition``, ...) raises
    :class:`~assetcron._unsupported.UnsupportedDagsterNameError` (an ``ImportError``)
    saying why and what to use instead; any other unknown name raises
    ``AttributeError``. A private name goes straight to ``AttributeError``: ``from
    assetcron import _runlog`` asks for it before importing the submodule, and no
    Dagster name starts with ``_``."""
    where = _EXPORTS.get(name)
    if where is None:
        if name.startswith("_"):
            raise AttributeError(f"module 'assetcron' has no attribute {name!r}")
        from assetcron._unsupported import unsupported

        refused = unsupported(name)
        if refused is not None:
            raise refused
        raise AttributeError(f"module 'assetcron' has no attribute {name!r}")
    value = getattr(importlib.import_module(where[0]), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, the exports not yet loaded included (sorted)."""
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "AllPartitionMapping",
    "AssetCheckExecutionContext",
    "AssetCheckKey",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetChecksDefinition",
    "AssetDep",
    "AssetExecutionContext",
    "AssetGraph",
    "AssetIn",
    "AssetKey",
    "AssetNode",
    "AssetSelection",
    "AssetSpec",
    "AssetcronError",
    "AssetsDefinition",
    "Backoff",
    "CodeLocationError",
    "Config",
    "ConfigurableResource",
    "CronError",
    "CronSchedule",
    "DailyPartitionsDefinition",
    "DefaultScheduleStatus",
    "Definitions",
    "DependencyCycleError",
    "EmptySelectionError",
    "EnvVar",
    "ExecuteInProcessResult",
    "Failure",
    "HourlyPartitionsDefinition",
    "IdentityPartitionMapping",
    "InvalidDefinitionError",
    "Jitter",
    "LastPartitionMapping",
    "MaterializeResult",
    "MonthlyPartitionsDefinition",
    "MultiAssetsDefinition",
    "ObjectStorage",
    "Output",
    "PartitionKeyError",
    "PartitionMapping",
    "PartitionsDefinition",
    "RenderLimits",
    "RetryPolicy",
    "RunConfig",
    "RunConfigError",
    "RunRequest",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "ScheduleExecutionData",
    "ScheduledTimeError",
    "SelectionSyntaxError",
    "SkipReason",
    "StaticPartitionsDefinition",
    "Storage",
    "StorageError",
    "TemplateError",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "UnknownAssetKeyError",
    "UnresolvedAssetJobDefinition",
    "WeeklyPartitionsDefinition",
    "asset",
    "asset_check",
    "build_asset_context",
    "build_schedule_context",
    "build_schedule_from_partitioned_job",
    "build_summary",
    "check_template",
    "cron_next_ticks",
    "define_asset_job",
    "encode_summary",
    "load_definitions",
    "materialize",
    "materialize_to_memory",
    "multi_asset",
    "open_storage",
    "parse_cron",
    "parse_selection",
    "plan",
    "render_run_config",
    "resolve_scheduled_time",
    "schedule",
    "scheduled_time_from_job_name",
    "template_context",
]
