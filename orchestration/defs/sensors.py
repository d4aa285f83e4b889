"""The Hub delta sensor: a cheap probe that launches ingestion only when the Hub moved."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb

from ingestion.config import settings
from ingestion.hub_client import HubClient, RetryPolicy
from ingestion.records import parse_hub_time
from ingestion.stream_state import MODELS_STREAM, read_state
from ingestion.warehouse import read_when_idle
from orchestration.defs.automation import SENSOR_STATUS
from orchestration.defs.resources import HubResource, WarehouseResource

# A sensor tick must end quickly: two tries, 30 s each, at most.
PROBE_POLICY = RetryPolicy(max_attempts=2, timeout=30.0, max_wait=5.0)


def newest_hub_modification(hub: HubResource) -> datetime | None:
    """The newest `lastModified` on the Hub (naive UTC): one list call, one item."""
    newest = HubClient(hub.endpoint, hub.token(), PROBE_POLICY).newest_last_modified()
    return parse_hub_time(newest)


ACTIVE_RUN_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


class WarehouseBusy(Exception):
    """A run is writing the warehouse: probe again next tick."""


def stored_watermark(warehouse: WarehouseResource) -> datetime | None:
    """The models stream's watermark in `raw.ingest_state`; None before the first load.

    Raises `WarehouseBusy` while a run holds the writer lock (the probe never makes it wait
    long, nor makes it fail: `read_when_idle`).
    """
    path = Path(warehouse.path)
    if not path.exists():
        return None
    with read_when_idle(path) as con:
        if con is None:
            raise WarehouseBusy
        try:
            return read_state(con, MODELS_STREAM).watermark
        except duckdb.CatalogException:
            return None


@dg.sensor(
    job_name="hub_delta_job",
    minimum_interval_seconds=settings().sensor_interval_seconds,
    default_status=SENSOR_STATUS,
    description="Probes the Hub's newest `lastModified`; runs the delta ingestion when it is "
    "newer than the stored watermark and no delta run is queued or running.",
)
def hub_delta_sensor(
    context: dg.SensorEvaluationContext, hub: HubResource, warehouse: WarehouseResource
):
    active = context.instance.get_runs(
        filters=dg.RunsFilter(job_name="hub_delta_job", statuses=ACTIVE_RUN_STATUSES), limit=1
    )
    if active:
        return dg.SkipReason(f"delta run {active[0].run_id} is queued or running")
    newest = newest_hub_modification(hub)
    if newest is None:
        return dg.SkipReason(f"{hub.endpoint} lists no models")
    try:
        watermark = stored_watermark(warehouse)
    except WarehouseBusy:
        return dg.SkipReason("the warehouse is being written by a run; probing again next tick")
    if watermark is not None and newest <= watermark:
        return dg.SkipReason(f"the Hub has not moved: newest lastModified {newest} <= {watermark}")
    # No run key: a warehouse rebuilt from scratch must be able to list the same Hub again.
    return dg.RunRequest(tags={"hubgenome/hub_newest_last_modified": newest.isoformat()})
