"""assetcron_operator: the kopf operator that reconciles AssetJob/AssetSchedule into CronJobs.

``kopf run -m assetcron_operator`` imports this package, which registers the handlers
(:mod:`assetcron_operator.handlers`). The console script ``assetcron-operator``
(:func:`assetcron_operator.cli.run_operator`) does the same with the settings from the
environment applied (namespaces, liveness endpoint, log format, standalone).
"""

from assetcron_operator import handlers as handlers

__all__ = ["handlers"]
