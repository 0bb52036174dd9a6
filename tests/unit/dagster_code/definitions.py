"""A small Dagster code location: assets with dependencies, groups, a key prefix, tags,
owners and kinds, a daily-partitioned pair, a ``Config`` class and a resource.

The ``Recorder`` resource appends the name of every asset it computes to
``<directory>/calls.log`` (so tests count recomputations), and fails an asset whose name
is in ``<directory>/fail`` (so tests can make one attempt fail and the next succeed).
"""

from pathlib import Path

import dagster as dg


class Recorder(dg.ConfigurableResource):
    """Counts computations in ``calls.log`` and fails the assets named in ``fail``."""

    directory: str

    def record(self, name: str) -> None:
        root = Path(self.directory)
        with (root / "calls.log").open("a", encoding="utf-8") as fh:
            fh.write(name + "\n")
        fail = root / "fail"
        if fail.exists() and name in fail.read_text(encoding="utf-8").split():
            raise RuntimeError(f"{name} was told to fail")


class GreetingConfig(dg.Config):
    greeting: str = "hello"
    repeat: int = 1


daily = dg.DailyPartitionsDefinition(start_date="2015-01-01")


@dg.asset(group_name="raw", kinds={"python"}, owners=["team:ingest"])
def numbers(recorder: Recorder) -> list[int]:
    recorder.record("numbers")
    return [1, 2, 3, 4]


@dg.asset(group_name="raw", tags={"tier": "bronze"})
def words(recorder: Recorder) -> list[str]:
    recorder.record("words")
    return ["asset", "cron"]


@dg.asset(group_name="derived", tags={"tier": "gold"})
def totals(numbers: list[int], recorder: Recorder) -> int:
    recorder.record("totals")
    return sum(numbers)


@dg.asset(group_name="derived", owners=["team:ingest"])
def greeting(config: GreetingConfig, words: list[str], recorder: Recorder) -> str:
    recorder.record("greeting")
    return " ".join([config.greeting, *words] * config.repeat)


@dg.asset(key_prefix=["warehouse"], group_name="derived", kinds={"python", "duckdb"})
def report(totals: int, greeting: str, recorder: Recorder) -> dict[str, object]:
    recorder.record("report")
    return {"totals": totals, "greeting": greeting}


@dg.asset(group_name="fragile")
def flaky(totals: int, recorder: Recorder) -> int:
    recorder.record("flaky")
    return totals * 10


@dg.asset(group_name="fragile")
def after_flaky(flaky: int, recorder: Recorder) -> int:
    recorder.record("after_flaky")
    return flaky + 1


@dg.asset(partitions_def=daily, group_name="daily")
def daily_events(context: dg.AssetExecutionContext, recorder: Recorder) -> dict[str, object]:
    recorder.record("daily_events")
    start, end = context.partition_time_window
    return {"day": context.partition_key, "hours": (end - start).total_seconds() / 3600}


@dg.asset(partitions_def=daily, group_name="daily", tags={"tier": "gold"})
def daily_summary(daily_events: dict[str, object], recorder: Recorder) -> str:
    recorder.record("daily_summary")
    return f"{daily_events['day']}: {daily_events['hours']} h"


defs = dg.Definitions(
    assets=[
        numbers,
        words,
        totals,
        greeting,
        report,
        flaky,
        after_flaky,
        daily_events,
        daily_summary,
    ],
    resources={"recorder": Recorder(directory=dg.EnvVar("DAGSTER_FIXTURE_DIR"))},
)
