"""How @asset reads a function's parameters cheaply: the code-object fast path must
agree with ``inspect.signature``, and annotations are evaluated only when binding can
use them (issue 15: the per-definition cost of 20,000 assets)."""

from __future__ import annotations

import functools
import inspect
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assetcron import AssetKey, InvalidDefinitionError, asset
from assetcron._sdk import _dep_keys, _deps_keys, _docstring, _parameters


def plain(a: int, b: int = 1) -> int:
    return a + b


def every_kind(a: int, /, b: int, *rest: int, c: int, d: int = 0, **more: int) -> int:
    x = a + b  # a local variable must not count as a parameter
    return x + c + d + sum(rest) + sum(more.values())


def only_varargs(*args: Any, **kwargs: Any) -> None:
    return None


def keyword_only(*, a: int, b: int) -> int:
    return a + b


@functools.wraps(plain)
def wrapped(*args: Any, **kwargs: Any) -> int:
    return plain(*args, **kwargs)


def with_signature(*args: Any) -> int:
    return 0


with_signature.__signature__ = inspect.signature(plain)  # type: ignore[attr-defined]


class CallableObject:
    def __call__(self, x: int, context: Any) -> int:
        return x

    def method(self, y: int) -> int:
        return y


CALLABLES: list[Callable[..., Any]] = [
    plain,
    every_kind,
    only_varargs,
    keyword_only,
    wrapped,
    with_signature,
    lambda: 0,
    lambda u, v=2: u,
    functools.partial(plain, 1),
    CallableObject(),
    CallableObject().method,
]


@pytest.mark.parametrize("fn", CALLABLES, ids=lambda f: getattr(f, "__name__", type(f).__name__))
def test_parameters_agree_with_inspect_signature(fn: Callable[..., Any]) -> None:
    params = inspect.signature(fn).parameters.values()
    var = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    assert _parameters(fn) == (
        tuple(p.name for p in params),
        tuple(p.name for p in params if p.kind not in var),
    )


class Base:
    def run(self) -> None:
        """Inherited documentation."""


class Derived(Base):
    def run(self) -> None:
        return None


def documented() -> None:
    """First line.

    Indented detail.
    """


def nested() -> Callable[..., Any]:
    def inner() -> None:
        return None

    return inner


@pytest.mark.parametrize(
    "fn",
    [*CALLABLES, documented, nested(), Derived.run, Derived().run, Base.run],
    ids=lambda f: getattr(f, "__qualname__", type(f).__name__),
)
def test_docstring_is_inspect_getdoc(fn: Callable[..., Any]) -> None:
    assert _docstring(fn) == inspect.getdoc(fn)


def test_deps_keys_is_dep_keys_of_each_entry() -> None:
    a = asset(name="x")(lambda: 0)
    deps: list[Any] = ["a", "p/q", AssetKey(["k", "l"]), ("t", "u"), ["v"], a]
    assert _deps_keys(deps) == [k for d in deps for k in _dep_keys(d)]
    assert _deps_keys(None) == []
    with pytest.raises(InvalidDefinitionError, match="invalid asset key"):
        _deps_keys(["a//b"])


def test_decorated_function_binds_the_wrapped_signature() -> None:
    a = asset(name="w")(wrapped)
    assert a.inputs == {"a": AssetKey("a"), "b": AssetKey("b")}


def test_ins_may_name_a_var_positional_parameter_but_nothing_else_unknown() -> None:
    with pytest.raises(InvalidDefinitionError, match="ins names 'nope', which is not a parameter"):
        asset(ins={"nope": __import__("assetcron").AssetIn("x")})(every_kind)


def test_string_annotations_are_not_evaluated_without_pydantic(tmp_path: Path) -> None:
    """In a fresh interpreter that never imported pydantic, an annotation cannot be a
    Config or a resource, so nothing is evaluated (an unresolvable one is fine) and
    every parameter is an input; importing assetcron does not load pydantic."""
    location = tmp_path / "loc.py"
    location.write_text(
        textwrap.dedent(
            """
            from __future__ import annotations

            import sys
            from typing import TYPE_CHECKING

            from assetcron import Definitions, asset

            if TYPE_CHECKING:
                from somewhere import Frame


            @asset
            def up() -> int:
                return 1


            @asset
            def down(up: Frame, context) -> int:
                return up


            defs = Definitions(assets=[up, down])
            assert "pydantic" not in sys.modules, "importing assetcron loaded pydantic"
            assert down.inputs == {"up": up.key}, down.inputs
            assert down.context_param == "context"
            print("ok")
            """
        )
    )
    out = subprocess.run(
        [sys.executable, str(location)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
