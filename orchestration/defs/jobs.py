"""Jobs a user or a schedule can launch."""

import dagster as dg

full_build_job = dg.define_asset_job(
    "full_build",
    selection=dg.AssetSelection.all(),
    description="Materialize every asset: list the Hub into raw, then build all dbt models.",
)
