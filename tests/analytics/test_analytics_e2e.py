"""Local Hub -> real client -> raw -> dbt marts -> analytics assets -> report, via Dagster.

On the synthetic ecosystem the planted effects must show: siblings more similar than
parent-child within the paper's configurations, licenses drifting toward permissive ones,
languages toward English. The real 2025-04 families: test_real_families.py.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
from pipeline_support import FIGURES, net_flow, read, run_pipeline

from ingestion.localhub.server import serve
from orchestration.analytics.drift import oriented_graph

PERMISSIVE = {"apache-2.0", "mit"}


@pytest.fixture(scope="module")
def synthetic_pipeline(tmp_path_factory, synthetic_snapshot):
    root = tmp_path_factory.mktemp("analytics-e2e")
    warehouse = root / "warehouse.duckdb"
    server = serve(synthetic_snapshot)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HUBGENOME_WAREHOUSE", str(warehouse))
            result = run_pipeline(server.base_url, warehouse, relations=("finetune", "adapter"))
    finally:
        server.shutdown()
        server.server_close()
    return result, warehouse, root / "reports"


def test_the_pipeline_runs_from_the_hub_to_the_report(synthetic_pipeline):
    result, _, report_dir = synthetic_pipeline
    assert result.success
    assert all(check.passed for check in result.get_asset_check_evaluations())
    assert "Headline numbers, paper vs ours" in (report_dir / "report.md").read_text()


def test_the_report_sits_beside_its_warehouse_and_names_it_and_the_build(synthetic_pipeline):
    result, warehouse, report_dir = synthetic_pipeline
    assert report_dir == warehouse.parent / "reports"
    report = (report_dir / "report.md").read_text()
    assert f"Warehouse: `{warehouse.resolve()}`" in report
    assert f"report by Dagster run `{result.run_id}`" in report
    assert f"marts (dbt build) by Dagster run `{result.run_id}`" in report
    for figure in FIGURES:
        assert (report_dir / f"{figure}.png").stat().st_size > 5_000, figure
        assert f"({figure}.png)" in report, figure
    assert "1,860,411" in report  # the paper's reference value, beside ours
    [event] = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey(["analytics", "reproduction_report"])
    ]
    metadata = event.step_materialization_data.materialization.metadata
    assert isinstance(metadata["report"], dg.MarkdownMetadataValue)
    assert metadata["report_path"].value == str(report_dir / "report.md")


def test_licence_colours_come_from_the_seed_categories(synthetic_pipeline):
    from orchestration.analytics.report import LicenseColours

    _, warehouse, _ = synthetic_pipeline
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        colours = LicenseColours(con)
        seeded = {
            c
            for (c,) in con.execute(
                "select distinct license_category from marts.license_categories"
            ).fetchall()
        }
    finally:
        con.close()
    assert seeded <= set(colours.categories)
    assert "use-restricted" in colours.categories and "use-restrictions" not in colours.categories
    assert colours.category("openrail") == "use-restricted"
    assert colours.category("no-such-licence") == colours.categories[-1] == "other"
    assert len({colours.colour[c] for c in colours.categories}) == len(colours.categories)


def test_siblings_are_more_similar_than_parent_and_child(synthetic_pipeline):
    _, warehouse, _ = synthetic_pipeline
    table = read(
        warehouse,
        "select * from analytics.similarity_by_configuration where level = 'configuration'",
    ).set_index(["configuration", "config_index", "text", "metric"])
    for configuration in ("trio_1", "quad_0"):
        for text, metric in (
            ("metadata_paper", "tfidf"),
            ("card", "tfidf"),
            ("card", "levenshtein"),
        ):
            siblings = table.loc[(configuration, 2, text, metric)]
            parent_child = table.loc[(configuration, 1, text, metric)]
            # Intervals do not even overlap: the effect is not sampling noise.
            assert siblings["ci_low"] > parent_child["ci_high"], (configuration, text, metric)
    # Family resemblance: relatives' metadata is above the random baseline.
    for text in ("metadata_paper", "metadata_noleak"):
        parent_child = table.loc[("duo", 1, text, "tfidf")]
        assert parent_child["ci_low"] > table.loc[("rando", 1, text, "tfidf")]["ci_high"], text


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
