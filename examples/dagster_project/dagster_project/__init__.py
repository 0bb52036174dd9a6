"""A Dagster project, written for Dagster alone, that assetcron runs unchanged.

The code location is ``dagster_project.definitions`` (``defs``); see the README beside
``pyproject.toml``.
"""
