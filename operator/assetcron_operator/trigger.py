""" "Run now" (Dagster's *Test Schedule*): the ``assetcron.dev/trigger`` annotation.

``assetcron schedule trigger NAME`` sets the annotation on the AssetSchedule; the
operator acts on each distinct value once (it records the last handled value in
``status.lastTrigger``) by creating a Job from the CronJob's template with the
scheduled time passed explicitly (``ASSETCRON_SCHEDULED_TIME``).

The value is ``<scheduled time>#<nonce>[;force]``: the scheduled time as RFC 3339 in UTC
with second precision (``2026-11-21T06:00:00Z``), ``#``, and 8 random hex characters so
that triggering twice for the same time runs twice; ``;force`` (``trigger --force``)
makes the run recompute every selected asset, reusing nothing (the runner's
``--force``, passed as ``ASSETCRON_FORCE=true``). Example::

    metadata:
      annotations:
        assetcron.dev/trigger: "2026-11-21T06:00:00Z#3fa94c1d;force"

Anyone with ``patch`` rights on the schedule can set the annotation by hand (e.g.
``kubectl annotate``); a value that does not parse is reported as ``Rejected`` in
``status.lastTrigger`` and never retried.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from assetcron_operator.render import TRIGGER_ANNOTATION

__all__ = [
    "TRIGGER_ANNOTATION",
    "TriggerError",
    "make_trigger_value",
    "parse_scheduled_time",
    "parse_trigger_options",
    "parse_trigger_value",
]

_SEPARATOR = "#"
_OPTION = ";"
#: Options a trigger value may carry after its nonce.
OPTIONS = frozenset({"force"})
#: Kubernetes limits the total size of annotations, not one value; keep ours short.
_MAX_VALUE = 256


class TriggerError(ValueError):
    """A trigger value or a ``--scheduled-time`` argument cannot be used; one-line ``str()``."""


def parse_scheduled_time(text: str) -> datetime:
    """Parse an ISO 8601 time with an offset (``Z`` allowed) into an aware UTC datetime.

    Raises:
        TriggerError: not ISO 8601, or no UTC offset (a naive time is ambiguous; the
            runner refuses it too).
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        msg = f"not an ISO 8601 time: {text!r} (expected e.g. 2026-11-21T06:00:00Z)"
        raise TriggerError(msg) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        msg = f"time {text!r} has no UTC offset; add Z or +HH:MM"
        raise TriggerError(msg)
    return moment.astimezone(UTC)


def make_trigger_value(
    scheduled_time: datetime, nonce: str | None = None, *, force: bool = False
) -> str:
    """Build an annotation value for a run at ``scheduled_time`` (aware; sub-seconds dropped).

    ``nonce`` defaults to 8 random hex characters (``secrets.token_hex(4)``); ``force``
    appends ``;force``.

    Raises:
        TriggerError: ``scheduled_time`` is naive, or ``nonce`` contains ``#``, ``;`` or
            whitespace.
    """
    if scheduled_time.tzinfo is None or scheduled_time.utcoffset() is None:
        msg = "scheduled time must be timezone-aware"
        raise TriggerError(msg)
    nonce = secrets.token_hex(4) if nonce is None else nonce
    if not nonce or _SEPARATOR in nonce or _OPTION in nonce or any(c.isspace() for c in nonce):
        msg = f"bad nonce {nonce!r}: must be non-empty, without '#', ';' or whitespace"
        raise TriggerError(msg)
    when = scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{when}{_SEPARATOR}{nonce}" + (f"{_OPTION}force" if force else "")


def parse_trigger_options(value: str) -> frozenset[str]:
    """The options after the nonce of a trigger value (``{"force"}`` or empty).

    Raises:
        TriggerError: an option that is not one of :data:`OPTIONS`.
    """
    _, _, tail = value.partition(_SEPARATOR)
    options = frozenset(o.strip() for o in tail.split(_OPTION)[1:])
    unknown = sorted(options - OPTIONS)
    if unknown:
        msg = f"unknown trigger option {unknown[0]!r} (known: {', '.join(sorted(OPTIONS))})"
        raise TriggerError(msg)
    return options


def parse_trigger_value(value: str) -> datetime:
    """The scheduled time (aware, UTC) a trigger value asks for.

    A bare ISO 8601 time (no ``#nonce``) is accepted too, for hand-written annotations.

    Raises:
        TriggerError: empty, longer than 256 characters, or the time part does not parse.
    """
    if not value or len(value) > _MAX_VALUE:
        msg = f"trigger value must have 1 to {_MAX_VALUE} characters"
        raise TriggerError(msg)
    when, _, _nonce = value.partition(_SEPARATOR)
    return parse_scheduled_time(when)
