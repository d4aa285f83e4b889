"""Raw-layer assets: thin wrappers around `ingestion/` (all the logic lives there)."""

from datetime import timedelta

import dagster as dg
import duckdb

from ingestion.cards import DEFAULT_CONCURRENCY, fetch_cards
from ingestion.config import settings
from ingestion.fingerprints import raw_fingerprint
from ingestion.hub_client import HubClient, client_from_settings
from ingestion.ingest import DEFAULT_OVERLAP, ingest_models
from ingestion.popularity import refresh_popularity
from ingestion.sweep import MAX_DELETED_SHARE, SuspiciousSweepError, sweep_deletions
from orchestration.dagster_internals import DATA_VERSION_TAG
from orchestration.defs.ingestion.keys import (
    HUB_MODEL_CARDS,
    HUB_MODEL_POPULARITY,
    HUB_MODEL_SWEEP,
    HUB_MODEL_VERSIONS,
    HUB_MODELS,
)
from orchestration.defs.resources import HubResource, WarehouseResource

KINDS = {"duckdb", "huggingface"}


class ListingConfig(dg.Config):
    page_size: int | None = None


class SweepConfig(ListingConfig):
    max_deleted_share: float = MAX_DELETED_SHARE


def _client(hub: HubResource) -> HubClient:
    return client_from_settings(settings(), hub.token(), endpoint=hub.endpoint)


def _data_version(con: duckdb.DuckDBPyConnection, *tables: str) -> dg.DataVersion:
    """The stored content's fingerprint: unchanged after a run that stored nothing new, so
    the derived layers (`automation.py`) do not refresh for it."""
    return dg.DataVersion(raw_fingerprint(con, *tables))


# raw.hub_models has two writers, the listing and the deletion sweep (deletions, renames).
# Each reports the table's fingerprint only when it differs from the last one either of them
# reported: a change is reported once, by the run that stored it (or by the next writer if
# that run failed), and is not reported again by the other writer's next run.
HUB_MODELS_WRITERS = (HUB_MODELS, HUB_MODEL_SWEEP)
TABLE_FINGERPRINT = "table_fingerprint"


def _shared_table_version(
    instance: dg.DagsterInstance, key: dg.AssetKey, fingerprint: str
) -> dg.DataVersion:
    """`key`'s previous data version if no writer of its table changed it since the last
    report, else the table's fingerprint."""
    latest = {
        writer: records[0]
        for writer in HUB_MODELS_WRITERS
        if (records := instance.fetch_materializations(writer, limit=1).records)
    }
    if key in latest:
        newest = max(latest.values(), key=lambda record: record.storage_id)
        reported = newest.asset_materialization.metadata.get(TABLE_FINGERPRINT)
        previous = latest[key].asset_materialization.tags.get(DATA_VERSION_TAG)
        if reported is not None and reported.value == fingerprint and previous:
            return dg.DataVersion(previous)
    return dg.DataVersion(fingerprint)


def _row_count(warehouse: WarehouseResource, table: str, where: str = "true") -> int:
    with warehouse.connect(read_only=True) as con:
        (count,) = con.execute(f"select count(*) from raw.{table} where {where}").fetchone()
    return count


class DeltaConfig(dg.Config):
    overlap_hours: float = DEFAULT_OVERLAP.total_seconds() / 3600
    page_size: int | None = None  # None: the Hub's default (1000)
    card_concurrency: int = DEFAULT_CONCURRENCY


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            HUB_MODELS,
            description="Current state of every model on the Hub, one row per stable `_id`; "
            "each run lists the models changed since the watermark (minus an overlap).",
            kinds=KINDS,
            group_name="raw",
        ),
        dg.AssetSpec(
            HUB_MODEL_VERSIONS,
            description="Every observed version of every model (append-only history).",
            kinds=KINDS,
            group_name="raw",
        ),
        # No declared dep on raw/hub_models, though the cards are fetched after the listing:
        # Dagster wants a dep yielded first, and raw/hub_models must be reported last.
        dg.AssetSpec(
            HUB_MODEL_CARDS,
            description="README.md of every new or changed model version (fetched right after "
            "the listing, in the same step), stored once per content hash; "
            "raw.hub_card_fetches says ok / missing (404, 410) / failed (retried) / denied / "
            "too_large.",
            kinds=KINDS,
            group_name="raw",
        ),
    ],
    can_subset=True,
    pool="duckdb",
)
def hub_delta(
    context: dg.AssetExecutionContext,
    config: DeltaConfig,
    hub: HubResource,
    warehouse: WarehouseResource,
):
    """List the models changed since the watermark into `raw`, then fetch their new cards.

    One step, and `raw/hub_models` is reported last: while its materialization is pending,
    everything derived waits (`in_progress`), so one automation run takes the whole delta.
    """
    selected = context.selected_asset_keys
    results = []
    if selected & {HUB_MODELS, HUB_MODEL_VERSIONS}:
        results += list_models(context, config, hub, warehouse, selected)
    if HUB_MODEL_CARDS in selected:
        results.insert(0, fetch_new_cards(context, config, hub, warehouse))
    yield from results


def list_models(context, config: DeltaConfig, hub, warehouse, selected) -> list:
    with warehouse.connect() as con:
        result = ingest_models(
            con,
            _client(hub),
            overlap=timedelta(hours=config.overlap_hours),
            page_size=config.page_size,
            logger=context.log,
        )
        (active,) = con.execute(
            "select count(*) from raw.hub_models where deleted_at is null"
        ).fetchone()
        (versions,) = con.execute("select count(*) from raw.hub_model_versions").fetchone()
        models_fingerprint = raw_fingerprint(con, "hub_models")
        versions_version = _data_version(con, "hub_model_versions")
    if result.quarantined:
        context.log.warning(f"{result.quarantined} records quarantined: see raw.quarantine")
    models = dg.MaterializeResult(
        asset_key=HUB_MODELS,
        data_version=_shared_table_version(context.instance, HUB_MODELS, models_fingerprint),
        metadata={
            TABLE_FINGERPRINT: models_fingerprint,
            "dagster/row_count": active,
            "rows_added": result.added,
            "rows_changed": result.changed,
            "rows_deleted": 0,  # deletions are the sweep's (raw/hub_model_sweep)
            "rows_quarantined": result.quarantined,
            "models_listed": result.listed,
            "pages": result.pages,
            "models_per_second": round(result.models_per_second, 1),
            "watermark": str(result.watermark),
            "listed_back_to": str(result.stop_before or "the beginning (full listing)"),
        },
    )
    version_rows = dg.MaterializeResult(
        asset_key=HUB_MODEL_VERSIONS,
        data_version=versions_version,
        metadata={"dagster/row_count": versions, "rows_added": result.added + result.changed},
    )
    return [
        result
        for key, result in ((HUB_MODEL_VERSIONS, version_rows), (HUB_MODELS, models))
        if key in selected
    ]


def fetch_new_cards(context, config: DeltaConfig, hub, warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        result = fetch_cards(
            con, _client(hub), concurrency=config.card_concurrency, logger=context.log
        )
        data_version = _data_version(con, "hub_model_cards", "hub_card_fetches")
    return dg.MaterializeResult(
        asset_key=HUB_MODEL_CARDS,
        data_version=data_version,
        metadata={
            "dagster/row_count": _row_count(warehouse, "hub_model_cards"),
            "fetched": result.fetched,
            "new_card_texts": result.new_texts,
            **{f"fetches_{status}": count for status, count in sorted(result.by_status.items())},
        },
    )


@dg.asset(
    key=HUB_MODEL_POPULARITY,
    description="Downloads and likes over time: one row per model whenever they changed.",
    kinds=KINDS,
    group_name="raw",
    pool="duckdb",
)
def hub_model_popularity(
    context: dg.AssetExecutionContext,
    config: ListingConfig,
    hub: HubResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        result = refresh_popularity(
            con, _client(hub), page_size=config.page_size, logger=context.log
        )
        data_version = _data_version(con, "hub_model_popularity")
    return dg.MaterializeResult(
        data_version=data_version,
        metadata={
            "dagster/row_count": _row_count(warehouse, "hub_model_popularity"),
            "models_listed": result.listed,
            "rows_added": result.recorded,
            "observed_at": str(result.observed_at),
        },
    )


@dg.asset(
    key=HUB_MODEL_SWEEP,
    deps=[HUB_MODELS],
    description="The deletion sweep: a cheap id-only listing that marks models gone from the "
    "Hub (`deleted_at`, history kept) and renames (same `_id`) in raw.hub_models; one row "
    "per sweep in raw.hub_sweeps.",
    kinds=KINDS,
    group_name="raw",
    pool="duckdb",
)
def hub_model_sweep(
    context: dg.AssetExecutionContext,
    config: SweepConfig,
    hub: HubResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        try:
            result = sweep_deletions(
                con,
                _client(hub),
                page_size=config.page_size,
                max_deleted_share=config.max_deleted_share,
                logger=context.log,
            )
        except SuspiciousSweepError as refusal:
            # Nothing was marked; the check `sweep_not_refused` says why.
            context.log.error(f"deletion sweep refused: {refusal}")
            result = None
        models_fingerprint = raw_fingerprint(con, "hub_models")
    outcome = (
        {"refused": "yes: see the check sweep_not_refused"}
        if result is None
        else {
            "models_seen": result.seen,
            "rows_deleted": result.deleted,
            "rows_renamed": result.renamed,
            "rows_restored": result.restored,
            "candidates_kept_live": result.kept_live,
        }
    )
    return dg.MaterializeResult(
        data_version=_shared_table_version(context.instance, HUB_MODEL_SWEEP, models_fingerprint),
        metadata={
            TABLE_FINGERPRINT: models_fingerprint,
            "dagster/row_count": _row_count(warehouse, "hub_sweeps"),
            **outcome,
        },
    )
