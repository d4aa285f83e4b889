"""The same ingestion on each real Hub fixture served by the local Hub: nothing is lost.

The Hub runs as its own process (as `make run` starts it), so the client and the server do
not share one interpreter lock; the expected state comes from the same records in a store.
"""

from __future__ import annotations

import pytest
from ingestion_helpers import open_warehouse, real_fixture, stored_cards, stored_models, truth

from ingestion.cards import fetch_cards
from ingestion.hub_client import HubClient
from ingestion.ingest import ingest_models
from ingestion.localhub.server import read_snapshot, start_process, stop_process
from ingestion.localhub.store import HubStore

FIXTURES = [
    "real_2025-04_family_trees.jsonl.gz",
    "real_2025-06_lineage.jsonl.gz",
    "real_2022-02_hub.jsonl.gz",
]


@pytest.mark.fixtures
@pytest.mark.slow
@pytest.mark.parametrize("name", FIXTURES)
def test_a_real_fixture_is_ingested_whole(name, warehouse):
    path = real_fixture(name)
    shas, cards = truth(HubStore(read_snapshot(path)))
    hub, endpoint = start_process(path, "--seed", "0")
    try:
        with open_warehouse(warehouse) as con:
            result = ingest_models(con, HubClient(endpoint))
            assert result.quarantined == 0
            assert {model_id: m["sha"] for model_id, m in stored_models(con).items()} == shas
            if not any(cards.values()):
                return  # no README in the file (the lineage extract): 30k 404s prove nothing
            fetched = fetch_cards(con, HubClient(endpoint), concurrency=8)
            assert fetched.by_status.get("failed", 0) == 0
            assert stored_cards(con) == cards
    finally:
        stop_process(hub)
