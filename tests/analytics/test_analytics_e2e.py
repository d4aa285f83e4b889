"""Local Hub -> real client -> raw -> dbt marts -> analytics assets -> report, via Dagster.

On the synthetic ecosystem the planted effects must show: siblings more similar than
parent-child, licenses drifting toward permissive ones, languages toward English.
On the real fixtures (skipped when absent) the whole pipeline runs and the report is produced.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_dbt import DbtCliResource

from ingestion.config import PROJECT_ROOT
from ingestion.localhub.server import serve
from orchestration.analytics.drift import oriented_graph
from orchestration.defs.analytics.assets import (
    reproduction_report,
    similarity_by_relationship,
    trait_mutation_rates,
    trait_orderings,
    trait_transitions,
)
from orchestration.defs.ingestion.assets import hub_model_cards, hub_models
from orchestration.defs.resources import HubResource, WarehouseResource
from orchestration.defs.transform.assets import hubgenome_dbt_models
from orchestration.defs.transform.project import dbt_project

PERMISSIVE = {"apache-2.0", "mit"}
PIPELINE = [
    hub_models,
    hub_model_cards,
    hubgenome_dbt_models,
    similarity_by_relationship,
    trait_mutation_rates,
    trait_transitions,
    trait_orderings,
    reproduction_report,
]


def run_pipeline(endpoint: str, warehouse, report_dir, relations=("finetune",)):
    drift_config = {"config": {"relations": list(relations)}}
    return dg.materialize(
        PIPELINE,
        resources={
            "hub": HubResource(endpoint=endpoint),
            "warehouse": WarehouseResource(path=str(warehouse)),
            "dbt": DbtCliResource(project_dir=dbt_project, profiles_dir=dbt_project.project_dir),
        },
        run_config=dg.RunConfig(
            ops={
                "analytics__similarity_by_relationship": {
                    "config": {
                        "relations": list(relations),
                        "n_samples": 400,
                        "resamples": 500,
                        "fit_sample": 5000,
                    }
                },
                "analytics__trait_transitions": drift_config,
                "analytics__trait_orderings": drift_config,
                "analytics__reproduction_report": {"config": {"out_dir": str(report_dir)}},
            }
        ),
        instance=dg.DagsterInstance.ephemeral(),
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


@pytest.fixture(scope="module")
def synthetic_pipeline(tmp_path_factory, synthetic_snapshot):
    root = tmp_path_factory.mktemp("analytics-e2e")
    warehouse = root / "warehouse.duckdb"
    server = serve(synthetic_snapshot)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HUBGENOME_WAREHOUSE", str(warehouse))
            result = run_pipeline(
                server.base_url, warehouse, root / "reports", relations=("finetune", "adapter")
            )
    finally:
        server.shutdown()
        server.server_close()
    return result, warehouse, root / "reports"


def test_the_pipeline_runs_from_the_hub_to_the_report(synthetic_pipeline):
    result, _, report_dir = synthetic_pipeline
    assert result.success
    assert all(check.passed for check in result.get_asset_check_evaluations())
    assert "Headline numbers, paper vs ours" in (report_dir / "report.md").read_text()


def test_siblings_are_more_similar_than_parent_and_child(synthetic_pipeline):
    _, warehouse, _ = synthetic_pipeline
    table = read(
        warehouse,
        "select * from analytics.similarity_by_relationship where level = 'relationship'",
    ).set_index(["text", "metric", "relationship"])
    for text, metric in (("metadata", "tfidf"), ("card", "tfidf"), ("card", "levenshtein")):
        siblings = table.loc[(text, metric, "siblings")]
        parent_child = table.loc[(text, metric, "parent-child")]
        # Intervals do not even overlap: the effect is not sampling noise.
        assert siblings["ci_low"] > parent_child["ci_high"], (text, metric)
    # Family resemblance: relatives' metadata is above the random baseline.
    for text in ("metadata", "metadata_noleak"):
        parent_child = table.loc[(text, "tfidf", "parent-child")]
        assert parent_child["ci_low"] > table.loc[(text, "tfidf", "random")]["ci_high"], text


def test_licenses_drift_toward_permissive_and_languages_toward_english(synthetic_pipeline):
    _, warehouse, _ = synthetic_pipeline
    transitions = read(warehouse, "select * from analytics.trait_transitions")
    into_permissive, out_of_permissive = net_flow(transitions, "licenses", PERMISSIVE)
    assert into_permissive > 2 * out_of_permissive
    into_english, out_of_english = net_flow(transitions, "languages", {"en"})
    assert into_english > 2 * out_of_english
    orderings = read(warehouse, "select * from analytics.trait_orderings")
    position = orderings[orderings["trait"] == "languages"].set_index("value")["position"]
    counts = {
        (a, b): n
        for a, b, n in transitions[transitions["trait"] == "languages"][
            ["from_value", "to_value", "n_transitions"]
        ].itertuples(index=False)
    }
    oriented, _ = oriented_graph(counts, list(position.index))
    # English is the sink, as in the paper: every net flow touching it ends there.
    touching_english = [(a, b) for a, b in oriented if "en" in (a, b)]
    assert touching_english and all(b == "en" for _, b in touching_english)
    assert all(position[a] < position["en"] for a, _ in touching_english)


@pytest.mark.fixtures
@pytest.mark.slow
def test_the_real_family_trees_run_through_the_pipeline(tmp_path, monkeypatch):
    source = PROJECT_ROOT.parent / "shared" / "hub_fixtures" / "real_2025-04_family_trees.jsonl.gz"
    if not source.exists():
        pytest.skip(f"real Hub fixture not found: {source}")
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("HUBGENOME_WAREHOUSE", str(warehouse))
    server = serve(source)
    try:
        result = run_pipeline(server.base_url, warehouse, tmp_path / "reports")
    finally:
        server.shutdown()
        server.server_close()
    assert result.success
    report = (tmp_path / "reports" / "report.md").read_text()
    assert "Headline numbers, paper vs ours" in report
    similarity = read(
        warehouse, "select * from analytics.similarity_by_relationship where n_pairs > 0"
    )
    assert {"parent-child", "siblings", "random"} <= set(similarity["relationship"])
