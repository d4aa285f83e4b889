"""Shared helpers for the ingestion tests: serving snapshots and reading the warehouse back."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from ingestion.config import PROJECT_ROOT
from ingestion.hub_client import HubClient, RetryPolicy
from ingestion.localhub.server import serve
from ingestion.localhub.store import HubStore
from ingestion.localhub.synthetic import write_jsonl
from ingestion.warehouse import connect, ensure_raw_schema

FAST_RETRIES = RetryPolicy(max_attempts=4, base_wait=0.01, max_wait=0.05, timeout=10)


@contextmanager
def hub_serving(records: Iterable[dict], tmp_path: Path, name: str = "hub.jsonl"):
    """Serve `records` from a JSONL file with the local Hub; yields the server."""
    path = tmp_path / name
    write_jsonl(iter(records), path)
    server = serve(path)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def client_for(server, policy: RetryPolicy = FAST_RETRIES) -> HubClient:
    return HubClient(server.base_url, policy=policy)


@contextmanager
def open_warehouse(path: Path):
    with connect(path) as con:
        ensure_raw_schema(con)
        yield con


def stored_models(con: duckdb.DuckDBPyConnection, active_only: bool = True) -> dict[str, dict]:
    """model_id -> {oid, sha, payload} for the models the warehouse holds."""
    where = "where deleted_at is null" if active_only else ""
    rows = con.execute(f"select model_oid, model_id, sha, payload from raw.hub_models {where}")
    return {
        model_id: {"oid": oid, "sha": sha, "payload": json.loads(payload)}
        for oid, model_id, sha, payload in rows.fetchall()
    }


def stored_cards(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """model_id -> README text (None when the fetch said `missing`), current versions only."""
    rows = con.execute(
        """
        select m.model_id, f.status, c.card_text
        from raw.hub_models as m
        join raw.hub_card_fetches as f
          on f.model_oid = m.model_oid and f.version_key = m.version_key
        left join raw.hub_model_cards as c on c.content_hash = f.content_hash
        where m.deleted_at is null
        """
    ).fetchall()
    return {model_id: text for model_id, status, text in rows if status in ("ok", "missing")}


def source_models(records: Iterable[dict]) -> dict[str, dict]:
    return {record["model"]["id"]: record["model"] for record in records}


def source_cards(records: Iterable[dict]) -> dict[str, str | None]:
    return {record["model"]["id"]: record["readme"] for record in records}


def listed_fields(model: dict, fields: Iterable[str]) -> dict:
    """The part of a source model the list API returns for `expand=fields`."""
    return {k: model[k] for k in ("_id", "id", *fields) if k in model}


def evolve(records: list[dict], *, edit: int, rename: int, delete: int, add: int, seed: int):
    """A later Hub: the first `edit` models get a new sha and lastModified, `rename` models
    a new repo id (same `_id`), `delete` models disappear, `add` models appear."""
    from ingestion.localhub.synthetic import generate

    later = copy.deepcopy(records)
    newest = max(r["model"]["lastModified"] for r in later)
    for index, record in enumerate(later[:edit]):
        model = record["model"]
        model["sha"] = f"{index:040x}"
        model["lastModified"] = newest.replace(newest[:4], str(int(newest[:4]) + 1))
        model["tags"] = [*model["tags"], "edited"]
        record["readme"] = (record["readme"] or "") + f"\nedited {index}\n"
    for record in later[edit : edit + rename]:
        record["model"]["id"] = record["model"]["id"] + "-renamed"
        record["model"]["modelId"] = record["model"]["id"]
    del later[edit + rename : edit + rename + delete]
    fresh = list(generate(add, seed=seed))
    for index, record in enumerate(fresh):
        record["model"]["id"] = f"newcomer/model-{index}"
        record["model"]["_id"] = f"new{index:021d}"
        record["model"]["lastModified"] = newest.replace(newest[:4], str(int(newest[:4]) + 2))
    return later + fresh


def real_fixture(name: str) -> Path:
    """A file of ../shared/hub_fixtures, or skip (a fresh clone has none)."""
    path = PROJECT_ROOT.parent / "shared" / "hub_fixtures" / name
    if not path.exists():
        pytest.skip(f"real Hub fixture {name} not found in {path.parent}")
    return path


def truth(store: HubStore) -> tuple[dict[str, str], dict[str, str | None]]:
    """id -> sha and id -> README of every public model live on the Hub now."""
    shas, cards = {}, {}
    for _, version in store.sorted_at(store.now, "lastModified"):
        if not version.item.get("private"):
            shas[version.item["id"]] = version.item.get("sha")
            cards[version.item["id"]] = version.readme_text()
    return shas, cards


def assert_warehouse_matches_hub(con, store: HubStore) -> None:
    shas, cards = truth(store)
    assert {model_id: m["sha"] for model_id, m in stored_models(con).items()} == shas
    assert stored_cards(con) == cards
