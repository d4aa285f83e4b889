"""When the warehouse refreshes on its own: Hub deltas often, popularity and the deletion
sweep daily, a full dbt rebuild weekly. Everything downstream follows through automation."""

import dagster as dg

from orchestration.defs.automation import SCHEDULE_STATUS
from orchestration.defs.jobs import dbt_full_refresh_job

hub_delta_schedule = dg.ScheduleDefinition(
    name="hub_delta_schedule",
    job_name="hub_delta_job",
    cron_schedule="*/30 * * * *",
    default_status=SCHEDULE_STATUS,
    description="List what changed on the Hub since the watermark (the delta sensor reacts "
    "sooner; this is the floor).",
)

hub_popularity_schedule = dg.ScheduleDefinition(
    name="hub_popularity_schedule",
    job_name="hub_popularity_job",
    cron_schedule="0 2 * * *",
    default_status=SCHEDULE_STATUS,
    description="Daily downloads/likes snapshot (these change without `lastModified` moving).",
)

hub_sweep_schedule = dg.ScheduleDefinition(
    name="hub_sweep_schedule",
    job_name="hub_sweep_job",
    cron_schedule="0 3 * * *",
    default_status=SCHEDULE_STATUS,
    description="Daily deletion sweep: models the Hub no longer lists get `deleted_at`.",
)

dbt_full_refresh_schedule = dg.ScheduleDefinition(
    name="dbt_full_refresh_schedule",
    job=dbt_full_refresh_job,
    cron_schedule="0 4 * * 0",
    default_status=SCHEDULE_STATUS,
    description="Weekly `dbt build --full-refresh`: the repair path for incremental models.",
)
