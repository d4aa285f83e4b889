"""Jobs that refresh the raw layer; schedules and sensors launch them by these names."""

import dagster as dg

# Keys, not the asset objects: importing the definitions here would load them twice.
from orchestration.defs.ingestion.keys import (
    HUB_MODEL_CARDS,
    HUB_MODEL_POPULARITY,
    HUB_MODEL_SWEEP,
    HUB_MODEL_VERSIONS,
    HUB_MODELS,
)

hub_delta_job = dg.define_asset_job(
    "hub_delta_job",
    selection=dg.AssetSelection.assets(HUB_MODELS, HUB_MODEL_VERSIONS, HUB_MODEL_CARDS),
    description="List the models changed since the watermark, then fetch their new cards.",
)

hub_popularity_job = dg.define_asset_job(
    "hub_popularity_job",
    selection=dg.AssetSelection.assets(HUB_MODEL_POPULARITY),
    description="Record downloads and likes of every model (they change without a commit).",
)

hub_sweep_job = dg.define_asset_job(
    "hub_sweep_job",
    selection=dg.AssetSelection.assets(HUB_MODEL_SWEEP),
    description="Mark deleted and renamed models with a cheap id-only listing.",
)
