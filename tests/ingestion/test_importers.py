"""Bootstrap from snapshot files (paper CSV, fixture JSONL, hub-stats parquet), then deltas."""

from __future__ import annotations

import csv
import json
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingestion_helpers import (
    client_for,
    evolve,
    hub_serving,
    listed_fields,
    open_warehouse,
    source_cards,
    source_models,
    stored_cards,
    stored_models,
)

from ingestion import importers
from ingestion.hub_client import EXPAND_FIELDS
from ingestion.importers import import_snapshot
from ingestion.ingest import ingest_models
from ingestion.localhub.synthetic import generate, write_jsonl
from ingestion.progress import Progress
from ingestion.stream_state import read_state

PAPER_COLUMNS = [
    "model_id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
    "library_name", "createdAt", "regions", "licenses", "arxiv_papers", "datasets",
    "parent_model", "finetune_parent", "quantized_parent", "adapter_parent", "merge_parent",
    "languages", "modelCard", "ratelimit_retries", "exception_raised",
]  # fmt: skip


def write_paper_csv(records: list[dict], path) -> None:
    """The paper's released layout: list columns as Python-repr strings, the card inline."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, PAPER_COLUMNS)
        writer.writeheader()
        for record in records:
            model = record["model"]
            tags = model["tags"]
            writer.writerow(
                {
                    "model_id": model["id"],
                    "likes": model["likes"],
                    "trendingScore": 0.0,
                    "private": model["private"],
                    "downloads": float(model["downloads"]),  # pandas wrote some as floats
                    "tags": repr(tags),
                    "pipeline_tag": model["pipeline_tag"] or "",
                    "library_name": model["library_name"] or "",
                    "createdAt": model["createdAt"],
                    "regions": repr([t[7:] for t in tags if t.startswith("region:")]),
                    "licenses": repr([t[8:] for t in tags if t.startswith("license:")]),
                    "arxiv_papers": "[]",
                    "datasets": "[]",
                    "parent_model": repr(
                        [t for t in tags if t.startswith("base_model:") and t.count(":") == 1]
                    ),
                    "finetune_parent": "[]",
                    "quantized_parent": "[]",
                    "adapter_parent": "[]",
                    "merge_parent": "[]",
                    "languages": "['English']",
                    "modelCard": record["readme"] or "",
                    "ratelimit_retries": 0,
                    "exception_raised": "",
                }
            )


def test_the_paper_csv_imports_with_cards_and_hub_ids_adopt_it(tmp_path, warehouse):
    records = list(generate(300, seed=21))
    records[0]["readme"] = 'line one, with a comma\n"quoted" line two\n'
    path = tmp_path / "ai_ecosystem_withmodelcards.csv"
    write_paper_csv(records, path)
    with open(path, "a", encoding="utf-8") as out:  # one row whose tags are not a list
        out.write("broken/row,1,0,False,1,not a list,,,,[],[],[],[],[],[],[],[],[],[],,0,\n")

    with open_warehouse(warehouse) as con:
        result = import_snapshot(con, path, batch_size=64)
        imported = stored_models(con)
        cards = stored_cards(con)
        assert result.quarantined == 1
        assert read_state(con, "models").watermark is None  # no lastModified: next = full
        with hub_serving(records, tmp_path) as hub:
            delta = ingest_models(con, client_for(hub))
        after = stored_models(con)
        (versions,) = con.execute(
            "select count(distinct model_oid) from raw.hub_model_versions"
        ).fetchone()

    source = source_models(records)
    assert set(imported) == set(source)
    assert imported[records[0]["model"]["id"]]["oid"] == "id:" + records[0]["model"]["id"]
    assert imported[records[5]["model"]["id"]]["payload"]["tags"] == records[5]["model"]["tags"]
    assert cards == source_cards(records)
    # The Hub listing re-keys every imported model to its real `_id`: no duplicates.
    assert delta.added == 0 and delta.changed == len(records)
    assert {model_id: m["oid"] for model_id, m in after.items()} == {
        model_id: model["_id"] for model_id, model in source.items()
    }
    assert versions == len(records)


def test_a_fixture_jsonl_import_then_deltas_continue_from_it(tmp_path, warehouse):
    records = list(generate(400, seed=22))
    snapshot = tmp_path / "snapshot.jsonl.gz"
    write_jsonl(iter(records), snapshot)
    with snapshot.open("ab") as raw:  # a line that is not JSON at all, gzip appends a member
        import gzip

        raw.write(gzip.compress(b'{"model": {"id": "cut/off"\n'))
    later = evolve(records, edit=10, rename=0, delete=0, add=5, seed=9)

    with open_warehouse(warehouse) as con:
        result = import_snapshot(con, snapshot)
        with hub_serving(later, tmp_path) as hub:
            delta = ingest_models(con, client_for(hub), page_size=50, overlap=timedelta(hours=1))
        models = stored_models(con)
        cards = stored_cards(con)
        (reason,) = con.execute("select reason from raw.quarantine").fetchone()

    assert (result.rows, result.added, result.quarantined) == (401, 400, 1)
    assert "not a fixture record" in reason
    assert (delta.added, delta.changed) == (5, 10)
    assert delta.pages == 1  # only the models newer than the snapshot were listed
    source = source_models(later)
    assert {k: m["sha"] for k, m in models.items()} == {k: m["sha"] for k, m in source.items()}
    # Cards came from the file; the ten edited versions wait for the card asset.
    assert len(cards) == len(records) - 10


def hub_stats_table(records: list[dict]) -> pa.Table:
    rows = []
    for record in records:
        model = record["model"]
        card = model["cardData"]
        rows.append(
            {
                "_id": model["_id"],
                "id": model["id"],
                "author": model["author"],
                "sha": model["sha"],
                "created_at": model["createdAt"],
                "last_modified": model["lastModified"],
                "downloads": model["downloads"],
                "likes": model["likes"],
                "library_name": model["library_name"],
                "pipeline_tag": model["pipeline_tag"],
                "tags": model["tags"],
                "card_data": None if card is None else json.dumps(card),
                "private": False,
            }
        )
    table = pa.Table.from_pylist(rows)
    return table.set_column(
        table.schema.get_field_index("last_modified"),
        "last_modified",
        pa.array([r["last_modified"] for r in rows]).cast(pa.timestamp("ms", tz="UTC")),
    )


def test_a_hub_stats_parquet_imports_in_batches(tmp_path, warehouse):
    records = list(generate(250, seed=23))
    path = tmp_path / "models.parquet"
    pq.write_table(hub_stats_table(records), path, row_group_size=60)

    with open_warehouse(warehouse) as con:
        result = import_snapshot(con, path, batch_size=50)
        models = stored_models(con)
        watermark = read_state(con, "models").watermark

    assert (result.rows, result.added, result.quarantined) == (250, 250, 0)
    source = source_models(records)
    for model_id, model in source.items():
        payload = models[model_id]["payload"]
        assert models[model_id]["oid"] == model["_id"]
        assert payload["lastModified"] == model["lastModified"]
        assert payload["cardData"] == model["cardData"]
        assert payload["tags"] == model["tags"]
    newest = max(m["lastModified"] for m in source.values())
    assert watermark.isoformat(timespec="milliseconds") + "Z" == newest
    assert set(EXPAND_FIELDS) - set(listed_fields(records[0]["model"], EXPAND_FIELDS)) == set()


@pytest.mark.parametrize("name", ["ai_ecosystem.csv", "snapshot.jsonl.gz", "models.parquet"])
def test_an_import_reports_the_share_of_the_file_read_for_its_eta(
    tmp_path, warehouse, monkeypatch, name
):
    records = list(generate(600, seed=24))
    path = tmp_path / name
    if name.endswith(".csv"):
        write_paper_csv(records, path)
    elif name.endswith(".jsonl.gz"):
        write_jsonl(iter(records), path)
    else:
        pq.write_table(hub_stats_table(records), path, row_group_size=50)
    fractions, lines = [], []

    class RecordingProgress(Progress):
        def update(self, models, fraction_done=None):
            fractions.append(fraction_done)
            lines.append(self.line(fraction_done))
            super().update(models, fraction_done)

    monkeypatch.setattr(importers, "Progress", RecordingProgress)
    with open_warehouse(warehouse) as con:
        result = import_snapshot(con, path, batch_size=50)

    assert result.rows == 600 and len(fractions) == 12
    assert all(f is not None and 0 < f <= 1 for f in fractions), fractions
    assert fractions == sorted(fractions) and fractions[0] < 0.75 and fractions[-1] > 0.9
    assert not any("ETA unknown" in line for line in lines)
