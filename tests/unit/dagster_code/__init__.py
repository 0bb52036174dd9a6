"""A Dagster code location, written as Dagster's docs write them, that assetcron runs
unchanged (``tests/unit/test_dagster.py``)."""
