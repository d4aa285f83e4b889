"""similarity_by_configuration on a hand-made family where every mean is known in advance."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.analytics.similarity import (
    SimilarityParams,
    load_texts,
    metadata_text,
    similarity_by_configuration,
)

CARD_A = "A" * 600
CARD_B = "B" * 600
AUTO_CARD = "This model card has been generated automatically. " + "x" * 600


@pytest.fixture
def family_con(contract_warehouse, family_model):
    """root {A} -> children {A,B} (cards identical) -> grandchildren {B}; a second root."""
    m = family_model
    models = {"r/root": m(licenses=("A",), card=CARD_A)}
    for i in range(3):
        models[f"c/child{i}"] = m(parents={"r/root": "finetune"}, licenses=("A", "B"), card=CARD_B)
    for i in range(2):
        for j in range(2):
            models[f"g/grand{i}{j}"] = m(
                parents={f"c/child{i}": "finetune"},
                licenses=("B",),
                card=AUTO_CARD if j else CARD_B,
            )
    models["x/other"] = m(licenses=("C",), card="short")
    con = duckdb.connect(str(contract_warehouse(models)))
    yield con
    con.close()


def _means(table, text, metric):
    rows = table[(table["level"] == "pooled") & (table["text"] == text)]
    return rows[rows["metric"] == metric].set_index("relationship")


def test_trait_jaccard_means_per_relationship_are_exact(family_con):
    table, facts = similarity_by_configuration(
        family_con, SimilarityParams(n_samples=200, resamples=200, seed=3)
    )
    assert facts["forest_edges"] == 7
    jaccard = _means(table, "traits", "jaccard_licenses")
    # Every parent-child pair has Jaccard 1/2, siblings 1, grandparent-grandchild {A} vs {B} 0,
    # cousins {B} vs {B} 1; a constant sample has a zero-width interval.
    assert jaccard.loc["parent-child", "mean"] == pytest.approx(0.5)
    assert jaccard.loc["siblings", "mean"] == pytest.approx(1.0)
    assert jaccard.loc["grandparent-grandchild", "mean"] == pytest.approx(0.0)
    assert jaccard.loc["cousins", "mean"] == pytest.approx(1.0)
    assert jaccard.loc["aunt/uncle-nephew", "mean"] == pytest.approx(0.5)
    siblings = jaccard.loc["siblings"]
    assert siblings["ci_low"] == siblings["ci_high"] == 1.0
    # The random baseline mixes pairs, so its interval has width and holds its mean.
    random = jaccard.loc["random"]
    assert random["ci_low"] < random["mean"] < random["ci_high"]


def test_card_similarity_uses_only_eligible_cards(family_con):
    table, _ = similarity_by_configuration(
        family_con, SimilarityParams(n_samples=200, resamples=200, seed=3)
    )
    levenshtein = _means(table, "card", "levenshtein")
    # Children share CARD_B with eligible grandchildren; the root's CARD_A differs everywhere.
    assert levenshtein.loc["siblings", "mean"] == pytest.approx(1.0)
    assert levenshtein.loc["grandparent-grandchild", "mean"] == pytest.approx(0.0)
    # Auto-generated grandchildren are ineligible: of the 4 cousin pairs grand0j-grand1k only
    # grand00-grand10 has two eligible cards, so about a quarter of cousin draws score.
    cousins = levenshtein.loc["cousins"]
    assert cousins["mean"] == pytest.approx(1.0)
    drawn = _means(table, "traits", "jaccard_licenses").loc["cousins", "n_pairs"]
    assert cousins["n_pairs"] / drawn == pytest.approx(1 / 4, abs=0.08)
    tfidf = _means(table, "card", "tfidf")
    assert tfidf.loc["siblings", "mean"] == pytest.approx(1.0)


def test_leak_free_metadata_removes_the_parent_child_advantage_of_ids(family_con):
    table, _ = similarity_by_configuration(
        family_con, SimilarityParams(n_samples=200, resamples=200, seed=3)
    )
    with_ids = _means(table, "metadata_paper", "levenshtein")
    leak_free = _means(table, "metadata_noleak", "levenshtein")
    # Without ids and lineage tags, siblings' metadata is identical (same licenses, same dates).
    assert leak_free.loc["siblings", "mean"] == pytest.approx(1.0)
    assert with_ids.loc["siblings", "mean"] < 1.0
    assert (table["mean"].dropna().between(0, 1)).all()


def test_the_whole_table_is_deterministic_for_a_seed(family_con):
    params = SimilarityParams(n_samples=100, resamples=100, seed=4)
    first, _ = similarity_by_configuration(family_con, params)
    again, _ = similarity_by_configuration(family_con, params)
    assert first.equals(again)


def test_each_configuration_reports_each_of_its_roles(family_con):
    table, _ = similarity_by_configuration(
        family_con, SimilarityParams(n_samples=200, resamples=200, seed=3)
    )
    rows = table[(table["level"] == "configuration") & (table["metric"] == "jaccard_licenses")]
    roles = rows.set_index(["configuration", "config_index"])
    # trio_1: (parent, child) {A} vs {A,B} = 1/2; two children {A,B} vs {A,B} = 1.
    assert roles.loc[("trio_1", 1), "relationship"] == "parent-child"
    assert roles.loc[("trio_1", 1), "mean"] == pytest.approx(0.5)
    assert roles.loc[("trio_1", 2), "relationship"] == "siblings"
    assert roles.loc[("trio_1", 2), "mean"] == pytest.approx(1.0)
    # quad_0 needs a parent with three children: only the root has them.
    assert roles.loc[("quad_0", 2), "mean"] == pytest.approx(1.0)
    # The random baseline is drawn from every model of the warehouse, isolated ones included.
    random_pairs = roles.loc[("rando", 1)]
    assert random_pairs["relationship"] == "random" and random_pairs["n_pairs"] > 0


def test_fit_corpora_are_the_first_models_by_hash_and_cards_only_eligible_ones(
    contract_warehouse, family_model
):
    def card(i: int) -> str:
        return AUTO_CARD if i % 5 == 0 else "short" if i % 3 == 0 else f"{i:03d}" * 300

    cards = {f"o/m{i:02d}": card(i) for i in range(40)}
    models = {
        model_id: family_model(licenses=("A",), card=text) for model_id, text in cards.items()
    }
    con = duckdb.connect(str(contract_warehouse(models)))
    try:
        by_hash = [
            model_id
            for (model_id,) in con.execute(
                "select model_id from marts.dim_models order by hash(model_id, 7)"
            ).fetchall()
        ]
        payloads = dict(
            con.execute("select model_id, payload::varchar from staging.stg_hub__models").fetchall()
        )
        profiles, corpora = load_texts(con, ["o/m01", "o/m02", "o/m01"], fit_sample=10, seed=7)
    finally:
        con.close()
    assert sorted(profiles.index) == ["o/m01", "o/m02"]
    assert profiles.loc["o/m01", "card"] == cards["o/m01"][:512]
    assert corpora["metadata_paper"] == [metadata_text(payloads[i]) for i in by_hash[:10]]
    assert corpora["metadata_noleak"] == [
        metadata_text(payloads[i], leak_free=True) for i in by_hash[:10]
    ]
    eligible = [i for i in by_hash if len(cards[i]) >= 512 and cards[i] != AUTO_CARD]
    assert len(eligible) > 10
    assert corpora["card"] == [cards[i][:512] for i in eligible[:10]]
