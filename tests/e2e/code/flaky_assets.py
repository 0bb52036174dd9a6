"""A code location for the failure-path e2e test (mounted into the pod from the working tree).

``extract`` succeeds and appends one line to ``$E2E_COUNTER`` each time it is *computed*
(not when a resumed run reuses it); ``transform`` always raises; ``load`` depends on
``transform`` and so must be skipped; ``audit`` depends only on ``extract`` and is an
independent branch that still runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from assetcron import AssetExecutionContext, Definitions, asset


@asset(group_name="e2e")
def extract(context: AssetExecutionContext) -> dict[str, int]:
    with Path(os.environ["E2E_COUNTER"]).open("a") as fh:
        fh.write(f"{context.run_id}\n")
    return {"rows": 3}


@asset(group_name="e2e")
def transform(extract: dict[str, int]) -> dict[str, int]:
    raise ValueError(f"upstream sent {extract['rows']} rows; refusing to transform")


@asset(group_name="e2e")
def load(transform: dict[str, int]) -> int:
    return transform["rows"]


@asset(group_name="e2e")
def audit(extract: dict[str, int]) -> str:
    return f"{extract['rows']} rows seen"


defs = Definitions(assets=[extract, transform, load, audit])
