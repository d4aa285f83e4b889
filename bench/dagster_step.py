"""Materialize every `analytics/*` asset through Dagster on HUBGENOME_WAREHOUSE (a bench step)."""

import dagster as dg

from orchestration.definitions import defs


def main() -> None:
    definitions = defs()
    keys = [
        key
        for key in definitions.resolve_asset_graph().get_all_asset_keys()
        if key.path[0] == "analytics"
    ]
    job = definitions.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(asset_selection=keys, instance=instance)
    if not result.success:
        raise SystemExit("analytics materialization failed")
    print(f"materialized {len(keys)} analytics assets")


if __name__ == "__main__":
    main()
