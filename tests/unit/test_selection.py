"""Selection strings and the Python AssetSelection API, resolved on a small graph.

The expected sets in ``DAGSTER_CASES`` are what dagster 1.13's
``AssetSelection.from_string(...).resolve(...)`` returns on the same graph (checked with
a scratch dagster install; see benchmarks/selection.py for the large-graph comparison).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from assetcron._errors import (
    EmptySelectionError,
    SelectionSyntaxError,
    UnknownAssetKeyError,
)
from assetcron._graph import AssetGraph, AssetKey, AssetNode
from assetcron._selection import AssetSelection, parse_selection, plan

K = AssetKey.from_user_string

#        a ──> b ──> c ──> d ──> e
#        └───> x/y
GRAPH = AssetGraph.build(
    [
        AssetNode(
            K("a"),
            group_name="g1",
            tags={"t": "", "u": "1"},
            owners=("team:x",),
            kinds=frozenset({"python"}),
        ),
        AssetNode(K("b"), (K("a"),), group_name="g1", tags={"t": "v"}),
        AssetNode(K("c"), (K("b"),), group_name="other"),
        AssetNode(K("d"), (K("c"),), owners=("me@example.com",)),
        AssetNode(K("x/y"), (K("a"),), kinds=frozenset({"sql", "table"})),
        AssetNode(K("e"), (K("d"),)),
    ]
)


def resolve(sel: AssetSelection | str) -> list[str]:
    if isinstance(sel, str):
        sel = parse_selection(sel)
    return sorted(k.to_user_string() for k in sel.resolve(GRAPH, allow_empty=True))


DAGSTER_CASES = {
    # all, keys, wildcards
    "*": ["a", "b", "c", "d", "e", "x/y"],
    "key:a": ["a"],
    'key:"x/y"': ["x/y"],
    "key:x/y": ["x/y"],
    'key:"*"': ["a", "b", "c", "d", "e", "x/y"],
    "key:x/*": ["x/y"],
    "key:*/y": ["x/y"],
    "key:x*y": ["x/y"],
    "key:zz*": [],
    "  key: a  ": ["a"],
    # attributes
    "group:g1": ["a", "b"],
    'group:"g*"': ["a", "b"],
    "group:<null>": [],
    "tag:t": ["a"],  # empty value only, not b's t=v
    "tag:t=v": ["b"],
    "tag:t = v": ["b"],
    "tag:u": [],
    "tag:u=1": ["a"],
    "tag:t=<null>": ["a"],
    'owner:"team:x"': ["a"],
    'owner:"me@example.com"': ["d"],
    "kind:python": ["a"],
    "kind:table": ["x/y"],
    "kind:<null>": ["b", "c", "d", "e"],
    "is:materializable": ["a", "b", "c", "d", "e", "x/y"],
    "is:external": [],
    # traversals: no number = unbounded
    "+key:d": ["a", "b", "c", "d"],
    "1+key:d": ["c", "d"],
    "key:a+": ["a", "b", "c", "d", "e", "x/y"],
    "key:a+1": ["a", "b", "x/y"],
    "2+key:c+1": ["a", "b", "c", "d"],
    "+(key:c)": ["a", "b", "c"],
    "(key:a)+": ["a", "b", "c", "d", "e", "x/y"],
    "0+key:c+0": ["c"],
    # functions
    "sinks(*)": ["e", "x/y"],
    "roots(*)": ["a"],
    "sinks(key:a or key:c)": ["c"],
    "roots(key:b or key:d)": ["b"],
    "roots(+key:d)": ["a"],
    "sinks(key:a)+": ["a", "b", "c", "d", "e", "x/y"],
    # boolean operators: NOT > AND > OR
    "not key:a and key:b": ["b"],
    "not key:a or key:b": ["b", "c", "d", "e", "x/y"],
    "key:a or key:b and key:c": ["a"],
    "(key:a or key:b) and key:b": ["b"],
    "not not key:a": ["a"],
    "not *": [],
    "* and key:a": ["a"],
    "key:a AND key:b": [],
    "key:a OR key:b": ["a", "b"],
    "NOT key:a and group:g1": ["b"],
    # Dagster's legacy single-clause fallback: '+' is one level, '*' unbounded
    "a": ["a"],
    "x/y": ["x/y"],
    "+d": ["c", "d"],
    "*d": ["a", "b", "c", "d"],
    "a+++": ["a", "b", "c", "d", "x/y"],
    "+d+": ["c", "d", "e"],
    "*d*": ["a", "b", "c", "d", "e"],
    "x/y+": ["x/y"],
    "tag:foo-bar": [],
}


@pytest.mark.parametrize(("text", "expected"), DAGSTER_CASES.items())
def test_string_selection_matches_dagster(text: str, expected: list[str]) -> None:
    assert resolve(text) == expected


def test_python_api_mirrors_the_string_syntax() -> None:
    S = AssetSelection  # noqa: N806 - reads like Dagster's docs
    assert resolve(S.all()) == resolve("*")
    assert resolve(S.assets("x/y", K("a"))) == ["a", "x/y"]
    assert resolve(S.keys(["x", "y"])) == ["x/y"]
    assert resolve(S.groups("g1", "other")) == ["a", "b", "c"]
    assert resolve(S.key_prefixes("x")) == ["x/y"]
    assert resolve(S.key_prefixes(["x", "y"], "b")) == ["b", "x/y"]
    assert resolve(S.key_substring("/")) == ["x/y"]
    assert resolve(S.tag("t", "v")) == ["b"]
    assert resolve(S.tag("t", "")) == ["a"]
    assert resolve(S.tag_string("u=1")) == ["a"]
    assert resolve(S.tag_key("t")) == ["a", "b"]
    assert resolve(S.owner("team:x")) == ["a"]
    assert resolve(S.kind("sql")) == ["x/y"]
    assert resolve(S.kind(None)) == resolve("kind:<null>")
    d = S.assets("d")
    assert resolve(d.upstream()) == resolve("+key:d")
    assert resolve(d.upstream(1)) == resolve("1+key:d")
    assert resolve(d.upstream(include_self=False)) == ["a", "b", "c"]
    assert resolve(d.downstream(include_self=False)) == ["e"]
    assert resolve(S.all().sinks()) == ["e", "x/y"]
    assert resolve(S.all().roots()) == ["a"]
    assert resolve(S.groups("g1") | S.assets("e")) == ["a", "b", "e"]
    assert resolve(S.groups("g1") & S.assets("b", "c")) == ["b"]
    assert resolve(S.all() - S.groups("g1")) == ["c", "d", "e", "x/y"]
    assert S.from_string("key:a") == parse_selection("key:a")


def test_selection_equality_hash_repr_and_immutability_are_those_of_a_dataclass() -> None:
    """The node classes share AssetSelection's __eq__/__hash__/__repr__ and its
    immutability (cheaper to create than generated ones); they must behave like those
    of a frozen dataclass."""
    up = AssetSelection.assets("a").upstream(2)
    assert up == AssetSelection.assets("a").upstream(2)
    assert up != AssetSelection.assets("a").upstream(3)
    assert up != AssetSelection.assets("a").upstream(2, include_self=False)
    # Same fields, another class: not equal (a dataclass compares classes first).
    assert up != AssetSelection.assets("a").downstream(2)
    assert AssetSelection.groups("g1") != AssetSelection.tag_key("g1")
    assert up != (AssetSelection.assets("a"), 2, True)
    assert up.__eq__(object()) is NotImplemented
    assert len({up, AssetSelection.assets("a").upstream(2), AssetSelection.all()}) == 2
    assert repr(up) == (
        "UpstreamSelection(child=KeysSelection(selected_keys=(AssetKey(['a']),)),"
        " depth=2, include_self=True)"
    )
    assert repr(AssetSelection.all()) == "AllSelection()"
    with pytest.raises(dataclasses.FrozenInstanceError):
        up.depth = 3  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del up.child  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):  # no such field
        up.other = 1  # type: ignore[attr-defined]
    assert dataclasses.replace(up, depth=3) == AssetSelection.assets("a").upstream(3)  # type: ignore[type-var]
    assert copy.copy(up) == up
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(up, protocol)) == up


def test_selections_are_immutable_values_with_dagster_strings() -> None:
    sel = parse_selection("not key:a and (group:g1 or 2+key:b+) ")
    assert sel == parse_selection(str(sel))
    assert str(sel) == '(not key:"a") and (group:"g1" or 2+key:"b" or key:"b"+)'
    assert str(AssetSelection.assets("a").upstream(include_self=False)) == (
        '+key:"a" and not key:"a"'
    )
    assert hash(sel) == hash(parse_selection(str(sel)))
    # Operands the grammar cannot traverse directly are parenthesized.
    nested = AssetSelection.all().upstream().downstream(2)
    assert str(nested) == "(+(*))+2"
    assert resolve(parse_selection(str(nested))) == resolve(nested)
    with pytest.raises(AttributeError):
        sel.operands = ()  # type: ignore[attr-defined]


def test_a_key_that_is_one_part_containing_a_slash_matches_its_user_string() -> None:
    g = AssetGraph.build([AssetNode(AssetKey("a/b")), AssetNode(AssetKey(["a", "c"]))])
    assert parse_selection("key:a/b").resolve(g) == {AssetKey("a/b")}
    assert parse_selection("key:a/*").resolve(g) == {AssetKey("a/b"), AssetKey(["a", "c"])}
    both = AssetGraph.build([AssetNode(AssetKey("a/b")), AssetNode(AssetKey(["a", "b"]))])
    assert parse_selection("key:a/b").resolve(both) == {AssetKey("a/b"), AssetKey(["a", "b"])}


# ------------------------------------------------------------------ errors
def test_unknown_exact_key_is_an_error_with_a_hint() -> None:
    with pytest.raises(UnknownAssetKeyError) as info:
        resolve("key:x/z or key:a")
    assert str(info.value) == "unknown asset key 'x/z'; did you mean 'x/y'?"
    assert info.value.suggestions == ["x/y"]
    with pytest.raises(UnknownAssetKeyError, match="'nope'"):
        resolve("nope")
    with pytest.raises(UnknownAssetKeyError, match="'q'"):
        resolve(AssetSelection.assets("q"))


def test_empty_result_is_an_error_unless_allowed() -> None:
    sel = parse_selection("key:zz*")
    assert sel.resolve(GRAPH, allow_empty=True) == frozenset()
    with pytest.raises(EmptySelectionError, match=r"""selection 'key:"zz\*"' matched no asset"""):
        sel.resolve(GRAPH)
    with pytest.raises(EmptySelectionError):
        plan(GRAPH, "tag:nope")
    assert plan(GRAPH, "tag:nope", allow_empty=True) == []


SYNTAX_ERRORS = {
    # text: (column, message after "at column N: ")
    "": (1, "the selection is empty (use * for every asset)"),
    "   ": (4, "the selection is empty (use * for every asset)"),
    "key:": (5, "expected a value after 'key:'"),
    "key and key:a": (5, "expected ':' after 'key'"),
    "key:*": (5, "expected a value after 'key:' (key:\"*\" or * selects every asset)"),
    "key:and": (5, "expected a value after 'key:' (quote a keyword used as a value: key:\"and\")"),
    "key:2": (5, "expected a value after 'key:'"),
    "group:key": (7, "expected a value after 'group:' (quote a keyword used as a value: \"key\")"),
    "group:a*": (7, "expected a value after 'group:' (quote a value with *: \"a*\")"),
    "(tag:k=)": (8, "expected a value after '='"),
    "owner:": (7, "expected a value after 'owner:'"),
    "kind:3d": (
        6,
        "expected a value after 'kind:' (quote a value that starts with a digit: \"3...\")",
    ),
    "key:a+++": (
        7,
        "unexpected '+': a traversal is one '+' with an optional depth (+x, 2+x, x+, x+2), "
        "applied to a key, a function or parentheses",
    ),
    "key:a+2+": (
        8,
        "unexpected '+': a traversal is one '+' with an optional depth (+x, 2+x, x+, x+2), "
        "applied to a key, a function or parentheses",
    ),
    "++key:a": (
        2,
        "expected a key, a function or '(' after '+' (write 2+x for two levels; "
        "++x is not Dagster syntax)",
    ),
    "2 key:a": (3, "expected '+' after the depth '2'"),
    "+*": (2, "'*' cannot be traversed: it already selects every asset"),
    "*+": (2, "'*' cannot be traversed: it already selects every asset"),
    "(key:a": (7, "expected ')' to close the '(' at column 1, found the end of the selection"),
    "((key:a) or key:b": (
        18,
        "expected ')' to close the '(' at column 1, found the end of the selection",
    ),
    "key:a)": (6, "unexpected ')' without a matching '('"),
    "()": (2, "expected a selection, found ')'"),
    "key:a and": (10, "expected a selection after 'and'"),
    "key:a or": (9, "expected a selection after 'or'"),
    "key:a or not": (13, "expected a selection after 'not'"),
    "and key:a": (1, "expected a selection, found 'and'"),
    "key:a key:b": (7, "unexpected 'key': combine selections with 'and', 'or' or 'not'"),
    "key:a,key:b": (6, "unexpected ',': combine selections with 'and', 'or' or 'not'"),
    "sinks key:a": (7, "expected '(' after 'sinks'"),
    "roots(key:a": (
        12,
        "expected ')' to close the '(' at column 6, found the end of the selection",
    ),
    'key:"abc': (
        5,
        'unterminated quoted string (a value in "..." may not contain ", \\ or a line break)',
    ),
    "key:a-b": (6, "unexpected character '-' (quote values that contain it: \"...\")"),
    "a b": (1, "expected an attribute such as key:, group: or tag: before 'a' (write key:a)"),
    "<null>": (1, "expected a selection, found '<null>'"),
    "is:big": (1, "invalid 'is:' value 'big': expected 'materializable' or 'external'"),
    "status:MISSING": (
        1,
        "the Dagster attribute 'status:' needs state assetcron does not keep; "
        "select with key:, group:, tag:, owner: or kind:",
    ),
    "tag:": (5, "expected a value after 'tag:'"),
}


@pytest.mark.parametrize(("text", "expected"), SYNTAX_ERRORS.items())
def test_syntax_errors_name_the_column(text: str, expected: tuple[int, str]) -> None:
    column, reason = expected
    with pytest.raises(SelectionSyntaxError) as info:
        parse_selection(text)
    assert str(info.value) == f"selection syntax error at column {column}: {reason}"
    assert info.value.column == column
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_bare_words_fall_back_to_dagsters_legacy_clause_syntax() -> None:
    # Dagster reads strings its grammar rejects as one legacy clause: a bare exact key.
    assert parse_selection("key") == AssetSelection.assets("key")
    assert parse_selection("not") == AssetSelection.assets("not")
    assert parse_selection("tag:k=") == AssetSelection.tag("k", "")
    assert parse_selection("++a*") == (
        AssetSelection.assets("a").upstream(2) | AssetSelection.assets("a").downstream()
    )


def test_syntax_error_carries_the_offending_token() -> None:
    with pytest.raises(SelectionSyntaxError) as info:
        parse_selection("key:a or or key:b")
    assert (info.value.column, info.value.token) == (10, "or")
    assert info.value.text == "key:a or or key:b"


def test_python_api_rejects_bad_depths_and_operands() -> None:
    with pytest.raises(ValueError, match="depth"):
        AssetSelection.all().upstream(-1)
    with pytest.raises(TypeError, match="cannot combine"):
        AssetSelection.all() | "key:a"  # type: ignore[operator]
    with pytest.raises(ValueError, match="more than one '='"):
        AssetSelection.tag_string("a=b=c")


# ------------------------------------------------------------------ plan
def test_plan_orders_the_selection_topologically() -> None:
    assert [k.to_user_string() for k in plan(GRAPH, "*")] == ["a", "b", "c", "d", "e", "x/y"]
    # e comes after a through the unselected b, c and d.
    assert [k.to_user_string() for k in plan(GRAPH, "key:e or key:a")] == ["a", "e"]
    sel = AssetSelection.assets("x/y", "c")
    assert [k.to_user_string() for k in plan(GRAPH, sel)] == ["c", "x/y"]
    assert plan(GRAPH, [K("d"), K("b")]) == [K("b"), K("d")]
    with pytest.raises(EmptySelectionError):
        plan(GRAPH, [])
