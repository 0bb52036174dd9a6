"""assetcron: Dagster-style data assets, materialized by Kubernetes CronJob pods.

The public API is what this module re-exports in ``__all__``; implementation lives in
underscore-private modules. This package is the SDK users import in their code location
and the runner every CronJob pod executes; it never imports kopf, the Kubernetes client
or ``assetcron_operator``.
"""

__all__: list[str] = []
