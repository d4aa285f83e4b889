"""Write-audit-publish: the copy analysts open, replaced only after a build that passed."""

from pathlib import Path

import dagster as dg

from ingestion.exports import export_marts, exports_folder
from ingestion.publish import publish, published_build, published_path
from orchestration.defs.analytics import assets as analytics_assets
from orchestration.defs.resources import WarehouseResource

# Imported as a module: a module-level AssetsDefinition here would be loaded a second time.
from orchestration.defs.transform import assets as transform_assets

PUBLISHED = dg.AssetKey(["published", "warehouse"])
PARQUET_EXPORTS = dg.AssetKey(["published", "parquet_exports"])

# Every mart (seeds included) and every analytics table: the publish waits for all of them,
# and runs in the same run as any of them that is refreshed.
PUBLISHED_INPUTS = sorted(
    key for key in transform_assets.hubgenome_dbt_models.keys if key.path[0] == "marts"
) + [
    analytics_assets.SIMILARITY,
    analytics_assets.MUTATION_RATES,
    analytics_assets.TRANSITIONS,
    analytics_assets.ORDERINGS,
]


@dg.asset(
    key=PUBLISHED,
    deps=PUBLISHED_INPUTS,
    group_name="published",
    kinds={"duckdb"},
    pool="duckdb",
    description="The analysts' copy: `marts` and `analytics` (with their comments) copied to a "
    "new file after a build whose models, tests and analyses passed, then swapped in "
    "atomically at `<warehouse>.published.duckdb`. A failed build never reaches it; a reader "
    "never blocks a refresh and keeps its snapshot while its connection is open.",
)
def published_warehouse(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    target = published_path(Path(warehouse.path))
    with warehouse.connect() as con:
        result = publish(con, target, context.run.run_id)
    return dg.MaterializeResult(
        metadata={
            "published": dg.MetadataValue.path(str(result.path)),
            "build_file": dg.MetadataValue.path(str(result.build)),
            "tables": result.tables,
            "dagster/row_count": result.rows,
            "seconds": round(result.seconds, 2),
            "written_whole": result.whole,
            "rows_changed": result.rows_changed,
        }
    )


@dg.asset(
    key=PARQUET_EXPORTS,
    deps=[PUBLISHED],
    group_name="published",
    kinds={"parquet"},
    description="Every table of the published `marts` as `<warehouse folder>/exports/<mart>"
    ".parquet`, for tools that do not read DuckDB. Read from the published build (the "
    "warehouse's file is never held); a mart whose file already holds the same rows is left "
    "as it is; each file is replaced by an atomic rename.",
)
def parquet_exports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    build = published_build(published_path(Path(warehouse.path)))
    if build is None:
        raise dg.Failure("nothing is published yet: materialize published/warehouse first")
    result = export_marts(build, exports_folder(Path(warehouse.path)))
    context.log.info(
        f"exported {len(result.written)} marts as Parquet to {result.folder} "
        f"({len(result.unchanged)} unchanged, {len(result.removed)} removed)"
    )
    return dg.MaterializeResult(
        metadata={
            "folder": dg.MetadataValue.path(str(result.folder)),
            "build_file": dg.MetadataValue.path(str(build)),
            "marts_written": len(result.written),
            "marts_unchanged": len(result.unchanged),
            "written": ", ".join(result.written) or "none",
            "removed": ", ".join(result.removed) or "none",
            "seconds": round(result.seconds, 2),
        }
    )
