"""Renames (same `_id`, new repo id): the current row follows at once, history stays."""

from __future__ import annotations

import json
from datetime import timedelta

from ingestion_helpers import client_for, listed_fields, open_warehouse

from ingestion.hub_client import EXPAND_FIELDS
from ingestion.ingest import ingest_models
from ingestion.localhub.server import serve_store
from ingestion.localhub.store import EvolutionRates, HubStore
from ingestion.localhub.synthetic import generate
from ingestion.sweep import sweep_deletions

RENAMES_ONLY = EvolutionRates.parse(
    "new=0,edit=0,license_edit=0,base_model_edit=0,delete=0,popularity=0,rename=40"
)
# The overlap that makes a delta list everything again.
EVERYTHING = timedelta(days=365 * 50)


def current_rows(con) -> dict[str, tuple]:
    rows = con.execute(
        "select model_oid, model_id, payload, changed_at, version_key from raw.hub_models"
    ).fetchall()
    return {
        oid: (model_id, json.loads(payload), changed, key)
        for oid, model_id, payload, changed, key in rows
    }


def test_a_sweep_that_sees_a_rename_updates_the_current_row_and_keeps_history(warehouse):
    store = HubStore(generate(300, seed=31), seed=31, rates=RENAMES_ONLY)
    server = serve_store(store)
    client = client_for(server)
    try:
        with open_warehouse(warehouse) as con:
            ingest_models(con, client, page_size=100)
            before = current_rows(con)
            store.advance(store.clock() + timedelta(days=3))
            renamed: dict[str, str] = {}  # _id -> the name before its first rename
            for event in store.events:
                renamed.setdefault(event["_id"], event["old_id"])
            sweep = sweep_deletions(con, client, page_size=100)
            after = current_rows(con)
            versions = con.execute(
                "select model_oid, model_id, payload from raw.hub_model_versions"
            ).fetchall()
            names = dict(
                con.execute(
                    "select model_oid, list(model_id order by first_seen_at, model_id) "
                    "from raw.hub_model_names group by 1"
                ).fetchall()
            )
            relisted = ingest_models(con, client, page_size=100, overlap=EVERYTHING)
            after_relisting = current_rows(con)
    finally:
        server.shutdown()
        server.server_close()

    hub = {
        record["model"]["_id"]: listed_fields(record["model"], EXPAND_FIELDS)
        for record in store.current_records()
        if not record["model"].get("private")
    }
    assert renamed and sweep.renamed == len(renamed)
    assert any(hub[oid].get("author") != before[oid][1].get("author") for oid in renamed)
    # The current rows are the Hub's records now: new id, modelId and author included.
    assert {oid: row[1] for oid, row in after.items()} == hub
    assert all(row[0] == row[1]["id"] for row in after.values())
    for oid, old_id in renamed.items():
        assert after[oid][2] > before[oid][2]  # changed_at moved with the name
        assert after[oid][3] == before[oid][3]  # same commit, same version
        assert names[oid] == [old_id, hub[oid]["id"]]
    # History keeps each version as it was observed, under the name it had then.
    assert {oid: (model_id, json.loads(payload)) for oid, model_id, payload in versions} == {
        oid: (row[0], row[1]) for oid, row in before.items()
    }
    # Listing the renamed models again finds them unchanged.
    assert relisted.changed == 0 and relisted.added == 0
    assert after_relisting == after
