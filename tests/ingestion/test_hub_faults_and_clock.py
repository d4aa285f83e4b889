"""Every fault type of the local Hub, a persistent failure, and deltas as the Hub's clock moves."""

from __future__ import annotations

import sys
import threading
import time
from datetime import timedelta

import pytest
from ingestion_helpers import assert_warehouse_matches_hub, client_for, open_warehouse

from ingestion.cards import fetch_cards
from ingestion.hub_client import HubUnavailableError, RetryPolicy
from ingestion.ingest import ingest_models
from ingestion.localhub.faults import FaultPlan
from ingestion.localhub.server import serve_store
from ingestion.localhub.store import EvolutionRates, HubStore
from ingestion.localhub.synthetic import generate
from ingestion.popularity import refresh_popularity
from ingestion.stream_state import read_state
from ingestion.sweep import sweep_deletions

STILL = EvolutionRates.parse("none")


@pytest.fixture
def hub_store(request):
    """A served store; tests set `server.faults` and move `store`'s clock."""
    rates = getattr(request, "param", STILL)
    store = HubStore(generate(300, seed=31), seed=31, rates=rates)
    server = serve_store(store)
    yield server
    server.shutdown()
    server.server_close()


FAULTS = [
    "rate_limit:p=0.2,retry_after=0",
    "budget:requests=80,window=1",
    "burst:every=25,length=3,status=mixed",
    "deep_504:depth=3,p=0.5",
    "reset:p=0.15",
    "truncated:p=0.15",
    "slow:p=0.04,delay=0.6",
]


@pytest.mark.parametrize("spec", FAULTS, ids=[spec.split(":")[0] for spec in FAULTS])
def test_every_fault_type_is_retried_and_nothing_is_lost(hub_store, spec, warehouse):
    hub_store.faults = FaultPlan.from_texts([spec], seed=3)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    policy = RetryPolicy(max_attempts=8, base_wait=0.01, max_wait=0.05, timeout=0.5, sleep=sleep)
    with open_warehouse(warehouse) as con:
        ingest_models(con, client_for(hub_store, policy), page_size=20)
        cards = fetch_cards(con, client_for(hub_store, policy), concurrency=4)
        assert_warehouse_matches_hub(con, hub_store.store)
    assert cards.by_status.get("failed", 0) == 0
    assert waits, f"{spec} never made the client wait: the fault did not fire"
    if spec.startswith("budget"):
        assert max(waits) >= 0.5  # the RateLimit reset the server asked for, not our backoff


def test_retry_after_is_honoured(hub_store, warehouse):
    hub_store.faults = FaultPlan.from_texts(["rate_limit:p=0.3,retry_after=1"], seed=4)
    waits: list[float] = []
    policy = RetryPolicy(base_wait=0.01, max_wait=0.05, sleep=lambda s: waits.append(s))
    with open_warehouse(warehouse) as con:
        ingest_models(con, client_for(hub_store, policy), page_size=50)
    assert waits and set(waits) == {1.0}


def test_a_persistent_504_fails_clearly_keeps_progress_and_the_rerun_resumes(hub_store, warehouse):
    hub_store.faults = FaultPlan.from_texts(["deep_504:depth=4,p=1"], seed=0)
    policy = RetryPolicy(max_attempts=3, base_wait=0.01, max_wait=0.02)
    switch_interval = sys.getswitchinterval()
    with open_warehouse(warehouse) as con:
        with pytest.raises(HubUnavailableError, match="kept failing.*resumes from the last"):
            ingest_models(con, client_for(hub_store, policy), page_size=20)
        state = read_state(con, "models")
        (kept,) = con.execute("select count(*) from raw.hub_models").fetchone()
        assert state.cursor is not None and state.watermark is None
        assert kept == 4 * 20
        # The page-ahead thread failed with the request; the failed listing leaves no thread
        # behind and the interpreter's switch interval as it found it.
        assert not [t for t in threading.enumerate() if t.name == "hub-page-ahead"]
        assert sys.getswitchinterval() == switch_interval

        hub_store.faults = FaultPlan()
        resumed = ingest_models(con, client_for(hub_store, policy), page_size=20)
        fetch_cards(con, client_for(hub_store, policy))
        assert resumed.pages == 300 // 20  # totals span both attempts
        assert resumed.added == 300
        assert_warehouse_matches_hub(con, hub_store.store)


BUSY = EvolutionRates(new=40, edit=40, license_edit=5, base_model_edit=5, delete=15, rename=15)


@pytest.mark.parametrize("hub_store", [BUSY], indirect=True)
def test_deltas_follow_the_clock_new_edited_deleted_renamed(hub_store, warehouse):
    store = hub_store.store
    client = client_for(hub_store)
    with open_warehouse(warehouse) as con:
        ingest_models(con, client, page_size=50)
        fetch_cards(con, client)
        refresh_popularity(con, client)
        full_pages = read_state(con, "models").progress["pages"]
        for days in (1, 2, 4):
            before = len(store.events)
            store.advance(store.clock() + timedelta(days=days))
            kinds = {event["kind"] for event in store.events[before:]}
            delta = ingest_models(con, client, page_size=50, overlap=timedelta(hours=1))
            sweep = sweep_deletions(con, client)
            fetch_cards(con, client)
            popularity = refresh_popularity(con, client)
            assert_warehouse_matches_hub(con, store)
            assert delta.pages < full_pages
        (observations,) = con.execute("select count(*) from raw.hub_model_popularity").fetchone()
    assert {"new", "edit", "delete", "rename"} <= kinds | {e["kind"] for e in store.events}
    assert sweep.deleted + sweep.renamed > 0
    assert popularity.recorded > 0
    assert observations > 300
