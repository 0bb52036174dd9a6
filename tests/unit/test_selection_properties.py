"""Algebraic properties of selections and plans on random DAGs (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from assetcron._graph import AssetGraph, AssetKey, AssetNode
from assetcron._selection import AssetSelection, parse_selection, plan

GROUPS = ("g1", "g2", "default")
TAGS: tuple[dict[str, str], ...] = ({}, {"tier": ""}, {"tier": "gold"}, {"tier": "gold", "pii": ""})


@dataclass(frozen=True)
class Case:
    graph: AssetGraph
    keys: list[AssetKey]


@st.composite
def dags(draw: st.DrawFn) -> Case:
    """Up to 12 assets; each depends on a random subset of the earlier ones (acyclic by
    construction), with one- or two-part keys, random groups and tags."""
    n = draw(st.integers(min_value=1, max_value=12))
    keys = [AssetKey(["p", f"n{i}"]) if i % 3 == 2 else AssetKey(f"n{i}") for i in range(n)]
    nodes = []
    for i, key in enumerate(keys):
        deps = draw(st.sets(st.sampled_from(keys[:i]), max_size=3)) if i else set()
        nodes.append(
            AssetNode(
                key,
                tuple(sorted(deps)),
                group_name=draw(st.sampled_from(GROUPS)),
                tags=draw(st.sampled_from(TAGS)),
            )
        )
    return Case(AssetGraph.build(draw(st.permutations(nodes))), keys)


def selections(keys: list[AssetKey]) -> st.SearchStrategy[AssetSelection]:
    """Random selection trees over existing keys (so no UnknownAssetKeyError)."""
    leaves = st.one_of(
        st.just(AssetSelection.all()),
        st.sampled_from(keys).map(lambda k: AssetSelection.key_pattern(k.to_user_string())),
        st.sampled_from(["n1*", "p/*", "*", "zz*"]).map(AssetSelection.key_pattern),
        st.sampled_from(GROUPS).map(AssetSelection.groups),
        st.sampled_from([("tier", ""), ("tier", "gold"), ("pii", "")]).map(
            lambda kv: AssetSelection.tag(*kv)
        ),
    )
    depth = st.one_of(st.none(), st.integers(min_value=0, max_value=3))

    def extend(inner: st.SearchStrategy[AssetSelection]) -> st.SearchStrategy[AssetSelection]:
        return st.one_of(
            st.tuples(inner, inner).map(lambda ab: ab[0] | ab[1]),
            st.tuples(inner, inner).map(lambda ab: ab[0] & ab[1]),
            st.tuples(inner, inner).map(lambda ab: ab[0] - ab[1]),
            st.tuples(inner, depth).map(lambda sd: sd[0].upstream(sd[1])),
            st.tuples(inner, depth).map(lambda sd: sd[0].downstream(sd[1])),
            inner.map(lambda s: s.sinks()),
            inner.map(lambda s: s.roots()),
        )

    return st.recursive(leaves, extend, max_leaves=6)


@st.composite
def case_with_two(draw: st.DrawFn) -> tuple[Case, AssetSelection, AssetSelection]:
    case = draw(dags())
    return case, draw(selections(case.keys)), draw(selections(case.keys))


def res(sel: AssetSelection, graph: AssetGraph) -> frozenset[AssetKey]:
    return sel.resolve(graph, allow_empty=True)


def ancestors(graph: AssetGraph, key: AssetKey) -> set[AssetKey]:
    out: set[AssetKey] = set()
    stack = list(graph.parents(key))
    while stack:
        k = stack.pop()
        if k not in out:
            out.add(k)
            stack.extend(graph.parents(k))
    return out


PROPS = settings(max_examples=40, deadline=None)


@PROPS
@given(case_with_two())
def test_boolean_algebra(data: tuple[Case, AssetSelection, AssetSelection]) -> None:
    case, a, b = data
    g = case.graph
    ra, rb = res(a, g), res(b, g)
    assert res(a & b, g) <= ra
    assert res(a | b, g) >= ra
    assert res(a | b, g) == ra | rb
    assert res(a - b, g).isdisjoint(rb)
    # De Morgan, with `not` from the string syntax (all() - x).
    sa, sb = f"({a})", f"({b})"
    assert res(parse_selection(f"not ({sa} or {sb})"), g) == res(
        parse_selection(f"not {sa} and not {sb}"), g
    )
    assert res(parse_selection(f"not ({sa} and {sb})"), g) == res(
        parse_selection(f"not {sa} or not {sb}"), g
    )


@PROPS
@given(case_with_two())
def test_string_round_trip_and_double_negation(
    data: tuple[Case, AssetSelection, AssetSelection],
) -> None:
    case, a, _ = data
    g = case.graph
    assert res(parse_selection(str(a)), g) == res(a, g)
    assert res(parse_selection(f"not not ({a})"), g) == res(a, g)


@PROPS
@given(case_with_two())
def test_traversals(data: tuple[Case, AssetSelection, AssetSelection]) -> None:
    case, x, _ = data
    g = case.graph
    rx = res(x, g)
    assert res(x.downstream(), g) >= rx
    assert res(parse_selection(f"({x})+"), g) >= rx
    assert res(x.downstream().upstream(), g) >= rx
    assert res(x.upstream(1), g) <= res(x.upstream(2), g) <= res(x.upstream(), g)
    assert res(x.upstream(include_self=False), g).isdisjoint(rx)
    assert res(x.sinks(), g) <= rx
    assert res(x.roots(), g) <= rx
    if rx:  # a non-empty selection of a DAG has at least one root and one sink
        assert res(x.sinks(), g)
        assert res(x.roots(), g)


@PROPS
@given(case_with_two())
def test_traversals_match_their_definitions(
    data: tuple[Case, AssetSelection, AssetSelection],
) -> None:
    """Each traversal against its definition, from a plain walk of the parents."""
    case, x, _ = data
    g = case.graph
    rx = res(x, g)
    up = {k: ancestors(g, k) for k in g}
    assert res(x.upstream(), g) == rx.union(*(up[k] for k in rx))
    assert res(x.downstream(), g) == rx | {k for k in g if up[k] & rx}
    assert res(x.roots(), g) == {k for k in rx if not up[k] & rx}
    assert res(x.sinks(), g) == {k for k in rx if not any(k in up[o] for o in rx)}


@PROPS
@given(case_with_two())
def test_plan_respects_every_edge(data: tuple[Case, AssetSelection, AssetSelection]) -> None:
    case, x, _ = data
    g = case.graph
    order = plan(g, x, allow_empty=True)
    assert set(order) == res(x, g)
    assert len(order) == len(set(order))
    position = {k: i for i, k in enumerate(order)}
    for key in order:
        for anc in ancestors(g, key):
            if anc in position:
                assert position[anc] < position[key], (anc, key)
    # Deterministic: the order depends on the set, not on how it was asked for.
    assert plan(g, list(reversed(order)), allow_empty=True) == order
