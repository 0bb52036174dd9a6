"""What asset and check functions return besides a plain value: Dagster's
``MaterializeResult``, ``Output`` and ``AssetCheckResult``, and their metadata.

* ``MaterializeResult(metadata=...)``: "materialized, here is what to record" without a
  value (the asset wrote its data itself, e.g. into a warehouse table). assetcron then
  stores ``None`` as the asset's value, so the run's records, reuse and locks work as
  for any asset; an asset taking it as a parameter receives ``None``.
  ``MaterializeResult(value=v, metadata=...)`` stores ``v``. In a ``multi_asset``,
  ``asset_key`` says which asset a result is for.
* ``Output(value, metadata=...)``: the value with metadata.
* ``AssetCheckResult(passed=..., metadata=..., severity=...)``: what an
  ``@asset_check`` returns.

Metadata is recorded with the materialization (``records/...json``, field
``metadata``), so it must be JSON data: strings, numbers, booleans, ``None``, lists and
mappings of them; datetimes, dates, paths, asset keys and enums are converted. Anything
else, or more than :data:`MAX_METADATA_BYTES` of it, fails the asset with a message
saying so (store large data as the asset's value instead). Values are kept plain: there
are no ``MetadataValue`` wrappers (an object with a ``.value``, like Dagster's, is
unwrapped).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import Enum
from typing import Any

from assetcron._errors import InvalidDefinitionError
from assetcron._graph import AssetKey, CoercibleToAssetKey

__all__ = [
    "MAX_METADATA_BYTES",
    "NO_VALUE",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "MaterializeResult",
    "Output",
    "normalize_metadata",
]

#: Most metadata one materialization or check records (compact JSON, UTF-8).
MAX_METADATA_BYTES = 16 * 1024
_MAX_DEPTH = 20


class _NoValue:
    """The ``value`` of a :class:`MaterializeResult` that carries none."""

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Any = _NoValue()


def _user_key(key: CoercibleToAssetKey | None) -> AssetKey | None:
    if key is None:
        return None
    if isinstance(key, str):
        return AssetKey.from_user_string(key)
    return AssetKey.from_coercible(key)


def _plain(value: Any, where: str, depth: int = 0) -> Any:
    """``value`` as JSON data (see the module docstring); raises
    :class:`InvalidDefinitionError` naming ``where``."""
    if depth > _MAX_DEPTH:
        raise InvalidDefinitionError(f"{where}: nested more than {_MAX_DEPTH} levels")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, AssetKey):
        return value.to_user_string()
    if isinstance(value, Enum):
        return _plain(value.value, where, depth + 1)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidDefinitionError(f"{where}: key {k!r} is not a string")
            out[k] = _plain(v, f"{where}.{k}", depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v, where, depth + 1) for v in value]
    inner = getattr(value, "value", None)  # Dagster's MetadataValue wrappers
    if inner is not None and inner is not value:
        return _plain(inner, where, depth + 1)
    raise InvalidDefinitionError(
        f"{where}: a {type(value).__name__} is not JSON data (use strings, numbers,"
        " booleans, None, lists and dicts of them, datetimes or paths)"
    )


def normalize_metadata(metadata: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    """``metadata`` as JSON data that fits in a record; raises
    :class:`InvalidDefinitionError` naming ``where`` and the entry for a value that is
    not JSON data, or when it is larger than :data:`MAX_METADATA_BYTES`."""
    if not metadata:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidDefinitionError(f"{where}: metadata must be a mapping")
    plain = _plain(metadata, f"{where}: metadata")
    size = len(json.dumps(plain, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        raise InvalidDefinitionError(
            f"{where}: metadata is {size} bytes, more than {MAX_METADATA_BYTES} (it is"
            " recorded with every materialization; return large data as the asset's value)"
        )
    assert isinstance(plain, dict)
    return plain


@dataclass(frozen=True, init=False)
class MaterializeResult:
    """An asset's result with metadata and, optionally, its value (Dagster's
    ``MaterializeResult``; see the module docstring).

    ``check_results`` and ``data_version`` are refused: declare checks with
    ``@asset_check``; assetcron versions each value by what produced it (config,
    inputs, code version).
    """

    asset_key: AssetKey | None
    metadata: Mapping[str, Any]
    tags: Mapping[str, str]
    value: Any

    def __init__(  # noqa: PLR0917 - Dagster's signature
        self,
        asset_key: CoercibleToAssetKey | None = None,
        metadata: Mapping[str, Any] | None = None,
        check_results: Sequence[Any] | None = None,
        data_version: Any | None = None,
        tags: Mapping[str, str] | None = None,
        value: Any = NO_VALUE,
    ) -> None:
        if check_results:
            raise InvalidDefinitionError(
                "MaterializeResult(check_results=...) is not supported: define each check with"
                " @asset_check(asset=...), which runs after the asset"
            )
        if data_version is not None:
            raise InvalidDefinitionError(
                "MaterializeResult(data_version=...) is not supported: assetcron versions each"
                " value by its config, inputs and code version (set code_version on @asset)"
            )
        object.__setattr__(self, "asset_key", _user_key(asset_key))
        object.__setattr__(self, "metadata", dict(metadata or {}))
        object.__setattr__(self, "tags", dict(tags or {}))
        object.__setattr__(self, "value", value)

    @property
    def has_value(self) -> bool:
        """Whether a value was given."""
        return self.value is not NO_VALUE


@dataclass(frozen=True, init=False)
class Output:
    """A value with metadata (Dagster's ``Output``). ``output_name`` is ``"result"``
    for an ``@asset``; in a ``multi_asset`` it is the asset key joined by ``__``.
    ``data_version`` is refused (see :class:`MaterializeResult`)."""

    value: Any
    output_name: str
    metadata: Mapping[str, Any]
    tags: Mapping[str, str]

    def __init__(
        self,
        value: Any,
        output_name: str = "result",
        metadata: Mapping[str, Any] | None = None,
        data_version: Any | None = None,
        *,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        if data_version is not None:
            raise InvalidDefinitionError(
                "Output(data_version=...) is not supported: assetcron versions each value by"
                " its config, inputs and code version (set code_version on @asset)"
            )
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "output_name", output_name)
        object.__setattr__(self, "metadata", dict(metadata or {}))
        object.__setattr__(self, "tags", dict(tags or {}))


class AssetCheckSeverity(Enum):
    """How bad a failed check is (Dagster's ``AssetCheckSeverity``). A failed
    ``ERROR`` check of a ``blocking`` check stops the assets downstream."""

    WARN = "WARN"
    ERROR = "ERROR"


@dataclass(frozen=True)
class AssetCheckResult:
    """What an ``@asset_check`` function returns (Dagster's ``AssetCheckResult``)."""

    passed: bool
    asset_key: AssetKey | None = None
    check_name: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR
    description: str | None = None

    def __init__(
        self,
        *,
        passed: bool,
        asset_key: CoercibleToAssetKey | None = None,
        check_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
        description: str | None = None,
    ) -> None:
        if not isinstance(severity, AssetCheckSeverity):
            raise InvalidDefinitionError(
                "AssetCheckResult: severity must be AssetCheckSeverity.WARN or ERROR"
            )
        object.__setattr__(self, "passed", bool(passed))
        object.__setattr__(self, "asset_key", _user_key(asset_key))
        object.__setattr__(self, "check_name", check_name)
        object.__setattr__(self, "metadata", dict(metadata or {}))
        object.__setattr__(self, "severity", severity)
        object.__setattr__(self, "description", description)
