"""The asset SDK: @asset parameters, binding of inputs/config/resources, Definitions."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from assetcron import (
    AssetExecutionContext,
    AssetKey,
    DailyPartitionsDefinition,
    Definitions,
    DependencyCycleError,
    InvalidDefinitionError,
    RunConfigError,
    asset,
)


def test_bare_decorator_uses_function_name_default_group_and_docstring() -> None:
    @asset
    def orders() -> int:
        """All the orders."""
        return 1

    assert orders.key == AssetKey("orders")
    assert orders.group_name == "default"
    assert orders.description == "All the orders."
    assert orders.deps == ()
    assert orders() == 1  # direct invocation calls the function


@pytest.mark.parametrize(
    "doc",
    [
        "One line.",
        "   Leading blanks, trailing kept.  ",
        "   ",
        "",
        "\xa0Non-breaking space first.",
        "\x0cForm feed first.",
        "Tab\there.",
        "Summary.\n\n    Indented body.\n    ",
        "\n    Starts on the second line.\n",
    ],
)
def test_description_is_the_docstring_as_inspect_cleandoc_makes_it(doc: str) -> None:
    import inspect

    def fn() -> int:
        return 1

    fn.__doc__ = doc
    assert asset(fn).description == inspect.cleandoc(doc)


def test_dagster_parameter_names() -> None:
    @asset(
        name="clean",
        key_prefix=["warehouse", "sales"],
        group_name="sales",
        tags={"tier": "gold"},
        owners=["team:data"],
        kinds={"python", "duckdb"},
        description="Cleaned.",
    )
    def whatever(raw: int) -> int:
        return raw

    assert whatever.key == AssetKey(["warehouse", "sales", "clean"])
    assert whatever.op_name == "warehouse__sales__clean"
    # The upstream key of an inferred input carries the asset's key prefix (Dagster).
    assert whatever.inputs == {"raw": AssetKey(["warehouse", "sales", "raw"])}
    node = whatever.node()
    assert (node.group_name, dict(node.tags), node.owners, node.kinds) == (
        "sales",
        {"tier": "gold"},
        ("team:data",),
        frozenset({"python", "duckdb"}),
    )
    assert whatever.description == "Cleaned."


def test_programmatic_use_with_non_argument_deps() -> None:
    a0 = asset(name="a0")(lambda: 0)
    a1 = asset(name="a1", deps=["a0"], group_name="g")(lambda: 1)
    nested = asset(name="n", deps=["x/y", a1])(lambda: 2)
    assert a1.deps == (AssetKey("a0"),)
    assert a1.inputs == {}
    assert nested.deps == (AssetKey(["x", "y"]), AssetKey("a1"))
    defs = Definitions(assets=[a0, a1])
    assert defs.graph.parents("a1") == (AssetKey("a0"),)


def test_a_parameter_matching_a_dep_reads_that_dep() -> None:
    @asset(key_prefix="p", deps=[["other", "src"]])
    def b(src: int) -> int:
        return src

    assert b.inputs == {"src": AssetKey(["other", "src"])}


class Cfg(BaseModel):
    limit: int = Field(default=10, ge=1)
    name: str


def test_typed_config_is_validated_with_a_clear_error() -> None:
    @asset
    def a(config: Cfg) -> str:
        return config.name

    assert a.config_param == "config"
    assert a.inputs == {}
    assert a.validate_config({"name": "x"}) == Cfg(name="x", limit=10)
    with pytest.raises(RunConfigError) as info:
        a.validate_config({"name": "x", "limit": 0})
    msg = str(info.value)
    assert "'a'" in msg
    assert "ops.a.config" in msg
    assert "'limit'" in msg
    with pytest.raises(RunConfigError, match="'name'"):
        a.validate_config({})


def test_config_schema_argument() -> None:
    @asset(config_schema=Cfg)
    def a(context: AssetExecutionContext) -> Any:
        return context.config

    assert a.config_model is Cfg
    assert a.config_param is None
    assert a.context_param == "context"
    with pytest.raises(InvalidDefinitionError):
        asset(config_schema=dict)(lambda: 0)  # type: ignore[arg-type]


def test_resources_by_required_keys_or_by_name() -> None:
    @asset(required_resource_keys={"db"})
    def a(db: object) -> None:
        return None

    @asset
    def b(a: None, warehouse: object) -> None:
        return None

    assert a.resource_params == ("db",)
    defs = Definitions(assets=[a, b], resources={"db": object(), "warehouse": object()})
    bound = defs.get_asset("b")
    assert bound.inputs == {"a": AssetKey("a")}
    assert bound.resource_params == ("warehouse",)
    assert bound.deps == (AssetKey("a"),)


def test_missing_resource_and_missing_dependency_are_rejected() -> None:
    @asset(required_resource_keys={"db"})
    def a() -> None:
        return None

    with pytest.raises(InvalidDefinitionError, match="requires resource 'db'"):
        Definitions(assets=[a])

    @asset
    def b(upstreem: int) -> int:
        return upstreem

    @asset
    def upstream() -> int:
        return 1

    with pytest.raises(InvalidDefinitionError, match="did you mean 'upstream'"):
        Definitions(assets=[b, upstream])


def test_cycles_are_rejected_when_definitions_are_built() -> None:
    x = asset(name="x", deps=["z"])(lambda: 0)
    y = asset(name="y", deps=["x"])(lambda: 0)
    z = asset(name="z", deps=["y"])(lambda: 0)
    with pytest.raises(DependencyCycleError) as info:
        Definitions(assets=[x, y, z])
    assert str(info.value) == "dependency cycle: x -> y -> z -> x"


def test_duplicate_keys_and_self_dependency_are_rejected() -> None:
    with pytest.raises(InvalidDefinitionError, match="more than once"):
        Definitions(assets=[asset(name="a")(lambda: 0), asset(name="a")(lambda: 1)])
    with pytest.raises(InvalidDefinitionError, match="depends on itself"):
        asset(name="a", deps=["a"])(lambda: 0)
    with pytest.raises(InvalidDefinitionError):
        Definitions(assets=[lambda: 0])  # type: ignore[list-item]


def test_a_dependency_given_twice_is_kept_once_where_first_given() -> None:
    @asset(deps=["b", "a", AssetKey("b"), "c/d", ["c", "d"]])
    def x(a: int) -> int:  # also an input: the same key again
        return a

    assert x.deps == (AssetKey("b"), AssetKey("a"), AssetKey(["c", "d"]))
    assert dict(x.inputs) == {"a": AssetKey("a")}
    assert asset(deps=["a"])(lambda: 0).deps == (AssetKey("a"),)


@pytest.mark.parametrize("name", [["a", "b"], ("a",), 123])
def test_a_name_that_is_not_a_string_is_an_invalid_definition(name: Any) -> None:
    with pytest.raises(InvalidDefinitionError):
        asset(name=name)(lambda: 0)


def test_partitions_def_is_kept() -> None:
    daily = DailyPartitionsDefinition(start_date="2020-01-01")

    @asset(partitions_def=daily)
    def a() -> int:
        return 0

    assert a.partitions_def == daily
