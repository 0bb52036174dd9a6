"""assetcron: Dagster-style data assets, materialized by Kubernetes CronJob pods.

The public API is what this module re-exports in ``__all__``; implementation lives in
underscore-private modules. This package is the SDK users import in their code location
and the runner every CronJob pod executes; it never imports kopf, the Kubernetes client
or ``assetcron_operator``.

Importing it stays cheap: Jinja2, pydantic, obstore and YAML are imported only by the
functions that need them; ``Config`` and ``ConfigurableResource`` (pydantic models) are
loaded on first use (:func:`__getattr__`).
"""

import importlib
from typing import TYPE_CHECKING, Any

from assetcron._config import EnvVar, RunConfig
from assetcron._cron import CronError, CronSchedule
from assetcron._cron import next_ticks as cron_next_ticks
from assetcron._cron import parse as parse_cron
from assetcron._errors import (
    AssetcronError,
    DependencyCycleError,
    EmptySelectionError,
    InvalidDefinitionError,
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
    PartitionKeyError,
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
from assetcron._unsupported import unsupported

if TYPE_CHECKING:
    from assetcron._configurable import Config, ConfigurableResource

#: Names exported from modules that import pydantic, loaded when first used.
_LAZY = {"Config": "assetcron._configurable", "ConfigurableResource": "assetcron._configurable"}


def __getattr__(name: str) -> Any:
    """Load the lazily exported names (``Config``, ``ConfigurableResource``); a Dagster
    name assetcron does not offer (``sensor``, ``DynamicPartitionsDefinition``, ...)
    raises :class:`~assetcron._unsupported.UnsupportedDagsterNameError` (an ``ImportError``)
    saying why and what to use instead."""
    module = _LAZY.get(name)
    if module is None:
        refused = unsupported(name)
        if refused is not None:
            raise refused
        raise AttributeError(f"module 'assetcron' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
