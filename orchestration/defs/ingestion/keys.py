"""Asset keys of the raw layer, importable without loading the asset definitions."""

import dagster as dg

HUB_MODELS = dg.AssetKey(["raw", "hub_models"])
HUB_MODEL_VERSIONS = dg.AssetKey(["raw", "hub_model_versions"])
HUB_MODEL_CARDS = dg.AssetKey(["raw", "hub_model_cards"])
HUB_MODEL_POPULARITY = dg.AssetKey(["raw", "hub_model_popularity"])
HUB_MODEL_SWEEP = dg.AssetKey(["raw", "hub_model_sweep"])
