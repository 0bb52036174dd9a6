"""``Config`` and ``ConfigurableResource``: Dagster's pydantic-based config and resources.

Both are pydantic models with Dagster's strictness: frozen, and a field the model does
not declare is an error (``extra="forbid"``). A ``Config`` subclass as an asset
parameter's annotation receives ``ops.<op>.config`` validated into it (assetcron binds
any ``pydantic.BaseModel`` this way); a ``ConfigurableResource`` is a resource whose
fields run config's ``resources.<name>.config`` may set, and an asset parameter
annotated with a ``ConfigurableResource`` subclass receives the resource named like the
parameter (as in Dagster).

A field's value may be an :class:`~assetcron.EnvVar` (``{env: NAME}`` in YAML run config
for a field that is not itself a mapping): it stays unresolved while the code location is
loaded and is replaced by the variable's value when a run starts
(:func:`resolve_env_vars`), in the run's pod.

This module imports pydantic, so the package exports these names lazily.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from assetcron._config import EnvVar, IntEnvVar
from assetcron._errors import RunConfigError

__all__ = ["Config", "ConfigurableResource", "config_dict", "resolve_env_vars"]

_M = TypeVar("_M", bound=BaseModel)


class _EnvVarFields(BaseModel):
    """Lets any field hold an unresolved :class:`EnvVar` (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    @field_validator("*", mode="wrap")
    @classmethod
    def _keep_env_vars(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(value, EnvVar | IntEnvVar):
            return value
        if isinstance(value, Mapping) and set(value) == {"env"} and isinstance(value["env"], str):
            try:
                return handler(value)  # a mapping field may hold {"env": ...} as data
            except ValidationError:
                return EnvVar(value["env"])
        return handler(value)


class Config(_EnvVarFields):
    """Typed config of an asset (Dagster's ``Config``): a frozen pydantic model that
    refuses undeclared fields. Annotate an asset parameter with a subclass to receive
    ``ops.<op>.config`` validated into it."""


class ConfigurableResource(_EnvVarFields):
    """A resource configured by its fields (Dagster's ``ConfigurableResource``).

    Give an instance in ``Definitions(resources={"name": MyResource(...)})``; run
    config's ``resources.name.config`` overrides its fields for a run; a parameter
    ``name: MyResource`` of an asset receives it. Field values may be ``EnvVar``
    (resolved when the run starts).
    """


def _var_value(var: EnvVar | IntEnvVar, where: str) -> str:
    value = os.environ.get(var.env_var_name)
    if value is None:
        raise RunConfigError(
            f"{where}: environment variable {var.env_var_name!r} is not set (set it on the"
            " AssetJob's template: env or envFrom)"
        )
    return value


def resolve_env_vars(model: _M, where: str) -> _M:
    """``model`` with every :class:`EnvVar` field (also in nested models) replaced by
    the variable's value and validated; ``model`` itself when it has none. Raises
    :class:`RunConfigError` naming ``where`` and the field for a variable that is not
    set or a value the field refuses."""
    updates: dict[str, Any] = {}
    fields = type(model).model_fields
    for name in fields:
        value = getattr(model, name, None)
        here = f"{where} field {name!r}"
        if isinstance(value, EnvVar | IntEnvVar):
            updates[name] = _var_value(value, here)
        elif isinstance(value, BaseModel):
            resolved = resolve_env_vars(value, f"{where}.{name}")
            if resolved is not value:
                updates[name] = resolved
    if not updates:
        return model
    data = {(f.alias or n): updates.get(n, getattr(model, n, None)) for n, f in fields.items()}
    try:
        return type(model).model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "<config>"
        raise RunConfigError(f"{where}: field {loc!r}: {first['msg']}") from None


def has_env_vars(model: BaseModel) -> bool:
    """Whether ``model`` (or a nested model) has an unresolved :class:`EnvVar` field."""
    for name in type(model).model_fields:
        value = getattr(model, name, None)
        if isinstance(value, EnvVar | IntEnvVar):
            return True
        if isinstance(value, BaseModel) and has_env_vars(value):
            return True
    return False


def config_dict(model: BaseModel) -> dict[str, Any]:
    """``model``'s fields as run config (by alias), an :class:`EnvVar` as
    ``{"env": NAME}`` (Dagster's form in YAML), nested models as mappings."""
    out: dict[str, Any] = model.model_dump(by_alias=True, warnings=False)
    for name, f in type(model).model_fields.items():
        value = getattr(model, name, None)
        key = f.alias or name
        if isinstance(value, EnvVar | IntEnvVar):
            out[key] = {"env": value.env_var_name}
        elif isinstance(value, BaseModel):
            out[key] = config_dict(value)
    return out
