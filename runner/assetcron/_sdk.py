"""The asset SDK users write code locations with: ``@asset``, ``Definitions``, context.

Modelled on Dagster's ``@asset`` / ``Definitions`` / ``AssetExecutionContext`` so that
asset code carries over with the least change. How an asset function's parameters are
bound (decided when the asset is defined, refined when ``Definitions`` is built):

* ``context`` (by name) receives the :class:`AssetExecutionContext`;
* a parameter annotated with a ``pydantic.BaseModel`` subclass receives this asset's
  ``ops.<op name>.config`` validated into that model (Dagster's typed ``Config``);
  ``config_schema=Model`` does the same and exposes it as ``context.config``;
* a parameter annotated with a ``ConfigurableResource`` subclass, or named in
  ``required_resource_keys``, or named after a resource of the ``Definitions`` while no
  asset has that key, receives the resource of that name;
* every other parameter is an upstream asset whose stored value is passed in: the key
  is the last part of a matching ``deps`` entry, or else the parameter name prefixed
  with the asset's ``key_prefix`` (Dagster's rule for inferred asset ins).

The op name used in run config is the key's parts joined by ``__`` (as in Dagster):
``AssetKey(["weather", "daily"])`` is configured under ``ops.weather__daily.config``.

Nothing here imports pydantic: an annotation can only be a ``BaseModel`` subclass when
the user's module imported pydantic already, so the check looks at ``sys.modules``.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import operator
import sys
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from inspect import CO_VARARGS, CO_VARKEYWORDS
from pathlib import Path
from types import FunctionType, MappingProxyType, SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar, overload

from assetcron._errors import InvalidDefinitionError, RunConfigError, did_you_mean
from assetcron._graph import AssetGraph, AssetKey, AssetNode, CoercibleToAssetKey

if TYPE_CHECKING:
    # Imported where used: a definition without partitions, retries or schedules (the
    # usual one) does not pay for loading them at each run's start
    # (benchmarks/startup.py). A value of one of these types means its module is loaded.
    from assetcron._partition_mappings import PartitionMapping
    from assetcron._partitions import PartitionsDefinition
    from assetcron._policy import RetryPolicy
    from assetcron._schedules import ScheduleDefinition, UnresolvedAssetJobDefinition

__all__ = [
    "AssetCheckExecutionContext",
    "AssetCheckKey",
    "AssetChecksDefinition",
    "AssetDep",
    "AssetExecutionContext",
    "AssetIn",
    "AssetSpec",
    "AssetsDefinition",
    "Definitions",
    "MultiAssetsDefinition",
    "OutputFormat",
    "asset",
    "asset_check",
    "multi_asset",
]

#: What ``deps`` lists: keys (``"a/b"`` has two parts) and asset definitions or specs.
CoercibleToAssetDep: TypeAlias = (
    "CoercibleToAssetKey | AssetsDefinition | MultiAssetsDefinition | AssetSpec | AssetDep"
)

#: How an asset's output is stored: Python pickle (any object) or JSON (plain data).
OutputFormat = Literal["pickle", "json"]

_CONTEXT_PARAM = "context"
#: The asset key of a context made by ``build_asset_context`` until it is passed to an
#: asset called directly.
UNBOUND_KEY = AssetKey("__unbound_asset__")
_T = TypeVar("_T")


def _is_resource_class(annotation: object) -> bool:
    """Whether ``annotation`` is a ``ConfigurableResource`` subclass (then the module
    defining it is loaded already)."""
    module = sys.modules.get("assetcron._configurable")
    if module is None or not isinstance(annotation, type):
        return False
    return issubclass(annotation, module.ConfigurableResource)


def _is_pydantic_model(annotation: object) -> bool:
    pydantic = sys.modules.get("pydantic")
    if pydantic is None or not isinstance(annotation, type):
        return False
    return issubclass(annotation, pydantic.BaseModel)


def op_name(key: AssetKey) -> str:
    """The Dagster op name of an asset: its key's parts joined by ``__``."""
    return "__".join(key.path)


@dataclass(frozen=True, init=False)
class AssetsDefinition:
    """One asset: its key, metadata, function and how the function's parameters bind.

    Made by :func:`asset`; users do not construct it. ``inputs`` maps parameter names
    to the upstream keys whose values are passed; ``deps`` holds every upstream key
    (inputs and non-argument ``deps``). Calling the definition calls the function
    directly (handy in unit tests of user code).

    A frozen dataclass with its own ``__init__`` (the fields' order and defaults, ``None``
    standing for an empty mapping): the generated one sets its 24 fields one
    ``object.__setattr__`` at a time; this one fills ``__dict__`` at once, which took
    162 ms (about 8 µs per asset) off ``assetcron asset list`` on a 20,000-asset code
    location on our 2-core machine (``benchmarks/selection.py --whole-process``'s
    location, alternating runs of both versions).
    """

    key: AssetKey
    fn: Callable[..., Any]
    deps: tuple[AssetKey, ...] = ()
    inputs: Mapping[str, AssetKey] = field(default_factory=dict)
    group_name: str = "default"
    tags: Mapping[str, str] = field(default_factory=dict)
    owners: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset()
    description: str | None = None
    config_model: type[Any] | None = None
    config_param: str | None = None
    context_param: str | None = None
    resource_params: tuple[str, ...] = ()
    required_resource_keys: frozenset[str] = frozenset()
    partitions_def: PartitionsDefinition | None = None
    #: ``AssetIn(partition_mapping=...)`` by upstream key (the default mapping otherwise).
    partition_mappings: Mapping[AssetKey, PartitionMapping] = field(default_factory=dict)
    #: Upstream keys whose ``AssetIn(metadata={"allow_missing_partitions": True})`` lets a
    #: partition that was never stored be left out (Dagster's UPath IO manager rule).
    allow_missing_partitions: frozenset[AssetKey] = frozenset()
    output_format: OutputFormat = "pickle"
    code_version: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    retry_policy: RetryPolicy | None = None
    #: The op name of a ``multi_asset`` (shared by its assets), else ``None``.
    op: str | None = None
    #: Every key of this asset's ``multi_asset``, in spec order (``()`` for ``@asset``).
    siblings: tuple[AssetKey, ...] = ()

    @property
    def op_name(self) -> str:
        """The name this asset is configured under in ``ops`` (Dagster's op name)."""
        return self.op or op_name(self.key)

    @property
    def keys(self) -> tuple[AssetKey, ...]:
        """The keys this definition materializes (Dagster's ``AssetsDefinition.keys``)."""
        return (self.key,)

    def __init__(
        self,
        key: AssetKey,
        fn: Callable[..., Any],
        *,
        deps: tuple[AssetKey, ...] = (),
        inputs: Mapping[str, AssetKey] | None = None,
        group_name: str = "default",
        tags: Mapping[str, str] | None = None,
        owners: tuple[str, ...] = (),
        kinds: frozenset[str] = frozenset(),
        description: str | None = None,
        config_model: type[Any] | None = None,
        config_param: str | None = None,
        context_param: str | None = None,
        resource_params: tuple[str, ...] = (),
        required_resource_keys: frozenset[str] = frozenset(),
        partitions_def: PartitionsDefinition | None = None,
        partition_mappings: Mapping[AssetKey, PartitionMapping] | None = None,
        allow_missing_partitions: frozenset[AssetKey] = frozenset(),
        output_format: OutputFormat = "pickle",
        code_version: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        retry_policy: RetryPolicy | None = None,
        op: str | None = None,
        siblings: tuple[AssetKey, ...] = (),
    ) -> None:
        vars(self).update(
            key=key,
            fn=fn,
            deps=deps,
            inputs={} if inputs is None else inputs,
            group_name=group_name,
            tags={} if tags is None else tags,
            owners=owners,
            kinds=kinds,
            description=description,
            config_model=config_model,
            config_param=config_param,
            context_param=context_param,
            resource_params=resource_params,
            required_resource_keys=required_resource_keys,
            partitions_def=partitions_def,
            partition_mappings={} if partition_mappings is None else partition_mappings,
            allow_missing_partitions=allow_missing_partitions,
            output_format=output_format,
            code_version=code_version,
            metadata={} if metadata is None else metadata,
            retry_policy=retry_policy,
            op=op,
            siblings=siblings,
        )
        self.__post_init__()

    def __post_init__(self) -> None:
        # The graph's view of this asset is fixed once it is defined: build (and
        # validate) it here, once, so Definitions over 100,000 assets does not rebuild
        # 100,000 nodes (benchmarks/selection.py). dataclasses.replace re-runs this.
        node = AssetNode._of(
            self.key,
            self.deps,
            group_name=self.group_name,
            tags=self.tags,
            owners=self.owners,
            kinds=self.kinds,
        )
        vars(self)["_node"] = node

    def node(self) -> AssetNode:
        """The :class:`AssetNode` the graph and the selection see."""
        node: AssetNode = self.__dict__["_node"]
        return node

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, AssetExecutionContext) and arg.asset_key == UNBOUND_KEY:
                # build_asset_context(): the context learns which asset it is given to.
                arg.asset_key = self.key
                arg.partitions_def = self.partitions_def
        return self.fn(*args, **kwargs)

    def validate_config(self, op_config: Mapping[str, Any] | None) -> Any:
        """Validate this asset's ``ops.<op>.config`` against its config model.

        Returns the model instance (or the plain mapping when the asset declares no
        model). Like Dagster, config is strict: a field the model does not declare (at
        any depth, unless the model itself allows extra fields) is an error, and so is
        config for an asset that can read none (no config model and no ``context``
        parameter, whose ``op_config`` is the untyped way in). Raises
        :class:`RunConfigError` naming the asset and the first bad field.
        """
        raw = dict(op_config or {})
        where = f"run config for asset {self.key.to_user_string()!r} (ops.{self.op_name}.config)"
        if self.config_model is None:
            if raw and self.context_param is None:
                raise RunConfigError(
                    f"{where}: the asset takes no config (no config model, no context), got"
                    f" field {sorted(raw)[0]!r}"
                )
            return raw
        from pydantic import ValidationError

        try:
            value = self.config_model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "<config>"
            raise RunConfigError(
                f"{where}: field {loc!r}: {first['msg']}"
                + (f" ({exc.error_count()} errors)" if exc.error_count() > 1 else "")
            ) from None
        if "assetcron._configurable" in sys.modules:  # a Config may hold EnvVar fields
            from assetcron._configurable import resolve_env_vars

            value = resolve_env_vars(value, where)
        unknown = unknown_fields(raw, value.model_dump(by_alias=True))
        if unknown:
            raise RunConfigError(f"{where}: unexpected field {unknown!r} (not in the config model)")
        return value


def unknown_fields(raw: Mapping[str, Any], kept: Mapping[str, Any], path: str = "") -> str | None:
    """The dotted path of the first key of ``raw`` that validation dropped, or ``None``.

    ``kept`` is the validated model dumped by alias: pydantic ignores undeclared fields
    by default, so a key of ``raw`` missing from ``kept`` was not declared (Dagster's
    "Received unexpected config entry"). Nested mappings are compared level by level.
    """
    for key, value in raw.items():
        here = f"{path}.{key}" if path else str(key)
        if key not in kept:
            return here
        inner = kept[key]
        if isinstance(value, Mapping) and isinstance(inner, Mapping):
            deeper = unknown_fields(value, inner, here)
            if deeper is not None:
                return deeper
    return None


def _coerce_strs(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _dep_key(dep: CoercibleToAssetKey | AssetsDefinition) -> AssetKey:
    if isinstance(dep, AssetsDefinition):
        return dep.key
    if isinstance(dep, str):
        # Dagster: deps=["a/b"] is a user string with parts; "a" is one part.
        return AssetKey.from_user_string(dep)
    return AssetKey.from_coercible(dep)


def _deps_keys(deps: Iterable[Any] | None) -> list[AssetKey]:
    """The keys of a ``deps`` list, in order (:func:`_dep_keys` of each entry); the
    usual entries, strings and keys, without the general dispatch."""
    out: list[AssetKey] = []
    for dep in deps or ():
        kind = type(dep)
        if kind is str:
            out.append(AssetKey.from_user_string(dep))
        elif kind is AssetKey:
            out.append(dep)
        else:
            out.extend(_dep_keys(dep))
    return out


def _docstring(fn: Callable[..., Any]) -> str | None:
    """``inspect.getdoc(fn)``. A function defined at module level without a docstring
    has none to inherit, so the search of classes for one (5 us per asset, cProfile) is
    skipped."""
    doc = getattr(fn, "__doc__", None)
    if isinstance(doc, str):
        if "\n" not in doc and "\t" not in doc and not doc[:1].isspace():
            return doc  # what cleandoc makes of one line without tabs or leading blanks
        return inspect.cleandoc(doc)
    if doc is None and type(fn) is FunctionType and "." not in fn.__qualname__:
        return None
    return inspect.getdoc(fn)


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to raw annotations
        return dict(getattr(fn, "__annotations__", {}))


#: Function attributes that make ``inspect.signature`` look past ``__code__``.
_SIGNATURE_OVERRIDES = frozenset(
    {"__wrapped__", "__signature__", "_partialmethod", "__partialmethod__"}
)


def _parameters(fn: Callable[..., Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(every parameter name, the names that can bind)`` of ``fn``, in signature
    order; ``*args`` and ``**kwargs`` are in the first and not in the second.

    A plain function (no ``__wrapped__``/``__signature__``) is read from its code
    object, which is what ``inspect.signature`` does for it at about twenty times the
    cost; 20,000 ``@asset`` definitions spent a fifth of their time there (cProfile,
    benchmarks/selection.py). Anything else goes through ``inspect.signature``.
    """
    if type(fn) is FunctionType and not _SIGNATURE_OVERRIDES.intersection(fn.__dict__):
        code = fn.__code__
        flags, names = code.co_flags, code.co_varnames
        positional, count = code.co_argcount, code.co_argcount + code.co_kwonlyargcount
        bindable = names[:count]
        if not flags & (CO_VARARGS | CO_VARKEYWORDS):
            return bindable, bindable
        star = (names[count],) if flags & CO_VARARGS else ()
        stars = (names[count + len(star)],) if flags & CO_VARKEYWORDS else ()
        return names[:positional] + star + names[positional:count] + stars, bindable
    params = inspect.signature(fn).parameters.values()
    var = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return tuple(p.name for p in params), tuple(p.name for p in params if p.kind not in var)


def _annotation_hints(fn: Callable[..., Any], names: Iterable[str]) -> Mapping[str, Any]:
    """The evaluated annotations (``typing.get_type_hints``, raw ones if that fails) of
    ``fn``, where binding can use them: for the parameters ``names``.

    Binding asks of an annotation only whether it is a ``ConfigurableResource`` or a
    pydantic model class, which it cannot be before pydantic is imported (see the module
    docstring). So the hints are evaluated only when one of ``names`` is annotated and
    pydantic is loaded: evaluating string annotations (``from __future__ import
    annotations``) compiles each one, which cost 25 us per asset (cProfile).
    """
    if "pydantic" not in sys.modules and "assetcron._configurable" not in sys.modules:
        return {}
    annotations = getattr(fn, "__annotations__", None) or {}
    if not any(name in annotations for name in names):
        return {}
    return _type_hints(fn)


@dataclass(frozen=True, init=False)
class AssetIn:
    """Where an asset parameter's value comes from (Dagster's ``AssetIn``):
    ``ins={"orders": AssetIn("raw/orders")}`` passes asset ``raw/orders`` as parameter
    ``orders``. ``key`` (a string is a user string: ``"a/b"`` has two parts, as in
    ``deps``) or ``key_prefix`` (then the key is ``[*key_prefix, parameter name]``).
    ``partition_mapping`` picks the upstream partitions a downstream partition reads
    (:mod:`assetcron._partition_mappings`; Dagster's default when None).
    ``input_manager_key`` and ``dagster_type`` are refused: a value is read from the
    run's storage, as stored.
    """

    key: AssetKey | None
    metadata: Mapping[str, Any]
    key_prefix: tuple[str, ...] | None
    partition_mapping: PartitionMapping | None

    def __init__(  # noqa: PLR0917 - Dagster's signature
        self,
        key: CoercibleToAssetKey | None = None,
        metadata: Mapping[str, Any] | None = None,
        key_prefix: str | Sequence[str] | None = None,
        input_manager_key: str | None = None,
        partition_mapping: object | None = None,
        dagster_type: object | None = None,
    ) -> None:
        if key is not None and key_prefix is not None:
            raise InvalidDefinitionError("AssetIn: give key or key_prefix, not both")
        if input_manager_key is not None:
            raise InvalidDefinitionError(
                "AssetIn(input_manager_key=...) is not supported: inputs are read from the"
                " run's storage (--storage / ASSETCRON_STORAGE)"
            )
        if partition_mapping is not None and not _is_partition_mapping(partition_mapping):
            raise InvalidDefinitionError(
                "AssetIn(partition_mapping=...) must be an assetcron PartitionMapping"
                " (IdentityPartitionMapping, TimeWindowPartitionMapping, AllPartitionMapping,"
                f" LastPartitionMapping), got {type(partition_mapping).__name__}"
            )
        object.__setattr__(self, "partition_mapping", partition_mapping)
        object.__setattr__(self, "metadata", MappingProxyType(dict(metadata or {})))
        if dagster_type is not None:
            raise InvalidDefinitionError(
                "AssetIn(dagster_type=...) is not supported: annotate the parameter instead"
            )
        object.__setattr__(self, "key", None if key is None else _dep_key(key))
        object.__setattr__(self, "metadata", MappingProxyType(dict(metadata or {})))
        object.__setattr__(
            self, "key_prefix", None if key_prefix is None else _coerce_strs(key_prefix)
        )


#: Dagster ``@asset`` parameters assetcron refuses, and why (with what to use instead).
_REFUSED: dict[str, str] = {
    "resource_defs": "give resources to Definitions(resources=...)",
    "hooks": "hooks are not supported (do follow-up work in a downstream asset)",
    "io_manager_def": (
        "storage is configured per run by --storage / ASSETCRON_STORAGE (a directory or"
        " an s3://, gs:// or az:// URI); output_format='pickle'|'json' picks the format"
    ),
    "dagster_type": "type checks are not supported (validate in the asset or an @asset_check)",
    "op_tags": "pod settings (resources, node selector, ...) go on the AssetJob's template",
    "automation_condition": (
        "assetcron runs assets on schedules (define_asset_job + ScheduleDefinition)"
    ),
    "freshness_policy": "freshness is not tracked (check recency in an @asset_check)",
    "backfill_policy": (
        "a run materializes one partition: backfill with one run per partition"
        " (assetcron asset materialize --partition-key)"
    ),
    "check_specs": "define each check with @asset_check(asset=...)",
    "pool": "run concurrency is set by the AssetSchedule's concurrencyPolicy",
}


def _refuse_options(where: str, options: Mapping[str, Any]) -> None:
    """Raise for the first refused Dagster option that was given (see ``_REFUSED``)."""
    if not options:
        return
    for option, why in _REFUSED.items():
        if options.get(option):
            raise InvalidDefinitionError(f"{where}: {option} is not supported: {why}")
    if options.get("is_virtual"):
        raise InvalidDefinitionError(
            f"{where}: is_virtual is not supported: every assetcron asset is materialized"
        )
    if options.get("output_required") is False:
        raise InvalidDefinitionError(
            f"{where}: output_required=False is not supported: an asset stores a value (or"
            " returns MaterializeResult) on every run"
        )
    io_manager_key = options.get("io_manager_key")
    if io_manager_key not in (None, "io_manager"):
        raise InvalidDefinitionError(
            f"{where}: io_manager_key={io_manager_key!r} is not supported: "
            + _REFUSED["io_manager_def"]
        )


def _kinds(kinds: Iterable[str] | None, compute_kind: str | None, where: str) -> frozenset[str]:
    if compute_kind is not None and kinds:
        raise InvalidDefinitionError(f"{where}: give kinds or compute_kind, not both")
    if compute_kind is not None:
        return frozenset({compute_kind})  # Dagster's deprecated spelling of one kind
    return frozenset(_coerce_strs(kinds))


@dataclass
class _Binding:
    """How a function's parameters bind (see the module docstring)."""

    inputs: dict[str, AssetKey]
    resource_params: list[str]
    context_param: str | None
    config_param: str | None
    config_model: type[Any] | None
    mappings: dict[AssetKey, PartitionMapping] = field(default_factory=dict)
    allow_missing: set[AssetKey] = field(default_factory=set)


def _bind(
    fn: Callable[..., Any],
    *,
    where: str,
    prefix: tuple[str, ...],
    explicit_deps: Sequence[AssetKey],
    ins: Mapping[str, AssetIn] | None,
    resource_keys: frozenset[str],
    config_schema: type[Any] | None,
) -> _Binding:
    if config_schema is not None and not _is_pydantic_model(config_schema):
        raise InvalidDefinitionError(f"{where}: config_schema must be a pydantic BaseModel class")
    b = _Binding({}, [], None, None, config_schema)
    every, bindable = _parameters(fn)
    if not every and not ins:
        return b  # nothing to bind (no hints to read either)
    by_last_part = {d.path[-1]: d for d in explicit_deps}
    ins_map = dict(ins or {})
    for name, spec in ins_map.items():
        if name not in every:
            raise InvalidDefinitionError(
                f"{where}: ins names {name!r}, which is not a parameter of the function"
            )
        if not isinstance(spec, AssetIn):
            raise InvalidDefinitionError(f"{where}: ins[{name!r}] must be an AssetIn")
    hints = _annotation_hints(fn, (n for n in bindable if n not in ins_map and n != _CONTEXT_PARAM))
    for name in bindable:
        annotation = hints.get(name)
        if name in ins_map:
            spec = ins_map[name]
            b.inputs[name] = spec.key or AssetKey(
                [*(spec.key_prefix if spec.key_prefix is not None else prefix), name]
            )
            if spec.partition_mapping is not None:
                b.mappings[b.inputs[name]] = spec.partition_mapping
            if spec.metadata.get("allow_missing_partitions"):
                b.allow_missing.add(b.inputs[name])
        elif name == _CONTEXT_PARAM:
            b.context_param = name
        elif name in resource_keys or (annotation is not None and _is_resource_class(annotation)):
            b.resource_params.append(name)  # Dagster binds resources by annotation too
        elif annotation is not None and _is_pydantic_model(annotation):
            if b.config_param is not None:
                raise InvalidDefinitionError(f"{where}: more than one config parameter")
            if config_schema is not None and annotation is not config_schema:
                raise InvalidDefinitionError(
                    f"{where}: config parameter {name!r} does not match config_schema"
                )
            b.config_param, b.config_model = name, annotation
        elif name in by_last_part:
            b.inputs[name] = by_last_part[name]
        else:
            b.inputs[name] = AssetKey([*prefix, name]) if prefix else AssetKey(name)
    return b


def _asset_key(
    fn: Callable[..., Any],
    name: str | None,
    key: CoercibleToAssetKey | None,
    prefix: tuple[str, ...],
) -> AssetKey:
    if key is not None:
        if name is not None or prefix:
            raise InvalidDefinitionError("@asset: pass either key or name/key_prefix, not both")
        return AssetKey.from_coercible(key)
    part = name or fn.__name__
    if not prefix and type(part) is str:
        return AssetKey(part)  # one part: AssetKey's fast path
    return AssetKey([*prefix, part])


def _check_common(
    where: str,
    output_format: str,
    partitions_def: object,
    retry_policy: object,
) -> None:
    if output_format not in ("pickle", "json"):
        raise InvalidDefinitionError(f"{where}: output_format must be 'pickle' or 'json'")
    if partitions_def is not None:
        from assetcron._partitions import PartitionsDefinition

        if not isinstance(partitions_def, PartitionsDefinition):
            raise InvalidDefinitionError(
                f"{where}: partitions_def must be an assetcron partitions definition (Hourly,"
                " Daily, Weekly, Monthly, TimeWindow or Static; dynamic and multi partitions"
                f" are not supported), got {type(partitions_def).__name__}"
            )
    if retry_policy is not None:
        from assetcron._policy import RetryPolicy

        if not isinstance(retry_policy, RetryPolicy):
            raise InvalidDefinitionError(f"{where}: retry_policy must be a RetryPolicy")


def _is_partition_mapping(value: object) -> bool:
    """Whether ``value`` is an assetcron :class:`PartitionMapping` (imported here, not
    at module level: see the ``TYPE_CHECKING`` imports)."""
    from assetcron._partition_mappings import PartitionMapping

    return isinstance(value, PartitionMapping)


def _build(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: str | Sequence[str] | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[CoercibleToAssetDep] | None = None,
    metadata: Mapping[str, Any] | None = None,
    group_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    owners: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    compute_kind: str | None = None,
    description: str | None = None,
    config_schema: type[Any] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    required_resource_keys: Iterable[str] | None = None,
    retry_policy: RetryPolicy | None = None,
    output_format: OutputFormat = "pickle",
    code_version: str | None = None,
    **refused: Any,
) -> AssetsDefinition:
    if not callable(fn):
        raise InvalidDefinitionError(f"@asset expects a function, got {fn!r}")
    prefix = _coerce_strs(key_prefix)
    asset_key = _asset_key(fn, name, key, prefix)
    where = f"asset {asset_key.to_user_string()!r}"
    _refuse_options(where, refused)
    _check_common(where, output_format, partitions_def, retry_policy)
    explicit_deps = _deps_keys(deps)
    resource_keys = frozenset(_coerce_strs(required_resource_keys))
    b = _bind(
        fn,
        where=where,
        prefix=prefix,
        explicit_deps=explicit_deps,
        ins=ins,
        resource_keys=resource_keys,
        config_schema=config_schema,
    )
    joined = [*explicit_deps, *b.inputs.values()] if b.inputs else explicit_deps
    paths = [dep.path for dep in joined]
    if asset_key.path in paths:
        raise InvalidDefinitionError(f"{where} depends on itself")
    # Duplicates (first kept) looked for by path: a tuple of str hashes in C, where
    # AssetKey's __hash__ is a Python call (3 per asset, benchmarks/selection.py).
    all_deps = tuple(joined if len(set(paths)) == len(paths) else dict.fromkeys(joined))
    return AssetsDefinition(
        key=asset_key,
        fn=fn,
        deps=all_deps,
        inputs=MappingProxyType(b.inputs),
        group_name=group_name or "default",
        tags=MappingProxyType(dict(tags or {})),
        owners=_coerce_strs(owners),
        kinds=_kinds(kinds, compute_kind, where),
        description=description if description is not None else _docstring(fn),
        config_model=b.config_model,
        config_param=b.config_param,
        context_param=b.context_param,
        resource_params=tuple(b.resource_params),
        required_resource_keys=resource_keys | set(b.resource_params),
        partitions_def=partitions_def,
        partition_mappings=MappingProxyType(_partition_mappings(deps, b.mappings)),
        allow_missing_partitions=frozenset(b.allow_missing),
        output_format=output_format,
        code_version=code_version,
        metadata=MappingProxyType(dict(metadata or {})),
        retry_policy=retry_policy,
    )


@overload
def asset(fn: Callable[..., Any], /) -> AssetsDefinition: ...


@overload
def asset(
    *,
    name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[CoercibleToAssetDep] | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    config_schema: type[Any] | None = None,
    required_resource_keys: Iterable[str] | None = None,
    resource_defs: Mapping[str, object] | None = None,
    hooks: object | None = None,
    io_manager_def: object | None = None,
    io_manager_key: str | None = None,
    dagster_type: object | None = None,
    partitions_def: PartitionsDefinition | None = None,
    op_tags: Mapping[str, Any] | None = None,
    group_name: str | None = None,
    output_required: bool = True,
    automation_condition: object | None = None,
    freshness_policy: object | None = None,
    backfill_policy: object | None = None,
    retry_policy: RetryPolicy | None = None,
    code_version: str | None = None,
    key: CoercibleToAssetKey | None = None,
    check_specs: Sequence[object] | None = None,
    owners: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    pool: str | None = None,
    is_virtual: bool = False,
    compute_kind: str | None = None,
    output_format: OutputFormat = "pickle",
) -> Callable[[Callable[..., Any]], AssetsDefinition]: ...


def asset(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[CoercibleToAssetDep] | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    config_schema: type[Any] | None = None,
    required_resource_keys: Iterable[str] | None = None,
    resource_defs: Mapping[str, object] | None = None,
    hooks: object | None = None,
    io_manager_def: object | None = None,
    io_manager_key: str | None = None,
    dagster_type: object | None = None,
    partitions_def: PartitionsDefinition | None = None,
    op_tags: Mapping[str, Any] | None = None,
    group_name: str | None = None,
    output_required: bool = True,
    automation_condition: object | None = None,
    freshness_policy: object | None = None,
    backfill_policy: object | None = None,
    retry_policy: RetryPolicy | None = None,
    code_version: str | None = None,
    key: CoercibleToAssetKey | None = None,
    check_specs: Sequence[object] | None = None,
    owners: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    pool: str | None = None,
    is_virtual: bool = False,
    compute_kind: str | None = None,
    output_format: OutputFormat = "pickle",
) -> AssetsDefinition | Callable[[Callable[..., Any]], AssetsDefinition]:
    """Define an asset from a function, as Dagster's ``@asset`` (bare or with arguments).

    The key is ``key`` or ``[*key_prefix, name or fn.__name__]``. ``deps`` lists
    upstream assets whose values are not passed (strings are user strings, ``"a/b"``
    has two parts; ``AssetsDefinition`` objects are accepted); ``ins`` maps parameters
    to the assets passed in (:class:`AssetIn`). ``group_name`` defaults to
    ``"default"``; ``description`` to the docstring; ``metadata`` is free-form
    definition metadata; ``compute_kind`` is Dagster's older spelling of one of
    ``kinds``. ``output_format`` (assetcron's) picks how the returned value is stored
    (``"pickle"`` default, or ``"json"``). ``code_version`` (Dagster's): a stored value
    is reused only while it stays the same; without it any change to the code
    location's Python files recomputes the asset. ``retry_policy``
    (:class:`~assetcron.RetryPolicy`) retries the function in the run's process.
    Parameter binding is described in the module docstring. The function may return
    its value, ``Output(value, metadata=...)`` or ``MaterializeResult(metadata=...)``.
    Programmatic use: ``asset(name="a1", deps=["a0"], group_name="g")(fn)``.

    Refused with the reason and what to use: ``io_manager_key`` other than
    ``"io_manager"`` and ``io_manager_def`` (storage is per run: ``--storage`` /
    ``ASSETCRON_STORAGE``), ``resource_defs``, ``hooks``, ``dagster_type``,
    ``op_tags``, ``automation_condition``, ``freshness_policy``, ``backfill_policy``,
    ``check_specs``, ``pool``, ``is_virtual``, ``output_required=False``, dynamic and
    multi partitions (``partitions_def`` is any :class:`PartitionsDefinition`).

    Raises :class:`InvalidDefinitionError` for an inconsistent or refused definition.
    """
    options: dict[str, Any] = {
        "name": name,
        "key": key,
        "key_prefix": key_prefix,
        "ins": ins,
        # Read twice (keys, then AssetDep partition mappings), and per decorated function.
        "deps": _reiterable(deps),
        "metadata": metadata,
        "group_name": group_name,
        "tags": tags,
        "owners": owners,
        "kinds": kinds,
        "compute_kind": compute_kind,
        "description": description,
        "config_schema": config_schema,
        "partitions_def": partitions_def,
        "required_resource_keys": required_resource_keys,
        "retry_policy": retry_policy,
        "output_format": output_format,
        "code_version": code_version,
    }
    # Refused unless left at their defaults (see _REFUSED); only those given are passed.
    # Usually none is, and these tests skip building a dict of 13 per asset.
    if (
        resource_defs is not None
        or hooks is not None
        or io_manager_def is not None
        or io_manager_key is not None
        or dagster_type is not None
        or op_tags is not None
        or not output_required
        or automation_condition is not None
        or freshness_policy is not None
        or backfill_policy is not None
        or check_specs is not None
        or pool is not None
        or is_virtual
    ):
        refused = {
            "resource_defs": resource_defs,
            "hooks": hooks,
            "io_manager_def": io_manager_def,
            "io_manager_key": None if io_manager_key == "io_manager" else io_manager_key,
            "dagster_type": dagster_type,
            "op_tags": op_tags,
            "output_required": None if output_required else False,
            "automation_condition": automation_condition,
            "freshness_policy": freshness_policy,
            "backfill_policy": backfill_policy,
            "check_specs": check_specs,
            "pool": pool,
            "is_virtual": is_virtual or None,
        }
        options.update({k: v for k, v in refused.items() if v is not None})
    if fn is not None:
        return _build(fn, **options)

    def decorator(f: Callable[..., Any]) -> AssetsDefinition:
        return _build(f, **options)

    return decorator


@dataclass(frozen=True, init=False)
class AssetSpec:
    """One asset of a ``multi_asset`` (Dagster's ``AssetSpec``): its key (a string is a
    user string, ``"a/b"`` has two parts) and metadata.

    An ``AssetSpec`` on its own (an external asset, which something outside assetcron
    materializes) is refused by ``Definitions``; ``skippable``, ``automation_condition``,
    ``freshness_policy`` and ``is_virtual`` are refused too.
    """

    key: AssetKey
    deps: tuple[AssetKey, ...]
    description: str | None
    metadata: Mapping[str, Any]
    group_name: str | None
    code_version: str | None
    owners: tuple[str, ...]
    tags: Mapping[str, str]
    kinds: frozenset[str]
    partitions_def: PartitionsDefinition | None

    def __init__(
        self,
        key: CoercibleToAssetKey,
        *,
        deps: Iterable[Any] | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        skippable: bool = False,
        group_name: str | None = None,
        code_version: str | None = None,
        automation_condition: object | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: Iterable[str] | None = None,
        partitions_def: PartitionsDefinition | None = None,
        freshness_policy: object | None = None,
        is_virtual: bool = False,
    ) -> None:
        spec_key = _dep_key(key)
        where = f"AssetSpec {spec_key.to_user_string()!r}"
        if skippable:
            raise InvalidDefinitionError(
                f"{where}: skippable is not supported: every asset of a multi_asset is stored"
                " on every run (split the multi_asset)"
            )
        _refuse_options(
            where,
            {
                "automation_condition": automation_condition,
                "freshness_policy": freshness_policy,
                "is_virtual": is_virtual,
            },
        )
        _check_common(where, "pickle", partitions_def, None)
        object.__setattr__(self, "key", spec_key)
        object.__setattr__(self, "deps", tuple(_deps_keys(deps)))
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "metadata", MappingProxyType(dict(metadata or {})))
        object.__setattr__(self, "group_name", group_name)
        object.__setattr__(self, "code_version", code_version)
        object.__setattr__(self, "owners", tuple(owners or ()))
        object.__setattr__(self, "tags", MappingProxyType(dict(tags or {})))
        object.__setattr__(self, "kinds", frozenset(_coerce_strs(kinds)))
        object.__setattr__(self, "partitions_def", partitions_def)

    def replace_attributes(self, **changes: Any) -> AssetSpec:
        """A copy with some attributes replaced (Dagster's ``replace_attributes``)."""
        current: dict[str, Any] = {
            "deps": self.deps,
            "description": self.description,
            "metadata": self.metadata,
            "group_name": self.group_name,
            "code_version": self.code_version,
            "owners": self.owners,
            "tags": self.tags,
            "kinds": self.kinds,
            "partitions_def": self.partitions_def,
        }
        key = changes.pop("key", self.key)
        unknown = sorted(set(changes) - set(current))
        if unknown:
            raise InvalidDefinitionError(f"AssetSpec.replace_attributes: unknown {unknown[0]!r}")
        return AssetSpec(key, **{**current, **changes})


class MultiAssetsDefinition:
    """The assets one function materializes together (what ``multi_asset`` returns;
    Dagster's ``AssetsDefinition`` with several keys). ``Definitions(assets=...)`` and
    selections take it as its assets; calling it calls the function."""

    def __init__(self, op_name: str, fn: Callable[..., Any], assets: Sequence[AssetsDefinition]):
        self.op_name = op_name
        self.fn = fn
        self.assets: tuple[AssetsDefinition, ...] = tuple(assets)

    @property
    def keys(self) -> tuple[AssetKey, ...]:
        """The keys of its assets, in spec order."""
        return tuple(a.key for a in self.assets)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        keys = ", ".join(k.to_user_string() for k in self.keys)
        return f"MultiAssetsDefinition({self.op_name!r}: {keys})"


@dataclass(frozen=True, init=False)
class AssetDep:
    """A dependency whose value the asset does not take (Dagster's ``AssetDep``):
    ``deps=[AssetDep("raw", partition_mapping=TimeWindowPartitionMapping(start_offset=-1))]``.
    ``asset`` is a key, an asset definition or an ``AssetSpec`` of one asset. The
    mapping is checked when ``Definitions`` is built like an ``AssetIn``'s; since no
    value is read, it does not change what a run does (an assetcron run orders and
    skips by dependency, not by partition)."""

    asset_key: AssetKey
    partition_mapping: PartitionMapping | None
    metadata: Mapping[str, Any]

    def __init__(
        self,
        asset: Any,
        *,
        partition_mapping: PartitionMapping | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        keys = _dep_keys(asset)
        if len(keys) != 1:
            raise InvalidDefinitionError(
                f"AssetDep({asset!r}): give one asset (this definition has {len(keys)})"
            )
        if partition_mapping is not None and not _is_partition_mapping(partition_mapping):
            raise InvalidDefinitionError(
                "AssetDep(partition_mapping=...) must be an assetcron PartitionMapping, got"
                f" {type(partition_mapping).__name__}"
            )
        object.__setattr__(self, "asset_key", keys[0])
        object.__setattr__(self, "partition_mapping", partition_mapping)


def _reiterable(deps: Iterable[Any] | None) -> Sequence[Any] | None:
    """``deps`` as a list or tuple, so that a generator is not used up by its first
    reading (the keys) and its ``AssetDep`` partition mappings lost by the second."""
    if deps is None or isinstance(deps, list | tuple):
        return deps
    return list(deps)


#: ``deps`` entries that carry no partition mapping (the usual ones).
_PLAIN_DEPS = frozenset({str, AssetKey})


def _partition_mappings(
    deps: Iterable[Any] | None, ins: Mapping[AssetKey, PartitionMapping]
) -> dict[AssetKey, PartitionMapping]:
    """Upstream key to partition mapping: those of the ``AssetDep`` entries of ``deps``,
    then those of ``ins`` (``AssetIn(partition_mapping=...)``), which win for a key
    given both ways."""
    if not deps or set(map(type, deps)) <= _PLAIN_DEPS:
        return dict(ins)  # the usual deps=["a", "b"]: no AssetDep
    return {
        **{
            d.asset_key: d.partition_mapping
            for d in deps
            if isinstance(d, AssetDep) and d.partition_mapping is not None
        },
        **ins,
    }


def _dep_keys(dep: Any) -> tuple[AssetKey, ...]:
    """The keys a ``deps`` entry stands for (a definition of several assets: all)."""
    if isinstance(dep, AssetDep):
        return (dep.asset_key,)
    if isinstance(dep, MultiAssetsDefinition):
        return dep.keys
    if isinstance(dep, AssetSpec):
        return (dep.key,)
    return (_dep_key(dep),)


def multi_asset(
    *,
    outs: Mapping[str, object] | None = None,
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[Any] | None = None,
    description: str | None = None,
    config_schema: type[Any] | None = None,
    required_resource_keys: Iterable[str] | None = None,
    internal_asset_deps: Mapping[str, object] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    hooks: object | None = None,
    backfill_policy: object | None = None,
    op_tags: Mapping[str, Any] | None = None,
    can_subset: bool = False,
    resource_defs: Mapping[str, object] | None = None,
    group_name: str | None = None,
    retry_policy: RetryPolicy | None = None,
    code_version: str | None = None,
    specs: Sequence[AssetSpec] | None = None,
    check_specs: Sequence[object] | None = None,
    pool: str | None = None,
    output_format: OutputFormat = "pickle",
) -> Callable[[Callable[..., Any]], MultiAssetsDefinition]:
    """Several assets made by one function call (Dagster's ``@multi_asset(specs=...)``).

    The function's parameters bind as ``@asset``'s; it returns (or yields) one
    ``MaterializeResult(asset_key=..., value=...)`` or ``Output(value,
    output_name="<key joined by __>")`` per spec, or a tuple of values in spec order.
    Every asset depends on all of ``deps``, the specs' ``deps`` and the inputs (the
    function runs once, after all of them). Run config is ``ops.<name>.config``
    (``name`` defaults to the function's). A run selecting only some of the assets
    calls the function and stores those (``context.selected_asset_keys``; with
    ``can_subset=True`` the function may give only those). ``group_name``,
    ``code_version`` and ``partitions_def`` apply to specs without their own.

    Refused with the reason: ``outs`` (give ``specs=[AssetSpec(...)]``),
    ``internal_asset_deps``, ``check_specs`` and the ``@asset`` options it refuses.
    """
    where = f"multi_asset {name!r}" if name else "multi_asset"
    if outs:
        raise InvalidDefinitionError(
            f"{where}: outs is not supported: give specs=[AssetSpec(key, ...)]; an Output's"
            " output_name is its key joined by '__'"
        )
    if internal_asset_deps:
        raise InvalidDefinitionError(
            f"{where}: internal_asset_deps is not supported: every asset of a multi_asset"
            " depends on all its inputs (split it for finer lineage)"
        )
    _refuse_options(
        where,
        {
            "hooks": hooks,
            "backfill_policy": backfill_policy,
            "op_tags": op_tags,
            "resource_defs": resource_defs,
            "check_specs": check_specs,
            "pool": pool,
        },
    )
    deps = _reiterable(deps)
    listed = list(specs or ())
    if not listed:
        raise InvalidDefinitionError(f"{where}: give specs=[AssetSpec(key, ...), ...]")
    for spec in listed:
        if not isinstance(spec, AssetSpec):
            raise InvalidDefinitionError(f"{where}: specs must be AssetSpec objects, got {spec!r}")

    def decorator(fn: Callable[..., Any]) -> MultiAssetsDefinition:
        if not callable(fn):
            raise InvalidDefinitionError(f"@multi_asset expects a function, got {fn!r}")
        op = name or fn.__name__
        here = f"multi_asset {op!r}"
        _check_common(here, output_format, partitions_def, retry_policy)
        keys = tuple(s.key for s in listed)
        if len(set(keys)) != len(keys):
            raise InvalidDefinitionError(f"{here}: two specs have the same key")
        parts = {s.partitions_def or partitions_def for s in listed}
        if len(parts) > 1:
            raise InvalidDefinitionError(
                f"{here}: its specs have different partitions definitions (one run writes one"
                " partition)"
            )
        explicit = [k for d in (deps or ()) for k in _dep_keys(d)]
        resource_keys = frozenset(_coerce_strs(required_resource_keys))
        b = _bind(
            fn,
            where=here,
            prefix=(),
            explicit_deps=explicit,
            ins=ins,
            resource_keys=resource_keys,
            config_schema=config_schema,
        )
        spec_deps = [k for s in listed for k in s.deps]
        all_deps = tuple(dict.fromkeys([*explicit, *spec_deps, *b.inputs.values()]))
        inside = sorted(k.to_user_string() for k in set(all_deps) & set(keys))
        if inside:
            raise InvalidDefinitionError(f"{here}: depends on its own asset {inside[0]!r}")
        members = [
            AssetsDefinition(
                key=s.key,
                fn=fn,
                deps=all_deps,
                inputs=MappingProxyType(dict(b.inputs)),
                group_name=s.group_name or group_name or "default",
                tags=s.tags,
                owners=s.owners,
                kinds=s.kinds,
                description=s.description or description or _docstring(fn),
                config_model=b.config_model,
                config_param=b.config_param,
                context_param=b.context_param,
                resource_params=tuple(b.resource_params),
                required_resource_keys=resource_keys | set(b.resource_params),
                partitions_def=s.partitions_def or partitions_def,
                partition_mappings=MappingProxyType(_partition_mappings(deps, b.mappings)),
                allow_missing_partitions=frozenset(b.allow_missing),
                output_format=output_format,
                code_version=s.code_version or code_version,
                metadata=s.metadata,
                retry_policy=retry_policy,
                op=op,
                siblings=keys,
            )
            for s in listed
        ]
        return MultiAssetsDefinition(op, fn, members)

    return decorator


_NODE = operator.attrgetter("_node")  # AssetsDefinition.node(), without a call per asset
_KEY = operator.attrgetter("key")
_REQUIRES_RESOURCES = operator.attrgetter("required_resource_keys")


class Definitions:
    """A code location's assets, resources, jobs and schedules (Dagster's ``Definitions``).

    Builds the :class:`AssetGraph` at construction, so a duplicate key, a dependency on
    an undefined asset (:class:`InvalidDefinitionError`) or a cycle
    (:class:`DependencyCycleError`, naming it) is rejected when the module is loaded.
    A parameter that names no asset but names a resource is bound to that resource.
    Raises :class:`InvalidDefinitionError` when an asset requires a resource that is
    not provided.

    ``jobs`` (from ``define_asset_job``) and ``schedules`` (``ScheduleDefinition``,
    ``@schedule``) are checked too: names are unique, every job's selection resolves
    against the assets (unknown keys with a "did you mean" hint) to assets sharing one
    partitions definition, a schedule's job is in ``jobs`` (a job given to a schedule as
    an object is added, as in Dagster) and its required resources exist.

    Refused, with what to use instead: ``sensors`` (no long-running daemon: use a
    schedule whose function returns ``SkipReason``), ``executor`` (one run is one pod)
    and ``loggers`` (runs log to the pod's stderr).
    """

    def __init__(  # noqa: PLR0917 - Dagster's signature, positional parameters included
        self,
        assets: Iterable[
            AssetsDefinition | MultiAssetsDefinition | AssetSpec | AssetChecksDefinition
        ]
        | None = None,
        schedules: Iterable[ScheduleDefinition] | None = None,
        sensors: Iterable[Any] | None = None,
        jobs: Iterable[UnresolvedAssetJobDefinition] | None = None,
        resources: Mapping[str, Any] | None = None,
        executor: object | None = None,
        loggers: Mapping[str, Any] | None = None,
        asset_checks: Iterable[AssetChecksDefinition] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if sensors:
            raise InvalidDefinitionError(
                "Definitions(sensors=...) is not supported: assetcron has no long-running"
                " daemon to poll sensors; use a ScheduleDefinition whose function returns"
                " RunRequest or SkipReason on each tick"
            )
        if executor is not None:
            raise InvalidDefinitionError(
                "Definitions(executor=...) is not supported: each run is one Kubernetes pod"
                " (set its resources on the AssetJob's template)"
            )
        if loggers:
            raise InvalidDefinitionError(
                "Definitions(loggers=...) is not supported: runs log to the pod's stderr"
                " (context.log is a logging.Logger)"
            )
        self.resources: Mapping[str, Any] = MappingProxyType(dict(resources or {}))
        self.metadata: Mapping[str, Any] = MappingProxyType(dict(metadata or {}))
        #: Content hash of the code location's source, set by the loader
        #: (:func:`assetcron._identity.code_location_version`); the code version of assets
        #: without their own ``code_version``. ``None`` for Definitions built in code.
        self.code_location_version: str | None = None
        listed: list[AssetsDefinition] = []
        checks = list(asset_checks or ())
        for item in assets or ():
            if isinstance(item, AssetsDefinition):
                listed.append(item)
            elif isinstance(item, MultiAssetsDefinition):
                listed.extend(item.assets)
            elif isinstance(item, AssetChecksDefinition):
                checks.append(item)  # Dagster accepts checks among the assets too
            elif isinstance(item, AssetSpec):
                raise InvalidDefinitionError(
                    f"Definitions(assets=...): AssetSpec {item.key.to_user_string()!r} alone"
                    " declares an external asset, which assetcron cannot materialize; define it"
                    " with @asset, or give it to multi_asset(specs=[...])"
                )
            else:
                raise InvalidDefinitionError(
                    f"Definitions(assets=...) expects @asset definitions, got {item!r}"
                )
        if self.resources:
            defined = {a.key for a in listed}
            bound = [self._bind_resources(a, defined) for a in listed]
        else:  # nothing to bind; an asset that requires a resource is an error
            bound = listed
            for a in filter(_REQUIRES_RESOURCES, listed):
                self._bind_resources(a, set())  # raises
        # Duplicate keys would collapse in the mapping: the graph reports them first.
        self.graph: AssetGraph = AssetGraph.build(map(_NODE, bound))
        self.assets: Mapping[AssetKey, AssetsDefinition] = MappingProxyType(
            dict(zip(map(_KEY, bound), bound, strict=True))
        )
        for a in self.assets.values():
            for up, mapping in a.partition_mappings.items():
                from assetcron._partition_mappings import check_partition_mapping

                check_partition_mapping(
                    mapping,
                    a.partitions_def,
                    self.assets[up].partitions_def if up in self.assets else None,
                    f"asset {a.key.to_user_string()!r}, input {up.to_user_string()!r}",
                )
        self.asset_checks: Mapping[AssetCheckKey, AssetChecksDefinition] = MappingProxyType({})
        self._checks_by_asset: dict[AssetKey, tuple[AssetChecksDefinition, ...]] = {}
        if checks:
            self._add_checks(checks)
        self.jobs: Mapping[str, UnresolvedAssetJobDefinition] = MappingProxyType({})
        self.schedules: Mapping[str, ScheduleDefinition] = MappingProxyType({})
        self._job_plans: dict[str, list[AssetKey]] = {}
        if jobs or schedules:
            self._add_jobs_and_schedules(list(jobs or ()), list(schedules or ()))

    def _add_checks(self, checks: list[AssetChecksDefinition]) -> None:
        by_key: dict[AssetCheckKey, AssetChecksDefinition] = {}
        for c in checks:
            if not isinstance(c, AssetChecksDefinition):
                raise InvalidDefinitionError(
                    f"Definitions(asset_checks=...) expects @asset_check checks, got {c!r}"
                )
            where = f"asset check {c.key.to_user_string()!r}"
            if c.key in by_key:
                raise InvalidDefinitionError(f"{where} is defined more than once")
            by_key[c.key] = c
            for dep in c.deps:
                if dep not in self.assets:
                    known = [k.to_user_string() for k in self.assets]
                    hint = did_you_mean(dep.to_user_string(), known)
                    also = f"; did you mean {' or '.join(map(repr, hint))}?" if hint else ""
                    raise InvalidDefinitionError(
                        f"{where} needs asset {dep.to_user_string()!r}, which is not defined{also}"
                    )
            for param in c.required_resource_keys:
                if param in self.resources:
                    continue
                if param in c.resource_params:
                    raise InvalidDefinitionError(
                        f"{where}: parameter {param!r} is not the asset (name it"
                        f" {c.asset_key.path[-1]!r}), an additional_ins entry, context or a"
                        " resource of Definitions(resources=...)"
                    )
                raise InvalidDefinitionError(
                    f"{where} requires resource {param!r}, which Definitions(resources=...)"
                    " does not provide"
                )
            self._checks_by_asset[c.asset_key] = (*self._checks_by_asset.get(c.asset_key, ()), c)
        self.asset_checks = MappingProxyType(by_key)

    def checks_for(self, key: AssetKey) -> tuple[AssetChecksDefinition, ...]:
        """The checks of asset ``key``, in definition order."""
        return self._checks_by_asset.get(key, ())

    def _add_jobs_and_schedules(
        self, jobs: list[UnresolvedAssetJobDefinition], schedules: list[ScheduleDefinition]
    ) -> None:
        from assetcron._schedules import ScheduleDefinition, UnresolvedAssetJobDefinition

        by_name: dict[str, UnresolvedAssetJobDefinition] = {}
        for job in jobs:
            if not isinstance(job, UnresolvedAssetJobDefinition):
                raise InvalidDefinitionError(
                    f"Definitions(jobs=...) expects define_asset_job(...) jobs, got {job!r}"
                )
            if job.name in by_name:
                raise InvalidDefinitionError(f"two jobs are named {job.name!r}")
            by_name[job.name] = job
        named: dict[str, ScheduleDefinition] = {}
        for sched in schedules:
            if not isinstance(sched, ScheduleDefinition):
                raise InvalidDefinitionError(
                    "Definitions(schedules=...) expects ScheduleDefinition or @schedule"
                    f" schedules, got {sched!r}"
                )
            if sched.name in named:
                raise InvalidDefinitionError(f"two schedules are named {sched.name!r}")
            named[sched.name] = sched
            where = f"schedule {sched.name!r}"
            if sched.has_job_object:
                job = sched.job
                known = by_name.setdefault(job.name, job)
                if known is not job:
                    raise InvalidDefinitionError(
                        f"{where} runs a job named {job.name!r} that is not the job of that"
                        " name in Definitions(jobs=...); give each job one name"
                    )
            elif sched.job_name not in by_name:
                hint = did_you_mean(sched.job_name, by_name)
                also = f"; did you mean {' or '.join(map(repr, hint))}?" if hint else ""
                raise InvalidDefinitionError(
                    f"{where} runs job {sched.job_name!r}, which Definitions(jobs=...) does"
                    f" not define{also}"
                )
            missing = sorted(sched.required_resource_keys - set(self.resources))
            if missing:
                raise InvalidDefinitionError(
                    f"{where} requires resource {missing[0]!r}, which"
                    " Definitions(resources=...) does not provide"
                )
        for job in by_name.values():
            keys = job.resolve(self.graph)
            used = {self.assets[k].partitions_def for k in keys} - {None}
            if len(used) > 1 or (job.partitions_def is not None and used - {job.partitions_def}):
                raise InvalidDefinitionError(
                    f"job {job.name!r} selects assets with different partitions definitions"
                    " (a run materializes one partition: select assets that share one)"
                )
            self._job_plans[job.name] = keys
        self.jobs = MappingProxyType(by_name)
        self.schedules = MappingProxyType(named)

    def _bind_resources(self, a: AssetsDefinition, defined: set[AssetKey]) -> AssetsDefinition:
        if not a.required_resource_keys and not self.resources:
            return a  # nothing to check or bind (the common case; keeps large builds fast)
        missing = sorted(set(a.required_resource_keys) - set(self.resources))
        if missing:
            raise InvalidDefinitionError(
                f"asset {a.key.to_user_string()!r} requires resource {missing[0]!r}, which "
                "Definitions(resources=...) does not provide"
            )
        moved = [p for p, k in a.inputs.items() if k not in defined and p in self.resources]
        if not moved:
            return a
        inputs = {p: k for p, k in a.inputs.items() if p not in moved}
        gone = {a.inputs[p] for p in moved} - set(inputs.values())
        return dataclasses.replace(
            a,
            inputs=MappingProxyType(inputs),
            deps=tuple(d for d in a.deps if d not in gone),
            resource_params=(*a.resource_params, *moved),
            required_resource_keys=a.required_resource_keys | set(moved),
        )

    def with_resources(self, resources: Mapping[str, Any]) -> Definitions:
        """A copy whose resources are ``resources`` (the same names, e.g. configured by
        run config); assets, jobs and schedules are shared, nothing is re-validated."""
        if set(resources) != set(self.resources):
            raise InvalidDefinitionError("with_resources: the resource names must not change")
        copy = object.__new__(Definitions)
        copy.__dict__.update(self.__dict__)
        copy.resources = MappingProxyType(dict(resources))
        return copy

    def get_asset(self, key: CoercibleToAssetKey) -> AssetsDefinition:
        """The asset with ``key``; raises :class:`UnknownAssetKeyError`."""
        return self.assets[self.graph.node(key).key]

    def get_job_def(self, name: str) -> UnresolvedAssetJobDefinition:
        """The job named ``name``; raises :class:`InvalidDefinitionError` (with a "did you
        mean" hint) when there is none."""
        return self._lookup(self.jobs, name, "job")

    def get_schedule_def(self, name: str) -> ScheduleDefinition:
        """The schedule named ``name``; raises :class:`InvalidDefinitionError` (with a
        "did you mean" hint) when there is none."""
        return self._lookup(self.schedules, name, "schedule")

    def get_job_plan(self, name: str) -> list[AssetKey]:
        """The assets of job ``name`` in materialization order (resolved when these
        Definitions were built)."""
        self.get_job_def(name)
        return list(self._job_plans[name])

    @staticmethod
    def _lookup(table: Mapping[str, _T], name: str, what: str) -> _T:
        if name in table:
            return table[name]
        hint = did_you_mean(str(name), table)
        also = f"; did you mean {' or '.join(map(repr, hint))}?" if hint else ""
        raise InvalidDefinitionError(f"no {what} named {name!r} in these Definitions{also}")

    def op_names(self) -> dict[str, AssetKey]:
        """Op name (``a__b``) to asset key, for every asset."""
        return {a.op_name: k for k, a in self.assets.items()}


@dataclass
class AssetExecutionContext:
    """What an asset's ``context`` parameter receives (Dagster's AssetExecutionContext).

    ``scheduled_time`` is the tick (aware, in the schedule's zone); ``partition_key``
    the run's partition key for a partitioned asset (``2024-03-10``, ``2024-03-10-05:00``,
    a static key), else ``None``;
    ``run_config`` the whole rendered run config; ``op_config`` this asset's
    ``ops.<op>.config`` (a dict); ``config`` the validated config model (or the dict);
    ``resources`` the resources by attribute (``context.resources.db``); ``log`` a
    :class:`logging.Logger`; ``storage_dir`` the storage root for assets that keep
    files of their own (e.g. a DuckDB database).
    """

    asset_key: AssetKey
    run_id: str
    scheduled_time: datetime
    partition_key: str | None
    run_config: Mapping[str, Any]
    op_config: Mapping[str, Any]
    config: Any
    resources: SimpleNamespace
    log: logging.Logger
    storage_dir: Path
    partitions_def: PartitionsDefinition | None = None
    run_tags: Mapping[str, str] = field(default_factory=dict)
    #: The upstream partitions each input parameter reads (None: an unpartitioned
    #: upstream), after the partition mappings; empty for an asset called directly.
    input_partitions: Mapping[str, list[str] | None] = field(default_factory=dict)
    #: The assets this call materializes: those of a ``multi_asset`` the run selected
    #: (empty for an asset called directly).
    selected_asset_keys: frozenset[AssetKey] = frozenset()
    #: Metadata added by :meth:`add_output_metadata`, by output name.
    output_metadata: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def add_output_metadata(
        self,
        metadata: Mapping[str, Any],
        output_name: str | None = None,
        mapping_key: str | None = None,
    ) -> None:
        """Record ``metadata`` with this materialization (Dagster's
        ``add_output_metadata``); in a ``multi_asset``, ``output_name`` is the asset's key
        joined by ``__``. Entries returned in ``MaterializeResult``/``Output`` metadata
        win over these."""
        if mapping_key is not None:
            raise InvalidDefinitionError(
                "add_output_metadata(mapping_key=...): dynamic outputs are not supported"
            )
        self.output_metadata.setdefault(output_name or "result", {}).update(metadata)

    def get_output_metadata(self, output_name: str | None = None) -> Mapping[str, Any]:
        """The metadata added so far for ``output_name`` (default: the asset's)."""
        return dict(self.output_metadata.get(output_name or "result", {}))

    @property
    def instance(self) -> Any:
        """Refused: assetcron has no Dagster instance (a run's records are in its storage)."""
        raise InvalidDefinitionError(
            "context.instance: assetcron has no Dagster instance; what a run knows is on the"
            " context (scheduled_time, partition_key, run_config, resources)"
        )

    @property
    def has_partition_key(self) -> bool:
        """Whether this materialization is for a partition."""
        return self.partition_key is not None

    @property
    def partition_time_window(self) -> tuple[datetime, datetime]:
        """``(start, end)`` of the partition in its zone; raises ``ValueError`` when the
        asset is not partitioned."""
        if self.partitions_def is None or self.partition_key is None:
            raise ValueError(f"asset {self.asset_key.to_user_string()!r} is not partitioned")
        return self.partitions_def.time_window(self.partition_key)

    def asset_partition_keys_for_input(self, input_name: str) -> list[str]:
        """The upstream partition keys input ``input_name`` reads, in partition order
        (Dagster's method; after the partition mapping). Raises ``ValueError`` for an
        unknown input or an unpartitioned upstream."""
        if input_name not in self.input_partitions:
            raise ValueError(
                f"asset {self.asset_key.to_user_string()!r} has no input {input_name!r}"
            )
        keys = self.input_partitions[input_name]
        if keys is None:
            raise ValueError(f"input {input_name!r} is not partitioned")
        return list(keys)

    def asset_partition_key_for_input(self, input_name: str) -> str:
        """The one upstream partition key input ``input_name`` reads (Dagster's method);
        raises ``ValueError`` when it reads none or several."""
        keys = self.asset_partition_keys_for_input(input_name)
        if len(keys) != 1:
            raise ValueError(
                f"input {input_name!r} reads {len(keys)} partitions; use"
                " asset_partition_keys_for_input"
            )
        return keys[0]


@dataclass(frozen=True)
class AssetCheckKey:
    """A check's identity: its asset and name (Dagster's ``AssetCheckKey``)."""

    asset_key: AssetKey
    name: str

    def to_user_string(self) -> str:
        """``a/b:name``."""
        return f"{self.asset_key.to_user_string()}:{self.name}"


@dataclass(frozen=True)
class AssetChecksDefinition:
    """One asset check (made by :func:`asset_check`; Dagster's
    ``AssetChecksDefinition``). ``inputs`` maps parameters to the assets whose values are
    passed (the checked asset's among them); ``additional_deps`` are assets it reads
    otherwise. Calling it calls the function directly."""

    key: AssetCheckKey
    fn: Callable[..., Any]
    inputs: Mapping[str, AssetKey]
    additional_deps: tuple[AssetKey, ...] = ()
    description: str | None = None
    blocking: bool = False
    context_param: str | None = None
    resource_params: tuple[str, ...] = ()
    required_resource_keys: frozenset[str] = frozenset()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    retry_policy: RetryPolicy | None = None

    @property
    def asset_key(self) -> AssetKey:
        """The checked asset."""
        return self.key.asset_key

    @property
    def name(self) -> str:
        """The check's name."""
        return self.key.name

    @property
    def check_key(self) -> AssetCheckKey:
        """Its :class:`AssetCheckKey` (Dagster's name for it)."""
        return self.key

    @property
    def deps(self) -> tuple[AssetKey, ...]:
        """Every asset it needs: the checked one, its inputs and additional deps."""
        return tuple(dict.fromkeys([self.asset_key, *self.inputs.values(), *self.additional_deps]))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


@dataclass
class AssetCheckExecutionContext(AssetExecutionContext):
    """What a check's ``context`` parameter receives (Dagster's
    ``AssetCheckExecutionContext``): the run's context for the checked asset, and the
    check's name."""

    check_name: str = ""


def _checked_key(target: Any) -> AssetKey:
    if isinstance(target, MultiAssetsDefinition):
        if len(target.keys) != 1:
            raise InvalidDefinitionError(
                f"@asset_check(asset={target!r}): a multi_asset has several assets; name one"
                " key (asset='a/b')"
            )
        return target.keys[0]
    if isinstance(target, AssetSpec):
        return target.key
    return _dep_key(target)


def asset_check(
    *,
    asset: Any,
    name: str | None = None,
    description: str | None = None,
    blocking: bool = False,
    additional_ins: Mapping[str, AssetIn] | None = None,
    additional_deps: Iterable[Any] | None = None,
    required_resource_keys: set[str] | None = None,
    resource_defs: Mapping[str, object] | None = None,
    config_schema: object | None = None,
    compute_kind: str | None = None,
    op_tags: Mapping[str, Any] | None = None,
    retry_policy: RetryPolicy | None = None,
    metadata: Mapping[str, Any] | None = None,
    automation_condition: object | None = None,
    pool: str | None = None,
    partitions_def: object | None = None,
) -> Callable[[Callable[..., Any]], AssetChecksDefinition]:
    """A check of ``asset`` (Dagster's ``@asset_check``), run in the same run right after
    the asset is materialized or reused.

    The function returns ``AssetCheckResult(passed=..., metadata=..., severity=...)``.
    Its parameters: ``context`` (:class:`AssetCheckExecutionContext`), a parameter named
    like the asset (the last part of its key) receives the asset's value, the
    parameters in ``additional_ins`` those assets' values; the others are resources
    (by annotation, ``required_resource_keys`` or name). As in Dagster, a check that
    fails does not fail the run, unless it is ``blocking`` with severity ``ERROR``: then
    the assets downstream of the checked asset are skipped and the run fails; a check
    that raises fails the run. Results go into the run summary's ``checks``.

    Refused with the reason: ``config_schema`` or a ``Config`` parameter (read settings
    from a resource), ``partitions_def`` (a check runs for the partition its asset
    materialized), ``resource_defs``, ``op_tags``, ``automation_condition``, ``pool``,
    and ``additional_ins`` / ``additional_deps`` on a ``blocking`` check (it runs
    right after its asset, before other assets are materialized).
    """
    asset_key = _checked_key(asset)

    def decorator(fn: Callable[..., Any]) -> AssetChecksDefinition:
        if not callable(fn):
            raise InvalidDefinitionError(f"@asset_check expects a function, got {fn!r}")
        key = AssetCheckKey(asset_key, name or fn.__name__)
        where = f"asset check {key.to_user_string()!r}"
        _refuse_options(
            where,
            {
                "resource_defs": resource_defs,
                "op_tags": op_tags,
                "automation_condition": automation_condition,
                "pool": pool,
            },
        )
        if config_schema is not None:
            raise InvalidDefinitionError(
                f"{where}: config_schema is not supported: asset checks take no run config"
                " (read settings from a resource)"
            )
        if partitions_def is not None:
            raise InvalidDefinitionError(
                f"{where}: partitions_def is not supported: a check runs for the partition"
                " its asset materialized"
            )
        if blocking and (additional_ins or additional_deps):
            raise InvalidDefinitionError(
                f"{where}: a blocking check runs right after its asset, so it takes no"
                " additional_ins or additional_deps"
            )
        _check_common(where, "pickle", None, retry_policy)
        resource_keys = frozenset(required_resource_keys or ())
        hints = _type_hints(fn)
        ins_map = dict(additional_ins or {})
        params = inspect.signature(fn).parameters
        for param_name in ins_map:
            if param_name not in params:
                raise InvalidDefinitionError(
                    f"{where}: additional_ins names {param_name!r}, which is not a parameter"
                )
        inputs: dict[str, AssetKey] = {}
        resource_params: list[str] = []
        context_param: str | None = None
        for param in params.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            annotation = hints.get(param.name)
            if param.name in ins_map:
                spec = ins_map[param.name]
                inputs[param.name] = spec.key or AssetKey([*(spec.key_prefix or ()), param.name])
            elif param.name == _CONTEXT_PARAM:
                context_param = param.name
            elif param.name == asset_key.path[-1]:
                inputs[param.name] = asset_key
            elif _is_resource_class(annotation) or param.name in resource_keys:
                resource_params.append(param.name)
            elif _is_pydantic_model(annotation):
                raise InvalidDefinitionError(
                    f"{where}: parameter {param.name!r}: asset checks take no run config"
                    " (read settings from a resource)"
                )
            else:
                resource_params.append(param.name)  # Definitions says if no resource has it
        return AssetChecksDefinition(
            key=key,
            fn=fn,
            inputs=MappingProxyType(inputs),
            additional_deps=tuple(k for d in (additional_deps or ()) for k in _dep_keys(d)),
            description=description if description is not None else inspect.getdoc(fn),
            blocking=bool(blocking),
            context_param=context_param,
            resource_params=tuple(resource_params),
            required_resource_keys=resource_keys | set(resource_params),
            metadata=MappingProxyType(dict(metadata or {})),
            retry_policy=retry_policy,
        )

    return decorator
