"""Relative sampling on hand-made forests: right relationships, right weights, seeded."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.analytics.relatives import CONFIGURATIONS, build_forest, sample_pairs


def _forest(family_model) -> dict[str, dict]:
    """root -> 3 children; c1 -> 2, c2 -> 1 grandchildren; g1 -> 1 great-grandchild;
    plus an isolated model, a merge child and an adapter child that must stay out."""
    m = family_model
    return {
        "r/root": m(),
        "a/c1": m(parents={"r/root": "finetune"}),
        "a/c2": m(parents={"r/root": "finetune"}),
        "a/c3": m(parents={"r/root": "finetune"}),
        "b/g1": m(parents={"a/c1": "finetune"}),
        "b/g2": m(parents={"a/c1": "finetune"}),
        "b/g3": m(parents={"a/c2": "finetune"}),
        "c/gg": m(parents={"b/g1": "finetune"}),
        "z/isolated": m(),
        "z/merged": m(parents={"a/c3": "merge", "a/c2": "merge"}),
        "z/adapter": m(parents={"a/c3": "adapter"}),
    }


PARENT = {
    "a/c1": "r/root",
    "a/c2": "r/root",
    "a/c3": "r/root",
    "b/g1": "a/c1",
    "b/g2": "a/c1",
    "b/g3": "a/c2",
    "c/gg": "b/g1",
}


def _ancestor(node: str, generations: int) -> str | None:
    for _ in range(generations):
        node = PARENT.get(node)
        if node is None:
            return None
    return node


def _related(relationship: str, a: str, b: str) -> bool:
    up = {n: _ancestor(n, 1) for n in (a, b)}
    if relationship == "parent-child":
        return up[a] == b or up[b] == a
    if relationship == "siblings":
        return up[a] is not None and up[a] == up[b]
    if relationship == "grandparent-grandchild":
        return _ancestor(a, 2) == b or _ancestor(b, 2) == a
    if relationship == "three generations apart":
        return _ancestor(a, 3) == b or _ancestor(b, 3) == a
    if relationship == "aunt/uncle-nephew":
        return (_ancestor(a, 2) == up[b] and up[a] != b) or (
            _ancestor(b, 2) == up[a] and up[b] != a
        )
    if relationship == "cousins":
        return _ancestor(a, 2) == _ancestor(b, 2) is not None and up[a] != up[b]
    raise AssertionError(relationship)


@pytest.fixture
def forest_con(contract_warehouse, family_model):
    con = duckdb.connect(str(contract_warehouse(_forest(family_model))))
    yield con
    con.close()


def test_the_forest_keeps_only_the_relations_in_use(forest_con):
    assert build_forest(forest_con, ["finetune"]) == {"edges": 7, "models": 11}
    assert build_forest(forest_con, ["finetune", "adapter"])["edges"] == 8


def test_every_sampled_pair_has_the_relationship_it_claims(forest_con):
    build_forest(forest_con, ["finetune"])
    pairs = sample_pairs(forest_con, 300, seed=5)
    expected = {c.name for c in CONFIGURATIONS} | {"rando"}
    assert set(pairs["configuration"]) == expected
    related = pairs[pairs["relationship"] != "random"]
    wrong = [
        row for row in related.itertuples() if not _related(row.relationship, row.a_id, row.b_id)
    ]
    assert wrong == []
    assert not set(related["a_id"]) & {"z/isolated", "z/merged", "z/adapter"}
    # The random baseline draws from every model, isolated ones included, never a self-pair.
    random = pairs[pairs["configuration"] == "rando"]
    assert "z/isolated" in set(random["a_id"]) | set(random["b_id"])
    assert (random["a_id"] != random["b_id"]).all()


def test_structures_are_drawn_with_the_papers_weights(forest_con):
    build_forest(forest_con, ["finetune"])
    pairs = sample_pairs(forest_con, 4000, seed=1)
    siblings = pairs[(pairs["configuration"] == "trio_1") & (pairs["config_index"] == 2)]
    # trio_1 weights parents by C(k, 2): root C(3,2)=3, c1 C(2,2)=1 -> root's children 3/4.
    root_share = siblings["a_id"].str.startswith("a/").mean()
    assert root_share == pytest.approx(3 / 4, abs=0.03)
    # quad_2 weights edges (u, v) by k(v) (k(u) - 1): (root,c1) 4, (root,c2) 2, (c1,g1) 1.
    upper = pairs[(pairs["configuration"] == "quad_2") & (pairs["config_index"] == 4)]
    shares = upper.groupby(["a_id", "b_id"]).size() / len(upper)
    assert shares[("r/root", "a/c1")] == pytest.approx(4 / 7, abs=0.03)
    assert shares[("a/c1", "b/g1")] == pytest.approx(1 / 7, abs=0.03)
    # Cousins are uniform over the 2 unordered cousin pairs (g1|g2 with g3).
    cousins = pairs[pairs["configuration"] == "cousins"]
    unordered = cousins.apply(lambda r: tuple(sorted((r.a_id, r.b_id))), axis=1)
    assert set(unordered) == {("b/g1", "b/g3"), ("b/g2", "b/g3")}
    assert unordered.value_counts(normalize=True).min() == pytest.approx(0.5, abs=0.03)
    # Siblings are always two distinct children.
    assert (siblings["a_id"] != siblings["b_id"]).all()


def test_sampling_is_deterministic_for_a_seed(forest_con):
    build_forest(forest_con, ["finetune"])
    first = sample_pairs(forest_con, 200, seed=9)
    again = sample_pairs(forest_con, 200, seed=9)
    other = sample_pairs(forest_con, 200, seed=10)
    assert first.equals(again)
    assert not first.equals(other)
