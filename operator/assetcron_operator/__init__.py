"""assetcron_operator: the kopf operator that reconciles AssetJob/AssetSchedule into CronJobs.

``kopf run -m assetcron_operator`` imports this package, which registers the handlers.
"""
