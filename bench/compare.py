"""Compute the outputs both approaches share, and check ours against the paper baseline.

`python -m bench.compare ours|baseline WAREHOUSE OUT.json` writes one side;
`python -m bench.compare check OURS.json BASELINE.json` prints the verdict.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import duckdb
import pandas as pd

from bench import paper_baseline
from orchestration.analytics.drift import trait_mutation_rates

TRAITS = ("licenses", "languages", "pipeline_tag")


def ours(con: duckdb.DuckDBPyConnection) -> dict:
    """The same outputs, read from our marts and analytics code."""
    edges = con.execute(
        """
        select coalesce(relation, 'None'), count(*) from marts.fct_model_edges
        where parent_in_hub group by 1
        """
    ).fetchall()
    families = con.execute(
        "select family_root_id, count(*) from marts.dim_model_family group by 1"
    ).fetchall()
    rates = trait_mutation_rates(con)
    finetune = rates[rates["relation"] == "finetune"].set_index("trait")["mutation_rate"]
    drift = con.execute(
        """
        select coalesce(relation, 'None'), count(*), avg(parent_card_length_chars),
               avg(child_card_length_chars)
        from marts.card_drift where both_have_card group by 1
        """
    ).fetchall()
    (nodes,) = con.execute("select count(*) from marts.dim_models").fetchone()
    return {
        "nodes": nodes,
        "edges_by_relation": dict(edges),
        "family_sizes": dict(families),
        "mutation_rates_finetune": {t: float(finetune.get(t, math.nan)) for t in TRAITS},
        "card_drift": {r: [n, p, c] for r, n, p, c in drift},
    }


def baseline(con: duckdb.DuckDBPyConnection) -> dict:
    result = paper_baseline.run(con)
    drift = result["card_drift"]
    return {
        "nodes": result["nodes"],
        "edges_by_relation": {str(k): v for k, v in result["edges_by_relation"].items()},
        "family_sizes": dict(result["family_sizes"]),
        "mutation_rates_finetune": result["mutation_rates_finetune"],
        "card_drift": {
            ("None" if pd.isna(r) else str(r)): [int(row.edges), row.parent_chars, row.child_chars]
            for r, row in drift.iterrows()
        },
    }


def check(ours_out: dict, base_out: dict) -> list[str]:
    """One line per compared output: `equal` or what differs."""
    lines = []
    for name in ("nodes", "edges_by_relation"):
        same = ours_out[name] == base_out[name]
        lines.append(f"{name}: {'equal' if same else f'ours {ours_out[name]} vs {base_out[name]}'}")
    ours_sizes, base_sizes = ours_out["family_sizes"], base_out["family_sizes"]
    agree = sum(1 for root, size in base_sizes.items() if ours_sizes.get(root) == size)
    lines.append(
        f"families: {agree}/{len(base_sizes)} identical (root, size); "
        f"ours {len(ours_sizes)} families, baseline {len(base_sizes)}"
    )
    diffs = {
        t: abs(ours_out["mutation_rates_finetune"][t] - base_out["mutation_rates_finetune"][t])
        for t in TRAITS
    }
    worst = max(diffs.values())
    lines.append(f"mutation rates (finetune): max |difference| {worst:.2e}")
    drift_diff = max(
        abs(a - b)
        for relation, values in base_out["card_drift"].items()
        for a, b in zip(ours_out["card_drift"].get(relation, [math.inf] * 3), values, strict=True)
    )
    lines.append(f"card drift means: max |difference| {drift_diff:.2e}")
    return lines


def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "check":
        ours_out, base_out = (json.loads(Path(p).read_text()) for p in argv[1:3])
        print("\n".join(check(ours_out, base_out)))
        return
    con = duckdb.connect(argv[1], read_only=True)
    try:
        output = ours(con) if command == "ours" else baseline(con)
    finally:
        con.close()
    Path(argv[2]).write_text(json.dumps(output, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
