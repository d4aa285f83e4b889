"""Sample related pairs from the family forest, as the paper's local configurations do.

The forest is built in SQL from `marts.fct_model_edges` restricted to the relations in use
(the paper's similarity figures use the finetune graph) under an edge rule: `paper` (its
`base_model:` tags only, relation from typed tags: `in_paper_graph`, `paper_relation`) or
`ours` (tags and cardData: `relation`). Each child keeps one parent (its
family's primary parent when that edge is in use), so the graph is a forest as in the paper.
Every configuration of paper-notes section 3.2 is a weighted draw with replacement: DuckDB
computes cumulative weights and an ASOF join maps seeded uniform draws (numpy, registered as
a DataFrame) onto them, so nothing proportional to the Hub's size leaves the database.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

FOREST_SQL = """
create or replace temp table g_edges as
with in_use as (
    select e.parent_id, e.child_id
    from marts.fct_model_edges as e
    join marts.dim_model_family as child on child.model_id = e.child_id
    join marts.dim_model_family as parent on parent.model_id = e.parent_id
    where {edge_filter}
      and not e.is_self_loop
      and list_contains($relations::varchar[], coalesce({relation}, 'untyped'))
      and not coalesce(child.is_in_cycle, false)
      and not coalesce(parent.is_in_cycle, false)
    qualify row_number() over (
        partition by e.child_id
        order by (e.parent_id = child.primary_parent_id) desc nulls last, e.parent_id
    ) = 1
)
select
    parent_id,
    child_id,
    row_number() over (partition by parent_id order by child_id) - 1 as child_idx
from in_use;

create or replace temp table g_k as
select parent_id as node, count(*) as k from g_edges group by parent_id;

create or replace temp table g_grandchildren as
with chains as (
    select
        g.parent_id as g,
        g.child_id as p,
        c.child_id as c,
        row_number() over (partition by g.parent_id order by g.child_id, c.child_id) - 1
            as gc_idx
    from g_edges as g
    join g_edges as c on c.parent_id = g.child_id
)
select
    *,
    min(gc_idx) over (partition by g, p) as p_start,
    count(*) over (partition by g, p) as kp,
    count(*) over (partition by g) as s_g
from chains;

create or replace temp table g_nodes as
select model_id, row_number() over (order by model_id) - 1 as node_idx
from marts.dim_models;
"""

# Picks two distinct children of `parent` (k children): i uniform, j uniform among the others.
_TWO_CHILDREN = """
with d as (
    select *, floor(u1 * {k})::bigint as i, floor(u2 * ({k} - 1))::bigint as j0 from drawn
)
select d.*, a.child_id as {first}, b.child_id as {second}
from d
join g_edges as a on a.parent_id = d.{parent} and a.child_idx = d.i
join g_edges as b on b.parent_id = d.{parent} and b.child_idx = d.j0 + (d.j0 >= d.i)::bigint
"""


@dataclass(frozen=True)
class PairSpec:
    """One pair taken from a sampled structure: which roles, and how they are related."""

    index: int
    relationship: str
    generations_apart: int | None
    first: str
    second: str


@dataclass(frozen=True)
class Configuration:
    """A local family structure: its candidates with weights, and the SQL that fills roles."""

    name: str
    candidates: str
    order_by: str
    roles: str
    pairs: tuple[PairSpec, ...]


PC, SIB, GP = "parent-child", "siblings", "grandparent-grandchild"

CONFIGURATIONS: tuple[Configuration, ...] = (
    Configuration(
        "duo",
        "select parent_id as u, child_id as v, 1 as weight from g_edges",
        "u, v",
        "select * from drawn",
        (PairSpec(1, PC, 1, "u", "v"),),
    ),
    Configuration(
        "trio_1",
        "select node as p, k, k * (k - 1) // 2 as weight from g_k where k >= 2",
        "p",
        _TWO_CHILDREN.format(k="k", parent="p", first="c1", second="c2"),
        (PairSpec(1, PC, 1, "p", "c1"), PairSpec(2, SIB, 0, "c1", "c2")),
    ),
    Configuration(
        "trio_2",
        "select e.parent_id as u, e.child_id as v, k.k as kv, k.k as weight "
        "from g_edges as e join g_k as k on k.node = e.child_id",
        "u, v",
        "select d.*, w.child_id as w from drawn as d "
        "join g_edges as w on w.parent_id = d.v and w.child_idx = floor(d.u1 * d.kv)::bigint",
        (PairSpec(1, GP, 2, "u", "w"), PairSpec(2, PC, 1, "v", "w"), PairSpec(3, PC, 1, "u", "v")),
    ),
    Configuration(
        "quad_0",
        "select node as p, k, k * (k - 1) * (k - 2) // 6 as weight from g_k where k >= 3",
        "p",
        _TWO_CHILDREN.format(k="k", parent="p", first="c1", second="c2"),
        (PairSpec(1, PC, 1, "p", "c1"), PairSpec(2, SIB, 0, "c1", "c2")),
    ),
    Configuration(
        "quad_1",
        "select e.parent_id as u, e.child_id as v, k.k as kv, k.k * (k.k - 1) // 2 as weight "
        "from g_edges as e join g_k as k on k.node = e.child_id where k.k >= 2",
        "u, v",
        _TWO_CHILDREN.format(k="kv", parent="v", first="w", second="x"),
        (
            PairSpec(1, GP, 2, "u", "w"),
            PairSpec(2, PC, 1, "v", "w"),
            PairSpec(3, PC, 1, "u", "v"),
            PairSpec(4, SIB, 0, "w", "x"),
        ),
    ),
    Configuration(
        "quad_2",
        "select e.parent_id as u, e.child_id as v, e.child_idx as v_idx, kv.k as kv, "
        "ku.k as ku, kv.k * (ku.k - 1) as weight from g_edges as e "
        "join g_k as kv on kv.node = e.child_id join g_k as ku on ku.node = e.parent_id "
        "where ku.k >= 2",
        "u, v",
        """
        with d as (
            select *, floor(u1 * kv)::bigint as i, floor(u2 * (ku - 1))::bigint as j0 from drawn
        )
        select d.*, w.child_id as w, x.child_id as x
        from d
        join g_edges as w on w.parent_id = d.v and w.child_idx = d.i
        join g_edges as x on x.parent_id = d.u and x.child_idx = d.j0 + (d.j0 >= d.v_idx)::bigint
        """,
        (
            PairSpec(1, GP, 2, "u", "w"),
            PairSpec(2, "aunt/uncle-nephew", 1, "w", "x"),
            PairSpec(3, PC, 1, "v", "w"),
            PairSpec(4, PC, 1, "u", "v"),
            PairSpec(5, SIB, 0, "v", "x"),
        ),
    ),
    Configuration(
        "quad_3",
        "select t.parent_id as t, e.parent_id as u, e.child_id as v, kv.k as kv, kv.k as weight "
        "from g_edges as e join g_edges as t on t.child_id = e.parent_id "
        "join g_k as kv on kv.node = e.child_id",
        "u, v",
        "select d.*, w.child_id as w from drawn as d "
        "join g_edges as w on w.parent_id = d.v and w.child_idx = floor(d.u1 * d.kv)::bigint",
        (
            PairSpec(1, "three generations apart", 3, "t", "w"),
            PairSpec(2, GP, 2, "u", "w"),
            PairSpec(3, GP, 2, "t", "v"),
            PairSpec(4, PC, 1, "v", "w"),
            PairSpec(5, PC, 1, "u", "v"),
            PairSpec(6, PC, 1, "t", "u"),
        ),
    ),
    # Not one of the paper's configurations: a uniformly random pair of first cousins
    # (grandchild c, then c2 uniform among the grandchildren of g outside c's parent).
    Configuration(
        "cousins",
        "select g, p, c, p_start, kp, s_g - kp as weight from g_grandchildren",
        "g, p, c",
        """
        with d as (select *, floor(u1 * weight)::bigint as j0 from drawn)
        select d.*, c2.c as c2
        from d
        join g_grandchildren as c2
          on c2.g = d.g and c2.gc_idx = d.j0 + case when d.j0 >= d.p_start then d.kp else 0 end
        """,
        (PairSpec(1, "cousins", 0, "c", "c2"),),
    ),
)
RANDOM = "rando"
PAIR_COLUMNS = [
    "configuration",
    "config_index",
    "relationship",
    "generations_apart",
    "draw_id",
    "a_id",
    "b_id",
]


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None):
    """The single value of a query, read to the end (DuckDB 2 blocks on unfinished results)."""
    return con.execute(sql, params or {}).fetchall()[0][0]


# Edge rule -> (which edges, which relation column).
EDGE_RULES = {
    "paper": ("e.in_paper_graph", "e.paper_relation"),
    "ours": ("e.parent_in_hub", "e.relation"),
}


def build_forest(
    con: duckdb.DuckDBPyConnection, relations: list[str], edge_rule: str = "paper"
) -> dict[str, int]:
    """Create the temp tables of the forest in use; return its size."""
    if edge_rule not in EDGE_RULES:
        raise ValueError(f"edge_rule must be one of {sorted(EDGE_RULES)}, not {edge_rule!r}")
    edge_filter, relation = EDGE_RULES[edge_rule]
    first, *rest = (part for part in FOREST_SQL.split(";") if part.strip())
    first = first.format(edge_filter=edge_filter, relation=relation)
    con.execute(first, {"relations": list(relations)})
    for statement in rest:
        con.execute(statement)
    return {
        "edges": scalar(con, "select count(*) from g_edges"),
        "models": scalar(con, "select count(*) from g_nodes"),
    }


def _uniforms(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "draw_id": np.arange(n, dtype=np.int64),
            "u0": rng.random(n),
            "u1": rng.random(n),
            "u2": rng.random(n),
        }
    )


def _draw_structures(
    con: duckdb.DuckDBPyConnection, config: Configuration, n: int, rng: np.random.Generator
) -> pd.DataFrame:
    """n structures drawn with replacement, proportionally to the configuration's weight."""
    con.execute(
        f"""
        create or replace temp table cand as
        select *, sum(weight) over (order by {config.order_by}
                                    rows between unbounded preceding and current row)
                  - weight as cum_start
        from ({config.candidates}) where weight > 0
        """
    )
    total = scalar(con, "select sum(weight)::double from cand")
    if not total:
        return pd.DataFrame()
    draws = _uniforms(rng, n)
    con.register("draws", draws)
    try:
        con.execute(
            """
            create or replace temp table drawn as
            select d.draw_id, d.u1, d.u2, c.* exclude (cum_start)
            from (select *, u0 * $total as target from draws) as d
            asof join cand as c on d.target >= c.cum_start
            """,
            {"total": total},
        )
    finally:
        con.unregister("draws")
    return con.execute(f"select * from ({config.roles}) order by draw_id").df()


def _random_pairs(con: duckdb.DuckDBPyConnection, n: int, rng: np.random.Generator):
    models = scalar(con, "select count(*) from g_nodes")
    if models < 2:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    first = rng.integers(0, models, n)
    second = rng.integers(0, models - 1, n)
    second = second + (second >= first)
    draws = pd.DataFrame({"draw_id": np.arange(n), "i": first, "j": second})
    con.register("random_draws", draws)
    try:
        frame = con.execute(
            """
            select d.draw_id, a.model_id as a_id, b.model_id as b_id
            from random_draws as d
            join g_nodes as a on a.node_idx = d.i
            join g_nodes as b on b.node_idx = d.j
            order by d.draw_id
            """
        ).df()
    finally:
        con.unregister("random_draws")
    frame.insert(0, "configuration", RANDOM)
    frame.insert(1, "config_index", 1)
    frame.insert(2, "relationship", "random")
    frame.insert(3, "generations_apart", None)
    return frame[PAIR_COLUMNS]


def sample_pairs(
    con: duckdb.DuckDBPyConnection,
    n_samples: int,
    seed: int,
    configurations: tuple[Configuration, ...] = CONFIGURATIONS,
) -> pd.DataFrame:
    """n_samples structures per configuration, expanded to its pairs (forest must be built)."""
    frames = [_random_pairs(con, n_samples, np.random.default_rng([seed, 0]))]
    for number, config in enumerate(configurations, start=1):
        structures = _draw_structures(con, config, n_samples, np.random.default_rng([seed, number]))
        if structures.empty:
            continue
        for spec in config.pairs:
            frames.append(
                pd.DataFrame(
                    {
                        "configuration": config.name,
                        "config_index": spec.index,
                        "relationship": spec.relationship,
                        "generations_apart": spec.generations_apart,
                        "draw_id": structures["draw_id"].to_numpy(),
                        "a_id": structures[spec.first].to_numpy(),
                        "b_id": structures[spec.second].to_numpy(),
                    }
                )
            )
    pairs = pd.concat(frames, ignore_index=True)
    pairs["generations_apart"] = pairs["generations_apart"].astype("Int64")
    return pairs[pairs["a_id"] != pairs["b_id"]].reset_index(drop=True)
