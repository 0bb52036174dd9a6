"""Jobs and schedules, as the Dagster daemon would run them.

Under assetcron, ``assetcron manifests`` writes an AssetJob and an AssetSchedule for
each, and the run pod evaluates the schedule at each tick with Dagster's own
``evaluate_tick``; the hand-written pair in ``manifests/`` says the same with templates
(see ``docs/from-dagster.md``).

* ``hackernews_job`` every hour (``hackernews_schedule``, the tutorial's schedule);
* ``signups_job`` every day at 06:00 UTC for the day before, with a title naming that
  day in the run config (``signups_daily_schedule``).
"""

from datetime import timedelta

import dagster as dg

hackernews_job = dg.define_asset_job(
    "hackernews_job", selection=dg.AssetSelection.groups("hackernews")
)

hackernews_schedule = dg.ScheduleDefinition(
    name="hackernews_schedule",
    job=hackernews_job,
    cron_schedule="0 * * * *",  # every hour
)

# Partitioned like its assets (daily): Dagster infers it from the selection.
signups_job = dg.define_asset_job("signups_job", selection=dg.AssetSelection.groups("signups"))


@dg.schedule(job=signups_job, cron_schedule="0 6 * * *", execution_timezone="UTC")
def signups_daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every day at 06:00 UTC: the day before (complete by then), titled with its date."""
    day = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
    return dg.RunRequest(
        run_key=day,
        partition_key=day,
        run_config={"ops": {"signup_summary": {"config": {"title": f"Signups on {day}"}}}},
    )
