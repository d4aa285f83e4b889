"""Full load, deltas, history, renames and deletions through the real client and local Hub."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ingestion_helpers import (
    client_for,
    evolve,
    hub_serving,
    listed_fields,
    open_warehouse,
    source_models,
    stored_models,
)

from ingestion import raw_writes
from ingestion.hub_client import EXPAND_FIELDS
from ingestion.ingest import ingest_models
from ingestion.localhub.server import read_snapshot
from ingestion.stream_state import read_state
from ingestion.sweep import SuspiciousSweepError, sweep_deletions


@pytest.fixture(scope="module")
def records(synthetic_snapshot):
    return list(read_snapshot(synthetic_snapshot))


def test_a_full_load_stores_every_model_as_listed(records, local_hub, warehouse):
    with open_warehouse(warehouse) as con:
        result = ingest_models(con, client_for(local_hub), page_size=300)
        stored = stored_models(con)
        (versions,) = con.execute("select count(*) from raw.hub_model_versions").fetchone()
        state = read_state(con, "models")

    source = source_models(records)
    assert result.listed == result.added == len(source)
    assert result.pages == -(-len(source) // 300)
    assert set(stored) == set(source)
    for model_id, model in source.items():
        assert stored[model_id]["oid"] == model["_id"]
        assert stored[model_id]["sha"] == model["sha"]
        assert stored[model_id]["payload"] == listed_fields(model, EXPAND_FIELDS)
    assert versions == len(source)
    assert state.cursor is None
    newest = max(model["lastModified"] for model in source.values())
    assert state.watermark.isoformat(timespec="milliseconds") + "Z" == newest


@pytest.mark.parametrize("merge_every", [None, 150], ids=["merged-at-the-end", "merged-every-150"])
def test_a_delta_lists_back_to_the_watermark_and_keeps_history(
    records, tmp_path, warehouse, monkeypatch, merge_every
):
    if merge_every is not None:  # staged pages merged while the listing runs, too
        monkeypatch.setattr(raw_writes, "MERGE_EVERY", merge_every)
    later = evolve(records, edit=30, rename=0, delete=0, add=25, seed=5)
    with open_warehouse(warehouse) as con:
        with hub_serving(records, tmp_path, "before.jsonl") as hub:
            ingest_models(con, client_for(hub), page_size=100)
        with hub_serving(later, tmp_path, "after.jsonl") as hub:
            delta = ingest_models(con, client_for(hub), page_size=100, overlap=timedelta(hours=1))
            list_requests = hub.stats.requests["list"]
        stored = stored_models(con)
        history = con.execute(
            "select model_id, count(*) from raw.hub_model_versions group by 1 having count(*) > 1"
        ).fetchall()
        old_sha = con.execute(
            "select sha from raw.hub_model_versions where model_id = $id order by observed_at",
            {"id": records[0]["model"]["id"]},
        ).fetchall()
        (staged,) = con.execute("select count(*) from raw.hub_models_staged").fetchone()

    assert delta.added == 25
    assert delta.changed == 30
    assert delta.pages < len(records) // 100  # a delta, not a full listing
    # Pages are fetched one ahead of the writes, but never past the page that reaches the
    # watermark: no request is wasted.
    assert list_requests == delta.pages
    assert {model_id: m["sha"] for model_id, m in stored.items()} == {
        r["model"]["id"]: r["model"]["sha"] for r in later
    }
    assert len(history) == 30
    assert [sha for (sha,) in old_sha] == [records[0]["model"]["sha"], later[0]["model"]["sha"]]
    assert staged == 0


def test_the_sweep_marks_deletions_and_renames_and_never_erases(records, tmp_path, warehouse):
    later = evolve(records, edit=0, rename=7, delete=11, add=0, seed=5)
    renamed = {r["model"]["_id"]: r["model"]["id"] for r in later[:7]}
    with open_warehouse(warehouse) as con:
        with hub_serving(records, tmp_path, "before.jsonl") as hub:
            ingest_models(con, client_for(hub), page_size=500)
        with hub_serving(later, tmp_path, "after.jsonl") as hub:
            result = sweep_deletions(con, client_for(hub), page_size=500)
        active = stored_models(con)
        everything = stored_models(con, active_only=False)
        (versions,) = con.execute("select count(*) from raw.hub_model_versions").fetchone()
        names = con.execute(
            "select model_oid, list(model_id order by model_id) from raw.hub_model_names "
            "group by 1 having count(*) > 1"
        ).fetchall()
        (sweeps,) = con.execute("select count(*) from raw.hub_sweeps").fetchone()

    assert (result.deleted, result.renamed, result.restored) == (11, 7, 0)
    assert set(active) == {r["model"]["id"] for r in later}
    assert len(everything) == len(records)  # deleted rows stay, with deleted_at
    assert versions == len(records)
    assert {oid: ids[1] for oid, ids in names} == renamed
    assert sweeps == 1


def test_a_sweep_that_sees_too_little_marks_nothing(records, tmp_path, warehouse):
    with open_warehouse(warehouse) as con:
        with hub_serving(records, tmp_path, "before.jsonl") as hub:
            ingest_models(con, client_for(hub))
        with (
            hub_serving(records[:100], tmp_path, "tiny.jsonl") as hub,
            pytest.raises(SuspiciousSweepError, match="nothing was marked"),
        ):
            sweep_deletions(con, client_for(hub))
        (deleted,) = con.execute(
            "select count(*) from raw.hub_models where deleted_at is not null"
        ).fetchone()
    assert deleted == 0
