"""The Hub delta sensor: a cheap probe that launches ingestion only when the Hub moved."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
from huggingface_hub import HfApi

from ingestion.ingest import MODELS_STREAM
from ingestion.warehouse import read_state
from orchestration.defs.automation import SENSOR_STATUS
from orchestration.defs.resources import HubResource, WarehouseResource


def newest_hub_modification(hub: HubResource) -> datetime | None:
    """The newest `lastModified` on the Hub (naive UTC): one list call, one item."""
    api = HfApi(endpoint=hub.endpoint, token=hub.token())
    for info in api.list_models(sort="last_modified", limit=1, expand=["lastModified"]):
        if info.last_modified is not None:
            return info.last_modified.astimezone(UTC).replace(tzinfo=None)
    return None


def stored_watermark(warehouse: WarehouseResource) -> datetime | None:
    """The models stream's watermark in `raw.ingest_state`; None before the first load.

    Raises `duckdb.IOException` while a run holds the file for writing.
    """
    if not Path(warehouse.path).exists():
        return None
    with warehouse.connect(read_only=True) as con:
        try:
            return read_state(con, MODELS_STREAM).watermark
        except duckdb.CatalogException:
            return None


@dg.sensor(
    job_name="hub_delta_job",
    minimum_interval_seconds=60,
    default_status=SENSOR_STATUS,
    description="Probes the Hub's newest `lastModified`; runs the delta ingestion when it is "
    "newer than the stored watermark (run key = that `lastModified`).",
)
def hub_delta_sensor(
    context: dg.SensorEvaluationContext, hub: HubResource, warehouse: WarehouseResource
):
    newest = newest_hub_modification(hub)
    if newest is None:
        return dg.SkipReason(f"{hub.endpoint} lists no models")
    try:
        watermark = stored_watermark(warehouse)
    except duckdb.IOException:
        return dg.SkipReason("the warehouse is being written by a run; probing again next tick")
    if watermark is not None and newest <= watermark:
        return dg.SkipReason(f"the Hub has not moved: newest lastModified {newest} <= {watermark}")
    run_key = newest.isoformat()
    context.update_cursor(run_key)
    return dg.RunRequest(
        run_key=run_key,
        tags={"hubgenome/hub_newest_last_modified": run_key},
    )
