"""A small code location for the operations e2e test (mounted into the pod from the
working tree): two assets that log through ``context.log`` and ``print()``, so the run's
JSON log lines can be checked, and succeed."""

from __future__ import annotations

from assetcron import AssetExecutionContext, Definitions, asset


@asset(group_name="ops")
def source(context: AssetExecutionContext) -> int:
    context.log.info("fetching the source")
    print("source printed this")
    return 41


@asset(group_name="ops")
def target(source: int) -> int:
    return source + 1


defs = Definitions(assets=[source, target])
