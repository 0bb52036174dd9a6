"""Asset keys and the asset dependency graph (pure logic, no I/O).

Vocabulary and behaviour follow Dagster's ``AssetKey`` and asset graph:

- an :class:`AssetKey` is a non-empty path of string parts; ``AssetKey("a/b")`` is ONE
  part (as in Dagster), ``AssetKey.from_user_string("a/b")`` splits on ``/``;
- an :class:`AssetNode` is what the graph needs to know about one asset definition
  (key, the keys it depends on, group, tags, owners, kinds);
- an :class:`AssetGraph` is built once from the nodes, rejects duplicate keys, missing
  dependencies and cycles, and answers parent/child and ordering questions.

Internally the graph numbers the assets ``0..n-1`` in key order and keeps adjacency
lists of integers, so that building, resolving selections over and planning 100,000
assets takes a fraction of a second (see ``benchmarks/selection.py``). The selection
module uses the underscore-prefixed index methods; everything else should use the
key-based API.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import operator
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from types import MappingProxyType
from typing import Any, TypeAlias

from assetcron._errors import (
    DependencyCycleError,
    InvalidDefinitionError,
    UnknownAssetKeyError,
    did_you_mean,
)

__all__ = ["AssetGraph", "AssetKey", "AssetNode", "CoercibleToAssetKey"]

#: Separator between key parts in user strings (``a/b``), as in Dagster's
#: ``AssetKey.to_user_string``.
KEY_DELIMITER = "/"

_PATH = operator.attrgetter("path")


class AssetKey:
    """The unique name of an asset: a non-empty tuple of non-empty string parts.

    ``AssetKey("a")`` has path ``("a",)``; ``AssetKey(["a", "b"])`` has path
    ``("a", "b")``. As in Dagster, a single string is always ONE part, even when it
    contains ``/``; use :meth:`from_user_string` to split ``"a/b"``.

    Keys are immutable, hashable, and totally ordered by their path (lexicographic by
    part, so ``a < a/b < b``). Raises :class:`InvalidDefinitionError` for an empty path,
    an empty part or a part that is not a string.
    """

    __slots__ = ("_hash", "path")

    path: tuple[str, ...]
    _hash: int

    def __init__(self, path: str | Sequence[str]) -> None:
        if type(path) is str and path:  # the usual one-part key, checked at once
            parts: tuple[str, ...] = (path,)
        else:
            parts = (path,) if isinstance(path, str) else tuple(path)
            if not parts or not all(isinstance(p, str) and p for p in parts):
                raise InvalidDefinitionError(
                    f"invalid asset key {path!r}: a key is one or more non-empty strings"
                )
        _set_path(self, parts)
        _set_hash(self, hash(parts))

    @classmethod
    def from_user_string(cls, text: str) -> AssetKey:
        """Parse ``"a/b"`` into ``AssetKey(["a", "b"])`` (Dagster's
        ``AssetKey.from_user_string``). Raises :class:`InvalidDefinitionError` for an
        empty string or an empty part (``"a//b"``)."""
        if type(text) is str and text and KEY_DELIMITER not in text:
            path: tuple[str, ...] = (text,)  # the caller's str itself (often interned)
        else:
            parts = text.split(KEY_DELIMITER)
            if "" in parts:
                return cls(parts)  # raises, naming the parts
            path = tuple(parts)
        key = object.__new__(cls)  # non-empty strs: a valid key
        _set_path(key, path)
        _set_hash(key, hash(path))
        return key

    @classmethod
    def from_coercible(cls, value: CoercibleToAssetKey) -> AssetKey:
        """Coerce a key, a string (one part) or a sequence of strings (the parts), as
        Dagster's ``AssetKey.from_coercible`` does. Raises
        :class:`InvalidDefinitionError` for anything else."""
        if isinstance(value, AssetKey):
            return value
        if isinstance(value, str | list | tuple):
            return cls(value)
        raise InvalidDefinitionError(
            f"cannot use {value!r} as an asset key: expected a str, a list of str or AssetKey"
        )

    def to_user_string(self) -> str:
        """The parts joined by ``/``: ``"a/b"``."""
        return KEY_DELIMITER.join(self.path)

    def with_prefix(self, prefix: str | Sequence[str]) -> AssetKey:
        """A new key with ``prefix`` (one part or several) in front of this key's path."""
        head = (prefix,) if isinstance(prefix, str) else tuple(prefix)
        return AssetKey(head + self.path)

    def has_prefix(self, prefix: Sequence[str]) -> bool:
        """Whether this key's path starts with the parts in ``prefix`` (whole parts)."""
        return self.path[: len(prefix)] == tuple(prefix)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"AssetKey is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"AssetKey is immutable; cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (AssetKey, (list(self.path),))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AssetKey):
            return self.path == other.path
        return NotImplemented

    def __lt__(self, other: AssetKey) -> bool:
        if isinstance(other, AssetKey):
            return self.path < other.path
        return NotImplemented

    def __le__(self, other: AssetKey) -> bool:
        if isinstance(other, AssetKey):
            return self.path <= other.path
        return NotImplemented

    def __gt__(self, other: AssetKey) -> bool:
        if isinstance(other, AssetKey):
            return self.path > other.path
        return NotImplemented

    def __ge__(self, other: AssetKey) -> bool:
        if isinstance(other, AssetKey):
            return self.path >= other.path
        return NotImplemented

    def __repr__(self) -> str:
        return f"AssetKey({list(self.path)!r})"


# The slots' own setters: AssetKey.__setattr__ refuses, and these skip the generic
# object.__setattr__ look-up (a key is made per asset and per dependency).
_set_path = AssetKey.__dict__["path"].__set__
_set_hash = AssetKey.__dict__["_hash"].__set__

#: Anything :meth:`AssetKey.from_coercible` accepts.
CoercibleToAssetKey: TypeAlias = AssetKey | str | Sequence[str]


@dataclass(frozen=True, slots=True)
class AssetNode:
    """What the graph knows about one asset definition.

    ``key`` and each of ``deps`` may be given in any form
    :meth:`AssetKey.from_coercible` accepts and are stored as :class:`AssetKey`;
    ``deps`` become a tuple without duplicates (first occurrence kept), ``tags`` an
    immutable mapping, ``kinds`` a frozenset. ``group_name`` defaults to ``"default"``
    (Dagster's ``DEFAULT_GROUP_NAME``).
    """

    key: AssetKey
    deps: tuple[AssetKey, ...] = ()
    group_name: str = "default"
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    owners: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Fast paths (already-normalised values are kept as they are): a code location
        # of 100,000 assets builds its nodes in a fraction of a second.
        key = self.key
        if type(key) is not AssetKey:
            key = AssetKey.from_coercible(key)
            object.__setattr__(self, "key", key)
        deps = self.deps
        if type(deps) is not tuple or not set(map(type, deps)) <= _ONLY_KEYS:
            deps = tuple(AssetKey.from_coercible(d) for d in deps)
        if len(deps) > 1 and len(set(map(_PATH, deps))) < len(deps):
            deps = tuple(dict.fromkeys(deps))
        if deps is not self.deps:
            object.__setattr__(self, "deps", deps)
        if type(self.group_name) is not str or not self.group_name:
            raise InvalidDefinitionError(
                f"asset {key.to_user_string()!r}: group_name must be a non-empty string"
            )
        tags = self.tags
        object.__setattr__(self, "tags", MappingProxyType(dict(tags)) if tags else _NO_TAGS)
        if type(self.owners) is not tuple:
            object.__setattr__(self, "owners", tuple(self.owners))
        if type(self.kinds) is not frozenset:
            object.__setattr__(self, "kinds", frozenset(self.kinds))

    @classmethod
    def _of(
        cls,
        key: AssetKey,
        deps: tuple[AssetKey, ...],
        *,
        group_name: str,
        tags: Mapping[str, str],
        owners: tuple[str, ...],
        kinds: frozenset[str],
    ) -> AssetNode:
        """``AssetNode(key, deps, group_name, tags, owners, kinds)``: the same node, with
        the same errors, about ten times faster when the values are normalised already
        (as ``@asset`` makes them): the dataclass ``__init__`` and ``__post_init__`` cost
        11 us per asset (timeit), a fifth of defining one."""
        if (
            type(key) is AssetKey
            and type(deps) is tuple
            and type(group_name) is str
            and group_name
            and type(owners) is tuple
            and type(kinds) is frozenset
            and (not deps or set(map(type, deps)) <= _ONLY_KEYS)
            and (len(deps) < 2 or len(set(map(_PATH, deps))) == len(deps))
        ):
            node = object.__new__(cls)
            _NODE_SETTERS[0](node, key)
            _NODE_SETTERS[1](node, deps)
            _NODE_SETTERS[2](node, group_name)
            _NODE_SETTERS[3](node, MappingProxyType(dict(tags)) if tags else _NO_TAGS)
            _NODE_SETTERS[4](node, owners)
            _NODE_SETTERS[5](node, kinds)
            return node
        return cls(key, deps, group_name, tags, owners, kinds)


_NO_TAGS: Mapping[str, str] = MappingProxyType({})
_ONLY_KEYS = frozenset({AssetKey})
_NODE_SETTERS = tuple(
    AssetNode.__dict__[name].__set__
    for name in ("key", "deps", "group_name", "tags", "owners", "kinds")
)


class AssetGraph:
    """An immutable, acyclic asset dependency graph. Build it with :meth:`build`.

    Edges point from a dependency (upstream, parent) to the asset that depends on it
    (downstream, child). Key-based queries raise :class:`UnknownAssetKeyError` (with a
    "did you mean" hint) for a key that is not in the graph.
    """

    __slots__ = (
        "_by_user_string",
        "_children",
        "_global_order",
        "_groups",
        "_index",
        "_keys",
        "_keyset",
        "_kinds",
        "_nodes",
        "_owners",
        "_parents",
        "_rank",
        "_slashed",
        "_tags",
        "_user_strings",
    )

    def __init__(
        self,
        nodes: list[AssetNode],
        index: dict[tuple[str, ...], int],
        parents: list[list[int]],
        children: list[list[int]],
        global_order: list[int],
    ) -> None:
        """Internal; use :meth:`build`. ``nodes`` are in key order and ``index`` maps
        each key's path to its position (plain tuples hash and compare in C, which
        makes the 300,000 look-ups of a 100,000-asset build several times faster)."""
        self._nodes = nodes
        self._keys = [n.key for n in nodes]
        self._index = index
        self._parents = parents
        self._children = children
        self._global_order = global_order
        rank = [0] * len(nodes)
        for position, i in enumerate(global_order):
            rank[i] = position
        self._rank = rank
        self._keyset: frozenset[AssetKey] | None = None
        self._user_strings: list[str] | None = None
        self._groups: dict[str, list[int]] | None = None
        self._tags: tuple[dict[tuple[str, str], list[int]], dict[str, list[int]]] | None = None
        self._owners: dict[str, list[int]] | None = None
        self._kinds: tuple[dict[str, list[int]], list[int]] | None = None
        self._slashed: bool | None = None
        self._by_user_string: dict[str, list[int]] | None = None

    @classmethod
    def build(cls, nodes: Iterable[AssetNode]) -> AssetGraph:
        """Build the graph from asset nodes, in O(assets + dependencies).

        Raises :class:`InvalidDefinitionError` when two nodes share a key or a node
        depends on a key that no node defines (with a "did you mean" hint), and
        :class:`DependencyCycleError` naming one cycle (a self-dependency is the cycle
        ``a -> a``).
        """
        with _gc_paused():
            ordered = list(nodes)
            try:
                ordered.sort(key=_KEY_PATH)
            except AttributeError:
                bad = next(n for n in ordered if not isinstance(n, AssetNode))
                raise InvalidDefinitionError(
                    f"AssetGraph.build expects AssetNode objects, got {bad!r}"
                ) from None
            n = len(ordered)
            index = {node.key.path: i for i, node in enumerate(ordered)}
            if len(index) < n:
                seen: set[AssetKey] = set()
                for node in ordered:
                    if node.key in seen:
                        raise InvalidDefinitionError(
                            f"asset key {node.key.to_user_string()!r} is defined more than once"
                        )
                    seen.add(node.key)
            try:
                lookup = index.__getitem__
                parents = [list(map(lookup, map(_PATH, node.deps))) for node in ordered]
            except KeyError:
                raise _missing_dependency(ordered, index) from None
            children: list[list[int]] = [[] for _ in range(n)]
            for i, row in enumerate(parents):
                for j in row:
                    children[j].append(i)
            order = _kahn_all(parents, children)
        if len(order) < n:
            raise DependencyCycleError(
                [ordered[i].key.to_user_string() for i in _find_cycle(parents, order)]
            )
        return cls(ordered, index, parents, children, order)

    # ------------------------------------------------------------------ key API
    @property
    def keys(self) -> frozenset[AssetKey]:
        """Every asset key in the graph."""
        if self._keyset is None:
            self._keyset = frozenset(self._keys)
        return self._keyset

    @property
    def nodes(self) -> tuple[AssetNode, ...]:
        """Every node, in key order."""
        return tuple(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, AssetKey) and key.path in self._index

    def __iter__(self) -> Iterator[AssetKey]:
        """Iterate over the keys in key order."""
        return iter(self._keys)

    def node(self, key: CoercibleToAssetKey) -> AssetNode:
        """The node with ``key``; raises :class:`UnknownAssetKeyError`."""
        return self._nodes[self._idx(key)]

    def parents(self, key: CoercibleToAssetKey) -> tuple[AssetKey, ...]:
        """The keys ``key`` depends on directly, in key order."""
        keys = self._keys
        return tuple(keys[j] for j in sorted(self._parents[self._idx(key)]))

    def children(self, key: CoercibleToAssetKey) -> tuple[AssetKey, ...]:
        """The keys that depend directly on ``key``, in key order."""
        keys = self._keys
        return tuple(keys[j] for j in sorted(self._children[self._idx(key)]))

    def toposort(self, keys: Iterable[CoercibleToAssetKey]) -> list[AssetKey]:
        """Order ``keys`` so that every asset comes after everything it depends on.

        Edges through assets that are not in ``keys`` count too: if ``c`` depends on
        ``b`` which depends on ``a``, then ``a`` precedes ``c`` in the plan for
        ``{a, c}``. Deterministic: the order is that of Kahn's algorithm over the whole
        graph with ties broken by key order (computed once, when the graph is built),
        restricted to ``keys`` -- as Dagster plans a subset from its graph's
        ``toposorted_asset_keys``. So planning is a sort, O(k log k) for k keys.
        Raises :class:`UnknownAssetKeyError` for a key not in the graph.
        """
        return list(map(self._keys.__getitem__, self._plan_indices(keys)))

    # ---------------------------------------------------- index API (package use)
    def _idx(self, key: CoercibleToAssetKey) -> int:
        k = key if type(key) is AssetKey else AssetKey.from_coercible(key)
        i = self._index.get(k.path)
        if i is None:
            raise UnknownAssetKeyError(k.to_user_string(), self._user_key_strings())
        return i

    def _user_key_strings(self) -> list[str]:
        """``to_user_string()`` of every key, indexed like the nodes (cached)."""
        if self._user_strings is None:
            join = KEY_DELIMITER.join
            self._user_strings = [join(k.path) for k in self._keys]
        return self._user_strings

    def _user_string_index(self) -> dict[str, list[int]]:
        """User string to the indices of the keys with it (cached). Usually one index;
        ``AssetKey("a/b")`` and ``AssetKey(["a", "b"])`` share the string ``a/b``."""
        if self._by_user_string is None:
            index: dict[str, list[int]] = {}
            for i, s in enumerate(self._user_key_strings()):
                index.setdefault(s, []).append(i)
            self._by_user_string = index
        return self._by_user_string

    # Attribute indexes: built on first use, each in one pass over the nodes, so an
    # attribute selection afterwards costs O(matches) instead of a scan of every node.
    def _group_index(self) -> dict[str, list[int]]:
        """Group name to the indices of its assets (cached)."""
        if self._groups is None:
            groups: dict[str, list[int]] = {}
            for i, node in enumerate(self._nodes):
                groups.setdefault(node.group_name, []).append(i)
            self._groups = groups
        return self._groups

    def _tag_index(self) -> tuple[dict[tuple[str, str], list[int]], dict[str, list[int]]]:
        """``(key, value)`` and ``key`` to the indices of the assets so tagged (cached)."""
        if self._tags is None:
            pairs: dict[tuple[str, str], list[int]] = {}
            names: dict[str, list[int]] = {}
            for i, node in enumerate(self._nodes):
                if node.tags:
                    for item in node.tags.items():
                        pairs.setdefault(item, []).append(i)
                        names.setdefault(item[0], []).append(i)
            self._tags = (pairs, names)
        return self._tags

    def _owner_index(self) -> dict[str, list[int]]:
        """Owner to the indices of the assets listing it (cached)."""
        if self._owners is None:
            owners: dict[str, list[int]] = {}
            for i, node in enumerate(self._nodes):
                for owner in node.owners:
                    owners.setdefault(owner, []).append(i)
            self._owners = owners
        return self._owners

    def _kind_index(self) -> tuple[dict[str, list[int]], list[int]]:
        """Kind to the indices of its assets, and the assets without a kind (cached)."""
        if self._kinds is None:
            kinds: dict[str, list[int]] = {}
            kindless: list[int] = []
            for i, node in enumerate(self._nodes):
                if node.kinds:
                    for kind in node.kinds:
                        kinds.setdefault(kind, []).append(i)
                else:
                    kindless.append(i)
            self._kinds = (kinds, kindless)
        return self._kinds

    def _has_slashed_parts(self) -> bool:
        """Whether some key has a part containing ``/``, so that two keys can share a
        user string (``AssetKey("a/b")`` and ``AssetKey(["a", "b"])``) (cached)."""
        if self._slashed is None:
            self._slashed = any(KEY_DELIMITER in p for k in self._keys for p in k.path)
        return self._slashed

    def _upstream(self, start: Iterable[int], depth: int | None) -> set[int]:
        """``start`` plus everything up to ``depth`` levels upstream (None: unbounded)."""
        if depth is None:
            return self._reach(start, downstream=False)
        return _bfs(self._parents, start, depth)

    def _downstream(self, start: Iterable[int], depth: int | None) -> set[int]:
        """``start`` plus everything up to ``depth`` levels downstream (None: unbounded)."""
        if depth is None:
            return self._reach(start, downstream=True)
        return _bfs(self._children, start, depth)

    def _reach(self, start: Iterable[int], *, downstream: bool) -> set[int]:
        """``start`` plus every ancestor (or descendant) of it, at any depth.

        Breadth-first while the result is a small share of the assets it could hold;
        past a quarter of them, one sweep over those assets in topological order
        finishes the job: an asset is upstream of ``start`` when one of its children
        is (they come later in the order, so they are decided first), downstream when
        one of its parents is. At 100,000 assets a sweep costs about half of what the
        breadth-first search of the same result does (benchmarks/selection.py: the
        unbounded traversals of `+key:...`, `key:...+`, `sinks()` and `roots()` were
        most of the resolving time).
        """
        seen = set(start)
        if not seen:
            return seen
        rank, order = self._rank, self._global_order
        adjacency = self._children if downstream else self._parents
        if downstream:
            first = min(map(rank.__getitem__, seen))
            candidates = order[first + 1 :]  # only later assets can be downstream
        else:
            last = max(map(rank.__getitem__, seen))
            candidates = order[last - 1 :: -1] if last else []  # earlier ones, backwards
        frontier: set[int] = seen
        while frontier:
            if len(seen) * 4 > len(candidates):
                return self._sweep(seen, candidates, downstream=downstream)
            frontier = set().union(*map(adjacency.__getitem__, frontier))
            frontier -= seen
            seen |= frontier
        return seen

    def _sweep(self, seen: set[int], candidates: list[int], *, downstream: bool) -> set[int]:
        """Add to ``seen`` (closed under nothing yet) every asset of ``candidates`` (in
        the order of :meth:`_reach`) with a parent (``downstream``) or a child in it."""
        towards = self._parents if downstream else self._children
        reached, add = seen.isdisjoint, seen.add
        for i in candidates:
            if not reached(towards[i]):
                add(i)
        return seen

    def _mark(self, members: Iterable[int]) -> bytearray:
        """One byte per asset, 1 for each of ``members``."""
        mark = bytearray(len(self._nodes))
        deque(map(mark.__setitem__, members, repeat(1)), maxlen=0)  # a C-level loop
        return mark

    def _roots(self, base: set[int]) -> set[int]:
        """The members of ``base`` with no ancestor in ``base`` (Dagster's
        ``AssetSelection.roots``)."""
        return self._without_reached(base, downstream=True)

    def _sinks(self, base: set[int]) -> set[int]:
        """The members of ``base`` with no descendant in ``base`` (Dagster's
        ``AssetSelection.sinks``)."""
        return self._without_reached(base, downstream=False)

    def _without_reached(self, base: set[int], *, downstream: bool) -> set[int]:
        """``base`` less its members reachable from another member: downstream of one
        (for roots) or upstream of one (for sinks).

        A small base goes the way of the definition: everything reachable from the
        base's children (or parents), by :meth:`_reach`, taken away. A base that is a
        large share of the assets between its first and last member in topological
        order is decided in one sweep over just those assets instead: in that order a
        member is reachable from another member exactly when one of its parents (or,
        sweeping backwards, children) is a member or reachable from one. At 100,000
        assets (benchmarks/selection.py's graph) ``roots(+key:"a98999")`` takes 166 ms
        instead of 233, ``sinks(group:g1 or tag:tier=gold)`` 60 ms instead of 92.
        """
        if len(base) < 2:  # no other member to reach it from
            return base
        rank, order = self._rank, self._global_order
        ranks = list(map(rank.__getitem__, base))
        first, last = min(ranks), max(ranks)
        if len(base) * 4 <= last - first:
            adjacency = self._children if downstream else self._parents
            start = set().union(*map(adjacency.__getitem__, base))
            return base - self._reach(start, downstream=downstream)
        if downstream:  # the first member has no member upstream of it
            span, towards = order[first + 1 : last + 1], self._parents
        else:  # nor the last one downstream
            span, towards = order[last - 1 : first - 1 if first else None : -1], self._children
        # Before the sweep reaches an asset its byte says whether it is a member; after,
        # whether it is a member or reachable from one.
        mark = self._mark(base)
        reached: list[int] = []
        for i in span:
            for j in towards[i]:
                if mark[j]:
                    if mark[i]:
                        reached.append(i)
                    mark[i] = 1
                    break
        return base.difference(reached)

    def _toposort_indices(self, selected: Collection[int]) -> list[int]:
        """``selected`` (distinct indices) in the graph's topological order (see
        :meth:`toposort`)."""
        n, k = len(self._nodes), len(selected)
        if k == n:
            return list(self._global_order)
        if k * 16 >= n:  # a large share: one C-level pass over the order beats a sort
            wanted = selected if isinstance(selected, set | frozenset) else set(selected)
            return list(filter(wanted.__contains__, self._global_order))
        return sorted(selected, key=self._rank.__getitem__)

    def _plan_indices(self, keys: Iterable[CoercibleToAssetKey]) -> list[int]:
        """The indices of ``keys`` in topological order (see :meth:`toposort`); raises
        :class:`UnknownAssetKeyError`.

        A set holding a large share of the graph's keys (``resolve()``'s result, say) is
        planned by one pass over the graph's order asking the set for each key: looking
        each of 100,000 keys up in the index instead costs about three times as much,
        as it visits the index in the set's hash order (benchmarks/selection.py).
        """
        if isinstance(keys, set | frozenset) and len(keys) * 16 >= len(self._keys):
            order, get = self._global_order, self._keys.__getitem__
            found = list(compress(order, map(keys.__contains__, map(get, order))))
            if len(found) == len(keys):
                return found
        return self._toposort_indices(self._indices_of(keys))

    def _indices_of(self, keys: Iterable[CoercibleToAssetKey]) -> set[int]:
        """Indices of ``keys``; raises :class:`UnknownAssetKeyError`."""
        keys = keys if isinstance(keys, list | tuple | set | frozenset) else list(keys)
        try:  # fast path: AssetKey objects, all in the graph
            found = set(map(self._index.get, map(_PATH, keys)))
        except AttributeError:  # strings or sequences: coerce one by one below
            found = {None}
        if None not in found:
            return found  # type: ignore[return-value]
        return {self._idx(k) for k in keys}


_KEY_PATH = operator.attrgetter("key.path")


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic structures.

    Allocating hundreds of thousands of small lists triggers many collections that can
    free nothing (the structures are reachable); pausing cuts build time by about a
    third at 100,000 assets. The previous state is restored, also on error.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _missing_dependency(ordered: list[AssetNode], index: dict[tuple[str, ...], int]) -> Exception:
    for node in ordered:
        for dep in node.deps:
            if dep.path not in index:
                hint = did_you_mean(dep.to_user_string(), (n.key.to_user_string() for n in ordered))
                also = f"; did you mean {' or '.join(map(repr, hint))}?" if hint else ""
                return InvalidDefinitionError(
                    f"asset {node.key.to_user_string()!r} depends on "
                    f"{dep.to_user_string()!r}, which is not defined{also}"
                )
    raise AssertionError("unreachable: a dependency was missing")  # pragma: no cover


def _bfs(adjacency: list[list[int]], start: Iterable[int], depth: int | None) -> set[int]:
    """``start`` plus every index within ``depth`` steps along ``adjacency`` (None:
    unbounded), level by level as Dagster's ``Traverser`` does. Each level is one
    C-level set union, not a Python loop per edge."""
    seen = set(start)
    frontier: set[int] = seen
    level = 0
    while frontier and (depth is None or level < depth):
        level += 1
        frontier = set().union(*map(adjacency.__getitem__, frontier))
        frontier -= seen
        seen |= frontier
    return seen


def _kahn_all(parents: list[list[int]], children: list[list[int]]) -> list[int]:
    """Kahn's algorithm over the whole graph, ties broken by index (= key order).
    Returns fewer than ``len(parents)`` indices when there is a cycle."""
    indegree = [len(p) for p in parents]
    heap = [i for i, d in enumerate(indegree) if not d]  # ascending: already a heap
    out: list[int] = []
    push, pop = heapq.heappush, heapq.heappop
    while heap:
        i = pop(heap)
        out.append(i)
        for c in children[i]:
            indegree[c] -= 1
            if not indegree[c]:
                push(heap, c)
    return out


def _find_cycle(parents: list[list[int]], emitted: list[int]) -> list[int]:
    """One cycle among the nodes Kahn's algorithm could not emit, in data-flow order,
    starting and ending at its smallest index. Every such node has a parent that was
    not emitted either, so walking those parents must revisit a node."""
    done = set(emitted)
    cur = min(i for i in range(len(parents)) if i not in done)
    position: dict[int, int] = {}
    walk: list[int] = []
    while cur not in position:
        position[cur] = len(walk)
        walk.append(cur)
        cur = min(j for j in parents[cur] if j not in done)
    cycle = walk[position[cur] :]
    cycle.reverse()  # walked child -> parent; report parent -> child (data flow)
    first = cycle.index(min(cycle))
    cycle = cycle[first:] + cycle[:first]
    return [*cycle, cycle[0]]
