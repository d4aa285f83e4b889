"""All dbt models, tests and seeds as Dagster assets."""

from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from ingestion.config import settings
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform.project import dbt_build_args, dbt_project
from orchestration.defs.transform.translator import HubDbtTranslator


class DbtBuildConfig(dg.Config):
    """`full_refresh` rebuilds incremental models from scratch (the weekly repair path)."""

    full_refresh: bool = False


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=HubDbtTranslator(),
    pool="duckdb",
)
def hubgenome_dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: DbtBuildConfig,
):
    # dbt writes this run's warehouse (the resource's, which a test or the demo may point
    # elsewhere than the settings do).
    dbt_vars = settings().with_warehouse(Path(warehouse.path)).dbt_vars()
    args = [*dbt_build_args(Path(warehouse.path), config.full_refresh), "--vars", dbt_vars]
    # Row counts and column metadata are not fetched: those calls hold the DuckDB file open.
    yield from dbt.cli(args, context=context).stream()
