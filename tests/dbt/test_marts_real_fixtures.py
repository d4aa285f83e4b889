"""The marts on real Hub records (../shared/hub_fixtures, skipped when absent): every dbt data
test passes on the real Hub's messes, and the marts agree with a Python reading of them."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from ingestion.importers import import_snapshot
from ingestion.localhub.server import read_snapshot
from ingestion.warehouse import connect, ensure_raw_schema
from tests.conftest import shared_fixture
from tests.dbt.helpers import (
    DBT_PROJECT,
    card_features,
    check_lineage_mart,
    declared_edges,
    families,
    primary_relation,
    query,
    run_dbt,
)

pytestmark = pytest.mark.fixtures


def _build(tmp_path_factory, name: str):
    """Import a fixture file with ingestion's importer and run `dbt build` on it."""
    source = shared_fixture(name)
    root = tmp_path_factory.mktemp(name.split(".")[0])
    warehouse = root / "warehouse.duckdb"
    with connect(warehouse) as con:
        ensure_raw_schema(con)
        import_snapshot(con, source)
    run_dbt(warehouse, root / "target", "build")
    records = list(read_snapshot(source))
    return warehouse, records


@pytest.fixture(scope="module")
def lineage_fixture(tmp_path_factory):
    return _build(tmp_path_factory, "real_2025-06_lineage.jsonl.gz")


@pytest.fixture(scope="module")
def family_trees_fixture(tmp_path_factory):
    return _build(tmp_path_factory, "real_2025-04_family_trees.jsonl.gz")


def _family_rows(warehouse) -> dict[str, dict]:
    rows = query(
        warehouse,
        "select model_id, family_root_id, depth, primary_parent_id, is_in_cycle "
        "from marts.dim_model_family",
    )
    return {m: {"root": r, "depth": d, "parent": p, "in_cycle": c} for m, r, d, p, c in rows}


def _check_edges_and_families(warehouse, payloads) -> dict:
    models = {payload["id"] for payload in payloads}
    truth = declared_edges(payloads)
    stored = {
        (parent, child): (relation, set(tags), set(sources))
        for parent, child, relation, tags, sources in query(
            warehouse,
            "select parent_id, child_id, relation, relation_tags, edge_sources "
            "from marts.fct_model_edges",
        )
    }
    assert stored == {
        key: (primary_relation(edge["relations"]), edge["relations"], edge["sources"])
        for key, edge in truth.items()
    }
    assert _family_rows(warehouse) == families(models, truth)
    return truth


def test_real_lineage_with_self_loops_and_multi_parent_models(lineage_fixture):
    warehouse, records = lineage_fixture
    payloads = [record["model"] for record in records]
    truth = _check_edges_and_families(warehouse, payloads)

    self_loops = {child for parent, child in truth if parent == child}
    flagged = {
        model_id
        for (model_id,) in query(
            warehouse, "select model_id from marts.dim_model_family where has_self_loop"
        )
    }
    assert len(self_loops) >= 10 and flagged == self_loops

    multi_parent = query(
        warehouse,
        """
        select f.model_id, f.primary_parent_id, f.primary_relation
        from marts.dim_model_family as f
        where f.n_non_merge_parents > 1
        """,
    )
    assert multi_parent, "the real lineage has models with several non-merge parents"
    (relations,) = query(
        warehouse, "select count(*) from marts.fct_model_edges where relation = 'merge'"
    )[0]
    assert relations > 1000
    merge_roots = query(
        warehouse, "select count(*) from marts.dim_model_family where is_merge_root"
    )[0][0]
    assert merge_roots > 0
    (deepest,) = query(warehouse, "select max(max_depth) from marts.family_stats")[0]
    assert deepest >= 5


def test_real_lineage_mart_matches_an_independent_walk(lineage_fixture):
    warehouse, records = lineage_fixture
    truth = declared_edges([record["model"] for record in records])
    pairs = check_lineage_mart(warehouse, truth)
    assert max(pairs.values()) >= 3
    # merge children reach ancestors the family trees leave out
    (through_merge,) = query(
        warehouse, "select count(*) from marts.fct_model_lineage where is_through_merge"
    )[0]
    assert through_merge > 0
    # the Hub model-tree counts agree with the edges and the walk
    descendants = Counter(ancestor for ancestor, _ in pairs)
    finetunes, merges = Counter(), Counter()
    for (parent, child), edge in truth.items():
        if parent != child:
            finetunes[parent] += "finetune" in edge["relations"]
            merges[parent] += "merge" in edge["relations"]
    rows = query(
        warehouse, "select model_id, n_finetunes, n_merges, n_descendants from marts.dim_models"
    )
    assert rows
    for model_id, n_finetunes, n_merges, n_descendants in rows:
        assert (n_finetunes, n_merges, n_descendants) == (
            finetunes[model_id],
            merges[model_id],
            descendants[model_id],
        ), model_id


def test_real_family_trees_cards_and_licences(family_trees_fixture):
    warehouse, records = family_trees_fixture
    payloads = [record["model"] for record in records]
    _check_edges_and_families(warehouse, payloads)

    cards = {
        model_id: tuple(rest)
        for model_id, *rest in query(
            warehouse,
            "select model_id, has_card, card_length_chars, card_length_words, "
            "card_is_auto_generated from marts.dim_models",
        )
    }
    assert cards == {r["model"]["id"]: card_features(r["readme"]) for r in records}

    with open(DBT_PROJECT / "seeds" / "iso_639_1_languages.csv") as seed:
        iso = {row["language_code"] for row in csv.DictReader(seed)}
    languages = dict(query(warehouse, "select model_id, languages from marts.dim_models"))
    for payload in payloads:
        expected = sorted({tag for tag in payload["tags"] if tag in iso})
        assert languages[payload["id"]] == expected, payload["id"]

    roots = Counter(row["root"] for row in _family_rows(warehouse).values())
    assert roots.most_common(1)[0][1] > 100

    violations = query(
        warehouse,
        "select parent_license, child_license from marts.license_drift where is_violation",
    )
    assert violations and all(parent != child for parent, child in violations)
    (both_cards,) = query(
        warehouse,
        "select n_edges_both_have_card from marts.drift_by_relation where relation = 'all'",
    )[0]
    assert both_cards > 500


@pytest.mark.slow
def test_real_early_hub_traits(tmp_path_factory):
    """The Feb 2022 sample predates lineage tags: traits and cards only, no edges."""
    warehouse, records = _build(tmp_path_factory, "real_2022-02_hub.jsonl.gz")
    cards = {
        model_id: tuple(rest)
        for model_id, *rest in query(
            warehouse,
            "select model_id, has_card, card_length_chars, card_length_words, "
            "card_is_auto_generated from marts.dim_models",
        )
    }
    assert cards == {r["model"]["id"]: card_features(r["readme"]) for r in records}
    licensed = query(warehouse, "select count(*) from marts.dim_models where len(licenses) > 0")[0][
        0
    ]
    assert licensed > 1000
