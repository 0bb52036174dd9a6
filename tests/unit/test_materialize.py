"""Materialization: order, persistence, resume, failure isolation, records, summary."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from assetcron import (
    AssetExecutionContext,
    AssetKey,
    DailyPartitionsDefinition,
    Definitions,
    Failure,
    ObjectStorage,
    RunConfigError,
    asset,
    plan,
)
from assetcron._materialize import (
    RunResult,
    materialize,
    run_id_for,
    run_partition_key,
    validate_run_config,
)
from assetcron._records import RecordStore
from assetcron._summary import AssetOutcome, build_summary, encode_summary

TICK = datetime(2015, 6, 2, 6, tzinfo=UTC)
DAILY = DailyPartitionsDefinition(start_date="2015-01-01")


def make_defs(calls: Counter[str], broken: set[str]) -> Definitions:
    """a -> b -> c, and an independent d; every asset counts its calls."""

    def step(name: str, value: Any) -> Any:
        calls[name] += 1
        if name in broken:
            raise ValueError(f"{name} is broken")
        return value

    @asset(partitions_def=DAILY)
    def a(context: AssetExecutionContext) -> dict[str, Any]:
        return step("a", {"day": context.partition_key})

    @asset(partitions_def=DAILY, output_format="json")
    def b(a: dict[str, Any]) -> dict[str, Any]:
        return step("b", {**a, "b": True})

    @asset(partitions_def=DAILY)
    def c(b: dict[str, Any], context: AssetExecutionContext) -> list[Any]:
        return step("c", [b, context.op_config.get("x")])

    @asset(partitions_def=DAILY)
    def d() -> int:
        return step("d", 4)  # type: ignore[no-any-return]

    return Definitions(assets=[a, b, c, d])


def run(
    defs: Definitions, tmp_path: Path, select: str = "*", *, force: bool = False, **kw: Any
) -> RunResult:
    keys = plan(defs.graph, select)
    part = run_partition_key(defs, keys, TICK, kw.pop("partition_key", None))
    run_config = kw.pop("run_config", {})
    return materialize(
        defs,
        keys,
        run_id=run_id_for("loc", select, part, TICK),
        scheduled_time=TICK,
        partition_key=part,
        run_config=run_config,
        configs=validate_run_config(defs, keys, run_config),
        storage=ObjectStorage.local(tmp_path),
        force=force,
    )


def outcomes(result: RunResult) -> dict[str, str]:
    return {o.key: o.outcome for o in result.outcomes}


def test_materializes_in_plan_order_and_persists_per_partition(tmp_path: Path) -> None:
    calls: Counter[str] = Counter()
    defs = make_defs(calls, set())
    result = run(defs, tmp_path, run_config={"ops": {"c": {"config": {"x": 7}}}})
    assert [o.key for o in result.outcomes] == ["a", "b", "c", "d"]
    assert result.success
    assert result.partition_key == "2015-06-01"
    storage = ObjectStorage.local(tmp_path)
    assert storage.read(AssetKey("c"), "2015-06-01") == [{"day": "2015-06-01", "b": True}, 7]
    stored_b = tmp_path / "assets" / "b" / "2015-06-01.json"
    assert json.loads(stored_b.read_text()) == {"day": "2015-06-01", "b": True}
    assert not list(tmp_path.rglob("*#*")), "staging files left behind"
    assert not list(tmp_path.rglob("*.lock")), "locks left behind"
    history = RecordStore(ObjectStorage.local(tmp_path)).history("c")
    assert [(r.status, r.partition_key, r.run_id) for r in history] == [
        ("Materialized", "2015-06-01", result.run_id)
    ]
    assert history[0].end_time is not None
    assert history[0].start_time <= history[0].end_time


def test_rerunning_the_same_run_reuses_unless_forced(tmp_path: Path) -> None:
    calls: Counter[str] = Counter()
    defs = make_defs(calls, set())
    run(defs, tmp_path)
    second = run(defs, tmp_path)
    assert set(outcomes(second).values()) == {"Reused"}
    assert calls == Counter({"a": 1, "b": 1, "c": 1, "d": 1})
    forced = run(defs, tmp_path, force=True)
    assert set(outcomes(forced).values()) == {"Materialized"}
    assert calls["a"] == 2
    other_day = run(defs, tmp_path, partition_key="2015-06-02")
    assert set(outcomes(other_day).values()) == {"Materialized"}


def test_failure_skips_downstream_only_and_a_rerun_resumes(tmp_path: Path) -> None:
    calls: Counter[str] = Counter()
    broken = {"b"}
    defs = make_defs(calls, broken)
    first = run(defs, tmp_path)
    assert outcomes(first) == {
        "a": "Materialized",
        "b": "Failed",
        "c": "Skipped",
        "d": "Materialized",
    }
    assert not first.success
    failed = next(o for o in first.outcomes if o.key == "b")
    assert failed.error == "ValueError: b is broken"
    rec = RecordStore(ObjectStorage.local(tmp_path)).get(first.run_id, "b", "2015-06-01")
    assert rec is not None
    assert (rec.status, rec.error) == ("Failed", "ValueError: b is broken")

    broken.clear()  # "fix the bug" and re-run the same tick: resume
    second = run(defs, tmp_path)
    assert outcomes(second) == {
        "a": "Reused",
        "b": "Materialized",
        "c": "Materialized",
        "d": "Reused",
    }
    assert second.run_id == first.run_id
    assert calls == Counter({"a": 1, "b": 2, "c": 1, "d": 1})


def test_upstream_outside_the_selection_is_read_from_storage(tmp_path: Path) -> None:
    calls: Counter[str] = Counter()
    defs = make_defs(calls, set())
    missing = run(defs, tmp_path, "key:c")
    assert outcomes(missing) == {"c": "Failed"}
    (msg,) = [o.error for o in missing.outcomes]
    assert msg is not None
    assert "no stored value for asset 'b'" in msg
    assert "not in the selection" in msg

    assert outcomes(run(defs, tmp_path, "key:a")) == {"a": "Materialized"}
    assert outcomes(run(defs, tmp_path, "key:b")) == {"b": "Materialized"}  # a from storage
    ok = run(defs, tmp_path, "key:c", force=True)
    assert outcomes(ok) == {"c": "Materialized"}
    value = ObjectStorage.local(tmp_path).read(AssetKey("c"), "2015-06-01")
    assert value == [{"day": "2015-06-01", "b": True}, None]
    assert calls == Counter({"a": 1, "b": 1, "c": 1})  # the failed c never reached its body


def test_failure_class_gives_one_clean_line(tmp_path: Path) -> None:
    @asset
    def a() -> None:
        raise Failure("no observations for 2016-01-05")

    result = run(Definitions(assets=[a]), tmp_path)
    assert [(o.outcome, o.error) for o in result.outcomes] == [
        ("Failed", "no observations for 2016-01-05")
    ]
    assert result.partition_key is None


def test_run_config_validation() -> None:
    defs = make_defs(Counter(), set())
    keys = plan(defs.graph, "*")
    with pytest.raises(RunConfigError, match="did you mean 'c'"):
        validate_run_config(defs, keys, {"ops": {"cc": {"config": {}}}})
    with pytest.raises(RunConfigError, match="unexpected top-level key"):
        validate_run_config(defs, keys, {"opz": {}})
    with pytest.raises(RunConfigError, match="expected"):
        validate_run_config(defs, keys, {"ops": {"c": {"cfg": {}}}})


def test_run_id_is_deterministic() -> None:
    a = run_id_for("m:defs", "*", "2015-06-01", TICK)
    assert a == run_id_for("m:defs", "*", "2015-06-01", TICK.astimezone())
    assert a != run_id_for("m:defs", "*", "2015-06-02", TICK)
    assert a != run_id_for("m:defs", "a", "2015-06-01", TICK)
    assert a != run_id_for("n:defs", "*", "2015-06-01", TICK)


def test_summary_shape_and_4k_limit() -> None:
    outs = [AssetOutcome(f"group/asset_number_{i:04d}", "Materialized") for i in range(300)]
    outs.append(AssetOutcome("bad/one", "Failed", 0.1, "x" * 500))
    outs.append(AssetOutcome("bad/two", "Skipped"))
    summary = build_summary(
        run_id="r",
        scheduled_time=TICK,
        partition_key="2015-06-01",
        duration_seconds=1.23456,
        outcomes=outs,
    )
    assert summary["counts"] == {"materialized": 300, "reused": 0, "failed": 1, "skipped": 1}
    assert summary["result"] == "Failed"
    text = encode_summary(summary)
    assert len(text.encode()) <= 4096
    decoded = json.loads(text)
    assert decoded["truncated"] is True
    kept = {a["key"]: a for a in decoded["assets"]}
    assert kept["bad/one"]["outcome"] == "Failed"
    assert len(kept["bad/one"]["error"]) <= 200
    assert "bad/two" in kept
    small = build_summary(
        run_id="r",
        scheduled_time=TICK,
        partition_key=None,
        duration_seconds=0.5,
        outcomes=[AssetOutcome("a", "Reused")],
    )
    assert json.loads(encode_summary(small)) == {
        "result": "Succeeded",
        "runId": "r",
        "scheduledTime": "2015-06-02T06:00:00+00:00",
        "partitionKey": None,
        "durationSeconds": 0.5,
        "counts": {"materialized": 0, "reused": 1, "failed": 0, "skipped": 0},
        "assets": [{"key": "a", "outcome": "Reused"}],
    }


def test_a_run_that_stopped_early_says_why_and_fits() -> None:
    summary = build_summary(
        run_id=None,
        scheduled_time=None,
        partition_key=None,
        duration_seconds=0.25,
        outcomes=[],
        message="unknown asset key 'p/aa'; did you mean 'p/a'?\n" + "é" * 2000,
    )
    decoded = json.loads(encode_summary(summary))
    assert decoded["result"] == "Failed"
    assert decoded["runId"] is None
    assert decoded["scheduledTime"] is None
    assert decoded["counts"] == {"materialized": 0, "reused": 0, "failed": 0, "skipped": 0}
    assert decoded["message"].startswith("unknown asset key 'p/aa'; did you mean 'p/a'? ééé")
    assert len(decoded["message"]) == 500
    assert "\n" not in decoded["message"]
    everything_fine = build_summary(
        run_id="r",
        scheduled_time=TICK,
        partition_key=None,
        duration_seconds=1.0,
        outcomes=[AssetOutcome("a", "Materialized")],
        message="terminated by SIGTERM after 1 s while materializing b",
    )
    assert everything_fine["result"] == "Failed"  # stopped before its plan was done


def test_secrets_are_redacted_before_errors_are_cut() -> None:
    from assetcron._redact import Redactor

    secret = "s3cr3t-" + "k" * 300  # longer than an error may be: the cut would split it
    error = f"RuntimeError: {'x' * 150} login with {secret} failed"
    summary = build_summary(
        run_id="r",
        scheduled_time=TICK,
        partition_key=None,
        duration_seconds=1.0,
        outcomes=[AssetOutcome("a", "Failed", 0.1, error)],
        message=f"also here: {secret}",
        redact=Redactor([secret]),
    )
    text = encode_summary(summary)
    assert "s3cr3t" not in text
    assert "kkkk" not in text
    assert summary["assets"][0]["error"].endswith("login with *** failed")
    assert summary["message"] == "also here: ***"


def test_context_carries_the_run(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}
    db = object()

    @asset(partitions_def=DAILY, required_resource_keys={"db"})
    def a(context: AssetExecutionContext) -> None:
        seen.update(
            key=context.asset_key,
            run_id=context.run_id,
            tick=context.scheduled_time,
            part=context.partition_key,
            window=context.partition_time_window,
            db=context.resources.db,
            logger=context.log.name,
            storage=context.storage_dir,
            run_config=dict(context.run_config),
        )

    result = run(Definitions(assets=[a], resources={"db": db}), tmp_path, run_config={"ops": {}})
    assert result.success
    assert seen["key"] == AssetKey("a")
    assert seen["run_id"] == result.run_id
    assert seen["tick"] == TICK
    assert seen["part"] == "2015-06-01"
    assert seen["window"][0] == datetime(2015, 6, 1, tzinfo=UTC)
    assert seen["db"] is db
    assert seen["logger"] == "assetcron.asset.a"
    assert seen["storage"] == tmp_path
    assert seen["run_config"] == {"ops": {}}


def test_an_unserialisable_value_fails_the_asset_and_keeps_the_old_value(tmp_path: Path) -> None:
    values: list[Any] = [1, lambda: 0]

    @asset(output_format="json")
    def a() -> Any:
        return values.pop(0)

    defs = Definitions(assets=[a])
    assert run(defs, tmp_path).success
    failed = run(defs, tmp_path, force=True)
    assert outcomes(failed) == {"a": "Failed"}
    assert ObjectStorage.local(tmp_path).read(AssetKey("a"), None) == 1
    assert [p.name for p in (tmp_path / "assets" / "a").iterdir()] == ["__unpartitioned__.json"]
