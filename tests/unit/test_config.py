"""Run config is strict like Dagster's: typed asset config and configurable resources."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel

from assetcron import AssetExecutionContext, AssetKey, Definitions, RunConfigError, asset, plan
from assetcron._materialize import configure_resources, validate_run_config


class WindowConfig(BaseModel):
    """Typed config with a nested model (Dagster's ``Config``)."""

    class Inner(BaseModel):
        unit: str = "C"

    days: int = 7
    inner: Inner = Inner()


class Warehouse(BaseModel):
    """A resource that declares config (Dagster's ``ConfigurableResource``)."""

    schema_name: str = "public"


def _config_defs() -> Definitions:
    @asset
    def typed(config: WindowConfig) -> int:
        return config.days

    @asset
    def plain() -> int:
        return 1

    @asset
    def loose(context: AssetExecutionContext) -> Any:
        return context.op_config.get("x")

    @asset(required_resource_keys={"warehouse", "client"})
    def uses(context: AssetExecutionContext) -> str:
        return str(context.resources.warehouse.schema_name)

    return Definitions(
        assets=[typed, plain, loose, uses], resources={"warehouse": Warehouse(), "client": object()}
    )


@pytest.mark.parametrize(
    ("run_config", "fragment"),
    [
        ({"ops": {"typed": {"config": {"dayz": 3}}}}, "unexpected field 'dayz'"),
        ({"ops": {"typed": {"config": {"inner": {"unti": "F"}}}}}, "unexpected field 'inner.unti'"),
        ({"ops": {"plain": {"config": {"x": 1}}}}, "takes no config"),
        ({"resources": {"warehouse": {"config": {"schema": "x"}}}}, "unexpected field 'schema'"),
        ({"resources": {"client": {"config": {"url": "x"}}}}, "resource 'client' takes no config"),
        ({"resources": {"warehous": {"config": {}}}}, "did you mean 'warehouse'?"),
        ({"resources": {"warehouse": {"config": {"schema_name": 3}}}}, "schema_name"),
    ],
)
def test_config_is_strict_like_dagsters(run_config: dict[str, Any], fragment: str) -> None:
    defs = _config_defs()
    keys = plan(defs.graph, "*")
    with pytest.raises(RunConfigError, match=re.escape(fragment)):
        validate_run_config(configure_resources(defs, run_config), keys, run_config)


def test_declared_config_reaches_assets_and_resources() -> None:
    defs = _config_defs()
    keys = plan(defs.graph, "*")
    run_config = {
        "ops": {
            "typed": {"config": {"days": 3, "inner": {"unit": "F"}}},
            "loose": {"config": {"x": 1}},
        },
        "resources": {"warehouse": {"config": {"schema_name": "analytics"}}},
    }
    configured = configure_resources(defs, run_config)
    configs = validate_run_config(configured, keys, run_config)
    assert configs[AssetKey(["typed"])].inner.unit == "F"
    assert configured.resources["warehouse"].schema_name == "analytics"
    assert defs.resources["warehouse"].schema_name == "public"  # the code location's own
    assert configure_resources(defs, {"ops": {}}) is defs
