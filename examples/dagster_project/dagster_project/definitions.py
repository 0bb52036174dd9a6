"""The code location: ``dagster dev -m dagster_project.definitions`` under Dagster,
``assetcron asset materialize -m dagster_project.definitions`` under assetcron."""

import dagster as dg

from . import assets
from .resources import HackerNewsSnapshot, SignupsGenerator
from .schedules import hackernews_job, hackernews_schedule, signups_daily_schedule, signups_job

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    jobs=[hackernews_job, signups_job],
    schedules=[hackernews_schedule, signups_daily_schedule],
    resources={"hackernews": HackerNewsSnapshot(), "signups_api": SignupsGenerator()},
)
