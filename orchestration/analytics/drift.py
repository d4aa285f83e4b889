"""Mutation and directed drift of traits along lineage edges (paper-notes 3.3 and 3.4).

Per-edge set arithmetic runs in DuckDB (it scales with the edges); only the small top-n
transition graphs reach Python, where the exact maximum-weight linear ordering is an ILP
solved with `scipy.optimize.milp`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

# Trait name -> SQL expression giving its set of values on `dim_models` row `{m}` (as the mart
# trait_mutations derives them).
TRAITS = {
    "licenses": "list_distinct(coalesce({m}.licenses, []))",
    "languages": "list_distinct(coalesce({m}.languages, []))",
    "pipeline_tag": "case when {m}.pipeline_tag is null then [] else [{m}.pipeline_tag] end",
    "library_name": "case when {m}.library_name is null then [] else [{m}.library_name] end",
}
# Values the paper drops before taking the top n (section 3.4).
NOT_A_VALUE = ("other", "unknown", "None", "", "[]")
ALL_RELATIONS = ("finetune", "adapter", "quantized", "merge", "untyped")


# One row per (in-hub, non-self-loop edge, trait): both sides' sets and their Jaccard
# distance, kept up to date per edge by dbt (the incremental mart `trait_mutations`).
EDGE_TRAITS_SQL = """
    select parent_id, child_id, coalesce(relation, 'untyped') as relation, trait,
           parent_values as parent_set, child_values as child_set, mutation
    from marts.trait_mutations
"""


def trait_mutation_rates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Mean Jaccard distance per trait and relation ('all' pools every relation).

    Only edges where both sides carry the trait count, in numerator and denominator alike.
    """
    return con.execute(
        f"""
        select trait, coalesce(relation, 'all') as relation,
               count(*) as edges_total,
               count(mutation) as edges_counted,
               avg(mutation) as mutation_rate
        from ({EDGE_TRAITS_SQL})
        group by grouping sets ((trait, relation), (trait))
        order by trait, relation
        """
    ).df()


def trait_transitions(con: duckdb.DuckDBPyConnection, relations: list[str]) -> pd.DataFrame:
    """Directed transition counts a -> b per trait on the edges of the given relations.

    Additions: each a in C - P counts q -> a for every q in P. Removals: each r in P - C
    counts r -> s for every s in C. Edges where either side lacks the trait add nothing.
    """
    return con.execute(
        f"""
        with edges as (
            select * from ({EDGE_TRAITS_SQL})
            where list_contains($relations::varchar[], relation)
              and len(parent_set) > 0 and len(child_set) > 0
        ),
        added as (
            select trait, unnest(parent_set) as from_value, to_value
            from (
                select trait, parent_set,
                       unnest(list_filter(child_set, lambda x: not list_contains(parent_set, x)))
                           as to_value
                from edges
            )
        ),
        removed as (
            select trait, from_value, unnest(child_set) as to_value
            from (
                select trait, child_set,
                       unnest(list_filter(parent_set, lambda x: not list_contains(child_set, x)))
                           as from_value
                from edges
            )
        ),
        counts as (
            select trait, from_value, to_value, 1 as n_added, 0 as n_removed from added
            union all
            select trait, from_value, to_value, 0, 1 from removed
        )
        select trait, from_value, to_value,
               sum(n_added)::bigint as n_added, sum(n_removed)::bigint as n_removed,
               (sum(n_added) + sum(n_removed))::bigint as n_transitions
        from counts
        group by all
        order by trait, n_transitions desc, from_value, to_value
        """,
        {"relations": list(relations)},
    ).df()


def trait_frequencies(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """How many current models carry each value of each trait (the paper's node size)."""
    parts = [
        f"select '{trait}' as trait, unnest({expression.format(m='m')}) as value "
        "from marts.dim_models as m"
        for trait, expression in TRAITS.items()
    ]
    return con.execute(
        f"""
        select trait, value, count(*) as n_models
        from ({" union all ".join(parts)})
        group by all
        order by trait, n_models desc, value
        """
    ).df()


def max_weight_linear_ordering(nodes: list[str], weights: dict[tuple[str, str], float]) -> list:
    """The ordering of `nodes` maximising the total weight of edges u -> v with u before v.

    Exact: binary x_uv (u before v) for u < v, with x_vu = 1 - x_uv and the two 3-cycle
    inequalities per triple (the classic linear-ordering polytope), solved by HiGHS via milp.
    """
    n = len(nodes)
    if n < 2:
        return list(nodes)
    index = {pair: i for i, pair in enumerate(itertools.combinations(range(n), 2))}
    gain = np.zeros(len(index))
    constant = 0.0
    for (u, v), weight in weights.items():
        i, j = nodes.index(u), nodes.index(v)
        if i < j:
            gain[index[(i, j)]] += weight
        else:  # u before v means x_ji = 0: weight * (1 - x_ji)
            gain[index[(j, i)]] -= weight
            constant += weight
    rows = []
    for i, j, k in itertools.combinations(range(n), 3):
        row = np.zeros(len(index))
        row[index[(i, j)]], row[index[(j, k)]], row[index[(i, k)]] = 1, 1, -1
        rows.append(row)
    constraints = []
    if rows:
        matrix = np.array(rows)
        # i<j and j<k forces i<k; i>j and j>k forces i>k.
        constraints = [LinearConstraint(matrix, lb=0, ub=1)]
    result = milp(
        -gain,
        integrality=np.ones(len(index)),
        bounds=Bounds(0, 1),
        constraints=constraints,
    )
    if not result.success:
        raise RuntimeError(f"the ordering ILP failed: {result.message}")
    x = np.round(result.x).astype(int)
    before = np.zeros(n, dtype=int)  # how many nodes precede each node
    for (i, j), position in index.items():
        before[j if x[position] else i] += 1
    return [nodes[i] for i in np.argsort(before, kind="stable")]


def ordering_weight(order: list[str], weights: dict[tuple[str, str], float]) -> float:
    position = {node: i for i, node in enumerate(order)}
    return sum(w for (u, v), w in weights.items() if position[u] < position[v])


@dataclass
class TraitOrdering:
    """The optimal ordering of one trait's top values, and how much of the drift it explains."""

    trait: str
    order: list[str]
    n_models: dict[str, int]
    oriented_edges: int = 0
    compatible_edges: int = 0
    traffic: int = 0
    total_n: int = 0
    mutations_total: int = 0
    mutations_accounted: int = 0
    oriented: dict[tuple[str, str], int] = field(default_factory=dict)


def oriented_graph(counts: dict[tuple[str, str], int], nodes: list[str]):
    """traffic = |n(a->b) - n(b->a)| directed from the busier side, over pairs of `nodes`."""
    oriented, total_n = {}, 0
    for a, b in itertools.combinations(nodes, 2):
        forward, backward = counts.get((a, b), 0), counts.get((b, a), 0)
        total_n += forward + backward
        if forward != backward:
            oriented[(a, b) if forward > backward else (b, a)] = abs(forward - backward)
    return oriented, total_n


def order_trait(
    trait: str, transitions: pd.DataFrame, frequencies: pd.DataFrame, top_n: int
) -> TraitOrdering:
    """Top-n values by model count, their oriented transition graph, and its best ordering."""
    values = frequencies[(frequencies["trait"] == trait) & ~frequencies["value"].isin(NOT_A_VALUE)]
    top = values.head(top_n)
    nodes = top["value"].tolist()
    rows = transitions[transitions["trait"] == trait]
    counts = {
        (a, b): int(n)
        for a, b, n in zip(rows["from_value"], rows["to_value"], rows["n_transitions"], strict=True)
    }
    oriented, total_n = oriented_graph(counts, nodes)
    order = max_weight_linear_ordering(nodes, oriented)
    position = {node: i for i, node in enumerate(order)}
    inside = [(a, b, n) for (a, b), n in counts.items() if a in position and b in position]
    return TraitOrdering(
        trait=trait,
        order=order,
        n_models=dict(zip(top["value"], top["n_models"].astype(int), strict=True)),
        oriented_edges=len(oriented),
        compatible_edges=sum(position[a] < position[b] for a, b in oriented),
        traffic=sum(oriented.values()),
        total_n=total_n,
        mutations_total=sum(n for _, _, n in inside),
        mutations_accounted=sum(n for a, b, n in inside if position[a] < position[b]),
        oriented=oriented,
    )


def orderings_table(orderings: list[TraitOrdering], relations: list[str]) -> pd.DataFrame:
    """One row per (trait, position) with the trait's ordering statistics repeated."""
    rows = []
    for result in orderings:
        for position, value in enumerate(result.order):
            rows.append(
                {
                    "trait": result.trait,
                    "position": position,
                    "value": value,
                    "n_models": result.n_models[value],
                    "top_n": len(result.order),
                    "oriented_edges": result.oriented_edges,
                    "compatible_edges": result.compatible_edges,
                    "compatible_share": _share(result.compatible_edges, result.oriented_edges),
                    "mutations_total": result.mutations_total,
                    "mutations_accounted": result.mutations_accounted,
                    "accounted_share": _share(result.mutations_accounted, result.mutations_total),
                    "traffic": result.traffic,
                    "total_n": result.total_n,
                    "graph_relations": ",".join(relations),
                }
            )
    return pd.DataFrame(rows)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


DEFAULT_TOP_N = {"licenses": 20, "languages": 20, "pipeline_tag": 10, "library_name": 10}


def trait_orderings(
    con: duckdb.DuckDBPyConnection,
    relations: list[str],
    top_n: dict[str, int] | None = None,
) -> tuple[pd.DataFrame, list[TraitOrdering]]:
    """Orderings of every trait's top values on the transition graph of `relations`."""
    top_n = top_n or DEFAULT_TOP_N
    transitions = trait_transitions(con, relations)
    frequencies = trait_frequencies(con)
    orderings = [order_trait(t, transitions, frequencies, n) for t, n in top_n.items()]
    return orderings_table(orderings, relations), orderings
