"""The pure part of ``assetcron schedule preview``: upcoming ticks and their run config.

Like Dagster's "Test Schedule" / ``evaluate_tick``: for the next N ticks of an
AssetSchedule it shows when each fires, the Job name the CronJob controller will give it,
the partition key and the run config the runner would render. Works on CR bodies read
from a file, so no cluster is needed. No I/O, no clock (``after`` is passed in).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from assetcron import AssetcronError, Definitions, render_run_config
from assetcron._errors import InvalidDefinitionError
from assetcron._materialize import (
    configure_resources,
    run_partition_key,
    run_partition_window,
    validate_run_config,
)
from assetcron._schedules import build_schedule_context
from assetcron._selection import plan
from assetcron_operator import naming, validation
from assetcron_operator.render import merge_run_config
from assetcron_operator.status import next_ticks

if TYPE_CHECKING:
    from assetcron._dagster import DagsterCodeLocation

__all__ = ["PreviewError", "preview_ticks"]


class PreviewError(ValueError):
    """The schedule (or its job) cannot be previewed; ``str()`` is one line for stderr."""


def _local(tick: str, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(tick.replace("Z", "+00:00")).astimezone(zone)


def preview_ticks(
    schedule: Mapping[str, Any],
    job: Mapping[str, Any] | None,
    *,
    count: int,
    after: datetime,
    definitions: Definitions | DagsterCodeLocation | None = None,
    code_note: str | None = None,
) -> list[dict[str, Any]]:
    """The next ``count`` ticks of ``schedule`` strictly after ``after``, each rendered.

    Args:
        schedule: an AssetSchedule body (``metadata.name``, ``spec``).
        job: the referenced AssetJob body, or ``None`` (then only the schedule's own
            run-config template is rendered, and a note says so).
        count: number of ticks (>= 1).
        after: aware time to start from (usually now).
        definitions: the job's code location, loaded (``None`` when it cannot be
            imported here). With it each tick is checked as the runner checks it: the
            selection is resolved, the partition key derived (Dagster's rule for a
            partitioned job without ``spec.partitionKey``) and the rendered run config
            validated against the assets' typed config. A Dagster code location
            (``assetcron._dagster.DagsterCodeLocation``) is checked with Dagster's
            own selection, partitions, ``evaluate_tick`` and ``validate_run_config``.
        code_note: why ``definitions`` is missing, repeated as each tick's ``note``.

    Returns:
        One dict per tick: ``scheduledTime`` (RFC 3339 UTC), ``scheduledTimeLocal``
        (ISO 8601 in the schedule's zone), ``jobName`` (``<cronjob>-<unix minutes>``, as the
        CronJob controller names the Job), ``partitionKey`` (the rendered
        ``spec.partitionKey``, else with ``definitions`` the key the runner derives,
        else ``None``), and ``runConfig`` (the job's run config deep-merged with the
        schedule's template, rendered). A tick the runner would refuse (template fails to
        render, partition key outside the partitions, config failing an asset's model)
        has ``error`` (one line), as Dagster's evaluate_tick reports a failing tick
        without stopping; ``note`` says what could not be checked.

    Raises:
        PreviewError: the schedule or job is invalid (schema or operator checks), the
            job's selection does not resolve in ``definitions``, ``count`` is below 1,
            or ``after`` is naive.
    """
    if count < 1:
        msg = f"count must be >= 1, got {count}"
        raise PreviewError(msg)
    if after.tzinfo is None:
        msg = "the start time must be timezone-aware"
        raise PreviewError(msg)
    try:
        parsed = validation.parse_asset_schedule(schedule)
        job_spec = validation.parse_asset_job(job).spec if job is not None else None
        if job_spec is not None:
            validation.validate_asset_job(job_spec)
        cron = validation.validate_asset_schedule(parsed.spec, job_spec)
        zone = validation.validate_time_zone(parsed.spec.time_zone)
    except validation.InvalidSpecError as exc:
        raise PreviewError(f"{exc.reason}: {exc.message}") from exc

    spec = parsed.spec
    template = (
        merge_run_config(job_spec.run_config, spec.run_config) if job_spec else spec.run_config
    )
    planned: Any = None
    native = definitions if isinstance(definitions, Definitions) else None
    dagster: Any = definitions if native is None else None  # Dagster's own rules
    if definitions is not None and job_spec is not None:
        try:
            if dagster is not None:
                planned = dagster.plan(job_spec.selection)
            elif native is not None:
                planned = plan(native.graph, job_spec.selection)
        except AssetcronError as exc:
            msg = f"AssetJob spec.selection {job_spec.selection!r}: {exc}"
            raise PreviewError(msg) from exc
    cronjob = naming.cronjob_name(parsed.metadata.name or "schedule")
    out: list[dict[str, Any]] = []
    for tick in next_ticks(cron, spec.time_zone, after, count):
        local = _local(tick, zone)
        entry: dict[str, Any] = {
            "scheduledTime": tick,
            "scheduledTimeLocal": local.isoformat(),
            "jobName": f"{cronjob}-{int(local.timestamp()) // 60}",
            "partitionKey": None,
            "runConfig": None,
        }
        try:
            request = None
            if spec.schedule_definition is not None:
                if definitions is None:
                    entry["note"] = (
                        f"schedule function {spec.schedule_definition!r} not evaluated: the"
                        " code location is not loaded here"
                    )
                elif dagster is not None:
                    evaluated = dagster.evaluate_schedule(spec.schedule_definition, local)
                    if isinstance(evaluated, str):
                        entry["skipped"] = evaluated
                        out.append(entry)
                        continue
                    request = evaluated
                elif native is not None:
                    data = native.get_schedule_def(spec.schedule_definition).evaluate_tick(
                        build_schedule_context(scheduled_execution_time=local)
                    )
                    if not data.run_requests:
                        entry["skipped"] = data.skip_message or "no run requested"
                        out.append(entry)
                        continue
                    if len(data.run_requests) > 1:
                        msg = f"{len(data.run_requests)} RunRequests in one tick (one is supported)"
                        raise InvalidDefinitionError(msg)
                    request = data.run_requests[0]
            if request is not None and request.partition_key is not None:
                entry["partitionKey"] = request.partition_key
            elif spec.partition_key is not None:
                entry["partitionKey"] = render_run_config(
                    {"partitionKey": spec.partition_key},
                    scheduled_time=local,
                    timezone=spec.time_zone,
                    cron_schedule=cron,
                )["partitionKey"].strip()
            if planned is not None and dagster is not None:
                entry["partitionKey"] = planned.partition_key(local, entry["partitionKey"])
            elif planned is not None and native is not None:
                entry["partitionKey"] = run_partition_key(
                    native, planned, local, entry["partitionKey"]
                )
            window = None
            if planned is not None and dagster is not None:
                window = planned.partition_window(entry["partitionKey"])
            elif planned is not None and native is not None:
                window = run_partition_window(native, planned, entry["partitionKey"])
            entry["runConfig"] = render_run_config(
                template,
                scheduled_time=local,
                timezone=spec.time_zone,
                cron_schedule=cron,
                partition_key=entry["partitionKey"],
                partition_window=window,
            )
            if request is not None and request.run_config:
                entry["runConfig"] = merge_run_config(entry["runConfig"], request.run_config)
            if planned is not None and dagster is not None:
                planned.run_config(entry["runConfig"])  # Dagster's validate_run_config
            elif planned is not None and native is not None:
                configured = configure_resources(native, entry["runConfig"])
                validate_run_config(configured, planned, entry["runConfig"])
        except AssetcronError as exc:
            entry["error"] = " ".join(str(exc).split())
        if job_spec is None:
            entry["note"] = "AssetJob not found: only the schedule's run config is shown"
        elif definitions is None and code_note and "note" not in entry:
            entry["note"] = code_note
        out.append(entry)
    return out
