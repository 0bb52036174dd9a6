"""A code location for the redaction e2e test (mounted into the pod from the working tree).

``connect`` fails with an error that quotes a secret from its environment, as careless
code does (``DB_TOKEN`` comes from a Kubernetes Secret through ``secretKeyRef``): the
run's status must say it failed and why, without the secret.
"""

from __future__ import annotations

import os

from assetcron import Definitions, asset


@asset(group_name="e2e")
def connect() -> str:
    raise ConnectionError(f"login refused for token {os.environ['DB_TOKEN']} at db:5432")


defs = Definitions(assets=[connect])
