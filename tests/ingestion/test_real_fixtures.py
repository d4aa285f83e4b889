"""The same ingestion on each real Hub fixture served by the local Hub: nothing is lost."""

from __future__ import annotations

import pytest
from ingestion_helpers import client_for, open_warehouse, real_fixture, stored_cards, stored_models
from test_hub_faults_and_clock import truth

from ingestion.cards import fetch_cards
from ingestion.ingest import ingest_models
from ingestion.local_hub import serve

FIXTURES = [
    "real_2025-04_family_trees.jsonl.gz",
    "real_2025-06_lineage.jsonl.gz",
    "real_2022-02_hub.jsonl.gz",
]


@pytest.mark.fixtures
@pytest.mark.slow
@pytest.mark.parametrize("name", FIXTURES)
def test_a_real_fixture_is_ingested_whole(name, warehouse):
    server = serve(real_fixture(name))
    try:
        shas, cards = truth(server.store)
        with open_warehouse(warehouse) as con:
            result = ingest_models(con, client_for(server))
            assert result.quarantined == 0
            assert {model_id: m["sha"] for model_id, m in stored_models(con).items()} == shas
            if not any(cards.values()):
                return  # no README in the file (the lineage extract): 30k 404s prove nothing
            fetched = fetch_cards(con, client_for(server), concurrency=8)
            assert fetched.by_status.get("failed", 0) == 0
            assert stored_cards(con) == cards
    finally:
        server.shutdown()
        server.server_close()
