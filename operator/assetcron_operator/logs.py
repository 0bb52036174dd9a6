"""Structured logging for the operator.

kopf already ships a JSON formatter (python-json-logger underneath) that adds the
object reference of the resource being handled to every record; we use it rather than
writing our own. With ``json`` each line is one object such as::

    {"message": "CronJob applied", "timestamp": "2026-11-21T04:00:00.123+00:00",
     "severity": "info", "k8s": {"kind": "AssetSchedule", "namespace": "data",
     "name": "weather-daily", "uid": "..."}, "cronJob": "weather-daily", "writes": 1}

Extra fields passed with ``logger.info(msg, extra={...})`` become top-level keys.
"""

from __future__ import annotations

import logging
from typing import Literal

import kopf

__all__ = ["REFKEY", "QuietEventHandlers", "configure_logging", "get_logger"]

#: Key under which kopf puts the handled object's reference in JSON records.
REFKEY = "k8s"

# Libraries whose INFO/DEBUG chatter would drown the operator's own records.
_NOISY = ("kubernetes.client.rest", "urllib3", "aiohttp.access")


def configure_logging(log_format: Literal["json", "text"], *, verbose: bool = False) -> None:
    """Install the root log handler: one JSON object per line, or kopf's text format.

    ``verbose`` lowers the level from INFO to DEBUG. Idempotent: calling it again
    replaces the handler kopf installed before instead of adding a second one.
    """
    fmt = kopf.LogFormat.JSON if log_format == "json" else kopf.LogFormat.FULL
    kopf.configure(verbose=verbose, log_format=fmt, log_refkey=REFKEY)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)


class QuietEventHandlers(logging.Filter):
    """Drop kopf's INFO line "Handler 'NAME' succeeded." for the given event handlers.

    kopf logs it after every watch event an ``@kopf.on.event`` handler sees; for the
    level-triggered reconcile that is one line per status write of every object (and the
    log lock contended by the handler threads showed up in profiles of
    ``benchmarks/reconcile.py``). Failures and everything else are kept.
    """

    def __init__(self, handler_ids: tuple[str, ...]) -> None:
        super().__init__()
        self._quiet = frozenset(f"Handler {h!r} succeeded." for h in handler_ids)

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) only for the success lines of the quiet handlers."""
        return not (record.levelno == logging.INFO and record.msg in self._quiet)


def get_logger(name: str) -> logging.Logger:
    """A logger under ``assetcron_operator`` (records go through the handler above)."""
    return logging.getLogger(f"assetcron_operator.{name}")
