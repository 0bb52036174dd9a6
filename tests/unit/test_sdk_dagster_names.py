"""The Dagster names a first port needs, as assetcron offers them (without a Dagster
instance): Config, ConfigurableResource, EnvVar, RunConfig, materialize(),
build_asset_context(), MaterializeResult/Output metadata, AssetIn, AssetSpec +
multi_asset, asset checks, RetryPolicy; and the refusals of what does not fit."""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from assetcron import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetSpec,
    Backoff,
    Config,
    ConfigurableResource,
    DailyPartitionsDefinition,
    Definitions,
    EnvVar,
    Failure,
    InvalidDefinitionError,
    Jitter,
    MaterializeResult,
    ObjectStorage,
    Output,
    RetryPolicy,
    RunConfig,
    RunConfigError,
    asset,
    asset_check,
    build_asset_context,
    build_summary,
    define_asset_job,
    encode_summary,
    materialize,
    multi_asset,
)
from assetcron._materialize import RunResult, validate_run_config
from assetcron._materialize import materialize as engine_materialize
from assetcron._records import RecordStore
from assetcron._selection import plan
from assetcron._summary import AssetOutcome, CheckOutcome
from assetcron_operator.status import parse_summary


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


# ---------------------------------------------------------------- @asset parameters
def test_asset_takes_metadata_compute_kind_and_ins() -> None:
    @asset(key_prefix="raw")
    def orders() -> list[int]:
        return [1, 2]

    @asset(
        ins={"rows": AssetIn("raw/orders")},
        metadata={"owner_team": "sales"},
        compute_kind="python",
        io_manager_key="io_manager",  # the default is accepted
    )
    def order_count(rows: list[int]) -> int:
        return len(rows)

    @asset(ins={"orders": AssetIn(key_prefix=["raw"])})
    def first(orders: list[int]) -> int:
        return orders[0]

    assert order_count.inputs == {"rows": AssetKey(["raw", "orders"])}
    assert order_count.metadata == {"owner_team": "sales"}
    assert order_count.kinds == {"python"}
    assert first.inputs == {"orders": AssetKey(["raw", "orders"])}
    result = materialize([orders, order_count, first])
    assert (result.asset_value("order_count"), result.asset_value("first")) == (2, 1)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (
            {"io_manager_key": "s3_io"},
            r"io_manager_key='s3_io' is not supported: storage is .*--storage",
        ),
        ({"io_manager_def": object()}, "ASSETCRON_STORAGE"),
        ({"resource_defs": {"r": 1}}, "Definitions\\(resources=...\\)"),
        ({"automation_condition": object()}, "schedules"),
        ({"freshness_policy": object()}, "asset_check"),
        ({"backfill_policy": object()}, "one run per partition"),
        ({"check_specs": [object()]}, "@asset_check"),
        ({"op_tags": {"dagster-k8s/config": {}}}, "AssetJob's template"),
        ({"pool": "db"}, "concurrencyPolicy"),
        ({"output_required": False}, "on every run"),
        ({"kinds": {"sql"}, "compute_kind": "python"}, "kinds or compute_kind"),
        ({"ins": {"nope": AssetIn("x")}}, "ins names 'nope', which is not a parameter"),
        ({"partitions_def": object()}, "dynamic and multi partitions are not supported"),
        ({"retry_policy": 3}, "retry_policy must be a RetryPolicy"),
    ],
)
def test_asset_refuses_what_does_not_fit_with_why(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidDefinitionError, match=rf"asset 'x': .*{fragment}"):

        @asset(name="x", **kwargs)
        def fn() -> None:
            return None


def test_asset_in_refusals() -> None:
    with pytest.raises(InvalidDefinitionError, match="inputs are read from the run's storage"):
        AssetIn("a", input_manager_key="m")
    with pytest.raises(InvalidDefinitionError, match="key or key_prefix, not both"):
        AssetIn("a", key_prefix="p")


# ------------------------------------------------------- MaterializeResult / Output
def _engine_run(
    assets: list[Any], storage: ObjectStorage, **kwargs: Any
) -> tuple[Definitions, RunResult]:
    defs = Definitions(assets=assets)
    keys = plan(defs.graph, "*")
    result = engine_materialize(
        defs,
        keys,
        run_id="run-1",
        scheduled_time=datetime(2024, 5, 1, tzinfo=UTC),
        partition_key=None,
        run_config={},
        configs=validate_run_config(defs, keys, {}),
        storage=storage,
        **kwargs,
    )
    return defs, result


def test_materialize_result_metadata_is_recorded_and_summarised() -> None:
    storage = ObjectStorage.in_memory()

    @asset
    def table(context: AssetExecutionContext) -> MaterializeResult:
        context.add_output_metadata({"source": "api", "rows": 1})
        return MaterializeResult(
            metadata={"rows": 3, "when": datetime(2024, 5, 1, tzinfo=UTC), "path": Path("/x")}
        )

    @asset
    def with_value() -> Output:
        return Output([1, 2], metadata={"n": 2})

    @asset
    def after(table: None, with_value: list[int]) -> int:
        return len(with_value) if table is None else -1

    _, result = _engine_run([table, with_value, after], storage)
    assert result.success
    records = RecordStore(storage)
    rec = records.get("run-1", "table", None)
    assert rec is not None
    assert rec.metadata == {
        "source": "api",
        "rows": 3,
        "when": "2024-05-01T00:00:00+00:00",
        "path": "/x",
    }
    assert result.values[AssetKey("with_value")] == [1, 2]
    assert result.values[AssetKey("after")] == 2  # MaterializeResult without value stores None
    summary = build_summary(
        run_id="run-1",
        scheduled_time=None,
        partition_key=None,
        duration_seconds=1.0,
        outcomes=result.outcomes,
    )
    assert summary["assets"][0] == {
        "key": "table",
        "outcome": "Materialized",
        "metadata": rec.metadata,
    }
    assert "metadata" not in summary["assets"][2]
    # The operator's parser keeps reading the summary (it ignores the new field).
    parsed = parse_summary(encode_summary(summary))
    assert parsed is not None
    assert parsed["assets"][0] == {"key": "table", "outcome": "Materialized"}


def test_materialize_result_events_and_big_metadata_in_summary() -> None:
    @asset
    def big() -> MaterializeResult:
        return MaterializeResult(metadata={"text": "x" * 500}, value=1)

    result = materialize([big])
    assert result.asset_value("big") == 1
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata == {"text": "x" * 500}
    summary = build_summary(
        run_id="r",
        scheduled_time=None,
        partition_key=None,
        duration_seconds=0,
        outcomes=result.outcomes,
    )
    assert "metadata" not in summary["assets"][0]  # too big for the termination message


def test_metadata_that_is_not_json_fails_the_asset_clearly() -> None:
    @asset
    def odd() -> MaterializeResult:
        return MaterializeResult(metadata={"thing": object()})

    result = materialize([odd], raise_on_error=False)
    assert result.outcomes[0].outcome == "Failed"
    assert "metadata.thing: a object is not JSON data" in (result.outcomes[0].error or "")


def test_materialize_result_refuses_check_results_and_data_version() -> None:
    with pytest.raises(InvalidDefinitionError, match="@asset_check"):
        MaterializeResult(check_results=[object()])
    with pytest.raises(InvalidDefinitionError, match="code_version"):
        MaterializeResult(data_version="1")


def test_generator_asset_yields_one_output() -> None:
    @asset
    def gen() -> Iterator[Output]:
        yield Output(5, metadata={"k": "v"})

    @asset
    def two() -> Iterator[Output]:
        yield Output(1)
        yield Output(2)

    result = materialize([gen, two], raise_on_error=False)
    assert result.asset_value("gen") == 5
    assert "yielded 2 results" in (result.outcomes[1].error or "")


# ------------------------------------------------------------------- RetryPolicy
def test_retry_policy_retries_then_succeeds_with_dagsters_delays() -> None:
    calls: list[int] = []
    waits: list[float] = []

    @asset(retry_policy=RetryPolicy(max_retries=3, delay=2, backoff=Backoff.EXPONENTIAL))
    def flaky() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("try again")
        return len(calls)

    _, result = _engine_run([flaky], ObjectStorage.in_memory(), sleep=waits.append)
    assert result.success
    assert result.values[AssetKey("flaky")] == 3
    assert waits == [2.0, 6.0]  # (2**1 - 1) * 2, (2**2 - 1) * 2


def test_retry_policy_gives_up_after_max_retries() -> None:
    calls: list[int] = []

    @asset(retry_policy=RetryPolicy(max_retries=2))
    def broken() -> int:
        calls.append(1)
        raise ValueError("still broken")

    @asset(retry_policy=RetryPolicy(max_retries=5))
    def final() -> int:
        calls.append(10)
        raise Failure("do not retry", allow_retries=False)

    result = materialize([broken, final], raise_on_error=False)
    assert sum(calls) == 3 + 10
    assert result.outcomes[0].error == "ValueError: still broken (after 3 attempts)"
    assert result.outcomes[1].error == "do not retry"


def test_retry_policy_is_checked() -> None:
    with pytest.raises(InvalidDefinitionError, match="max_retries must be an integer >= 0"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(InvalidDefinitionError, match="backoff and jitter need a delay"):
        RetryPolicy(backoff=Backoff.LINEAR)
    assert 0 <= RetryPolicy(delay=1, jitter=Jitter.FULL).delay_before(1) <= 1


# --------------------------------------------------------- AssetSpec + multi_asset
@asset
def source() -> list[int]:
    return [3, 1, 2]


@multi_asset(
    specs=[AssetSpec("stats/low", group_name="stats"), AssetSpec(["stats", "high"])],
    group_name="g",
)
def extremes(source: list[int]) -> Iterator[MaterializeResult]:
    yield MaterializeResult(asset_key="stats/low", value=min(source), metadata={"n": 3})
    yield MaterializeResult(asset_key="stats/high", value=max(source))


def test_multi_asset_stores_one_value_per_spec_in_one_call() -> None:
    calls: list[int] = []

    @multi_asset(specs=[AssetSpec("a"), AssetSpec("b", deps=["source"])], name="pair")
    def pair(context: AssetExecutionContext, source: list[int]) -> tuple[int, int]:
        calls.append(1)
        assert context.selected_asset_keys == {AssetKey("a"), AssetKey("b")}
        return len(source), sum(source)

    storage = ObjectStorage.in_memory()
    defs, result = _engine_run([source, extremes, pair], storage)
    assert result.success
    assert calls == [1]
    values = result.values
    assert (values[AssetKey("a")], values[AssetKey("b")]) == (3, 6)
    assert (values[AssetKey(["stats", "low"])], values[AssetKey(["stats", "high"])]) == (1, 3)
    assert storage.read(AssetKey(["stats", "high"]), None) == 3
    low = defs.assets[AssetKey(["stats", "low"])]
    assert (low.group_name, low.op_name) == ("stats", "extremes")
    assert defs.assets[AssetKey(["stats", "high"])].group_name == "g"
    rec = RecordStore(storage).get("run-1", "stats/low", None)
    assert rec is not None
    assert rec.metadata == {"n": 3}
    assert set(extremes.keys) == {AssetKey(["stats", "low"]), AssetKey(["stats", "high"])}


def test_multi_asset_subset_run_stores_only_the_selected_asset() -> None:
    result = materialize([source, extremes], selection="key:stats/high or key:source")
    assert result.asset_value("stats/high") == 3
    with pytest.raises(KeyError):
        result.asset_value("stats/low")
    assert result.output_for_node("extremes", "stats__high") == 3


class Scale(Config):
    factor: int = 1


def test_multi_asset_run_config_uses_its_op_name() -> None:
    @multi_asset(specs=[AssetSpec("x"), AssetSpec("y")], name="scaled")
    def scaled(config: Scale) -> Iterator[Output]:
        yield Output(1 * config.factor, output_name="x")
        yield Output(2 * config.factor, output_name="y")

    result = materialize([scaled], run_config={"ops": {"scaled": {"config": {"factor": 10}}}})
    assert (result.asset_value("x"), result.asset_value("y")) == (10, 20)


def test_multi_asset_missing_or_unknown_result_fails_its_assets() -> None:
    @multi_asset(specs=[AssetSpec("x"), AssetSpec("y")])
    def half() -> MaterializeResult:
        return MaterializeResult(asset_key="x", value=1)

    @asset
    def below(y: int) -> int:
        return y

    result = materialize([half, below], raise_on_error=False)
    assert [(o.key, o.outcome) for o in result.outcomes] == [
        ("x", "Failed"),
        ("y", "Failed"),
        ("below", "Skipped"),
    ]
    assert "multi_asset 'half' gave no result for 'y'" in (result.outcomes[0].error or "")


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: multi_asset(outs={"a": object()}), "give specs=\\[AssetSpec"),
        (lambda: multi_asset(specs=[]), "give specs="),
        (lambda: AssetSpec("a", skippable=True), "skippable is not supported"),
        (lambda: AssetSpec("a", automation_condition=object()), "schedules"),
        (lambda: multi_asset(specs=[AssetSpec("a")], internal_asset_deps={"a": set()}), "split"),
        (lambda: Definitions(assets=[AssetSpec("ext")]), "external asset"),
    ],
)
def test_multi_asset_and_spec_refusals(make: Any, fragment: str) -> None:
    with pytest.raises(InvalidDefinitionError, match=fragment):
        make()


def test_selection_and_deps_accept_a_multi_asset() -> None:
    @asset(deps=[extremes])
    def report() -> None:
        return None

    assert set(report.deps) == {AssetKey(["stats", "low"]), AssetKey(["stats", "high"])}
    job = define_asset_job("j", selection=[extremes])
    defs = Definitions(assets=[source, extremes, report], jobs=[job])
    assert set(defs.get_job_plan("j")) == set(extremes.keys)


# ------------------------------------------------------------------- asset checks
@asset
def rows() -> list[int]:
    return [1, 2, 3]


@asset
def total(rows: list[int]) -> int:
    return sum(rows)


@asset_check(asset=rows, description="no row is negative")
def no_negatives(rows: list[int]) -> AssetCheckResult:
    return AssetCheckResult(passed=all(r >= 0 for r in rows), metadata={"n": len(rows)})


@asset_check(asset="rows", blocking=True)
def enough_rows(context: AssetCheckExecutionContext, rows: list[int]) -> AssetCheckResult:
    assert context.check_name == "enough_rows"
    return AssetCheckResult(passed=len(rows) >= 5, description=f"{len(rows)} rows, want 5")


@asset_check(asset=rows, name="warn_only")
def small(rows: list[int]) -> AssetCheckResult:
    return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN, description="small")


def test_passing_and_failing_non_blocking_checks_are_reported_the_run_succeeds() -> None:
    result = materialize([rows, total, no_negatives, small])
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert [(e.check_name, e.passed, e.severity) for e in evaluations] == [
        ("no_negatives", True, AssetCheckSeverity.ERROR),
        ("warn_only", False, AssetCheckSeverity.WARN),
    ]
    assert evaluations[0].metadata == {"n": 3}
    summary = build_summary(
        run_id="r",
        scheduled_time=None,
        partition_key=None,
        duration_seconds=0,
        outcomes=result.outcomes,
        checks=result.run_result.checks,
    )
    assert summary["result"] == "Succeeded"
    assert summary["checks"] == [
        {"asset": "rows", "name": "no_negatives", "outcome": "Passed"},
        {
            "asset": "rows",
            "name": "warn_only",
            "outcome": "Failed",
            "severity": "WARN",
            "message": "small",
        },
    ]
    parsed = parse_summary(encode_summary(summary))
    assert parsed is not None
    assert parsed["counts"]["failed"] == 0


def test_failing_blocking_check_skips_downstream_and_fails_the_run() -> None:
    result = materialize([rows, total, enough_rows], raise_on_error=False)
    assert not result.success
    assert [(o.key, o.outcome, o.error) for o in result.outcomes] == [
        ("rows", "Materialized", None),
        ("total", "Skipped", "blocking check 'rows:enough_rows' failed"),
    ]
    assert result.run_result.checks[0].fails_run
    with pytest.raises(Failure, match=r"blocking asset check 'rows:enough_rows' failed: 3 rows"):
        materialize([rows, total, enough_rows])


def test_a_check_that_raises_fails_the_run() -> None:
    @asset_check(asset=rows)
    def explodes(rows: list[int]) -> AssetCheckResult:
        raise ZeroDivisionError("nope")

    result = materialize([rows, total, explodes], raise_on_error=False)
    assert [o.outcome for o in result.outcomes] == ["Materialized", "Materialized"]
    [check] = result.run_result.checks
    assert (check.outcome, check.message) == ("Errored", "ZeroDivisionError: nope")
    assert not result.success
    with pytest.raises(ZeroDivisionError):
        materialize([rows, explodes])


def test_check_with_additional_ins_runs_once_its_inputs_are_materialized() -> None:
    @asset_check(asset=rows, additional_ins={"expected": AssetIn("total")})
    def sums(rows: list[int], expected: int) -> AssetCheckResult:
        return AssetCheckResult(passed=sum(rows) == expected)

    result = materialize([rows, total, sums])
    assert [(c.name, c.outcome) for c in result.run_result.checks] == [("sums", "Passed")]


def test_checks_of_failed_assets_do_not_run() -> None:
    @asset
    def broken() -> int:
        raise ValueError("x")

    @asset_check(asset=broken)
    def never(broken: int) -> AssetCheckResult:
        raise AssertionError("must not run")

    result = materialize([broken, never], raise_on_error=False)
    assert result.run_result.checks == []


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (
            lambda: Definitions(assets=[rows], asset_checks=[asset_check(asset="rowz")(_ok)]),
            r"needs asset 'rowz', which is not defined; did you mean 'rows'",
        ),
        (
            lambda: Definitions(assets=[rows], asset_checks=[asset_check(asset=rows)(_stray)]),
            r"parameter 'row' is not the asset \(name it 'rows'\)",
        ),
        (
            lambda: asset_check(asset=rows, config_schema=Window)(_ok),
            "take no run config",
        ),
        (
            lambda: asset_check(asset=rows, blocking=True, additional_deps=["total"])(_ok),
            "blocking check runs right after its asset",
        ),
        (
            lambda: Definitions(assets=[rows, no_negatives, no_negatives]),
            "is defined more than once",
        ),
    ],
)
def test_check_definition_errors_name_the_problem(make: Any, fragment: str) -> None:
    with pytest.raises(InvalidDefinitionError, match=fragment):
        make()


def _ok() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


def _stray(row: list[int]) -> AssetCheckResult:
    return AssetCheckResult(passed=True)


def test_check_results_reach_the_termination_summary_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assetcron.cli import main

    source = tmp_path / f"loc_{uuid.uuid4().hex}.py"
    source.write_text(
        textwrap.dedent(
            """
            from assetcron import AssetCheckResult, Definitions, asset, asset_check

            @asset
            def rows() -> list[int]:
                return [1]

            @asset_check(asset=rows)
            def enough(rows: list[int]) -> AssetCheckResult:
                return AssetCheckResult(passed=len(rows) > 1, description="one row")

            defs = Definitions(assets=[rows], asset_checks=[enough])
            """
        )
    )
    log = tmp_path / "term.log"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("ASSETCRON_TERMINATION_LOG", str(log))
    args = ["asset", "materialize", "-f", str(source), "--select", "*"]
    code = main([*args, "--scheduled-time", "2024-05-01T06:00:00Z"])
    assert code == 0  # a failed non-blocking check does not fail the run, as in Dagster
    summary = json.loads(log.read_text())
    assert summary["result"] == "Succeeded"
    assert summary["checks"] == [
        {
            "asset": "rows",
            "name": "enough",
            "outcome": "Failed",
            "severity": "ERROR",
            "message": "one row",
        }
    ]


def test_summary_too_big_drops_metadata_then_passed_checks_before_assets() -> None:
    outcomes = [AssetOutcome(f"a{i:03d}", "Materialized", metadata={"n": i}) for i in range(60)]
    checks = [CheckOutcome(f"a{i:03d}", "ok", "Passed") for i in range(60)]
    checks.append(CheckOutcome("a000", "bad", "Failed", message="why"))
    summary = build_summary(
        run_id="r",
        scheduled_time=None,
        partition_key=None,
        duration_seconds=0,
        outcomes=outcomes,
        checks=checks,
    )
    text = encode_summary(summary)
    assert len(text.encode()) <= 4096
    kept = json.loads(text)
    assert kept["truncated"] is True
    assert all("metadata" not in a for a in kept["assets"])
    outcomes_kept = [c["outcome"] for c in kept["checks"]]
    assert "Failed" in outcomes_kept  # the failure survives
    assert outcomes_kept.count("Passed") < 60  # passed checks go before any asset entry
    assert len(kept["assets"]) == 60


# ----------------------------------------------------- the same signatures as Dagster
#: assetcron's own additions to Dagster's parameters (documented where they are defined).
_EXTRAS = {
    "materialize": {"scheduled_time"},
    "materialize_to_memory": {"scheduled_time"},
    "build_asset_context": {"scheduled_time"},
    "multi_asset": {"output_format"},
    "asset": {"fn", "compute_kind", "output_format"},
}
#: Dagster parameters left out on purpose.
_LEFT_OUT = {"asset": {"compute_fn"}, "Definitions": {"component_tree"}}


@pytest.mark.parametrize(
    "name",
    [
        "define_asset_job",
        "ScheduleDefinition",
        "schedule",
        "RunRequest",
        "SkipReason",
        "build_schedule_context",
        "build_schedule_from_partitioned_job",
        "materialize",
        "materialize_to_memory",
        "build_asset_context",
        "MaterializeResult",
        "Output",
        "AssetIn",
        "AssetDep",
        "AssetSpec",
        "HourlyPartitionsDefinition",
        "DailyPartitionsDefinition",
        "WeeklyPartitionsDefinition",
        "MonthlyPartitionsDefinition",
        "TimeWindowPartitionsDefinition",
        "StaticPartitionsDefinition",
        "IdentityPartitionMapping",
        "TimeWindowPartitionMapping",
        "AllPartitionMapping",
        "LastPartitionMapping",
        "multi_asset",
        "asset_check",
        "AssetCheckResult",
        "AssetCheckKey",
        "RetryPolicy",
        "RunConfig",
        "Failure",
        "asset",
        "Definitions",
    ],
)
def test_signatures_match_dagsters(name: str) -> None:
    dagster = pytest.importorskip("dagster")
    import inspect

    import assetcron

    def params(obj: Any) -> list[tuple[str, Any]]:
        sig = inspect.signature(obj)
        return [(p.name, p.kind) for p in sig.parameters.values() if p.kind != p.VAR_KEYWORD]

    theirs = [p for p in params(getattr(dagster, name)) if p[0] not in _LEFT_OUT.get(name, ())]
    ours = [p for p in params(getattr(assetcron, name)) if p[0] not in _EXTRAS.get(name, ())]
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    assert [n for n, k in ours if k in positional] == [n for n, k in theirs if k in positional]
