"""Partitions definitions and mappings: the pure logic, without Dagster.

The differential test (test_partitions_dagster.py) compares with Dagster; these pin
the rules that matter to users in plain numbers, and every error path.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from assetcron import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    AssetIn,
    DailyPartitionsDefinition,
    Definitions,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    InvalidDefinitionError,
    LastPartitionMapping,
    MonthlyPartitionsDefinition,
    PartitionKeyError,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
    asset,
)
from assetcron._materialize import materialize, run_id_for, run_partition_key, validate_run_config
from assetcron._partition_mappings import upstream_partition_keys
from assetcron._selection import plan
from assetcron._storage import ObjectStorage

NY = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_tick_materializes_the_last_complete_window() -> None:
    daily = DailyPartitionsDefinition("2024-01-01", timezone="America/New_York")
    assert daily.key_for_schedule_tick(utc(2024, 3, 11, 10)) == "2024-03-10"
    # 23:30 in New York on the 10th is the 11th in UTC; the 10th has not ended.
    assert daily.key_for_schedule_tick(utc(2024, 3, 11, 3, 30)) == "2024-03-09"
    today = DailyPartitionsDefinition("2024-01-01", timezone="America/New_York", end_offset=1)
    assert today.key_for_schedule_tick(utc(2024, 3, 11, 10)) == "2024-03-11"
    hourly = HourlyPartitionsDefinition("2024-01-01-00:00", minute_offset=15)
    assert hourly.key_for_schedule_tick(utc(2024, 3, 11, 10, 20)) == "2024-03-11-09:15"
    weekly = WeeklyPartitionsDefinition("2024-01-01", day_offset=1)  # Mondays
    assert weekly.key_for_schedule_tick(utc(2024, 3, 13)) == "2024-03-04"
    monthly = MonthlyPartitionsDefinition("2024-01-01")
    assert monthly.key_for_schedule_tick(utc(2024, 3, 1)) == "2024-02-01"
    assert monthly.time_window("2024-02-01") == (utc(2024, 2, 1), utc(2024, 3, 1))


def test_no_partition_before_the_first_one_ends() -> None:
    daily = DailyPartitionsDefinition("2024-03-10")
    with pytest.raises(PartitionKeyError, match="no partition exists at the tick"):
        daily.key_for_schedule_tick(utc(2024, 3, 10, 12))
    assert daily.get_partition_keys(utc(2024, 3, 10, 12)) == []


def test_end_date_bounds_the_partitions() -> None:
    daily = DailyPartitionsDefinition("2024-03-01", end_date="2024-03-04")
    assert daily.get_partition_keys(utc(2025, 1, 1)) == ["2024-03-01", "2024-03-02", "2024-03-03"]
    assert daily.key_for_schedule_tick(utc(2025, 1, 1)) == "2024-03-03"
    with pytest.raises(PartitionKeyError, match="not before the partitions' end"):
        daily.validate_key("2024-03-04")


def test_daylight_saving_windows_in_new_york() -> None:
    daily = DailyPartitionsDefinition("2024-01-01", timezone="America/New_York")
    start, end = daily.time_window("2024-03-10")
    assert end.timestamp() - start.timestamp() == 23 * 3600
    # A daily boundary at 02:30 does not exist on the 10th: that window starts at 03:00.
    late = DailyPartitionsDefinition(
        "2024-01-01", hour_offset=2, minute_offset=30, timezone="America/New_York"
    )
    assert late.time_window("2024-03-10").start == datetime(2024, 3, 10, 3, 0, tzinfo=NY)
    # 01:30 happens twice on 3 November: the boundary is the second one (EST).
    fall = DailyPartitionsDefinition(
        "2024-01-01", hour_offset=1, minute_offset=30, timezone="America/New_York"
    )
    assert fall.time_window("2024-11-03").start.utcoffset().total_seconds() == -5 * 3600  # type: ignore[union-attr]


def test_validate_key_explains() -> None:
    daily = DailyPartitionsDefinition("2024-01-01")
    assert daily.validate_key("2024-02-29") == "2024-02-29"
    with pytest.raises(PartitionKeyError, match="expected the format '%Y-%m-%d'"):
        daily.validate_key("2024-02-30")
    with pytest.raises(PartitionKeyError, match="before the first partition 2024-01-01"):
        daily.validate_key("2023-12-31")
    weekly = WeeklyPartitionsDefinition("2024-01-07")  # Sundays
    with pytest.raises(PartitionKeyError, match=r"not the start of a partition.*'2024-01-14'"):
        weekly.validate_key("2024-01-08")


def test_definitions_compare_by_value() -> None:
    a = DailyPartitionsDefinition("2024-01-01", timezone="Europe/Berlin")
    b = DailyPartitionsDefinition(date(2024, 1, 1), timezone="Europe/Berlin")
    assert a == b
    assert len({a, b}) == 1
    assert a != DailyPartitionsDefinition("2024-01-01")
    generic = TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 * * *", timezone="Europe/Berlin"
    )
    assert generic != a  # Dagster's classes differ too
    assert generic.get_partition_keys(utc(2024, 1, 3)) == a.get_partition_keys(utc(2024, 1, 3))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: DailyPartitionsDefinition("2024-01-01", timezone="Mars/Olympus"),
            "unknown time zone",
        ),
        (lambda: DailyPartitionsDefinition("01/02/2024"), "does not match the format"),
        (
            lambda: TimeWindowPartitionsDefinition("2024-01-01", "%Y-%m-%d", cron_schedule="0 0 *"),
            "invalid cron schedule",
        ),
        (
            lambda: TimeWindowPartitionsDefinition(
                "2024-01-01", "%Y-%m-%d", cron_schedule="0 0 30 2 *"
            ),
            "never fires",
        ),
        (
            lambda: DailyPartitionsDefinition("2024-01-01", exclusions=["0 0 * * 6"]),
            "exclusions",
        ),
        (lambda: StaticPartitionsDefinition(["a", "a"]), "Duplicate instances"),
        (lambda: StaticPartitionsDefinition(["a/b"]), "not allowed"),
        (lambda: StaticPartitionsDefinition([".."]), "not allowed"),
        (lambda: StaticPartitionsDefinition("ab"), "not a string"),
    ],
)
def test_bad_definitions_are_refused(make: Any, message: str) -> None:
    with pytest.raises(InvalidDefinitionError, match=message):
        make()


def test_static_partitions() -> None:
    regions = StaticPartitionsDefinition(["eu", "us"])
    assert regions.validate_key("us") == "us"
    with pytest.raises(PartitionKeyError, match=r"not one of the static partitions \(eu, us\)"):
        regions.validate_key("asia")
    with pytest.raises(ValueError, match="no time window"):
        regions.time_window("eu")
    with pytest.raises(PartitionKeyError, match="set the partition key explicitly"):
        regions.key_for_schedule_tick(utc(2024, 1, 1))


# ------------------------------------------------------------------ mappings
DAILY = DailyPartitionsDefinition("2024-03-01", timezone="America/New_York")
HOURLY = HourlyPartitionsDefinition("2024-03-01-00:00", timezone="America/New_York")
NOW = utc(2024, 4, 1)


def keys(mapping: Any, key: str | None, down: Any, up: Any) -> list[str] | None:
    return upstream_partition_keys(mapping, key, down, up, NOW)


def test_time_window_mapping_offsets_and_granularity() -> None:
    last7 = TimeWindowPartitionMapping(start_offset=-6)
    assert keys(last7, "2024-03-10", DAILY, DAILY) == [f"2024-03-{d:02}" for d in range(4, 11)]
    assert keys(last7, "2024-03-02", DAILY, DAILY) == ["2024-03-01", "2024-03-02"]  # clipped
    assert keys(TimeWindowPartitionMapping(end_offset=1), "2024-03-10", DAILY, DAILY) == [
        "2024-03-10",
        "2024-03-11",
    ]
    hours = keys(None, "2024-03-10", DAILY, HOURLY)
    assert hours is not None
    assert len(hours) == 23
    assert (hours[0], hours[-1]) == ("2024-03-10-00:00", "2024-03-10-23:00")
    assert keys(None, "2024-03-10-05:00", HOURLY, DAILY) == ["2024-03-10"]


def test_mapping_to_missing_upstream_partitions() -> None:
    late = DailyPartitionsDefinition("2024-03-05", timezone="America/New_York")
    with pytest.raises(PartitionKeyError, match="not all partitions of the upstream asset"):
        keys(None, "2024-03-03", DAILY, late)
    allow = TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
    assert keys(allow, "2024-03-03", DAILY, late) == []
    with pytest.raises(PartitionKeyError, match="does not exist upstream"):
        keys(IdentityPartitionMapping(), "x", StaticPartitionsDefinition(["x"]), DAILY)


def test_other_mappings_and_defaults() -> None:
    regions = StaticPartitionsDefinition(["eu", "us"])
    assert keys(None, "eu", regions, regions) == ["eu"]  # identity
    assert keys(None, None, None, regions) == ["eu", "us"]  # all
    # 2024-04-01T00:00Z is 20:00 on 31 March in New York: the 30th is the last complete day.
    assert keys(LastPartitionMapping(), None, None, DAILY) == ["2024-03-30"]
    assert keys(AllPartitionMapping(), "eu", regions, regions) == ["eu", "us"]
    assert keys(None, "eu", regions, None) is None  # an unpartitioned upstream: its value


def test_inputs_receive_one_value_or_a_dict(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    @asset(partitions_def=DAILY)
    def up(context: AssetExecutionContext) -> str:
        return f"v{context.partition_key}"

    @asset(
        partitions_def=DAILY,
        ins={"up": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-2))},
    )
    def three(context: AssetExecutionContext, up: dict[str, str]) -> int:
        seen["keys"] = context.asset_partition_keys_for_input("up")
        seen["value"] = up
        return len(up)

    @asset(partitions_def=DAILY)
    def same(context: AssetExecutionContext, up: str) -> str:
        seen["same"] = context.asset_partition_key_for_input("up")
        return up

    defs = Definitions(assets=[up, three, same])
    for day in ("2024-03-08", "2024-03-09"):
        assert run(defs, tmp_path, "up", day).success
    result = run(defs, tmp_path, "*", "2024-03-10")
    assert result.success, [o.error for o in result.outcomes]
    assert seen["value"] == {
        "2024-03-08": "v2024-03-08",
        "2024-03-09": "v2024-03-09",
        "2024-03-10": "v2024-03-10",
    }
    assert seen["keys"] == ["2024-03-08", "2024-03-09", "2024-03-10"]
    assert seen["same"] == "2024-03-10"


def run(defs: Definitions, tmp_path: Path, select: str, key: str) -> Any:
    keys = plan(defs.graph, select)
    part = run_partition_key(defs, keys, NOW, key)
    return materialize(
        defs,
        keys,
        run_id=run_id_for("loc", select, part, NOW),
        scheduled_time=NOW,
        partition_key=part,
        run_config={},
        configs=validate_run_config(defs, keys, {}),
        storage=ObjectStorage.local(tmp_path),
    )


def test_mapping_refusals_when_defined() -> None:
    @asset
    def plain() -> int:
        return 1

    @asset(
        partitions_def=DAILY, ins={"plain": AssetIn(partition_mapping=IdentityPartitionMapping())}
    )
    def down(plain: int) -> int:
        return plain

    with pytest.raises(InvalidDefinitionError, match="upstream asset is not partitioned"):
        Definitions(assets=[plain, down])
    with pytest.raises(InvalidDefinitionError, match="must be an assetcron PartitionMapping"):
        AssetIn(partition_mapping="identity")


def test_asset_dep_carries_a_checked_mapping() -> None:
    @asset(partitions_def=DAILY)
    def raw() -> int:
        return 1

    last2 = TimeWindowPartitionMapping(start_offset=-1)

    @asset(partitions_def=DAILY, deps=[AssetDep(raw, partition_mapping=last2)])
    def cleaned() -> int:
        return 2

    defs = Definitions(assets=[raw, cleaned])
    assert defs.assets[cleaned.key].deps == (raw.key,)
    assert defs.assets[cleaned.key].partition_mappings == {raw.key: last2}

    # deps given as a generator: read for the keys and again for the mappings.
    @asset(partitions_def=DAILY, deps=(d for d in [AssetDep(raw, partition_mapping=last2)]))
    def from_generator() -> int:
        return 2

    assert from_generator.deps == (raw.key,)
    assert from_generator.partition_mappings == {raw.key: last2}

    regions = StaticPartitionsDefinition(["eu"])

    @asset(partitions_def=regions, deps=[AssetDep("raw", partition_mapping=last2)])
    def regional() -> int:
        return 3

    with pytest.raises(InvalidDefinitionError, match="needs time-window partitions"):
        Definitions(assets=[raw, regional])
