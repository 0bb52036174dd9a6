"""Which tick a run is for: the scheduled time and the schedule's time zone.

Pure functions over explicit inputs (the CLI passes ``os.environ``); no clock is read:
a run whose scheduled time cannot be derived fails with :class:`ScheduledTimeError`
(CLI exit 2) instead of silently using ``now()``.

Precedence (DESIGN.md, data flow step 5):

1. ``--scheduled-time`` (ISO 8601);
2. env ``ASSETCRON_SCHEDULED_TIME`` (manual and backfill runs);
3. env ``ASSETCRON_JOB_NAME``: the CronJob controller names each Job
   ``<cronjob>-<scheduled unix time // 60>`` (Kubernetes ``getJobName`` /
   ``getTimeHashInMinutes`` in ``pkg/controller/cronjob/utils.go``), and the pod learns
   it through the Downward API label ``batch.kubernetes.io/job-name``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assetcron._errors import ScheduledTimeError

__all__ = [
    "ENV_JOB_NAME",
    "ENV_SCHEDULED_TIME",
    "ENV_TIMEZONE",
    "parse_scheduled_time",
    "resolve_scheduled_time",
    "resolve_timezone",
    "scheduled_time_from_job_name",
]

ENV_SCHEDULED_TIME = "ASSETCRON_SCHEDULED_TIME"
ENV_JOB_NAME = "ASSETCRON_JOB_NAME"
ENV_TIMEZONE = "ASSETCRON_TIMEZONE"

_JOB_NAME = re.compile(r"^(?P<cronjob>.+)-(?P<minutes>[0-9]{1,12})$")


def resolve_timezone(name: str | None) -> ZoneInfo:
    """Return the IANA zone ``name`` (``None`` or empty means UTC).

    Raises :class:`ScheduledTimeError` for a name zoneinfo does not know.
    """
    key = name or "UTC"
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduledTimeError(f"invalid time zone {key!r} (expected an IANA name)") from exc


def parse_scheduled_time(text: str, tz: ZoneInfo) -> datetime:
    """Parse an ISO 8601 time; a time without offset is wall time in ``tz``.

    Returns an aware datetime in ``tz``. Raises :class:`ScheduledTimeError`.
    """
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ScheduledTimeError(f"invalid scheduled time {text!r} (expected ISO 8601)") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(tz)


def scheduled_time_from_job_name(job_name: str, tz: ZoneInfo) -> datetime:
    """Derive the tick from a CronJob-made Job name ``<cronjob>-<unix minutes>``.

    Returns an aware datetime in ``tz``. Raises :class:`ScheduledTimeError` when the
    name has no all-digit minutes suffix (e.g. a Job made by ``kubectl create job``).
    """
    match = _JOB_NAME.match(job_name.strip())
    if match is None:
        raise ScheduledTimeError(
            f"cannot derive the scheduled time from job name {job_name!r}: it has no "
            "'-<unix minutes>' suffix; pass --scheduled-time or set "
            f"{ENV_SCHEDULED_TIME}"
        )
    minutes = int(match["minutes"])
    return datetime.fromtimestamp(minutes * 60, tz=UTC).astimezone(tz)


def resolve_scheduled_time(explicit: str | None, env: Mapping[str, str], tz: ZoneInfo) -> datetime:
    """Apply the precedence in the module docstring; return an aware datetime in ``tz``.

    Raises :class:`ScheduledTimeError` when no source is present or the chosen one is
    malformed.
    """
    if explicit:
        return parse_scheduled_time(explicit, tz)
    if env.get(ENV_SCHEDULED_TIME):
        return parse_scheduled_time(env[ENV_SCHEDULED_TIME], tz)
    if env.get(ENV_JOB_NAME):
        return scheduled_time_from_job_name(env[ENV_JOB_NAME], tz)
    raise ScheduledTimeError(
        f"no scheduled time: pass --scheduled-time, or set {ENV_SCHEDULED_TIME} or "
        f"{ENV_JOB_NAME} (never defaults to now)"
    )
