"""Asset keys and the asset graph: construction errors, queries, topological plans."""

from __future__ import annotations

import pickle
import random

import pytest

from assetcron._errors import (
    AssetcronError,
    DependencyCycleError,
    InvalidDefinitionError,
    UnknownAssetKeyError,
)
from assetcron._graph import AssetGraph, AssetKey, AssetNode, _bfs


def graph(edges: dict[str, list[str]]) -> AssetGraph:
    """``{"b": ["a"]}``: b depends on a. Keys are user strings (``x/y`` = two parts)."""
    return AssetGraph.build(
        AssetNode(AssetKey.from_user_string(k), tuple(AssetKey.from_user_string(d) for d in v))
        for k, v in edges.items()
    )


def names(keys: list[AssetKey]) -> list[str]:
    return [k.to_user_string() for k in keys]


# ------------------------------------------------------------------ AssetKey
def test_key_from_str_is_one_part_even_with_a_slash() -> None:
    assert AssetKey("a/b").path == ("a/b",)
    assert AssetKey(["a", "b"]).path == ("a", "b")
    assert AssetKey.from_user_string("a/b") == AssetKey(["a", "b"])
    assert AssetKey(["a", "b"]).to_user_string() == "a/b"


def test_key_from_coercible() -> None:
    k = AssetKey(["a", "b"])
    assert AssetKey.from_coercible(k) is k
    assert AssetKey.from_coercible("a") == AssetKey("a")
    assert AssetKey.from_coercible(("a", "b")) == k
    with pytest.raises(InvalidDefinitionError, match="cannot use 3"):
        AssetKey.from_coercible(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "a//b", "/a", [], ["a", ""]])
def test_key_rejects_empty_parts(bad: str | list[str]) -> None:
    with pytest.raises(InvalidDefinitionError, match="invalid asset key"):
        AssetKey.from_user_string(bad) if isinstance(bad, str) else AssetKey(bad)


def test_key_is_frozen_hashable_ordered_and_picklable() -> None:
    a, ab, b = AssetKey("a"), AssetKey(["a", "b"]), AssetKey("b")
    assert sorted([b, ab, a]) == [a, ab, b]
    assert a < ab < b
    assert b > ab > a
    assert a <= AssetKey("a") <= ab
    assert b >= AssetKey("b") >= ab
    assert {AssetKey("a"), AssetKey(["a"])} == {a}
    assert a != "a"
    with pytest.raises(AttributeError):
        a.path = ("x",)
    assert pickle.loads(pickle.dumps(ab)) == ab
    assert repr(ab) == "AssetKey(['a', 'b'])"


def test_key_prefix_helpers() -> None:
    assert AssetKey("t").with_prefix(["raw", "x"]) == AssetKey(["raw", "x", "t"])
    assert AssetKey(["raw", "t"]).has_prefix(["raw"])
    assert not AssetKey(["rawish", "t"]).has_prefix(["raw"])


# ------------------------------------------------------------------ AssetNode
def test_node_normalises_its_fields() -> None:
    node = AssetNode("b", ["a", "a", ("x", "y")], tags={"t": "1"}, kinds={"python"})  # type: ignore[arg-type]
    assert node.key == AssetKey("b")
    assert node.deps == (AssetKey("a"), AssetKey(["x", "y"]))
    assert node.group_name == "default"
    with pytest.raises(TypeError):
        node.tags["t"] = "2"  # type: ignore[index]
    assert node.kinds == frozenset({"python"})
    same = AssetNode(AssetKey("b"), node.deps, tags={"t": "1"}, kinds=frozenset({"python"}))
    assert node == same
    assert hash(node) == hash(same)
    assert {node: 1}[same] == 1


def test_key_fast_paths_make_the_same_keys_and_errors() -> None:
    """One-part keys and user strings skip the general checks; the result is the same."""
    assert AssetKey("a").path == ("a",)
    assert hash(AssetKey("a")) == hash(AssetKey(["a"]))
    assert AssetKey.from_user_string("a/b/c").path == ("a", "b", "c")
    assert type(AssetKey.from_user_string("a")) is AssetKey
    with pytest.raises(InvalidDefinitionError, match=r"^invalid asset key \['a', ''\]"):
        AssetKey.from_user_string("a/")
    with pytest.raises(InvalidDefinitionError, match=r"^invalid asset key ''"):
        AssetKey("")


@pytest.mark.parametrize(
    ("deps", "group", "tags", "owners", "kinds"),
    [
        ((AssetKey("a"), AssetKey(["x", "y"])), "g", {"t": "1"}, ("o",), frozenset({"sql"})),
        ((), "default", {}, (), frozenset()),
        ((AssetKey("a"), AssetKey("a")), "g", {}, (), frozenset()),  # duplicates: dropped
        (("a", ("x", "y")), "g", {}, ["o"], {"sql"}),  # not normalised: coerced
    ],
)
def test_node_of_is_the_constructor(
    deps: tuple[object, ...], group: str, tags: dict[str, str], owners: object, kinds: object
) -> None:
    """``AssetNode._of`` (what @asset uses) makes the node the constructor makes."""
    key = AssetKey("k")
    made = AssetNode._of(key, deps, group_name=group, tags=tags, owners=owners, kinds=kinds)  # type: ignore[arg-type]
    same = AssetNode(key, deps, group, tags, owners, kinds)  # type: ignore[arg-type]
    assert made == same
    assert hash(made) == hash(same)
    assert type(made.tags) is type(same.tags)
    assert type(made.deps) is tuple
    tags["t"] = "changed"  # the node keeps its own copy
    assert made.tags == same.tags


@pytest.mark.parametrize("group", ["", 5])
def test_node_of_rejects_a_bad_group_as_the_constructor_does(group: object) -> None:
    with pytest.raises(InvalidDefinitionError, match="group_name must be a non-empty string"):
        AssetNode._of(AssetKey("k"), (), group_name=group, tags={}, owners=(), kinds=frozenset())  # type: ignore[arg-type]


def test_node_rejects_an_empty_group() -> None:
    with pytest.raises(InvalidDefinitionError, match="group_name"):
        AssetNode(AssetKey("a"), group_name="")


# ------------------------------------------------------------------ building
def test_build_rejects_duplicate_keys() -> None:
    with pytest.raises(InvalidDefinitionError, match="'a' is defined more than once"):
        AssetGraph.build([AssetNode(AssetKey("a")), AssetNode(AssetKey("a"))])


def test_build_rejects_missing_dependency_with_a_hint() -> None:
    with pytest.raises(InvalidDefinitionError) as info:
        graph({"orders": [], "report": ["order"]})
    assert str(info.value) == (
        "asset 'report' depends on 'order', which is not defined; did you mean 'orders'?"
    )


def test_build_rejects_something_that_is_not_a_node() -> None:
    with pytest.raises(InvalidDefinitionError, match="expects AssetNode objects, got 'a'"):
        AssetGraph.build(iter([AssetNode(AssetKey("b")), "a"]))  # type: ignore[arg-type]


def test_build_names_a_cycle() -> None:
    with pytest.raises(DependencyCycleError) as info:
        graph({"root": [], "a": ["root", "c"], "b": ["a"], "c": ["b"], "d": ["c"]})
    assert str(info.value) == "dependency cycle: a -> b -> c -> a"
    assert info.value.cycle == ["a", "b", "c", "a"]
    assert isinstance(info.value, AssetcronError)
    assert info.value.exit_code == 2


def test_build_names_a_self_dependency() -> None:
    with pytest.raises(DependencyCycleError, match=r"^dependency cycle: a -> a$"):
        graph({"a": ["a"]})


def test_empty_graph() -> None:
    g = AssetGraph.build([])
    assert len(g) == 0
    assert g.keys == frozenset()
    assert g.toposort([]) == []


# ------------------------------------------------------------------ queries
DIAMOND = {"a": [], "b": ["a"], "c": ["a"], "d": ["c", "b"], "x/y": ["d"]}


def test_parents_children_node_and_membership() -> None:
    g = graph(DIAMOND)
    assert names(list(g.parents("d"))) == ["b", "c"]
    assert names(list(g.children("a"))) == ["b", "c"]
    assert g.parents(AssetKey(["x", "y"])) == (AssetKey("d"),)
    assert g.node("d").deps == (AssetKey("c"), AssetKey("b"))
    assert AssetKey("a") in g
    assert AssetKey("x/y") not in g
    assert g.keys == {AssetKey(k) for k in "abcd"} | {AssetKey(["x", "y"])}
    assert names(list(g)) == ["a", "b", "c", "d", "x/y"]


def test_unknown_key_query_has_a_hint() -> None:
    g = graph(DIAMOND)
    with pytest.raises(UnknownAssetKeyError, match=r"unknown asset key 'x/z'; did you mean 'x/y'"):
        g.node(AssetKey(["x", "z"]))


# ------------------------------------------------------------------ toposort
def test_toposort_all_is_kahn_with_key_order_ties() -> None:
    g = graph({"z": [], "y": ["z"], "a": [], "m": ["a", "y"]})
    # ready {a, z} -> a; ready {z} -> z; ready {y} -> y; then m.
    assert names(g.toposort(g.keys)) == ["a", "z", "y", "m"]


def test_toposort_subset_respects_edges_through_unselected_assets() -> None:
    g = graph({"a": [], "b": ["a"], "c": ["b"], "d": []})
    assert names(g.toposort([AssetKey("c"), AssetKey("a")])) == ["a", "c"]
    # c waits for a (through b); d has no selected ancestor, so key order decides.
    assert names(g.toposort([AssetKey("d"), AssetKey("c"), AssetKey("a")])) == ["a", "c", "d"]


def test_toposort_subset_follows_the_whole_graphs_kahn_order() -> None:
    # Whole graph: ready {b, x} -> b, then x, then a (which depends on x). The plan for
    # {a, b} is that order restricted, as Dagster filters toposorted_asset_keys.
    g = graph({"x": [], "a": ["x"], "b": []})
    assert names(g.toposort(g.keys)) == ["b", "x", "a"]
    assert names(g.toposort([AssetKey("a"), AssetKey("b")])) == ["b", "a"]


def test_toposort_small_and_large_shares_of_a_big_graph_agree() -> None:
    # A few keys of a large graph are sorted by rank, a large share is filtered from
    # the whole order: both must give the whole graph's order restricted.
    edges = {f"n{i:02d}": [f"n{i - 1:02d}"] if i else [] for i in range(40)}
    edges |= {f"m{i:02d}": [f"n{39 - i:02d}"] for i in range(40)}
    g = graph(edges)
    whole = g.toposort(g.keys)
    for picked in (["m05", "n07"], ["m39", "n00", "m00"], [k for k in edges if k[1] in "02468"]):
        keys = [AssetKey(k) for k in picked]
        assert g.toposort(keys) == [k for k in whole if k in set(keys)]
        assert g.toposort(k.to_user_string() for k in keys) == g.toposort(keys)


def test_toposort_of_a_large_key_set_is_one_pass_with_the_same_errors() -> None:
    edges = {f"n{i:02d}": [f"n{i - 1:02d}"] if i else [] for i in range(40)}
    g = graph(edges)
    whole = g.toposort(list(g.keys))
    assert g.toposort(g.keys) == whole
    assert g.toposort(set(whole[5:])) == whole[5:]
    assert g.toposort({*whole[5:], "n00"}) == [whole[0], *whole[5:]]  # a str: coerced
    with pytest.raises(UnknownAssetKeyError, match="'nope'"):
        g.toposort({*whole, AssetKey("nope")})


def random_graph(n: int, seed: int) -> AssetGraph:
    rnd = random.Random(seed)
    keys = [AssetKey(f"k{i}") for i in range(n)]
    return AssetGraph.build(
        AssetNode(k, tuple({keys[rnd.randrange(i)] for _ in range(rnd.randint(0, 3))}) if i else ())
        for i, k in enumerate(keys)
    )


@pytest.mark.parametrize("seed", range(5))
def test_unbounded_traversals_equal_breadth_first_search(seed: int) -> None:
    """Unbounded traversals switch from breadth-first search to a sweep in topological
    order once the result is large: starting small or large, the result is the same."""
    g = random_graph(300, seed)
    rnd = random.Random(seed)
    for size in (1, 3, 30, 150):
        start = set(rnd.sample(range(len(g)), size))
        assert g._upstream(start, None) == _bfs(g._parents, start, None)
        assert g._downstream(start, None) == _bfs(g._children, start, None)
    assert g._upstream(set(), None) == set()


def test_toposort_unknown_key() -> None:
    with pytest.raises(UnknownAssetKeyError):
        graph(DIAMOND).toposort([AssetKey("nope")])
