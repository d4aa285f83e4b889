"""Hand-made warehouses shaped exactly like the mart contract, for the analytics unit tests.

A family is written as `{model_id: spec}`; the builder derives `marts.fct_model_edges`,
`marts.dim_models`, `marts.dim_model_family`, `marts.trait_mutations`, `staging.stg_hub__models` and
`staging.stg_hub__model_cards` the way the contract defines them, so each test knows the answer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd

PRECEDENCE = {"finetune": 1, "quantized": 2, "adapter": 3, "merge": 4}
AUTO_MARKERS = ("automatically generated", "generated automatically")


def model(
    parents: dict[str, str] | None = None,
    licenses: tuple[str, ...] = (),
    languages: tuple[str, ...] = (),
    datasets: tuple[str, ...] = (),
    pipeline_tag: str | None = None,
    library_name: str | None = None,
    card: str | None = None,
    created_at: str = "2024-01-01",
) -> dict:
    """One model's spec: parents maps parent id -> relation (None for untyped)."""
    return {
        "parents": parents or {},
        "licenses": list(licenses),
        "languages": list(languages),
        "datasets": list(datasets),
        "pipeline_tag": pipeline_tag,
        "library_name": library_name,
        "card": card,
        "created_at": pd.Timestamp(created_at),
    }


def _tags(model_id: str, spec: dict) -> list[str]:
    tags = [t for t in (spec["library_name"], spec["pipeline_tag"]) if t]
    tags += spec["languages"]
    tags += [f"license:{v}" for v in spec["licenses"]]
    tags += [f"dataset:{v}" for v in spec["datasets"]]
    for parent, relation in spec["parents"].items():
        tags.append(f"base_model:{parent}")
        if relation:
            tags.append(f"base_model:{relation}:{parent}")
    return tags


def _families(models: dict[str, dict]) -> pd.DataFrame:
    """Root and depth along the primary (non-merge) parent, as dim_model_family defines them."""
    primary = {}
    for child, spec in models.items():
        candidates = sorted(
            p for p, r in spec["parents"].items() if r != "merge" and p in models and p != child
        )
        primary[child] = candidates[0] if candidates else None
    rows = []
    for child, spec in models.items():
        seen, node, depth = [child], child, 0
        while primary[node] is not None and primary[node] not in seen:
            node = primary[node]
            seen.append(node)
            depth += 1
        in_cycle = primary[node] is not None
        rows.append(
            {
                "model_id": child,
                "family_root_id": node,
                "depth": depth,
                "primary_parent_id": primary[child],
                "n_parents": len(spec["parents"]),
                "is_merge_child": "merge" in spec["parents"].values(),
                "has_missing_parent": any(p not in models for p in spec["parents"]),
                "is_in_cycle": in_cycle,
            }
        )
    return pd.DataFrame(rows)


def _trait_mutations(edges: list[dict], dims: list[dict]) -> pd.DataFrame:
    """Each trait's sets on both sides of each in-hub edge, and their Jaccard distance."""
    by_id = {dim["model_id"]: dim for dim in dims}

    def values(dim: dict, trait: str) -> list[str]:
        value = dim[trait]
        return sorted(set(value)) if isinstance(value, list) else ([value] if value else [])

    rows = []
    for edge in edges:
        if not edge["parent_in_hub"] or edge["is_self_loop"]:
            continue
        for trait in ("licenses", "languages", "pipeline_tag", "library_name"):
            parent = values(by_id[edge["parent_id"]], trait)
            child = values(by_id[edge["child_id"]], trait)
            both = set(parent) | set(child)
            rows.append(
                {
                    "parent_id": edge["parent_id"],
                    "child_id": edge["child_id"],
                    "relation": edge["relation"],
                    "trait": trait,
                    "parent_values": parent,
                    "child_values": child,
                    "mutation": 1 - len(set(parent) & set(child)) / len(both)
                    if parent and child
                    else None,
                }
            )
    columns = ["parent_id", "child_id", "relation", "trait", "parent_values", "child_values"]
    return pd.DataFrame(rows, columns=[*columns, "mutation"])


def write_contract_tables(path: Path, models: dict[str, dict]) -> Path:
    """Write the contract tables for `models` into a fresh DuckDB file at `path`."""
    edges, dims, staged, cards = [], [], [], []
    for child, spec in models.items():
        for parent, relation in spec["parents"].items():
            parent_model = models.get(parent)
            edges.append(
                {
                    "parent_id": parent,
                    "child_id": child,
                    "relation": relation,
                    "relation_tags": [relation] if relation else [],
                    "edge_sources": ["typed_tag" if relation else "untyped_tag"],
                    "evidence": "typed_tag" if relation else "untyped_tag",
                    "paper_relation": relation,
                    "in_paper_graph": parent_model is not None,
                    "parent_in_hub": parent_model is not None,
                    "is_self_loop": parent == child,
                    "likes_change": 0,
                    "downloads_change": 0,
                    "created_days_change": (
                        (spec["created_at"] - parent_model["created_at"]).days
                        if parent_model
                        else None
                    ),
                }
            )
        card = spec["card"]
        tags = _tags(child, spec)
        dims.append(
            {
                "model_id": child,
                "model_oid": f"oid-{child}",
                "author": child.split("/")[0],
                "created_at": spec["created_at"],
                "last_modified": spec["created_at"],
                "downloads": 0,
                "likes": 0,
                "pipeline_tag": spec["pipeline_tag"],
                "library_name": spec["library_name"],
                "licenses": spec["licenses"],
                "languages": spec["languages"],
                "other_language_codes": [],
                "is_multilingual": len(spec["languages"]) > 1,
                "datasets": spec["datasets"],
                "arxiv_ids": [],
                "regions": ["us"],
                "has_card": card is not None,
                "card_length_chars": len(card) if card is not None else None,
                "card_length_words": len(card.split()) if card is not None else None,
                "card_is_auto_generated": card is not None
                and any(m in card.lower() for m in AUTO_MARKERS),
                "card_is_templated": False,
            }
        )
        payload = {
            "_id": f"oid-{child}",
            "id": child,
            "likes": 0,
            "private": False,
            "downloads": 0,
            "tags": tags,
            "pipeline_tag": spec["pipeline_tag"],
            "library_name": spec["library_name"],
            "createdAt": spec["created_at"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "modelId": child,
        }
        staged.append({"model_id": child, "tags": tags, "payload": json.dumps(payload)})
        if card is not None:
            cards.append({"model_id": child, "card_text": card})
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        for schema in ("raw", "staging", "marts", "analytics"):
            con.execute(f"create schema if not exists {schema}")
        frames = {
            "marts.fct_model_edges": pd.DataFrame(edges, columns=list(_EDGE_COLUMNS)),
            "marts.dim_models": pd.DataFrame(dims),
            "marts.dim_model_family": _families(models),
            "marts.trait_mutations": _trait_mutations(edges, dims),
            "staging.stg_hub__models": pd.DataFrame(staged),
            "staging.stg_hub__model_cards": pd.DataFrame(cards, columns=["model_id", "card_text"]),
        }
        for table, frame in frames.items():
            con.register("frame", frame)
            con.execute(f"create or replace table {table} as select * from frame")
            con.unregister("frame")
        con.execute("alter table staging.stg_hub__models alter payload type json")
        for column in ("relation", "parent_values", "child_values"):
            kind = "varchar" if column == "relation" else "varchar[]"
            con.execute(f"alter table marts.trait_mutations alter {column} type {kind}")
        for table, columns in _LIST_COLUMNS.items():
            for column in columns:
                con.execute(f"alter table {table} alter {column} type varchar[]")
        for column in ("relation", "paper_relation"):
            con.execute(f"alter table marts.fct_model_edges alter {column} type varchar")
        con.execute("alter table marts.fct_model_edges alter created_days_change type bigint")
        for column in ("card_length_chars", "card_length_words"):
            con.execute(f"alter table marts.dim_models alter {column} type bigint")
        for column in ("pipeline_tag", "library_name", "primary_parent_id"):
            table = (
                "marts.dim_model_family" if column == "primary_parent_id" else "marts.dim_models"
            )
            con.execute(f"alter table {table} alter {column} type varchar")
    finally:
        con.close()
    return path


_LIST_COLUMNS = {
    "marts.fct_model_edges": ("relation_tags", "edge_sources"),
    "marts.dim_models": (
        "licenses",
        "languages",
        "other_language_codes",
        "datasets",
        "arxiv_ids",
        "regions",
    ),
    "staging.stg_hub__models": ("tags",),
}
_EDGE_COLUMNS = (
    "parent_id",
    "child_id",
    "relation",
    "relation_tags",
    "edge_sources",
    "evidence",
    "paper_relation",
    "in_paper_graph",
    "parent_in_hub",
    "is_self_loop",
    "likes_change",
    "downloads_change",
    "created_days_change",
)


LANGUAGE_TAG = re.compile(r"^[a-z]{2}$")
TYPED_PARENT = re.compile(r"^base_model:(finetune|adapter|quantized|merge):(.+)$")


def specs_from_records(records) -> dict[str, dict]:
    """Hub records (`{"model", "readme"}`) as contract specs, reading traits from the tags."""
    specs = {}
    for record in records:
        item = record["model"]
        tags = item.get("tags") or []
        parents = {}
        for tag in tags:
            typed = TYPED_PARENT.match(tag)
            if typed:
                parents[typed.group(2)] = typed.group(1)
            elif tag.startswith("base_model:") and tag.count(":") == 1:
                parents.setdefault(tag.split(":", 1)[1], None)
        specs[item["id"]] = model(
            parents=parents,
            licenses=tuple(t.split(":", 1)[1] for t in tags if t.startswith("license:")),
            languages=tuple(t for t in tags if LANGUAGE_TAG.match(t)),
            datasets=tuple(t.split(":", 1)[1] for t in tags if t.startswith("dataset:")),
            pipeline_tag=item.get("pipeline_tag"),
            library_name=item.get("library_name"),
            card=record.get("readme"),
            created_at=(item.get("createdAt") or "2022-01-01")[:10],
        )
    return specs
