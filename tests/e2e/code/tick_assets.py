"""A code location that finishes in an instant, for tests of many ticks (backfill, catch-up)."""

from __future__ import annotations

from assetcron import Definitions, asset


@asset(group_name="e2e")
def tick() -> str:
    return "ok"


defs = Definitions(assets=[tick])
