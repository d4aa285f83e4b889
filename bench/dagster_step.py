"""Materialize one layer of assets (`analytics` or `published`) through Dagster on
HUBGENOME_WAREHOUSE, as the automation does (a bench step).

Usage: `python -m bench.dagster_step LAYER [METADATA_JSON]`; the second argument receives the
numeric metadata each asset reported (the publish reports its own seconds there).
"""

import json
import sys
from pathlib import Path

import dagster as dg

from orchestration.definitions import defs


def main(layer: str, metadata_out: Path | None = None) -> None:
    definitions = defs()
    keys = [
        key
        for key in definitions.resolve_asset_graph().get_all_asset_keys()
        if key.path[0] == layer
    ]
    if not keys:
        raise SystemExit(f"no assets in the layer {layer!r}")
    job = definitions.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(asset_selection=keys, instance=instance)
    if not result.success:
        raise SystemExit(f"{layer} materialization failed")
    print(f"materialized {len(keys)} {layer} assets")
    if metadata_out is not None:
        reported = {
            event.asset_key.to_user_string(): {
                name: value.value
                for name, value in event.materialization.metadata.items()
                if isinstance(value.value, int | float)
            }
            for event in result.get_asset_materialization_events()
        }
        metadata_out.write_text(json.dumps(reported, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]) if len(sys.argv) > 2 else None)
