"""Dagster names assetcron does not offer, each with why and what to use instead.

``from assetcron import sensor`` (a code location ported from Dagster) raises
:class:`UnsupportedDagsterNameError`, an ``ImportError`` whose one-line message says why the
name does not fit a CronJob runner without Dagster's instance and daemon, and what to
write instead. Loading such a code location fails with that line (exit 2).
"""

from __future__ import annotations

from assetcron._errors import AssetcronError

__all__ = ["UNSUPPORTED", "UnsupportedDagsterNameError", "unsupported"]

_SENSORS = (
    "sensors need a long-running daemon, and assetcron runs on Kubernetes CronJobs; use a"
    " ScheduleDefinition (a @schedule function may return SkipReason to skip a tick)"
)
_AUTOMATION = (
    "assetcron runs assets on schedules, not declarative automation; use define_asset_job"
    " and a ScheduleDefinition"
)
_PARTITIONS = (
    "assetcron supports hourly, daily, weekly, monthly, cron (TimeWindow) and static"
    " partitions with the identity, time-window, all and last partition mappings; a run"
    " materializes one partition, derived from the tick or given explicitly"
)
_IO = (
    "storage is configured per run by --storage / ASSETCRON_STORAGE (a directory, or an"
    " s3://, gs:// or az:// URI); @asset(output_format='pickle'|'json') picks the format"
)
_OPS = (
    "assetcron runs assets, not ops and graphs; write @asset or multi_asset, and jobs with"
    " define_asset_job"
)
_INSTANCE = (
    "assetcron has no Dagster instance; run history is in the storage's records and the"
    " AssetSchedule's status, and tests use materialize() or build_asset_context()"
)
_EXTERNAL = (
    "external (source) assets are not supported: every asset assetcron knows is"
    " materialized by it; read outside data in an @asset"
)

#: Each refused name and why.
UNSUPPORTED: dict[str, str] = {
    **dict.fromkeys(
        (
            "sensor",
            "asset_sensor",
            "multi_asset_sensor",
            "run_status_sensor",
            "run_failure_sensor",
            "SensorDefinition",
            "SensorEvaluationContext",
            "SensorResult",
            "DefaultSensorStatus",
            "build_sensor_context",
        ),
        _SENSORS,
    ),
    **dict.fromkeys(
        ("AutomationCondition", "AutoMaterializePolicy", "FreshnessPolicy"), _AUTOMATION
    ),
    **dict.fromkeys(
        (
            "DynamicPartitionsDefinition",
            "MultiPartitionsDefinition",
            "PartitionKeyRange",
            "BackfillPolicy",
        ),
        _PARTITIONS,
    ),
    **dict.fromkeys(
        (
            "IOManager",
            "ConfigurableIOManager",
            "IOManagerDefinition",
            "io_manager",
            "fs_io_manager",
            "mem_io_manager",
            "FilesystemIOManager",
            "InMemoryIOManager",
            "UPathIOManager",
            "InputContext",
            "OutputContext",
        ),
        _IO,
    ),
    **dict.fromkeys(
        (
            "op",
            "job",
            "graph",
            "graph_asset",
            "graph_multi_asset",
            "OpExecutionContext",
            "In",
            "Out",
            "AssetOut",
            "DynamicOut",
            "DynamicOutput",
        ),
        _OPS,
    ),
    **dict.fromkeys(("DagsterInstance", "instance_for_test"), _INSTANCE),
    **dict.fromkeys(("SourceAsset", "observable_source_asset", "external_asset"), _EXTERNAL),
    "AssetCheckSpec": "declare each check with @asset_check(asset=...)",
}


class UnsupportedDagsterNameError(AssetcronError, ImportError):
    """A Dagster name assetcron does not offer (see the module docstring)."""


def unsupported(name: str) -> UnsupportedDagsterNameError | None:
    """The error for importing ``name`` from ``assetcron``, or ``None`` when ``name`` is
    not a refused Dagster name."""
    why = UNSUPPORTED.get(name)
    if why is None:
        return None
    return UnsupportedDagsterNameError(f"assetcron does not offer Dagster's {name}: {why}")
