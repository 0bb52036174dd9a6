"""Resources of the weather code location: the NOAA CSV and the DuckDB warehouse.

Both are plain objects injected by parameter name (``weather_csv``, ``warehouse``).
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

#: Columns of seattle-weather.csv: date (YYYY/MM/DD), precipitation (mm),
#: temp_max / temp_min (degrees Celsius), wind (m/s), weather (a condition word).
CSV_NAME = "seattle-weather.csv"


def vega_datasets_csv(name: str = CSV_NAME) -> Path:
    """Path of a CSV shipped inside the installed ``vega_datasets`` package.

    Located without importing the package (its ``__init__`` imports pandas). Raises
    ``FileNotFoundError`` when the package or the file is missing.
    """
    spec = importlib.util.find_spec("vega_datasets")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the vega_datasets package is not installed (pip install vega_datasets)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "_data" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    return path


@dataclass
class WeatherCsv:
    """Seattle daily weather observations, 2012-01-01 to 2015-12-31 (NOAA, via vega_datasets).

    ``path`` defaults to the CSV in the installed package; rows are read once and kept.
    """

    path: Path | None = None
    _rows: dict[date, dict[str, str]] | None = field(default=None, repr=False)

    def rows(self) -> dict[date, dict[str, str]]:
        """Every row keyed by its date, values as the raw CSV strings."""
        if self._rows is None:
            source = self.path or vega_datasets_csv()
            with source.open(newline="", encoding="utf-8") as fh:
                self._rows = {
                    date.fromisoformat(row["date"].replace("/", "-")): row
                    for row in csv.DictReader(fh)
                }
        return self._rows

    def row(self, day: date) -> dict[str, str] | None:
        """The raw row for ``day`` or ``None`` when the data has no such day."""
        return self.rows().get(day)

    def rows_between(self, first: date, last: date) -> list[dict[str, str]]:
        """Raw rows for the days ``first..last`` (inclusive) that exist, in date order."""
        return [r for d, r in sorted(self.rows().items()) if first <= d <= last]


@dataclass(frozen=True)
class DuckDBWarehouse:
    """A DuckDB database file ``filename`` inside the run's storage directory."""

    filename: str = "weather.duckdb"

    def connect(self, storage_dir: Path) -> Any:
        """Open (creating) ``<storage_dir>/<filename>``; returns a ``duckdb`` connection."""
        import duckdb  # noqa: PLC0415 - only the table asset pays for DuckDB

        storage_dir.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(storage_dir / self.filename))
