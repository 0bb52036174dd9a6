"""Operator settings, read once from the environment.

The variables are the contract shared with the Helm chart (DESIGN.md, "Operator
settings"):

=================================  =========================================  ==========
variable                           meaning                                    default
=================================  =========================================  ==========
``ASSETCRON_WATCH_NAMESPACES``     comma-separated namespaces to watch        all
``ASSETCRON_RUN_HISTORY_LIMIT``    recent runs kept in ``status.recentRuns``  ``10``
``ASSETCRON_LOG_FORMAT``           ``json`` or ``text``                       ``json``
``ASSETCRON_LIVENESS_ENDPOINT``    kopf's liveness probe endpoint             ``http://0.0.0.0:8080/healthz``
``ASSETCRON_STATUS_INTERVAL``      seconds between status refreshes (timer)   ``30``
``ASSETCRON_METRICS_PORT``         port of the Prometheus ``/metrics``        ``8081``
                                   endpoint (``0``: not served)
=================================  =========================================  ==========

Parsing is pure (``Settings.from_env(mapping)``) so it is unit-tested without touching
``os.environ``; bad values raise :class:`SettingsError` with the variable's name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["Settings", "SettingsError"]

#: Kubernetes namespace names are RFC 1123 labels (DNS-1123 label, at most 63 characters).
_DNS1123_LABEL_MAX = 63
_LOG_FORMATS = ("json", "text")


class SettingsError(ValueError):
    """An operator setting in the environment has a bad value; ``str()`` names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The operator's settings.

    Attributes:
        namespaces: namespaces to watch; empty tuple means the whole cluster.
        run_history_limit: how many recent runs ``status.recentRuns`` keeps (>= 1).
        log_format: ``"json"`` (one JSON object per line) or ``"text"``.
        liveness_endpoint: URL kopf serves its liveness probe on (``http://host:port/path``).
        status_interval: seconds between two timer refreshes of ``status.nextRuns`` and the
            run history (> 0).
        metrics_port: TCP port of the Prometheus endpoint ``/metrics`` on all addresses
            (0 to 65535; 0 turns it off).
    """

    namespaces: tuple[str, ...] = ()
    run_history_limit: int = 10
    log_format: Literal["json", "text"] = "json"
    liveness_endpoint: str = "http://0.0.0.0:8080/healthz"
    status_interval: float = 30.0
    metrics_port: int = 8081

    @property
    def clusterwide(self) -> bool:
        """True when no namespace is configured, i.e. the operator watches all namespaces."""
        return not self.namespaces

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Parse the settings from ``env`` (default: ``os.environ``).

        Raises:
            SettingsError: a variable is set to a value that cannot be used (names it).
        """
        env = os.environ if env is None else env
        defaults = cls()

        namespaces = tuple(
            dict.fromkeys(  # keep order, drop duplicates
                n.strip() for n in env.get("ASSETCRON_WATCH_NAMESPACES", "").split(",") if n.strip()
            )
        )
        for ns in namespaces:
            if len(ns) > _DNS1123_LABEL_MAX or not _is_dns1123_label(ns):
                msg = f"ASSETCRON_WATCH_NAMESPACES: {ns!r} is not a valid namespace name"
                raise SettingsError(msg)

        limit = _int(env, "ASSETCRON_RUN_HISTORY_LIMIT", defaults.run_history_limit, minimum=1)

        log_format = env.get("ASSETCRON_LOG_FORMAT", "").strip().lower() or defaults.log_format
        if log_format not in _LOG_FORMATS:
            choices = ", ".join(_LOG_FORMATS)
            msg = f"ASSETCRON_LOG_FORMAT: must be one of {choices}, got {log_format!r}"
            raise SettingsError(msg)

        liveness = env.get("ASSETCRON_LIVENESS_ENDPOINT", "").strip() or defaults.liveness_endpoint
        parts = urlsplit(liveness)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            msg = f"ASSETCRON_LIVENESS_ENDPOINT: expected http://HOST:PORT/PATH, got {liveness!r}"
            raise SettingsError(msg)

        interval_raw = env.get("ASSETCRON_STATUS_INTERVAL", "").strip()
        try:
            interval = float(interval_raw) if interval_raw else defaults.status_interval
        except ValueError:
            msg = f"ASSETCRON_STATUS_INTERVAL: expected seconds, got {interval_raw!r}"
            raise SettingsError(msg) from None
        if not interval > 0:
            msg = f"ASSETCRON_STATUS_INTERVAL: must be > 0 seconds, got {interval_raw!r}"
            raise SettingsError(msg)

        metrics_port = _int(env, "ASSETCRON_METRICS_PORT", defaults.metrics_port, minimum=0)
        if metrics_port > 65535:
            msg = f"ASSETCRON_METRICS_PORT: must be a TCP port (0-65535), got {metrics_port}"
            raise SettingsError(msg)

        return cls(
            namespaces=namespaces,
            run_history_limit=limit,
            log_format="json" if log_format == "json" else "text",
            liveness_endpoint=liveness,
            status_interval=interval,
            metrics_port=metrics_port,
        )


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        msg = f"{name}: expected an integer, got {raw!r}"
        raise SettingsError(msg) from None
    if value < minimum:
        msg = f"{name}: must be >= {minimum}, got {value}"
        raise SettingsError(msg)
    return value


def _is_dns1123_label(name: str) -> bool:
    # RFC 1123 label as Kubernetes validates namespace names: [a-z0-9]([-a-z0-9]*[a-z0-9])?
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    return bool(name) and set(name) <= allowed and name[0] != "-" and name[-1] != "-"
