"""The Dagster names a first port needs, as assetcron offers them (without a Dagster
instance): Config, ConfigurableResource, EnvVar, RunConfig, materialize(),
build_asset_context(), MaterializeResult/Output metadata, AssetIn, AssetSpec +
multi_asset, asset checks, RetryPolicy; and the refusals of what does not fit."""

from __future__ import annotations

import pytest

from assetcron import (
    AssetExecutionContext,
    AssetKey,
    Config,
    ConfigurableResource,
    DailyPartitionsDefinition,
    Definitions,
    EnvVar,
    Failure,
    InvalidDefinitionError,
    RunConfig,
    RunConfigError,
    asset,
    build_asset_context,
    define_asset_job,
    materialize,
)


# --------------------------------------------------------------------- Config
class Window(Config):
    days: int = 7
    city: str = "Paris"


def test_config_is_strict_and_frozen_like_dagsters() -> None:
    @asset
    def temps(config: Window) -> str:
        return f"{config.city}:{config.days}"

    result = materialize([temps], run_config={"ops": {"temps": {"config": {"days": 3}}}})
    assert result.asset_value("temps") == "Paris:3"
    with pytest.raises(RunConfigError, match=r"field 'dayz': Extra inputs are not permitted"):
        materialize([temps], run_config={"ops": {"temps": {"config": {"dayz": 3}}}})
    with pytest.raises(Exception, match="frozen"):
        Window().days = 3  # type: ignore[misc]


def test_run_config_object_builds_dagster_shaped_config() -> None:
    @asset(key_prefix="w")
    def temps(config: Window) -> int:
        return config.days

    rc = RunConfig(ops={"w__temps": Window(days=2)})
    assert rc.to_config_dict() == {"ops": {"w__temps": {"config": {"days": 2, "city": "Paris"}}}}
    assert materialize([temps], run_config=rc).asset_value("w/temps") == 2
    job = define_asset_job("j", config=rc)
    assert job.config == {"ops": {"w__temps": {"config": {"days": 2, "city": "Paris"}}}}


# --------------------------------------------------------- resources and EnvVar
class Warehouse(ConfigurableResource):
    dsn: str
    password: str
    port: int = 5432

    def url(self) -> str:
        return f"{self.dsn}:{self.port}?pw={self.password}"


def test_configurable_resource_binds_by_annotation() -> None:
    @asset
    def tables(warehouse: Warehouse) -> str:
        return warehouse.url()

    assert tables.required_resource_keys == {"warehouse"}
    assert tables.inputs == {}
    result = materialize([tables], resources={"warehouse": Warehouse(dsn="pg", password="pw")})
    assert result.asset_value("tables") == "pg:5432?pw=pw"
    with pytest.raises(InvalidDefinitionError, match="requires resource 'warehouse'"):
        Definitions(assets=[tables])


def test_env_var_is_resolved_when_the_run_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    @asset
    def tables(warehouse: Warehouse) -> str:
        return warehouse.url()

    monkeypatch.delenv("AC_TEST_PW", raising=False)
    resource = Warehouse(dsn="pg", password=EnvVar("AC_TEST_PW"), port=EnvVar.int("AC_TEST_PORT"))
    # Loading the code location needs no secret: the field stays unresolved.
    defs = Definitions(assets=[tables], resources={"warehouse": resource})
    assert repr(defs.resources["warehouse"].password) == "EnvVar('AC_TEST_PW')"
    with pytest.raises(RuntimeError, match=r"EnvVar\('AC_TEST_PW'\) is not resolved"):
        str(resource.password)
    with pytest.raises(
        RunConfigError,
        match=r"'warehouse' field 'password': environment variable 'AC_TEST_PW' is not set",
    ):
        materialize([tables], resources={"warehouse": resource})
    monkeypatch.setenv("AC_TEST_PW", "s3cret")
    monkeypatch.setenv("AC_TEST_PORT", "6543")
    result = materialize([tables], resources={"warehouse": resource})
    assert result.asset_value("tables") == "pg:6543?pw=s3cret"
    assert EnvVar("AC_TEST_PW").get_value() == "s3cret"


def test_env_var_in_yaml_run_config_for_resources_and_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AC_TEST_CITY", "Lyon")
    monkeypatch.setenv("AC_TEST_PW", "pw2")

    @asset
    def where(config: Window, warehouse: Warehouse) -> str:
        return f"{config.city}/{warehouse.password}"

    run_config = {
        "ops": {"where": {"config": {"city": {"env": "AC_TEST_CITY"}}}},
        "resources": {"warehouse": {"config": {"password": {"env": "AC_TEST_PW"}}}},
    }
    result = materialize(
        [where], run_config=run_config, resources={"warehouse": Warehouse(dsn="d", password="x")}
    )
    assert result.asset_value("where") == "Lyon/pw2"
    rc = RunConfig(resources={"warehouse": Warehouse(dsn="d", password=EnvVar("AC_TEST_PW"))})
    assert rc.to_config_dict()["resources"]["warehouse"]["config"]["password"] == {
        "env": "AC_TEST_PW"
    }


def test_env_var_only_needed_by_the_assets_that_use_the_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AC_TEST_PW", raising=False)

    @asset
    def plain() -> int:
        return 1

    @asset
    def secret(warehouse: Warehouse) -> str:
        return warehouse.password

    resources = {"warehouse": Warehouse(dsn="d", password=EnvVar("AC_TEST_PW"))}
    assert materialize([plain, secret], resources=resources, selection="plain").success


# ------------------------------------------------------------------ materialize
def test_materialize_returns_values_and_follows_dependencies() -> None:
    @asset
    def a() -> int:
        return 2

    @asset
    def b(a: int) -> int:
        return a * 10

    result = materialize([a, b])
    assert result.success
    assert result.asset_value("b") == 20
    assert result.output_for_node("b") == 20
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [
        AssetKey("a"),
        AssetKey("b"),
    ]


def test_materialize_reraises_the_assets_exception_unless_told_not_to() -> None:
    @asset
    def bad() -> int:
        raise ValueError("boom")

    @asset
    def good() -> int:
        return 1

    with pytest.raises(ValueError, match="boom"):
        materialize([bad, good])
    result = materialize([bad, good], raise_on_error=False)
    assert not result.success
    assert result.asset_value("good") == 1
    assert [(o.key, o.outcome) for o in result.outcomes] == [
        ("bad", "Failed"),
        ("good", "Materialized"),
    ]
    with pytest.raises(KeyError, match="ValueError: boom"):
        result.asset_value("bad")


def test_materialize_partitioned_asset_and_refuses_an_instance() -> None:
    daily = DailyPartitionsDefinition("2024-01-01")

    @asset(partitions_def=daily)
    def day(context: AssetExecutionContext) -> str:
        return f"{context.partition_key} {context.partition_time_window[0]:%d}"

    assert materialize([day], partition_key="2024-02-03").asset_value("day") == "2024-02-03 03"
    with pytest.raises(InvalidDefinitionError, match="no Dagster instance"):
        materialize([day], instance=object())


# ------------------------------------------------------------ build_asset_context
def test_build_asset_context_for_calling_an_asset_directly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AC_TEST_PW", "direct")

    @asset(key_prefix="p")
    def report(context: AssetExecutionContext, warehouse: Warehouse) -> str:
        context.log.info("reporting")
        return f"{context.asset_key.to_user_string()} {warehouse.password} {context.op_config}"

    context = build_asset_context(
        resources={"warehouse": Warehouse(dsn="d", password=EnvVar("AC_TEST_PW"))},
        asset_config={"x": 1},
    )
    assert report(context, context.resources.warehouse) == "p/report direct {'x': 1}"
    with pytest.raises(InvalidDefinitionError, match="one partition"):
        build_asset_context(partition_key_range=object())


def test_build_asset_context_configures_resources() -> None:
    context = build_asset_context(
        resources={"warehouse": Warehouse(dsn="d", password="x")},
        resources_config={"warehouse": {"port": 1}},
    )
    assert context.resources.warehouse.port == 1


def test_failure_from_an_asset_is_raised_by_materialize() -> None:
    @asset
    def no() -> int:
        raise Failure("clear message")

    with pytest.raises(Failure, match="clear message"):
        materialize([no])
