"""Fingerprints of the raw tables as stored: they change exactly when an ingestion stored
something new, so the orchestration can tell a run that changed data from one that did not.

A fingerprint is the row count and an order-independent hash (`bit_xor` of row hashes) of the
columns that record a change. Those columns are chosen per table: `hub_models.changed_at`
moves with every stored change of a row (new payload, rename, deletion, restore), so hashing
it with the key covers the row without reading the payloads; `observed_at`, which every
listing touches, is left out. Cheap: a scan of a few narrow columns.
"""

from __future__ import annotations

import duckdb

# Per raw table, the columns whose values change exactly when its content does.
RAW_FINGERPRINTS = {
    "hub_models": ["model_oid", "changed_at"],
    "hub_model_versions": ["model_oid", "version_key"],
    "hub_model_cards": ["content_hash"],
    "hub_card_fetches": ["model_oid", "version_key", "status", "content_hash", "fetched_at"],
    "hub_model_popularity": ["model_oid", "observed_at"],
}


def table_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """`<rows>:<hash>` of `raw.<table>` (see RAW_FINGERPRINTS for what is hashed)."""
    columns = RAW_FINGERPRINTS[table]  # a known table: its name is safe as an identifier
    # hash() of several columns combines their hashes linearly, so a bit_xor over rows of it
    # cancels out when an even number of rows change the same way (24 models changed in one
    # delta gave the digest of none); hashing that hash again breaks the linearity.
    rows, digest = con.execute(
        f"select count(*), bit_xor(hash(hash(*columns($columns)))) from raw.{table}",
        {"columns": columns},
    ).fetchone()
    return f"{rows}:{digest or 0:016x}"


def raw_fingerprint(con: duckdb.DuckDBPyConnection, *tables: str) -> str:
    """One fingerprint over several raw tables (an asset that writes more than one)."""
    return " ".join(f"{table}={table_fingerprint(con, table)}" for table in tables)
