"""`hubgenome report`: the paper's analyses and the report, rebuilt from the warehouse's marts.

Materializes every asset of the `analytics` group, and the published copy, through Dagster,
on the instance in `DAGSTER_HOME` (the UI shows the run), on the warehouse the settings name.
"""

from __future__ import annotations

import argparse
import sys

import dagster as dg

from ingestion.config import settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hubgenome report", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    from orchestration.definitions import defs

    definitions = defs()
    job = definitions.resolve_implicit_global_asset_job_def()
    graph = definitions.resolve_asset_graph()
    selection = sorted(dg.AssetSelection.groups("analytics", "published").resolve(graph))
    dagster_home = settings().dagster_home
    dagster_home.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        result = job.execute_in_process(
            instance=instance, asset_selection=selection, raise_on_error=False
        )
    if not result.success:
        print("hubgenome report: the analytics run failed; see the output above", file=sys.stderr)
        return 1
    for event in result.get_asset_materialization_events():
        path = event.materialization.metadata.get("report_path")
        if path is not None:
            print(f"report: {path.value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
