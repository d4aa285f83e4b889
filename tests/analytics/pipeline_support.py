"""The whole pipeline through Dagster for the end-to-end analytics tests."""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd

from orchestration.defs.ingestion.assets import hub_delta
from orchestration.defs.resources import HubResource, WarehouseResource
from orchestration.defs.transform.project import dbt_resource
from orchestration.reproduce_paper import BUILD_AND_REPORT, analytics_run_config

FIGURES = (
    "similarity_by_configuration",
    "similarity_pooled_by_relationship",
    "ecosystem_summary",
    "created_at_histogram",
    "families_over_time",
    "licenses_transition_graph",
    "languages_transition_graph",
    "pipeline_tag_transition_graph",
    "library_name_transition_graph",
    "parent_vs_child_by_relation",
    "family_trees",
)


def run_pipeline(endpoint: str, warehouse, relations=("finetune",), n_samples: int = 400):
    """The Hub listing, then its cards, then dbt, the analytics and the report, through Dagster.

    The listing and its cards are one run of `hub_delta`; dbt, the analytics and the report
    share a second one.
    """
    instance = dg.DagsterInstance.ephemeral()
    resources = {
        "hub": HubResource(endpoint=endpoint),
        "warehouse": WarehouseResource(path=str(warehouse)),
        "dbt": dbt_resource(),
    }
    listed = dg.materialize([hub_delta], resources=resources, instance=instance)
    assert listed.success
    return dg.materialize(
        BUILD_AND_REPORT,
        resources=resources,
        run_config=analytics_run_config(
            relations=relations, n_samples=n_samples, resamples=500, fit_sample=5000
        ),
        instance=instance,
    )


def read(warehouse, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def net_flow(transitions: pd.DataFrame, trait: str, into: set[str]) -> tuple[int, int]:
    """Transitions from outside `into` to inside it, and back."""
    rows = transitions[transitions["trait"] == trait]
    inward = rows[~rows["from_value"].isin(into) & rows["to_value"].isin(into)]
    outward = rows[rows["from_value"].isin(into) & ~rows["to_value"].isin(into)]
    return int(inward["n_transitions"].sum()), int(outward["n_transitions"].sum())
