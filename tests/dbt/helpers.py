"""Running the real dbt project on a DuckDB file, and an independent Python reading of the
paper's definitions (edges, primary parents, families, card features) to check the marts."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import duckdb

from ingestion.cards import CardFetch, write_card_fetches
from ingestion.config import PROJECT_ROOT, Settings
from ingestion.hub_client import HubClient
from ingestion.ingest import ingest_models
from ingestion.localhub.store import EvolutionRates
from ingestion.raw_writes import store_models
from ingestion.records import model_oid
from ingestion.sweep import sweep_deletions
from ingestion.warehouse import connect, connect_writer, ensure_raw_schema, utc_now

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
# A local Hub busy enough that 300 models see every kind of event in a few days.
RATES = EvolutionRates.parse(
    "new=20,edit=30,license_edit=15,base_model_edit=15,delete=10,rename=10,popularity=100"
)
EVERYTHING = timedelta(days=365 * 50)  # an overlap that makes a delta list every model again
RELATIONS = ("finetune", "adapter", "quantized", "merge")
PRECEDENCE = {"finetune": 1, "quantized": 2, "adapter": 3, "merge": 4}
PRIMARY_RANK = {"adapter": 1, "quantized": 2, "finetune": 3, None: 4}
TYPED_TAG = re.compile(r"^base_model:(finetune|adapter|quantized|merge):(.*)$")


def run_dbt(warehouse: Path, target: Path, *args: str, project: Path = DBT_PROJECT) -> str:
    """Run dbt (the `project`, ours by default) on `warehouse` (artefacts under `target`);
    fail the test with dbt's output."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    command = [
        "dbt",
        *args,
        "--profiles-dir",
        ".",
        "--vars",
        Settings.from_env().with_warehouse(warehouse).dbt_vars(),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
    ]
    done = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{done.stdout[-6000:]}")
    return done.stdout


def refresh_from_hub(warehouse: Path, client: HubClient, target: Path, *dbt_args: str) -> None:
    """List the Hub into `warehouse` (every model again, deletions swept), then dbt build."""
    with connect_writer(warehouse) as con:
        ingest_models(con, client, page_size=100, overlap=EVERYTHING)
        sweep_deletions(con, client, page_size=100)
    run_dbt(warehouse, target, "build", *dbt_args)


def load_models(warehouse: Path, payloads: Iterable[dict], cards: dict[str, str] | None = None):
    """Store payloads in raw (and README texts, keyed by model id) with the ingestion code."""
    payloads = list(payloads)
    with connect(warehouse) as con:
        ensure_raw_schema(con)
        store_models(con, payloads)
        if cards:
            oids = {payload["id"]: model_oid(payload) for payload in payloads}
            fetches = [
                CardFetch(oids[model_id], None, "ok", text=text.encode())
                for model_id, text in cards.items()
            ]
            write_card_fetches(con, fetches, utc_now())


def query(warehouse: Path, sql: str, params: dict | None = None) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql, params or {}).fetchall()


def mart_tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[str]:
    rows = con.execute(
        """
        select table_schema || '.' || table_name from information_schema.tables
        where table_schema in (select unnest($schemas::varchar[])) and table_type = 'BASE TABLE'
        order by 1
        """,
        {"schemas": list(schemas)},
    ).fetchall()
    return [name for (name,) in rows]


def declared_edges(payloads: Iterable[dict]) -> dict[tuple[str, str], dict]:
    """(parent, child) -> {"relations", "sources"} from tags and cardData.base_model."""
    edges: dict[tuple[str, str], dict] = {}

    def add(parent: str, child: str, relation: str | None, source: str) -> None:
        parent = parent.strip()
        if not parent:
            return
        edge = edges.setdefault((parent, child), {"relations": set(), "sources": set()})
        if relation:
            edge["relations"].add(relation)
        edge["sources"].add(source)

    for payload in payloads:
        child = payload["id"]
        for tag in payload.get("tags") or []:
            if not tag.startswith("base_model:"):
                continue
            typed = TYPED_TAG.match(tag)
            if typed:
                add(typed.group(2), child, typed.group(1), "typed_tag")
            else:
                add(tag[len("base_model:") :], child, None, "untyped_tag")
        card_data = payload.get("cardData") or {}
        base = card_data.get("base_model") if isinstance(card_data, dict) else None
        named = [base] if isinstance(base, str) else base if isinstance(base, list) else []
        card_relation = card_data.get("base_model_relation") if named else None
        for parent in named:
            if isinstance(parent, str):
                add(
                    parent,
                    child,
                    card_relation if card_relation in RELATIONS else None,
                    "card_data",
                )
    return edges


def primary_relation(relations: set[str]) -> str | None:
    return max(relations, key=PRECEDENCE.__getitem__) if relations else None


def families(models: set[str], edges: dict[tuple[str, str], dict]) -> dict[str, dict]:
    """model -> {root, depth, parent, in_cycle}, by the documented primary-parent rule."""
    candidates: dict[str, list[tuple[int, str, str | None]]] = {}
    for (parent, child), edge in edges.items():
        relation = primary_relation(edge["relations"])
        if child in models and parent in models and parent != child and relation != "merge":
            candidates.setdefault(child, []).append((PRIMARY_RANK[relation], parent, relation))
    parent_of = {child: min(options)[1] for child, options in candidates.items()}

    in_cycle: set[str] = set()
    breaks: set[str] = set()
    state: dict[str, int] = {}  # 1 = on the current walk, 2 = done
    for start in models:
        walk = []
        node = start
        while node is not None and state.get(node) is None:
            state[node] = 1
            walk.append(node)
            node = parent_of.get(node)
        if node is not None and state[node] == 1:
            cycle = walk[walk.index(node) :]
            in_cycle.update(cycle)
            breaks.add(min(cycle))
        for visited in walk:
            state[visited] = 2

    placed: dict[str, dict] = {}

    def place(model: str) -> dict:
        chain = []
        node = model
        while node not in placed:
            parent = None if node in breaks else parent_of.get(node)
            if parent is None:
                placed[node] = {"root": node, "depth": 0, "parent": None}
                break
            chain.append((node, parent))
            node = parent
        for node, parent in reversed(chain):
            above = placed[parent]
            placed[node] = {"root": above["root"], "depth": above["depth"] + 1, "parent": parent}
        return placed[model]

    for model in models:
        place(model)
    for model, row in placed.items():
        row["in_cycle"] = model in in_cycle
    return placed


def card_features(text: str | None) -> tuple[bool, int | None, int | None, bool]:
    """(has_card, characters, words, auto-generated) as the paper computes them."""
    if text is None or not text.strip():
        return False, None, None, False
    lower = text.lower()
    auto = "automatically generated" in lower or "generated automatically" in lower
    return True, len(text), len(text.split()), auto


def lineage(edges: dict[tuple[str, str], dict]) -> dict[tuple[str, str], int]:
    """(ancestor, descendant) -> shortest distance, by a breadth-first walk up from every child
    over every declared edge (self-loops skipped; a model is never its own ancestor)."""
    parents: dict[str, set[str]] = {}
    for parent, child in edges:
        if parent != child:
            parents.setdefault(child, set()).add(parent)
    pairs: dict[tuple[str, str], int] = {}
    for descendant in parents:
        seen = {descendant}
        frontier, distance = [descendant], 0
        while frontier:
            distance += 1
            next_frontier = []
            for model in frontier:
                for parent in parents.get(model, ()):
                    if parent not in seen:
                        seen.add(parent)
                        pairs[(parent, descendant)] = distance
                        next_frontier.append(parent)
            frontier = next_frontier
    return pairs


def check_lineage_mart(warehouse: Path, edges: dict[tuple[str, str], dict]) -> dict:
    """fct_model_lineage holds exactly the pairs and distances of `lineage(edges)`, and each
    stored path is a chain of declared edges with their primary relations."""
    expected = lineage(edges)
    rows = query(
        warehouse,
        "select ancestor_id, descendant_id, distance, path, relations from marts.fct_model_lineage",
    )
    assert {(a, d): distance for a, d, distance, *_ in rows} == expected
    assert len(rows) == len(expected)
    for *_, path, relations in rows:
        for (parent, child), relation in zip(itertools.pairwise(path), relations, strict=True):
            declared = primary_relation(edges[(parent, child)]["relations"])
            assert (declared or "untyped") == relation, (parent, child)
    return expected
