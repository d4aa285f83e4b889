"""Mutation rates, transition counts and exact orderings on hand-made families."""

from __future__ import annotations

import itertools
import random

import duckdb
import pytest

from orchestration.analytics.drift import (
    max_weight_linear_ordering,
    order_trait,
    ordering_weight,
    trait_frequencies,
    trait_mutation_rates,
    trait_orderings,
    trait_transitions,
)


@pytest.fixture
def drift_con(contract_warehouse, family_model):
    m = family_model
    models = {
        "p/multi": m(licenses=("llama3",), languages=("en", "fr", "de"), pipeline_tag="fill-mask"),
        # finetune: licenses {llama3}->{llama3, apache-2.0} distance 1/2; languages -> {en} 2/3
        "c/one": m(
            parents={"p/multi": "finetune"},
            licenses=("llama3", "apache-2.0"),
            languages=("en",),
            pipeline_tag="fill-mask",
        ),
        # finetune: licenses llama3 -> apache-2.0 distance 1; no languages: not counted
        "c/two": m(
            parents={"p/multi": "finetune"},
            licenses=("apache-2.0",),
            pipeline_tag="text-classification",
        ),
        # adapter: identical licenses, distance 0; no pipeline tag on the child
        "c/three": m(parents={"p/multi": "adapter"}, licenses=("llama3",)),
        # parent missing from the hub and a self-loop: both ignored
        "c/orphan": m(parents={"gone/model": "finetune"}, licenses=("mit",)),
        "c/self": m(parents={"c/self": "finetune"}, licenses=("mit",)),
    }
    con = duckdb.connect(str(contract_warehouse(models)))
    yield con
    con.close()


def test_mutation_rate_is_the_mean_jaccard_distance_over_edges_with_the_trait(drift_con):
    rates = trait_mutation_rates(drift_con).set_index(["trait", "relation"])
    assert rates.loc[("licenses", "finetune"), "mutation_rate"] == pytest.approx((0.5 + 1) / 2)
    assert rates.loc[("licenses", "adapter"), "mutation_rate"] == 0.0
    assert rates.loc[("licenses", "all"), "mutation_rate"] == pytest.approx(1.5 / 3)
    assert rates.loc[("licenses", "all"), "edges_counted"] == 3
    assert rates.loc[("languages", "finetune"), "mutation_rate"] == pytest.approx(2 / 3)
    assert rates.loc[("languages", "finetune"), "edges_counted"] == 1
    assert rates.loc[("pipeline_tag", "finetune"), "mutation_rate"] == pytest.approx(0.5)
    assert rates.loc[("pipeline_tag", "adapter"), "edges_counted"] == 0


def test_transitions_count_additions_from_every_kept_value_and_removals_to_every_child_value(
    drift_con,
):
    rows = trait_transitions(drift_con, ["finetune"])
    got = {(r.trait, r.from_value, r.to_value): (r.n_added, r.n_removed) for r in rows.itertuples()}
    assert got == {
        # c/one adds apache-2.0 next to llama3; c/two swaps llama3 for apache-2.0 (both ways).
        ("licenses", "llama3", "apache-2.0"): (2, 1),
        # c/one drops fr and de and keeps en.
        ("languages", "fr", "en"): (0, 1),
        ("languages", "de", "en"): (0, 1),
        ("pipeline_tag", "fill-mask", "text-classification"): (1, 1),
    }
    assert trait_transitions(drift_con, ["adapter"]).empty


def test_top_values_drop_placeholders_and_count_every_model(drift_con):
    frequencies = trait_frequencies(drift_con)
    licenses = frequencies[frequencies["trait"] == "licenses"].set_index("value")["n_models"]
    assert licenses.to_dict() == {"llama3": 3, "apache-2.0": 2, "mit": 2}


def test_the_ordering_places_sources_before_sinks(drift_con):
    table, orderings = trait_orderings(drift_con, ["finetune"])
    licenses = table[table["trait"] == "licenses"].set_index("value")["position"]
    assert licenses["llama3"] < licenses["apache-2.0"]
    assert set(licenses.index) == {"llama3", "apache-2.0", "mit"}
    languages = next(o for o in orderings if o.trait == "languages")
    assert languages.order[-1] == "en"
    assert languages.compatible_edges == languages.oriented_edges == 2
    assert languages.mutations_accounted == languages.mutations_total == 2


def _brute_force(nodes, weights):
    return max(ordering_weight(list(p), weights) for p in itertools.permutations(nodes))


@pytest.mark.parametrize("seed", range(8))
def test_the_ilp_ordering_is_optimal_against_brute_force(seed):
    rng = random.Random(seed)
    nodes = [f"v{i}" for i in range(rng.randint(3, 7))]
    weights = {
        (u, v): rng.randint(1, 20)
        for u, v in itertools.permutations(nodes, 2)
        if rng.random() < 0.4
    }
    order = max_weight_linear_ordering(nodes, weights)
    assert sorted(order) == sorted(nodes)
    assert ordering_weight(order, weights) == _brute_force(nodes, weights)


def test_a_three_cycle_breaks_at_its_lightest_edge_and_the_statistics_follow():
    import pandas as pd

    transitions = pd.DataFrame(
        {
            "trait": "t",
            "from_value": ["a", "b", "c", "b"],
            "to_value": ["b", "c", "a", "a"],
            "n_transitions": [5, 3, 1, 2],
        }
    )
    frequencies = pd.DataFrame(
        {"trait": "t", "value": ["a", "b", "c", "other"], "n_models": [9, 8, 7, 100]}
    )
    result = order_trait("t", transitions, frequencies, top_n=3)
    # Oriented: a->b traffic 3 (5 vs 2), b->c 3, c->a 1: the best order is a, b, c.
    assert result.order == ["a", "b", "c"]
    assert result.oriented == {("a", "b"): 3, ("b", "c"): 3, ("c", "a"): 1}
    assert (result.compatible_edges, result.oriented_edges) == (2, 3)
    assert (result.mutations_accounted, result.mutations_total) == (8, 11)
    assert (result.traffic, result.total_n) == (7, 11)
