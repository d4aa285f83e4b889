"""One place that maps dbt nodes onto Dagster asset specs."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from orchestration.defs.automation import layer_automation_condition


class HubDbtTranslator(DagsterDbtTranslator):
    """dbt sources become the raw assets' keys; models are keyed, grouped and automated by layer.

    The layer is the model's schema (`staging`, `intermediate`, `marts`, `analytics`), so a
    model's key is `[layer, name]`, its group is its layer, and its automation condition is the
    layer's (see `orchestration/defs/automation.py`).
    """

    def __init__(self):
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec.replace_attributes(key=dg.AssetKey(["raw", props["name"]]))
        layer = props["config"].get("schema") or "marts"
        return spec.replace_attributes(
            key=dg.AssetKey([layer, props["name"]]),
            group_name=layer,
            automation_condition=layer_automation_condition(layer),
        )
