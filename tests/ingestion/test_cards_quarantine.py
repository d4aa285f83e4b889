"""Model cards (ok / missing / failed then retried, stored once per text) and quarantine."""

from __future__ import annotations

import copy
import socket

import dagster as dg
from ingestion_helpers import client_for, hub_serving, open_warehouse, source_cards, stored_cards

from ingestion.cards import fetch_cards
from ingestion.hub_client import HubClient, RetryPolicy
from ingestion.ingest import ingest_models
from ingestion.localhub.synthetic import generate
from orchestration.defs.ingestion.assets import hub_delta
from orchestration.defs.resources import HubResource, WarehouseResource


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def small_hub(n: int = 120, seed: int = 3) -> list[dict]:
    records = list(generate(n, seed=seed))
    records[1]["readme"] = records[0]["readme"] = "---\nlicense: mit\n---\n# same text\n"
    records[2]["readme"] = None
    return records


def test_cards_are_fetched_once_per_version_and_stored_once_per_text(tmp_path, warehouse):
    records = small_hub()
    with hub_serving(records, tmp_path) as hub, open_warehouse(warehouse) as con:
        ingest_models(con, client_for(hub))
        first = fetch_cards(con, client_for(hub), concurrency=4, batch_size=50)
        again = fetch_cards(con, client_for(hub))
        cards = stored_cards(con)
        (texts,) = con.execute("select count(*) from raw.hub_model_cards").fetchone()
        (retries,) = con.execute(
            "select count(*) from raw.hub_card_fetches where attempts > 1"
        ).fetchone()

    expected = source_cards(records)
    assert cards == expected
    assert first.fetched == len(records) and again.fetched == 0
    assert first.by_status["missing"] == sum(text is None for text in expected.values())
    assert texts == len({text for text in expected.values() if text is not None})
    assert retries == 0


def test_failed_fetches_are_retried_by_the_next_run_and_new_shas_refetched(tmp_path, warehouse):
    records = small_hub(40)
    with open_warehouse(warehouse) as con:
        with hub_serving(records, tmp_path, "a.jsonl") as hub:
            ingest_models(con, client_for(hub))
        unreachable = HubClient(f"http://127.0.0.1:{free_port()}", policy=RetryPolicy(1))
        failed = fetch_cards(con, unreachable)  # nothing listens there: every fetch fails
        later = copy.deepcopy(records)
        later[5]["model"]["sha"] = "f" * 40
        later[5]["model"]["lastModified"] = "2030-01-01T00:00:00.000Z"
        later[5]["readme"] = "# a new card\n"
        with hub_serving(later, tmp_path, "b.jsonl") as hub:
            ingest_models(con, client_for(hub))
            retried = fetch_cards(con, client_for(hub))
        cards = stored_cards(con)
        attempts = dict(
            con.execute(
                "select status, max(attempts) from raw.hub_card_fetches group by 1"
            ).fetchall()
        )
        errors = con.execute(
            "select count(*) from raw.hub_card_fetches where error is not null"
        ).fetchone()[0]

    assert failed.by_status == {"failed": len(records)}
    assert retried.fetched == len(records)  # 39 retried failures + the new sha's first fetch
    assert cards == source_cards(later)
    assert attempts["ok"] == 2
    assert errors == 1  # the superseded version's failure stays on record, never retried


def test_bad_records_are_quarantined_and_the_run_goes_on(tmp_path, warehouse):
    records = list(generate(60, seed=4))
    records[3]["model"]["downloads"] = "lots"
    records[4]["model"]["tags"] = "not-a-list"
    records[5]["model"]["likes"] = 2.5
    records[6]["model"]["cardData"] = ["not", "a", "mapping"]
    bad = {records[i]["model"]["id"] for i in (3, 4, 5, 6)}
    with hub_serving(records, tmp_path) as hub:
        result = dg.materialize(
            [hub_delta],
            resources={
                "hub": HubResource(endpoint=hub.base_url),
                "warehouse": WarehouseResource(path=str(warehouse)),
            },
            instance=dg.DagsterInstance.ephemeral(),
        )
    assert result.success
    with open_warehouse(warehouse) as con:
        kept = con.execute("select record_key, reason, payload from raw.quarantine").fetchall()
        (stored,) = con.execute("select count(*) from raw.hub_models").fetchone()
    assert {key for key, _, _ in kept} == bad
    reasons = " | ".join(reason for _, reason, _ in kept)
    for field in ("downloads", "tags", "likes", "cardData"):
        assert field in reasons
    assert all('"id"' in payload for _, _, payload in kept)
    assert stored == len(records) - len(bad)

    metadata = {
        event.asset_key.to_user_string(): event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    models = metadata["raw/hub_models"]
    assert models["rows_quarantined"].value == 4
    assert models["rows_added"].value == len(records) - 4
    assert models["rows_changed"].value == 0
    assert "watermark" in models and "rows_deleted" in models
    assert metadata["raw/hub_model_cards"]["fetched"].value == len(records) - 4
