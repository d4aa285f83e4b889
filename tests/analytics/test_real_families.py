"""The paper's directions on the real 2025-04 fine-tune families, through the whole pipeline.

The local Hub serves `../shared/hub_fixtures/real_2025-04_family_trees.jsonl.gz` (skipped when
absent), the real client lists it, dbt builds the marts, the analytics and the report run in
one Dagster materialization. Within the paper's configurations siblings must be more similar
than parent and child; cards get shorter and more often auto-generated down the edges;
languages drift toward English; the headline edge count is the paper's (tags only).
"""

from __future__ import annotations

import gzip
import json

import pytest
from pipeline_support import FIGURES, net_flow, read, run_pipeline

from ingestion.config import PROJECT_ROOT
from ingestion.localhub.server import serve

SOURCE = PROJECT_ROOT.parent / "shared" / "hub_fixtures" / "real_2025-04_family_trees.jsonl.gz"

pytestmark = [pytest.mark.fixtures, pytest.mark.slow]


def tag_edges(path) -> set[tuple[str, str]]:
    """(parent, child) pairs the paper's rule gives: base_model tags, parent in the file."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        models = [json.loads(line)["model"] for line in lines if line.strip()]
    ids = {m["id"] for m in models}
    edges = set()
    for item in models:
        for tag in item.get("tags") or []:
            if tag.startswith("base_model:"):
                parent = tag.rsplit(":", 1)[1] if tag.count(":") > 1 else tag.split(":", 1)[1]
                if parent in ids:
                    edges.add((parent, item["id"]))
    return edges


@pytest.fixture(scope="module")
def real_pipeline(tmp_path_factory):
    if not SOURCE.exists():
        pytest.skip(f"real Hub fixture not found: {SOURCE}")
    root = tmp_path_factory.mktemp("real-families")
    warehouse = root / "warehouse.duckdb"
    server = serve(SOURCE)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HUBGENOME_WAREHOUSE", str(warehouse))
            result = run_pipeline(server.base_url, warehouse, n_samples=1000)
    finally:
        server.shutdown()
        server.server_close()
    assert result.success
    return warehouse, root / "reports"


def configuration_means(warehouse):
    return read(
        warehouse,
        "select * from analytics.similarity_by_configuration where level = 'configuration'",
    ).set_index(["configuration", "config_index", "text", "metric"])


@pytest.mark.parametrize("configuration", ["trio_1", "quad_0"])
@pytest.mark.parametrize("text", ["card", "metadata_paper", "metadata_noleak"])
def test_siblings_beat_parent_and_child_within_the_configuration(
    real_pipeline, configuration, text
):
    warehouse, _ = real_pipeline
    table = configuration_means(warehouse)
    siblings = table.loc[(configuration, 2, text, "tfidf")]
    parent_child = table.loc[(configuration, 1, text, "tfidf")]
    assert siblings["relationship"] == "siblings"
    assert parent_child["relationship"] == "parent-child"
    assert siblings["n_pairs"] >= 50 and parent_child["n_pairs"] >= 50
    # Not sampling noise: the 95% intervals do not overlap.
    assert siblings["ci_low"] > parent_child["ci_high"]


def test_the_papers_metadata_text_is_above_the_leakage_free_one_for_parent_and_child(
    real_pipeline,
):
    warehouse, _ = real_pipeline
    table = configuration_means(warehouse)
    # The paper's text repeats the child's id and names the parent: parent-child pairs gain.
    paper = table.loc[("duo", 1, "metadata_paper", "tfidf")]
    ours = table.loc[("duo", 1, "metadata_noleak", "tfidf")]
    assert paper["ci_low"] > ours["ci_high"]


def test_the_headline_edge_count_is_the_papers_tags_only_count(real_pipeline):
    warehouse, report_dir = real_pipeline
    expected = len(tag_edges(SOURCE))
    counts = read(warehouse, "select * from marts.lineage_edge_counts").set_index(
        ["edge_rule", "relation"]
    )
    assert counts.loc[("paper", "all"), "n_edges"] == expected
    assert counts.loc[("paper", "all"), "n_card_data_only"] == 0
    # cardData adds edges of its own; they are ours, not the paper's.
    assert counts.loc[("ours", "all"), "n_card_data_only"] > 0
    report = (report_dir / "report.md").read_text()
    headline = next(line for line in report.splitlines() if line.startswith("| Edges (paper's"))
    assert f"| {expected:,} " in headline


def test_cards_shrink_and_are_more_often_auto_generated_down_the_edges(real_pipeline):
    warehouse, _ = real_pipeline
    drift = read(warehouse, "select * from marts.drift_by_relation").set_index("relation")
    overall = drift.loc["all"]
    assert overall["mean_child_card_chars"] < overall["mean_parent_card_chars"]
    assert overall["share_child_auto_generated"] > overall["share_parent_auto_generated"]
    assert overall["mean_child_languages"] < overall["mean_parent_languages"]


def test_languages_drift_toward_english(real_pipeline):
    warehouse, _ = real_pipeline
    transitions = read(warehouse, "select * from analytics.trait_transitions")
    into_english, out_of_english = net_flow(transitions, "languages", {"en"})
    assert into_english > out_of_english


def test_every_figure_of_the_paper_is_in_the_report(real_pipeline):
    _, report_dir = real_pipeline
    report = (report_dir / "report.md").read_text()
    for figure in FIGURES:
        assert (report_dir / f"{figure}.png").stat().st_size > 5_000, figure
        assert f"({figure}.png)" in report, figure
    for section in (
        "Similarity within each local family configuration",
        "Secondary view (not the paper's)",
        "The ecosystem in top-10 panels",
        "Children that have children, per edge type",
        "Lineage edges by rule and evidence",
    ):
        assert section in report, section
