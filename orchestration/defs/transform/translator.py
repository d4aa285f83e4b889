"""One place that maps dbt nodes onto Dagster asset specs."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from orchestration.defs.automation import layer_automation_condition

# Raw tables written as a side table of another raw asset map onto that asset's key, so the
# lineage has no unmaterializable stubs (a stub counts as missing and would block automation).
SIDE_TABLE_OWNERS = {
    "hub_card_fetches": "hub_model_cards",
    "hub_sweeps": "hub_model_sweep",
    "hub_sweep_seen": "hub_model_sweep",
    "hub_model_names": "hub_models",
    "hub_models_staged": "hub_models",
    "quarantine": "hub_models",
    "ingest_state": "hub_models",
}


class HubDbtTranslator(DagsterDbtTranslator):
    """dbt sources become the raw assets' keys; models are keyed, grouped and automated by layer.

    The layer is the model's schema (`staging`, `intermediate`, `marts`, `analytics`), so a
    model's key is `[layer, name]`, its group is its layer, and its automation condition is the
    layer's (see `orchestration/defs/automation.py`).
    """

    def __init__(self):
        super().__init__(
            settings=DagsterDbtTranslatorSettings(
                enable_asset_checks=True, enable_duplicate_source_asset_keys=True
            )
        )

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            table = SIDE_TABLE_OWNERS.get(props["name"], props["name"])
            return spec.replace_attributes(key=dg.AssetKey(["raw", table]), group_name="raw")
        layer = props["config"].get("schema") or "marts"
        return spec.replace_attributes(
            key=dg.AssetKey([layer, props["name"]]),
            group_name=layer,
            automation_condition=layer_automation_condition(layer),
        )
