"""Python asset checks on the warehouse (dbt's data tests arrive as checks via the translator)."""

from datetime import datetime, timedelta

import dagster as dg

from ingestion.stream_state import MODELS_STREAM, read_state
from orchestration.dagster_internals import AssetCheckExecutionRecordStatus
from orchestration.defs.automation import SENSOR_STATUS
from orchestration.defs.ingestion.keys import HUB_MODEL_POPULARITY, HUB_MODEL_SWEEP, HUB_MODELS
from orchestration.defs.resources import WarehouseResource

MODEL_EDGES = dg.AssetKey(["marts", "fct_model_edges"])
MAX_QUARANTINE_SHARE = 0.01
# Hub `base_model:` tags may name repos that are private, deleted or mistyped, so some parents
# are unknown by nature; a large share means the model list is incomplete.
MAX_UNKNOWN_PARENT_SHARE = 0.25
# Deltas run every 30 minutes, popularity once a day; allow for one missed run.
DELTA_FRESHNESS = timedelta(hours=2)
POPULARITY_FRESHNESS = timedelta(hours=26)


def _previous_watermarks(instance: dg.DagsterInstance, check_key: dg.AssetCheckKey, limit=20):
    """Watermarks this check recorded in its earlier evaluations, newest first."""
    records = instance.event_log_storage.get_asset_check_execution_history(
        check_key,
        limit=limit,
        status={AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED},
    )
    for record in records:
        if record.event is None or record.event.dagster_event is None:
            continue
        value = record.event.dagster_event.asset_check_evaluation_data.metadata.get("watermark")
        if value is not None and value.value:
            yield datetime.fromisoformat(value.value)


@dg.asset_check(
    asset=HUB_MODELS,
    description="The models watermark in raw.ingest_state never moves back.",
    blocking=True,
)
def watermark_never_moves_back(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        watermark = read_state(con, MODELS_STREAM).watermark
    check_key = dg.AssetCheckKey(HUB_MODELS, "watermark_never_moves_back")
    highest = max(_previous_watermarks(context.instance, check_key), default=None)
    metadata = {
        "watermark": watermark.isoformat() if watermark else "",
        "highest_previous_watermark": highest.isoformat() if highest else "",
    }
    if watermark is None:
        # Records without `lastModified` (e.g. a snapshot import) leave no watermark: nothing
        # moved back, and nothing to compare; a warning, not a stop for the marts.
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description="no watermark recorded: the stored models have no lastModified",
            metadata=metadata,
        )
    return dg.AssetCheckResult(passed=highest is None or watermark >= highest, metadata=metadata)


@dg.asset_check(
    asset=HUB_MODEL_SWEEP,
    description="The latest deletion sweep was applied, not refused as a mass deletion "
    "(too many models unlisted to confirm one by one).",
)
def sweep_not_refused(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        row = con.execute(
            """
            select finished_at, models_seen, marked_deleted, refused
            from raw.hub_sweeps order by finished_at desc limit 1
            """
        ).fetchone()
    if row is None:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.WARN, description="no sweep recorded yet"
        )
    finished_at, seen, deleted, refused = row
    return dg.AssetCheckResult(
        passed=refused is None,
        description=refused or f"applied: {deleted} marked deleted",
        metadata={
            "finished_at": finished_at.isoformat(),
            "models_seen": seen,
            "marked_deleted": deleted,
            "refused": refused or "",
        },
    )


@dg.asset_check(
    asset=HUB_MODELS,
    description=f"Quarantined records stay under {MAX_QUARANTINE_SHARE:.0%} of all records.",
)
def quarantine_share_below_threshold(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        (quarantined,) = con.execute("select count(*) from raw.quarantine").fetchone()
        (models,) = con.execute("select count(*) from raw.hub_models").fetchone()
    share = quarantined / (quarantined + models) if quarantined + models else 0.0
    return dg.AssetCheckResult(
        passed=share <= MAX_QUARANTINE_SHARE,
        metadata={
            "quarantined": quarantined,
            "models": models,
            "share": share,
            "threshold": MAX_QUARANTINE_SHARE,
        },
    )


@dg.asset_check(
    asset=MODEL_EDGES,
    description="Every edge's child is a known model, and few parents are unknown.",
)
def edges_refer_to_known_models(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        (edges, unknown_children, unknown_parents) = con.execute(
            """
            with known as (select model_id from staging.stg_hub__models)
            select
                count(*),
                count(*) filter (where child_id not in (select model_id from known)),
                count(*) filter (where parent_id not in (select model_id from known))
            from marts.fct_model_edges
            """
        ).fetchone()
    unknown_parent_share = unknown_parents / edges if edges else 0.0
    return dg.AssetCheckResult(
        passed=unknown_children == 0 and unknown_parent_share <= MAX_UNKNOWN_PARENT_SHARE,
        metadata={
            "edges": edges,
            "unknown_children": unknown_children,
            "unknown_parents": unknown_parents,
            "unknown_parent_share": unknown_parent_share,
            "max_unknown_parent_share": MAX_UNKNOWN_PARENT_SHARE,
        },
    )


raw_freshness_checks = [
    *dg.build_last_update_freshness_checks(assets=[HUB_MODELS], lower_bound_delta=DELTA_FRESHNESS),
    *dg.build_last_update_freshness_checks(
        assets=[HUB_MODEL_POPULARITY], lower_bound_delta=POPULARITY_FRESHNESS
    ),
]

raw_freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=raw_freshness_checks,
    name="raw_freshness_sensor",
    default_status=SENSOR_STATUS,
)
