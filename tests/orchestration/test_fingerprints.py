"""Raw data versions: a fingerprint moves when a write stored something, and only then."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ingestion.fingerprints import RAW_FINGERPRINTS, raw_fingerprint, table_fingerprint
from ingestion.raw_writes import write_models
from ingestion.warehouse import connect, ensure_raw_schema, transaction

START = datetime(2025, 1, 1)


def model(number: int, downloads: int = 10) -> dict:
    return {
        "_id": f"oid{number:04d}",
        "id": f"org/model-{number}",
        "sha": f"sha{number}",
        "lastModified": "2024-12-01T00:00:00.000Z",
        "downloads": downloads,
    }


@pytest.fixture
def con(tmp_path):
    with connect(tmp_path / "warehouse.duckdb") as con:
        ensure_raw_schema(con)
        with transaction(con):
            write_models(con, [model(n) for n in range(50)], START)
        yield con


def write(con, payloads, hours: int):
    with transaction(con):
        return write_models(con, payloads, START + timedelta(hours=hours))


def test_every_raw_table_has_a_fingerprint_and_empty_tables_have_one_too(con):
    for table in RAW_FINGERPRINTS:
        assert table_fingerprint(con, table).count(":") == 1
    assert table_fingerprint(con, "hub_model_popularity") == "0:0000000000000000"


def test_relisting_unchanged_models_keeps_the_fingerprint(con):
    before = raw_fingerprint(con, "hub_models", "hub_model_versions")
    counts = write(con, [model(n) for n in range(50)], hours=1)  # observed_at moves
    assert (counts.added, counts.changed) == (0, 0)
    assert raw_fingerprint(con, "hub_models", "hub_model_versions") == before


@pytest.mark.parametrize(
    "payloads",
    [[model(50)], [model(7, downloads=11)], [dict(model(7), sha="sha7-b")]],
    ids=["new model", "changed payload", "new version"],
)
def test_any_stored_change_moves_the_models_fingerprint(con, payloads):
    before = table_fingerprint(con, "hub_models")
    write(con, payloads, hours=1)
    assert table_fingerprint(con, "hub_models") != before


@pytest.mark.parametrize("changed", [1, 2, 24, 25])
def test_any_number_of_rows_changed_together_moves_the_fingerprint(con, changed):
    """Rows changed in one write share their `changed_at`: an even number of them once
    cancelled out in the digest, and the automation missed the change."""
    before = table_fingerprint(con, "hub_models")
    write(con, [dict(model(n), sha=f"sha{n}-b") for n in range(changed)], hours=1)
    assert table_fingerprint(con, "hub_models") != before


def test_a_deletion_moves_the_models_fingerprint(con):
    before = table_fingerprint(con, "hub_models")
    con.execute(
        "update raw.hub_models set deleted_at = $at, changed_at = $at where model_oid = 'oid0003'",
        {"at": START + timedelta(hours=1)},
    )
    assert table_fingerprint(con, "hub_models") != before
