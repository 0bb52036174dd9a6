"""Asset selections: Dagster's ``AssetSelection`` expression tree, resolved over an
:class:`~assetcron._graph.AssetGraph` (pure logic, no I/O).

Three pure steps, as in Dagster: :func:`parse_selection` (string -> tree, implemented
in ``_selection_parser``), :meth:`AssetSelection.resolve` (tree x graph -> keys) and
:func:`plan` (keys -> topological order).

Semantics follow Dagster 1.13's ``dagster._core.definitions.asset_selection``; the
differences are deliberate and documented on the classes:

- an exact key that is not defined is an :class:`UnknownAssetKeyError` with a "did you
  mean" hint, also for ``key:name`` in the string syntax (Dagster resolves ``key:nope``
  to nothing); a ``key:`` pattern with ``*`` that matches nothing is simply empty;
- an empty result is an :class:`EmptySelectionError` unless ``allow_empty=True``;
- there are no external (source) assets, so ``include_sources`` does not exist and
  ``is:materializable`` is every asset.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import FrozenInstanceError, dataclass
from functools import reduce
from typing import TYPE_CHECKING, TypeVar, dataclass_transform

from assetcron._errors import EmptySelectionError, UnknownAssetKeyError
from assetcron._graph import AssetGraph, AssetKey, CoercibleToAssetKey

__all__ = ["AssetSelection", "parse_selection", "plan"]


def _quote(value: str | None) -> str:
    return "<null>" if value is None else '"' + value + '"'


class AssetSelection(ABC):
    """An immutable query over the assets of a graph (Dagster's ``AssetSelection``).

    Build one with the static constructors (:meth:`all`, :meth:`assets`,
    :meth:`groups`, :meth:`key_prefixes`, :meth:`tag`, :meth:`owner`, :meth:`kind`,
    ...), combine with ``|`` (union), ``&`` (intersection) and ``-`` (difference),
    traverse with :meth:`upstream` / :meth:`downstream`, restrict with :meth:`sinks` /
    :meth:`roots`, or parse Dagster's string syntax with :meth:`from_string`. Nothing
    is evaluated until :meth:`resolve`. Selections compare equal when their trees are
    equal; ``str()`` is the selection in Dagster's string syntax, which parses back to
    the same result (except :meth:`tag_key`, which has no string form, and
    :meth:`key_prefixes`, shown as the nearest ``key:"p/*"``).
    """

    __slots__ = ()

    if not TYPE_CHECKING:  # (a type checker would then allow any attribute to be set)
        # Immutability for the node classes (see ``_node``): ``__init__`` sets each
        # field once; a later assignment or deletion raises, as on a frozen dataclass.
        def __setattr__(self, name: str, value: object) -> None:
            if hasattr(self, name):
                raise FrozenInstanceError(f"cannot assign to field {name!r}")
            object.__setattr__(self, name, value)

        def __delattr__(self, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r}")

    # Pickle state as a frozen slots dataclass has it (the field values in order), so
    # every protocol works and a pickle made before ``_node`` still loads.
    def __getstate__(self) -> list[object]:
        return [getattr(self, name) for name in self.__match_args__]

    def __setstate__(self, state: list[object]) -> None:
        for name, value in zip(self.__match_args__, state, strict=True):
            object.__setattr__(self, name, value)

    #: The node's field names in order (set on each node class by ``@dataclass``).
    __match_args__: tuple[str, ...] = ()

    # ------------------------------------------------------------ constructors
    @staticmethod
    def all() -> AssetSelection:
        """Every asset (string syntax ``*``)."""
        return AllSelection()

    @staticmethod
    def assets(*keys: CoercibleToAssetKey) -> AssetSelection:
        """The assets with exactly these keys. A string is a user string (``"a/b"`` is
        the two-part key), as in Dagster's ``AssetSelection.assets``. Resolving raises
        :class:`UnknownAssetKeyError` for a key the graph does not define."""
        return KeysSelection(
            tuple(
                AssetKey.from_user_string(k) if isinstance(k, str) else AssetKey.from_coercible(k)
                for k in keys
            )
        )

    @staticmethod
    def keys(*keys: CoercibleToAssetKey) -> AssetSelection:
        """Same as :meth:`assets` (Dagster's deprecated spelling)."""
        return AssetSelection.assets(*keys)

    @staticmethod
    def key_prefixes(*prefixes: str | Sequence[str]) -> AssetSelection:
        """Assets whose key path starts with any of the prefixes, compared part by part.
        A string is ONE part (``"raw"`` matches ``raw/orders``, not ``rawish``), a
        sequence is several, as in Dagster's ``AssetSelection.key_prefixes``."""
        return KeyPrefixesSelection(
            tuple((p,) if isinstance(p, str) else tuple(p) for p in prefixes)
        )

    @staticmethod
    def key_substring(substring: str) -> AssetSelection:
        """Assets whose user string (``a/b``) contains ``substring``."""
        return KeySubstringSelection(substring)

    @staticmethod
    def key_pattern(pattern: str) -> AssetSelection:
        """What ``key:pattern`` means in the string syntax: ``*`` matches any run of
        characters (``/`` included) in the key's user string, anchored at both ends.
        Without ``*`` it is an exact key and resolving raises
        :class:`UnknownAssetKeyError` when no asset has it; with ``*`` it may match
        nothing."""
        return KeyPatternSelection(pattern)

    @staticmethod
    def groups(*names: str) -> AssetSelection:
        """Assets in any of these groups (no names: nothing)."""
        return GroupsSelection(tuple(names))

    @staticmethod
    def group_pattern(pattern: str) -> AssetSelection:
        """Assets whose group matches ``pattern`` (``*`` = any run of characters); the
        string syntax ``group:"pat*"`` means this."""
        return GroupPatternSelection(pattern)

    @staticmethod
    def tag(key: str, value: str = "") -> AssetSelection:
        """Assets whose tag ``key`` equals ``value`` exactly.

        As in Dagster (``TagAssetSelection``), the string ``tag:k`` means value ``""``:
        it matches ``tags={"k": ""}`` but not ``tags={"k": "v"}``. Use :meth:`tag_key`
        for "has tag ``k`` with any value"."""
        return TagSelection(key, value)

    @staticmethod
    def tag_string(text: str) -> AssetSelection:
        """``"k=v"`` -> :meth:`tag` ``(k, v)``; ``"k"`` -> ``tag(k, "")``
        (Dagster's ``AssetSelection.tag_string``). Raises ``ValueError`` for more than
        one ``=``."""
        parts = text.split("=")
        if len(parts) > 2:
            raise ValueError(f"invalid tag selection {text!r}: more than one '='")
        return TagSelection(parts[0], parts[1] if len(parts) == 2 else "")

    @staticmethod
    def tag_key(key: str) -> AssetSelection:
        """Assets that have tag ``key`` with any value. An assetcron addition: Dagster
        has no such selection and no string syntax for it."""
        return TagKeySelection(key)

    @staticmethod
    def owner(owner: str | None) -> AssetSelection:
        """Assets listing ``owner`` among their owners (``None``: nothing, as Dagster)."""
        return OwnerSelection(owner)

    @staticmethod
    def kind(kind: str | None) -> AssetSelection:
        """Assets with ``kind`` among their kinds; ``None`` selects the assets that have
        no kind at all (Dagster's ``kind:<null>``)."""
        return KindSelection(kind)

    @staticmethod
    def from_string(text: str) -> AssetSelection:
        """Parse Dagster's selection syntax; same as :func:`parse_selection`."""
        return parse_selection(text)

    # ------------------------------------------------------------- combinators
    def upstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        """This selection plus the assets up to ``depth`` dependency levels upstream
        (``None``: all ancestors; ``0``: nothing added). ``include_self=False`` removes
        the original selection from the result (Dagster's semantics)."""
        _check_depth(depth)
        return UpstreamSelection(self, depth, include_self)

    def downstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        """Like :meth:`upstream`, towards the assets that depend on this selection."""
        _check_depth(depth)
        return DownstreamSelection(self, depth, include_self)

    def sinks(self) -> AssetSelection:
        """The assets of this selection with no descendant in it (directly or through
        unselected assets) — Dagster's ``fetch_sinks``."""
        return SinksSelection(self)

    def roots(self) -> AssetSelection:
        """The assets of this selection with no ancestor in it (directly or through
        unselected assets) — Dagster's ``fetch_sources``."""
        return RootsSelection(self)

    def __or__(self, other: AssetSelection) -> AssetSelection:
        return OrSelection((*_operands(self, OrSelection), *_operands(other, OrSelection)))

    def __and__(self, other: AssetSelection) -> AssetSelection:
        return AndSelection((*_operands(self, AndSelection), *_operands(other, AndSelection)))

    def __sub__(self, other: AssetSelection) -> AssetSelection:
        return SubtractSelection(self, other)

    # -------------------------------------------------------------- resolution
    def resolve(self, graph: AssetGraph, *, allow_empty: bool = False) -> frozenset[AssetKey]:
        """The keys this selection picks out of ``graph``.

        Raises :class:`UnknownAssetKeyError` when an exact key is not in the graph and
        :class:`EmptySelectionError` when nothing is selected and ``allow_empty`` is
        false.
        """
        return frozenset(
            map(graph._keys.__getitem__, self._indices(graph, allow_empty=allow_empty))
        )

    def _indices(self, graph: AssetGraph, *, allow_empty: bool) -> set[int]:
        found = self._resolve(graph)
        if not found and not allow_empty:
            raise EmptySelectionError(str(self))
        return found

    @abstractmethod
    def _resolve(self, graph: AssetGraph) -> set[int]:
        """Indices of the selected assets; a fresh set the caller may mutate."""

    @abstractmethod
    def __str__(self) -> str:
        """This selection in Dagster's string syntax."""

    def _operand_str(self) -> str:
        return str(self)

    # Value semantics shared by the node classes below (dataclasses with eq=False and
    # repr=False) instead of generated for each: generating ``__eq__``, ``__hash__`` and
    # ``__repr__`` costs 0.3 ms per class, 5 ms over the 18 at every run's start
    # (benchmarks/startup.py). Same behaviour as the generated ones: equal when of the
    # same class with equal fields; the repr is ``ClassName(field=value, ...)``.
    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__match_args__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, AssetSelection)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self.__class__, self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__match_args__)
        return f"{self.__class__.__qualname__}({fields})"


def _operands(sel: AssetSelection, kind: type[AssetSelection]) -> tuple[AssetSelection, ...]:
    if isinstance(sel, OrSelection | AndSelection) and type(sel) is kind:
        return sel.operands
    if not isinstance(sel, AssetSelection):
        raise TypeError(f"cannot combine an AssetSelection with {type(sel).__name__}")
    return (sel,)


def _check_depth(depth: int | None) -> None:
    if depth is not None and (not isinstance(depth, int) or depth < 0):
        raise ValueError(f"depth must be None or a non-negative int, not {depth!r}")


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """Dagster's ``_wildcard_to_regex``: ``*`` matches any run of characters, the rest
    is literal, anchored at both ends."""
    return re.compile("^" + re.escape(pattern).replace("\\*", ".*") + "$")


_Node = TypeVar("_Node", bound=AssetSelection)


@dataclass_transform(eq_default=False, frozen_default=True)
def _node(cls: type[_Node]) -> type[_Node]:
    """``@dataclass(slots=True, eq=False, repr=False)``: a selection node class whose
    ``__eq__``, ``__hash__``, ``__repr__`` and immutability come from
    :class:`AssetSelection` (type checkers see a frozen dataclass).

    A frozen dataclass generates ``__setattr__`` and ``__delattr__`` for each class,
    with ``exec``. The 18 node classes are created at every run's start; sharing the
    base class's methods makes this module's code run in 5 ms instead of 13, and a
    run of ``asset materialize`` take 7.5 ms less CPU (median of 30 alternating pairs
    against the frozen classes, timing the command that benchmarks/startup.py times).
    """
    return dataclass(slots=True, eq=False, repr=False)(cls)


# ---------------------------------------------------------------- leaf selections
@_node
class AllSelection(AssetSelection):
    """Every asset."""

    def _resolve(self, graph: AssetGraph) -> set[int]:
        return set(range(len(graph)))

    def __str__(self) -> str:
        return "*"


@_node
class KeysSelection(AssetSelection):
    """Exact keys; unknown ones raise :class:`UnknownAssetKeyError`."""

    selected_keys: tuple[AssetKey, ...]

    def _resolve(self, graph: AssetGraph) -> set[int]:
        return {graph._idx(k) for k in self.selected_keys}

    def __str__(self) -> str:
        return " or ".join(f"key:{_quote(k.to_user_string())}" for k in self.selected_keys)

    def _operand_str(self) -> str:
        return f"({self})" if len(self.selected_keys) > 1 else str(self)


@_node
class KeyPatternSelection(AssetSelection):
    """``key:pattern``: see :meth:`AssetSelection.key_pattern`."""

    pattern: str

    def _resolve(self, graph: AssetGraph) -> set[int]:
        if "*" not in self.pattern:
            # O(1) for the usual key; a one-part key containing "/" (AssetKey("a/b"))
            # has the same user string, so the string index is consulted as well.
            parts = tuple(self.pattern.split("/"))
            i = graph._index.get(parts) if all(parts) else None
            if i is not None and (len(parts) == 1 or not graph._has_slashed_parts()):
                return {i}
            found = graph._user_string_index().get(self.pattern)
            if found is None:
                raise UnknownAssetKeyError(self.pattern, graph._user_key_strings())
            return set(found)
        match = wildcard_regex(self.pattern).match
        return {i for i, s in enumerate(graph._user_key_strings()) if match(s)}

    def __str__(self) -> str:
        return f"key:{_quote(self.pattern)}"


@_node
class KeyPrefixesSelection(AssetSelection):
    """Keys starting with any of the prefixes, part by part."""

    prefixes: tuple[tuple[str, ...], ...]

    def _resolve(self, graph: AssetGraph) -> set[int]:
        out: set[int] = set()
        for prefix in self.prefixes:
            n = len(prefix)
            out.update(i for i, k in enumerate(graph._keys) if k.path[:n] == prefix)
        return out

    def __str__(self) -> str:
        # Display only: the string syntax has no prefix selection; "p/*" misses a key
        # that equals the prefix itself (AssetKey("p") has the prefix ["p"]).
        return " or ".join(f"key:{_quote('/'.join(p) + '/*')}" for p in self.prefixes)

    def _operand_str(self) -> str:
        return f"({self})" if len(self.prefixes) > 1 else str(self)


@_node
class KeySubstringSelection(AssetSelection):
    """Keys whose user string contains a substring."""

    substring: str

    def _resolve(self, graph: AssetGraph) -> set[int]:
        sub = self.substring
        return {i for i, s in enumerate(graph._user_key_strings()) if sub in s}

    def __str__(self) -> str:
        return f"key:{_quote('*' + self.substring + '*')}"


@_node
class GroupsSelection(AssetSelection):
    """Assets in any of the named groups."""

    names: tuple[str, ...]

    def _resolve(self, graph: AssetGraph) -> set[int]:
        index = graph._group_index()
        return {i for name in self.names for i in index.get(name, ())}

    def __str__(self) -> str:
        if not self.names:
            return "group:<null>"
        return " or ".join(f"group:{_quote(g)}" for g in self.names)

    def _operand_str(self) -> str:
        return f"({self})" if len(self.names) > 1 else str(self)


@_node
class GroupPatternSelection(AssetSelection):
    """Assets whose group name matches a ``*`` pattern."""

    pattern: str

    def _resolve(self, graph: AssetGraph) -> set[int]:
        match = wildcard_regex(self.pattern).match
        return {i for g, idx in graph._group_index().items() if match(g) for i in idx}

    def __str__(self) -> str:
        return f"group:{_quote(self.pattern)}"


@_node
class TagSelection(AssetSelection):
    """Assets whose tag ``key`` equals ``value`` (``None`` key: nothing)."""

    key: str | None
    value: str

    def _resolve(self, graph: AssetGraph) -> set[int]:
        if self.key is None:
            return set()
        return set(graph._tag_index()[0].get((self.key, self.value), ()))

    def __str__(self) -> str:
        base = f"tag:{_quote(self.key)}"
        return f"{base}={_quote(self.value)}" if self.value else base


@_node
class TagKeySelection(AssetSelection):
    """Assets having tag ``key`` with any value (assetcron addition)."""

    key: str

    def _resolve(self, graph: AssetGraph) -> set[int]:
        return set(graph._tag_index()[1].get(self.key, ()))

    def __str__(self) -> str:
        return f"AssetSelection.tag_key({self.key!r})"


@_node
class OwnerSelection(AssetSelection):
    """Assets listing the owner."""

    selected_owner: str | None

    def _resolve(self, graph: AssetGraph) -> set[int]:
        if self.selected_owner is None:
            return set()
        return set(graph._owner_index().get(self.selected_owner, ()))

    def __str__(self) -> str:
        return f"owner:{_quote(self.selected_owner)}"


@_node
class KindSelection(AssetSelection):
    """Assets of a kind; ``None``: assets without any kind."""

    kind_str: str | None

    def _resolve(self, graph: AssetGraph) -> set[int]:
        kinds, kindless = graph._kind_index()
        if self.kind_str is None:
            return set(kindless)
        return set(kinds.get(self.kind_str, ()))

    def __str__(self) -> str:
        return f"kind:{_quote(self.kind_str)}"


# ----------------------------------------------------------- composite selections
@_node
class OrSelection(AssetSelection):
    """Union of the operands."""

    operands: tuple[AssetSelection, ...]

    def _resolve(self, graph: AssetGraph) -> set[int]:
        return reduce(set.union, (op._resolve(graph) for op in self.operands), set())

    def __str__(self) -> str:
        return " or ".join(op._operand_str() for op in self.operands)

    def _operand_str(self) -> str:
        return f"({self})"


@_node
class AndSelection(AssetSelection):
    """Intersection of the operands."""

    operands: tuple[AssetSelection, ...]

    def _resolve(self, graph: AssetGraph) -> set[int]:
        first, *rest = self.operands
        out = first._resolve(graph)
        for op in rest:
            if not out:
                break
            out &= op._resolve(graph)
        return out

    def __str__(self) -> str:
        return " and ".join(op._operand_str() for op in self.operands)

    def _operand_str(self) -> str:
        return f"({self})"


@_node
class SubtractSelection(AssetSelection):
    """``left - right``; the string syntax's ``not x`` is ``all() - x`` (as Dagster)."""

    left: AssetSelection
    right: AssetSelection

    def _resolve(self, graph: AssetGraph) -> set[int]:
        out = self.left._resolve(graph)
        if out:
            out -= self.right._resolve(graph)
        return out

    def __str__(self) -> str:
        if isinstance(self.left, AllSelection):
            return f"not {self.right._operand_str()}"
        return f"{self.left._operand_str()} and not {self.right._operand_str()}"

    def _operand_str(self) -> str:
        return f"({self})"


@_node
class UpstreamSelection(AssetSelection):
    """The child plus ancestors up to ``depth`` levels (``None``: all)."""

    child: AssetSelection
    depth: int | None
    include_self: bool = True

    def _resolve(self, graph: AssetGraph) -> set[int]:
        base = self.child._resolve(graph)
        out = graph._upstream(base, self.depth)
        return out if self.include_self else out - base

    def __str__(self) -> str:
        return _traversal_str(self.child, self.depth, self.include_self, up=True)


@_node
class DownstreamSelection(AssetSelection):
    """The child plus descendants up to ``depth`` levels (``None``: all)."""

    child: AssetSelection
    depth: int | None
    include_self: bool = True

    def _resolve(self, graph: AssetGraph) -> set[int]:
        base = self.child._resolve(graph)
        out = graph._downstream(base, self.depth)
        return out if self.include_self else out - base

    def __str__(self) -> str:
        return _traversal_str(self.child, self.depth, self.include_self, up=False)


def _traversal_str(
    child: AssetSelection, depth: int | None, include_self: bool, *, up: bool
) -> str:
    # "+*" and "++x" are not valid syntax: such operands must be parenthesized.
    if isinstance(child, AllSelection | UpstreamSelection | DownstreamSelection):
        inner = f"({child})"
    else:
        inner = child._operand_str()
    if depth == 0:
        base = inner
    else:
        n = "" if depth is None else str(depth)
        base = f"{n}+{inner}" if up else f"{inner}+{n}"
    return base if include_self else f"{base} and not {inner}"


@_node
class SinksSelection(AssetSelection):
    """Members of the child with no descendant in the child."""

    child: AssetSelection

    def _resolve(self, graph: AssetGraph) -> set[int]:
        return graph._sinks(self.child._resolve(graph))

    def __str__(self) -> str:
        return f"sinks({self.child})"


@_node
class RootsSelection(AssetSelection):
    """Members of the child with no ancestor in the child."""

    child: AssetSelection

    def _resolve(self, graph: AssetGraph) -> set[int]:
        return graph._roots(self.child._resolve(graph))

    def __str__(self) -> str:
        return f"roots({self.child})"


# ------------------------------------------------------------------ parse, plan
def parse_selection(text: str) -> AssetSelection:
    """Parse Dagster's asset-selection string syntax into an :class:`AssetSelection`.

    The grammar, the legacy fallback and the errors are documented in
    :mod:`assetcron._selection_parser`. Raises :class:`SelectionSyntaxError` (with the
    1-based column and the offending token).
    """
    # The parser builds trees from this module's classes, so it imports this module;
    # importing it lazily here breaks the cycle.
    from assetcron._selection_parser import parse  # noqa: PLC0415

    return parse(text)


def plan(
    graph: AssetGraph,
    selection: AssetSelection | str | Iterable[CoercibleToAssetKey],
    *,
    allow_empty: bool = False,
) -> list[AssetKey]:
    """The selected assets in materialization order.

    ``selection`` is an :class:`AssetSelection`, a selection string (parsed with
    :func:`parse_selection`) or explicit keys. The order is
    :meth:`AssetGraph.toposort`'s: every asset after the assets it depends on (also
    through unselected ones), ties broken by key order. Raises what parsing and
    :meth:`AssetSelection.resolve` raise.
    """
    if isinstance(selection, str):
        selection = AssetSelection.from_string(selection)
    if isinstance(selection, AssetSelection):
        indices = selection._indices(graph, allow_empty=allow_empty)
    else:
        order = graph._plan_indices(selection)
        if not order and not allow_empty:
            raise EmptySelectionError("(no keys)")
        return list(map(graph._keys.__getitem__, order))
    return list(map(graph._keys.__getitem__, graph._toposort_indices(indices)))
