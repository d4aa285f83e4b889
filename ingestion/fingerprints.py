"""Fingerprints of the raw tables as stored: they change exactly when an ingestion stored
something new, so the orchestration can tell a run that changed data from one that did not.

A fingerprint is the row count and an order-independent hash (`bit_xor` of row hashes) of the
columns that record a change. Those columns are chosen per table: `hub_models.changed_at`
moves with every stored change of a row (new payload, rename, deletion, restore), so hashing
it with the key covers the row without reading the payloads; `observed_at`, which every
listing touches, is left out. Cheap: a scan of a few narrow columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class FingerprintedTable:
    """The columns of a raw table whose values change exactly when its content does."""

    columns: tuple[str, ...]
    where: str = "true"


RAW_FINGERPRINTS = {
    "hub_models": FingerprintedTable(("model_oid", "changed_at")),
    "hub_model_versions": FingerprintedTable(("model_oid", "version_key")),
    "hub_model_cards": FingerprintedTable(("content_hash",)),
    "hub_card_fetches": FingerprintedTable(
        ("model_oid", "version_key", "status", "content_hash", "fetched_at")
    ),
    "hub_model_popularity": FingerprintedTable(("model_oid", "observed_at")),
    # Only sweeps that marked something: a sweep that found nothing to change is logged too.
    "hub_sweeps": FingerprintedTable(
        ("started_at",), where="marked_deleted + renamed + restored > 0"
    ),
}


def table_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """`<rows>:<hash>` of `raw.<table>` (see RAW_FINGERPRINTS for what is hashed)."""
    spec = RAW_FINGERPRINTS[table]  # identifiers from this module only, never from input
    rows, digest = con.execute(
        f"select count(*), coalesce(bit_xor(hash({', '.join(spec.columns)})), 0) "
        f"from raw.{table} where {spec.where}"
    ).fetchone()
    return f"{rows}:{digest:016x}"


def raw_fingerprint(con: duckdb.DuckDBPyConnection, *tables: str) -> str:
    """One fingerprint over several raw tables (an asset that writes more than one)."""
    return " ".join(f"{table}={table_fingerprint(con, table)}" for table in tables)
