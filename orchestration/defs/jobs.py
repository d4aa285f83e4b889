"""Jobs a user or a schedule can launch (the raw ingestion jobs live in `defs/ingestion/`)."""

import dagster as dg
from dagster_dbt import build_dbt_asset_selection

# Imported as a module: a module-level AssetsDefinition here would be loaded a second time.
from orchestration.defs.transform import assets as transform_assets

full_build_job = dg.define_asset_job(
    "full_build",
    selection=dg.AssetSelection.all(),
    description="Materialize every asset: list the Hub into raw, then build all dbt models.",
)

dbt_full_refresh_job = dg.define_asset_job(
    "dbt_full_refresh",
    selection=build_dbt_asset_selection([transform_assets.hubgenome_dbt_models]),
    config=dg.RunConfig(
        ops={"hubgenome_dbt_models": transform_assets.DbtBuildConfig(full_refresh=True)}
    ),
    description="`dbt build --full-refresh` of every dbt model: rebuilds incremental marts from "
    "raw, the repair path if they ever drift. Analytics follow through automation.",
)
