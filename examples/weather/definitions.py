"""Seattle daily weather as a small daily-partitioned asset pipeline.

NOAA's daily observations for Seattle (2012-2015, shipped in ``vega_datasets``)::

    raw_observations -> daily_weather -> rolling_7d_summary -> weather_table  (DuckDB)
                                    \\______________________/-> weather_report (CSV)

Every asset has key prefix ``weather`` and group ``weather`` and is partitioned by day
(UTC). A schedule tick at 2015-06-02T06:00Z materializes partition ``2015-06-01`` (the
last complete day, Dagster's rule). A day the data does not cover fails
``raw_observations`` with "no observations for DATE" and skips everything downstream.

Run config (``run_config.yaml`` here is a sample) goes under the Dagster op names
``weather__rolling_7d_summary`` and ``weather__weather_report``.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from assetcron import (
    AssetExecutionContext,
    AssetsDefinition,
    DailyPartitionsDefinition,
    Definitions,
    Failure,
    asset,
)

from .resources import DuckDBWarehouse, WeatherCsv

#: Daily partitions over the data set's first day onwards, counted in UTC.
daily_partitions = DailyPartitionsDefinition(start_date="2012-01-01", timezone="UTC")


def weather_asset(
    *, kinds: set[str], tags: dict[str, str]
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """``@asset`` with what every asset here shares: key prefix and group ``weather``,
    daily partitions, the owning team and JSON output (readable in the storage dir)."""
    return asset(
        key_prefix="weather",
        group_name="weather",
        partitions_def=daily_partitions,
        owners=["team:data-platform"],
        kinds=kinds,
        tags=tags,
        output_format="json",
    )


def _day(context: AssetExecutionContext) -> date:
    assert context.partition_key is not None  # every asset here is partitioned
    return date.fromisoformat(context.partition_key)


@weather_asset(kinds={"csv"}, tags={"source": "noaa", "tier": "bronze"})
def raw_observations(context: AssetExecutionContext, weather_csv: WeatherCsv) -> dict[str, str]:
    """The partition day's row of NOAA's Seattle daily observations, as raw strings."""
    day = _day(context)
    row = weather_csv.row(day)
    if row is None:
        raise Failure(f"no observations for {day.isoformat()}")
    context.log.info("read the observations for %s", day.isoformat())
    return dict(row)


@weather_asset(kinds={"python"}, tags={"tier": "silver"})
def daily_weather(raw_observations: dict[str, str]) -> dict[str, Any]:
    """The day's observations cleaned: ISO date, numbers with units in the field names."""
    tmax = float(raw_observations["temp_max"])
    tmin = float(raw_observations["temp_min"])
    return {
        "date": raw_observations["date"].replace("/", "-"),
        "precipitation_mm": float(raw_observations["precipitation"]),
        "temp_max_c": tmax,
        "temp_min_c": tmin,
        "temp_mean_c": round((tmax + tmin) / 2, 2),
        "wind_m_s": float(raw_observations["wind"]),
        "weather": raw_observations["weather"].strip(),
    }


class RollingConfig(BaseModel):
    """Config of ``rolling_7d_summary``: how many days end at the partition day."""

    window_days: int = Field(default=7, ge=1, le=31)


@weather_asset(kinds={"python"}, tags={"tier": "gold"})
def rolling_7d_summary(
    context: AssetExecutionContext,
    daily_weather: dict[str, Any],
    weather_csv: WeatherCsv,
    config: RollingConfig,
) -> dict[str, Any]:
    """Totals and means over the ``window_days`` (7) days ending on the partition day."""
    last = _day(context)
    first = last - timedelta(days=config.window_days - 1)
    rows = weather_csv.rows_between(first, last)
    precip = [float(r["precipitation"]) for r in rows]
    tmax = [float(r["temp_max"]) for r in rows]
    tmin = [float(r["temp_min"]) for r in rows]
    return {
        "first_date": first.isoformat(),
        "last_date": daily_weather["date"],
        "days": len(rows),
        "precipitation_total_mm": round(sum(precip), 2),
        "rainy_days": sum(1 for p in precip if p > 0),
        "temp_max_mean_c": round(sum(tmax) / len(tmax), 2),
        "temp_min_mean_c": round(sum(tmin) / len(tmin), 2),
        "temp_max_c": max(tmax),
        "temp_min_c": min(tmin),
    }


@weather_asset(kinds={"duckdb"}, tags={"tier": "gold"})
def weather_table(
    context: AssetExecutionContext,
    daily_weather: dict[str, Any],
    rolling_7d_summary: dict[str, Any],
    warehouse: DuckDBWarehouse,
) -> dict[str, Any]:
    """Upsert the day into the DuckDB table ``daily_weather`` (one row per date)."""
    con = warehouse.connect(context.storage_dir)
    try:
        con.execute(
            """
            CREATE TABLE IF NOT EXISTS daily_weather (
                date DATE PRIMARY KEY,
                precipitation_mm DOUBLE,
                temp_max_c DOUBLE,
                temp_min_c DOUBLE,
                temp_mean_c DOUBLE,
                wind_m_s DOUBLE,
                weather VARCHAR,
                precipitation_7d_mm DOUBLE,
                temp_max_mean_7d_c DOUBLE,
                temp_min_mean_7d_c DOUBLE
            )
            """
        )
        d, r = daily_weather, rolling_7d_summary
        con.execute(
            "INSERT OR REPLACE INTO daily_weather VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                d["date"],
                d["precipitation_mm"],
                d["temp_max_c"],
                d["temp_min_c"],
                d["temp_mean_c"],
                d["wind_m_s"],
                d["weather"],
                r["precipitation_total_mm"],
                r["temp_max_mean_c"],
                r["temp_min_mean_c"],
            ],
        )
        (rows,) = con.execute("SELECT count(*) FROM daily_weather").fetchone()
    finally:
        con.close()
    path = context.storage_dir / warehouse.filename
    context.log.info("upserted %s into %s (%d rows)", d["date"], path, rows)
    return {"database": str(path), "table": "daily_weather", "date": d["date"], "rows": rows}


class ReportConfig(BaseModel):
    """Config of ``weather_report``: its title (often a template) and temperature unit."""

    title: str = "Seattle daily weather"
    temperature_unit: Literal["C", "F"] = "C"


def _temp(celsius: float, unit: str) -> float:
    return round(celsius * 9 / 5 + 32, 1) if unit == "F" else celsius


@weather_asset(kinds={"csv"}, tags={"tier": "gold"})
def weather_report(
    context: AssetExecutionContext,
    daily_weather: dict[str, Any],
    rolling_7d_summary: dict[str, Any],
    config: ReportConfig,
) -> str:
    """A one-day CSV report ``reports/weather/<date>.csv`` in the storage dir; returns
    its path. Written atomically (temp file + rename)."""
    d, r, u = daily_weather, rolling_7d_summary, config.temperature_unit
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["title", config.title])
    out.writerow(["date", d["date"]])
    out.writerow(["weather", d["weather"]])
    out.writerow(["precipitation_mm", d["precipitation_mm"]])
    out.writerow([f"temp_max_{u.lower()}", _temp(d["temp_max_c"], u)])
    out.writerow([f"temp_min_{u.lower()}", _temp(d["temp_min_c"], u)])
    out.writerow(["wind_m_s", d["wind_m_s"]])
    out.writerow([f"precipitation_{r['days']}d_mm", r["precipitation_total_mm"]])
    out.writerow([f"rainy_days_{r['days']}d", r["rainy_days"]])
    out.writerow([f"temp_max_mean_{r['days']}d_{u.lower()}", _temp(r["temp_max_mean_c"], u)])
    target = context.storage_dir / "reports" / "weather" / f"{d['date']}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(buf.getvalue())
    Path(tmp).replace(target)
    return str(target)


defs = Definitions(
    assets=[raw_observations, daily_weather, rolling_7d_summary, weather_table, weather_report],
    resources={"weather_csv": WeatherCsv(), "warehouse": DuckDBWarehouse()},
)
