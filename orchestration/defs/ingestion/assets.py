"""Raw-layer assets: thin wrappers around `ingestion/`."""

import dagster as dg

from ingestion.hub_client import list_model_payloads
from ingestion.warehouse import set_watermark, store_models
from orchestration.defs.resources import HubResource, WarehouseResource


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["raw", "hub_models"],
            description="Current state of every model on the Hub, one row per stable `_id`.",
            kinds={"duckdb", "huggingface"},
            group_name="raw",
        ),
        dg.AssetSpec(
            ["raw", "hub_model_versions"],
            description="Every observed version of every model (append-only history).",
            kinds={"duckdb", "huggingface"},
            group_name="raw",
        ),
    ],
    pool="duckdb",
)
def hub_models(context: dg.AssetExecutionContext, hub: HubResource, warehouse: WarehouseResource):
    """List every model on the Hub with `huggingface_hub` and upsert it into `raw`."""
    with warehouse.connect() as con:
        written = store_models(con, list_model_payloads(hub.endpoint, hub.token()))
        watermark = set_watermark(con, "models")
        (total,) = con.execute(
            "select count(*) from raw.hub_models where deleted_at is null"
        ).fetchone()
        (versions,) = con.execute("select count(*) from raw.hub_model_versions").fetchone()
    context.log.info(f"listed {written} models from {hub.endpoint}")
    yield dg.MaterializeResult(
        asset_key=["raw", "hub_models"],
        metadata={
            "dagster/row_count": total,
            "models_listed": written,
            "watermark": str(watermark),
        },
    )
    yield dg.MaterializeResult(
        asset_key=["raw", "hub_model_versions"], metadata={"dagster/row_count": versions}
    )
