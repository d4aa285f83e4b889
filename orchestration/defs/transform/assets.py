"""All dbt models, tests and seeds as Dagster assets."""

import os

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform.project import DBT_BUILD_ARGS, dbt_project
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
    # dbt runs as a subprocess that inherits the environment: point it at this run's warehouse.
    os.environ["HUBGENOME_WAREHOUSE"] = warehouse.path
    # Row counts and column metadata are not fetched: those calls hold the DuckDB file open.
    args = [*DBT_BUILD_ARGS, "--full-refresh"] if config.full_refresh else [*DBT_BUILD_ARGS]
    yield from dbt.cli(args, context=context).stream()
