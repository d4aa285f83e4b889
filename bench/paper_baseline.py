"""The paper's approach, reimplemented faithfully, as the benchmark baseline.

Mirrors `bendlaufer/ai-ecosystem` (paper-notes section 5.1): rows loaded into pandas,
parent lists parsed from tags per row, a networkx DiGraph over all models, edge types
assigned in the order finetune -> quantized -> adapter -> merge (last wins), families as weakly
connected components of the graph without merge edges, each named by following the first
predecessor (at most 20 steps), and mutation rates / card drift by iterating over edges in
Python. Only the outputs our warehouse also computes are produced, so both can be compared.

Two deliberate departures, so that like is compared with like: self-loop edges (a model naming
itself) are left out of mutation rates and card drift, as our marts do, and two-letter language
tags are checked against the same ISO 639-1 list our dbt seed holds (the paper used pycountry).
"""

from __future__ import annotations

import csv
import json
from collections import Counter

import networkx as nx
import pandas as pd

from ingestion.config import PROJECT_ROOT

# The paper keeps two-letter tags that pycountry knows as ISO 639-1; this is the same list.
with open(PROJECT_ROOT / "dbt_project" / "seeds" / "iso_639_1_languages.csv") as _codes:
    ISO_639_1 = frozenset(row["language_code"] for row in csv.DictReader(_codes))
RELATION_ORDER = ("finetune", "quantized", "adapter", "merge")
AUTO_MARKERS = ("automatically generated", "generated automatically")


def load_rows(con) -> pd.DataFrame:
    """The paper's CSV load: one row per model with its list-API JSON and card text."""
    return con.execute(
        """
        select m.model_id, m.payload::varchar as full_json, c.card_text
        from staging.stg_hub__models as m
        left join staging.stg_hub__model_cards as c using (model_id)
        """
    ).df()


def expand_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """`get_expanded_dataset`: parse tags into licenses, languages and parent lists per row."""
    records = []
    for model_id, full_json, card in rows.itertuples(index=False):
        item = json.loads(full_json)
        tags = item.get("tags") or []
        parents = {relation: [] for relation in RELATION_ORDER}
        untyped = []
        for tag in tags:
            if not tag.startswith("base_model:"):
                continue
            rest = tag[len("base_model:") :]
            relation, _, parent = rest.partition(":")
            if parent and relation in parents:
                parents[relation].append(parent)
            elif tag.count(":") == 1:
                untyped.append(rest)
        card_text = card if isinstance(card, str) and card.strip() else None
        records.append(
            {
                "model_id": model_id,
                "licenses": [t[len("license:") :] for t in tags if t.startswith("license:")],
                "languages": [t for t in tags if t in ISO_639_1],
                "pipeline_tag": item.get("pipeline_tag"),
                "parent_model": untyped,
                **{f"{relation}_parent": parents[relation] for relation in RELATION_ORDER},
                "card_length": len(card_text) if card_text is not None else -1,
                "card_auto": bool(card_text) and any(m in card_text.lower() for m in AUTO_MARKERS),
            }
        )
    return pd.DataFrame.from_records(records)


def build_graph(models: pd.DataFrame) -> nx.DiGraph:
    """`get_full_graph`: nodes are all models; edges parent -> child for parents in the snapshot."""
    graph = nx.DiGraph()
    for row in models.itertuples(index=False):
        graph.add_node(
            row.model_id,
            licenses=row.licenses,
            languages=row.languages,
            pipeline_tag=row.pipeline_tag,
            card_length=row.card_length,
            card_auto=row.card_auto,
        )
    for row in models.itertuples(index=False):
        all_parents = set(row.parent_model)
        for relation in RELATION_ORDER:
            all_parents |= set(getattr(row, f"{relation}_parent"))
        for parent in all_parents:
            if parent not in graph:
                continue  # parents missing from the snapshot are skipped
            edge_type = None
            for relation in RELATION_ORDER:  # each match overwrites: merge wins
                if parent in getattr(row, f"{relation}_parent"):
                    edge_type = relation
            graph.add_edge(parent, row.model_id, edge_type=edge_type)
    return graph


def family_sizes(graph: nx.DiGraph) -> Counter:
    """Families: weakly connected components of the no-merges graph, named by their root."""
    no_merges = nx.DiGraph()
    no_merges.add_nodes_from(graph.nodes)
    no_merges.add_edges_from(
        (u, v) for u, v, data in graph.edges(data=True) if data["edge_type"] != "merge"
    )
    sizes: Counter = Counter()
    for component in nx.weakly_connected_components(no_merges):
        node = next(iter(component))
        for _ in range(20):
            predecessors = list(no_merges.predecessors(node))
            if not predecessors:
                break
            node = predecessors[0]
        sizes[node] += len(component)
    return sizes


def _as_set(value) -> set:
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    return set(value)


def mutation_rates(graph: nx.DiGraph, relation: str | None = "finetune") -> dict[str, float]:
    """Mean Jaccard distance per trait over edges where both sides carry the trait."""
    rates = {}
    for trait in ("licenses", "languages", "pipeline_tag"):
        total, counted = 0.0, 0
        for parent, child, data in graph.edges(data=True):
            if parent == child or (relation is not None and data["edge_type"] != relation):
                continue
            p = _as_set(graph.nodes[parent][trait])
            c = _as_set(graph.nodes[child][trait])
            if not p or not c:
                continue
            total += len(p ^ c) / len(p | c)
            counted += 1
        rates[trait] = total / counted if counted else float("nan")
    return rates


def card_drift(graph: nx.DiGraph) -> pd.DataFrame:
    """`numerical_drifts`: per edge type, mean parent/child card length where both have a card."""
    rows = []
    for parent, child, data in graph.edges(data=True):
        p, c = graph.nodes[parent], graph.nodes[child]
        if parent == child or p["card_length"] < 0 or c["card_length"] < 0:
            continue
        rows.append((data["edge_type"], p["card_length"], c["card_length"]))
    frame = pd.DataFrame(rows, columns=["relation", "parent_chars", "child_chars"])
    return frame.groupby("relation", dropna=False).agg(
        edges=("parent_chars", "size"),
        parent_chars=("parent_chars", "mean"),
        child_chars=("child_chars", "mean"),
    )


def run(con) -> dict:
    """All baseline outputs, from the warehouse's current models and cards."""
    graph = build_graph(expand_rows(load_rows(con)))
    edge_counts = Counter(data["edge_type"] for _, _, data in graph.edges(data=True))
    return {
        "nodes": graph.number_of_nodes(),
        "edges_by_relation": dict(edge_counts),
        "family_sizes": family_sizes(graph),
        "mutation_rates_finetune": mutation_rates(graph, "finetune"),
        "card_drift": card_drift(graph),
    }
