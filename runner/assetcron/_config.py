"""``EnvVar`` and ``RunConfig``: Dagster's config helpers that need no pydantic.

``EnvVar("NAME")`` stands for an environment variable's value in a ``Config`` or
``ConfigurableResource`` field (:mod:`assetcron._configurable`). It is resolved when a
run starts, in the run's pod, so a code location can be loaded (listed, turned into
manifests) without its secrets, and no secret is written into a manifest or a job's
static run config. Like Dagster's, it is a ``str`` whose value is the variable's name,
and ``str()`` of it raises, so an unresolved one is never used as the value by mistake.
In YAML run config the same is written ``{env: NAME}``.

``RunConfig(ops=..., resources=...)`` builds run config from ``Config`` and
``ConfigurableResource`` objects (Dagster's ``RunConfig``); ``to_config_dict()`` gives
the plain ``{"ops": {<op>: {"config": {...}}}, "resources": {...}}`` with ``EnvVar``
fields written ``{"env": NAME}``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = ["EnvVar", "IntEnvVar", "RunConfig"]


def _unresolved(kind: str, name: str) -> str:
    return (
        f"{kind}({name!r}) is not resolved: read it with .get_value(), or make it the"
        " value of a Config or ConfigurableResource field (resolved when the run starts)"
    )


class EnvVar(str):
    """An environment variable's value, read when the run starts (Dagster's ``EnvVar``).

    ``EnvVar("PG_PASSWORD")`` as a ``Config`` / ``ConfigurableResource`` field value is
    replaced by ``$PG_PASSWORD`` in the run's pod (a run fails with bad input when it is
    not set); :meth:`get_value` reads it now. ``EnvVar.int("PORT")`` is the same for an
    ``int`` field.
    """

    __slots__ = ()

    @classmethod
    def int(cls, name: str) -> IntEnvVar:
        """An environment variable holding an integer (Dagster's ``EnvVar.int``)."""
        return IntEnvVar.create(name)

    @property
    def env_var_name(self) -> str:
        """The variable's name."""
        return str.__str__(self)

    def get_value(self, default: str | None = None) -> str | None:
        """The variable's value now, or ``default`` when it is not set."""
        return os.getenv(self.env_var_name, default)

    def __str__(self) -> str:
        raise RuntimeError(_unresolved("EnvVar", self.env_var_name))

    def __repr__(self) -> str:
        return f"EnvVar({self.env_var_name!r})"


class IntEnvVar(int):
    """An environment variable holding an integer (``EnvVar.int(name)``); its ``int``
    value is 0 until resolved."""

    name: str

    @classmethod
    def create(cls, name: str) -> IntEnvVar:
        """The integer variable ``name``."""
        var = cls(0)
        var.name = name
        return var

    @property
    def env_var_name(self) -> str:
        """The variable's name."""
        return self.name

    def get_value(self, default: int | None = None) -> int | None:
        """The variable's value now as an integer, or ``default`` when it is not set
        (``ValueError`` when it is not an integer)."""
        raw = os.getenv(self.name)
        return default if raw is None else int(raw)

    def __str__(self) -> str:
        raise RuntimeError(_unresolved("EnvVar.int", self.name))

    def __repr__(self) -> str:
        return f"EnvVar.int({self.name!r})"


def _section(value: Any) -> Any:
    """One ``ops``/``resources`` entry: a Config or resource object becomes
    ``{"config": {...}}``; a mapping is kept as it is."""
    if hasattr(type(value), "model_fields") and hasattr(value, "model_dump"):
        # A pydantic model: pydantic is loaded, so its module may be imported now.
        from assetcron._configurable import config_dict  # noqa: PLC0415

        return {"config": config_dict(value)}
    return value


class RunConfig:
    """Run config built from objects (Dagster's ``RunConfig``).

    ``ops`` maps an op name (``a__b`` for key ``a/b``) to a ``Config`` instance or to a
    ``{"config": {...}}`` mapping; ``resources`` maps a resource name to a
    ``ConfigurableResource`` instance or a mapping. Accepted wherever run config is:
    ``define_asset_job(config=...)``, ``ScheduleDefinition(run_config=...)``,
    ``RunRequest(run_config=...)``, ``materialize(run_config=...)``.
    """

    def __init__(
        self,
        ops: Mapping[str, Any] | None = None,
        resources: Mapping[str, Any] | None = None,
        loggers: Mapping[str, Any] | None = None,
        execution: Mapping[str, Any] | None = None,
    ) -> None:
        self.ops = dict(ops or {})
        self.resources = dict(resources or {})
        self.loggers = dict(loggers or {})
        self.execution = dict(execution or {})

    def to_config_dict(self) -> dict[str, Any]:
        """The plain run-config dict (sections that are empty are left out)."""
        out: dict[str, Any] = {}
        if self.ops:
            out["ops"] = {k: _section(v) for k, v in self.ops.items()}
        if self.resources:
            out["resources"] = {k: _section(v) for k, v in self.resources.items()}
        if self.loggers:
            out["loggers"] = dict(self.loggers)
        if self.execution:
            out["execution"] = dict(self.execution)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunConfig) and self.to_config_dict() == other.to_config_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dict

    def __repr__(self) -> str:
        return f"RunConfig({self.to_config_dict()!r})"
