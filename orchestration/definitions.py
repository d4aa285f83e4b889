"""The hubgenome Dagster code location: everything is discovered from `orchestration/defs/`."""

from pathlib import Path

import dagster as dg

from orchestration.defs.automation import apply_layer_automation


@dg.definitions
def defs() -> dg.Definitions:
    # Python assets of derived layers get their layer's automation condition here (dbt models
    # get it from the translator), so every layer's automation is set in automation.py.
    return apply_layer_automation(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    )
