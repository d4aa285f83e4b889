"""Parquet copies of the published marts, for tools that do not read DuckDB.

Written from a published build file (see publish.py), so the files hold the same build as the
published copy, and the export never holds the warehouse's file: a refresh can write while it
runs. Each table of `marts` goes to `<folder>/<table>.parquet`:
- written to a temporary file, then renamed over the old one: a reader never sees half a file;
- left as it is when the file already holds the same rows (a fingerprint of the table, kept
  in the file's metadata), so a small delta rewrites only the marts it changed;
- removed when the table is no longer published (only files this module wrote), and so is a
  partial file a killed export left behind.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.warehouse import connect, sql_identifier, sql_string

EXPORTED_SCHEMA = "marts"
FINGERPRINT_KEY = "hubgenome_fingerprint"  # written by the COPY in export_marts
# A partial file this old was left by an export that was killed (one mart takes seconds).
ABANDONED_PARTIAL_SECONDS = 3600


@dataclass(frozen=True)
class Exported:
    folder: Path
    written: list[str]
    unchanged: list[str]
    removed: list[str]
    seconds: float


def exports_folder(warehouse: Path) -> Path:
    """Where the Parquet exports of `warehouse` go: `exports/` beside it."""
    return warehouse.parent / "exports"


def export_marts(build: Path, folder: Path) -> Exported:
    """Bring `folder` up to the marts of the published `build` file."""
    started = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    for partial in folder.glob(".*.parquet.partial"):
        if time.time() - partial.stat().st_mtime > ABANDONED_PARTIAL_SECONDS:
            partial.unlink(missing_ok=True)
    written, unchanged = [], []
    with connect(build, read_only=True) as con:
        tables = _exported_tables(con)
        for table in tables:
            source = sql_identifier(EXPORTED_SCHEMA, table)
            (fingerprint,) = con.execute(
                f"select count(*) || ':' || coalesce(sum(hash(t)::hugeint), 0) from {source} as t"
            ).fetchone()
            target = folder / f"{table}.parquet"
            if _fingerprint(con, target) == fingerprint:
                unchanged.append(table)
                continue
            partial = folder / f".{table}.{uuid.uuid4().hex}.parquet.partial"
            try:
                # zstd's fastest level: the default level's size here, 20-25% faster.
                con.execute(
                    f"copy {source} to {sql_string(str(partial))} (format parquet, "
                    "compression zstd, compression_level 1, "
                    f"kv_metadata {{hubgenome_fingerprint: {sql_string(fingerprint)}}})"
                )
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
            written.append(table)
        removed = [
            file.stem
            for file in sorted(folder.glob("*.parquet"))
            if file.stem not in tables and _fingerprint(con, file) is not None
        ]
    for table in removed:
        (folder / f"{table}.parquet").unlink(missing_ok=True)
    return Exported(folder, written, unchanged, removed, time.monotonic() - started)


def _exported_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        table
        for (table,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = $schema order by 1",
            {"schema": EXPORTED_SCHEMA},
        ).fetchall()
    ]


def _fingerprint(con: duckdb.DuckDBPyConnection, file: Path) -> str | None:
    """The table fingerprint an export stored in `file`; None for a missing or foreign file."""
    if not file.exists():
        return None
    try:
        row = con.execute(
            "select value::varchar from parquet_kv_metadata($file) where key::varchar = $key",
            {"file": str(file), "key": FINGERPRINT_KEY},
        ).fetchone()
    except duckdb.Error:  # not a Parquet file, or a damaged one: written again
        return None
    return row[0] if row else None


def export_differences(build: Path, folder: Path) -> dict[str, int]:
    """What differs between the marts of a published `build` and the Parquet files in
    `folder` (for tests and benchmarks): per mart, the rows in one and not the other (as
    multisets); a mart without a file, or a file without a mart, counts -1."""
    with connect(build, read_only=True) as con:
        tables = set(_exported_tables(con))
        files = {file.stem for file in folder.glob("*.parquet")}
        found = dict.fromkeys(sorted(tables ^ files), -1)
        for table in sorted(tables & files):
            source = sql_identifier(EXPORTED_SCHEMA, table)
            (differing,) = con.execute(
                f"""
                select count(*) from (
                    (select * from {source} except all select * from read_parquet($file))
                    union all
                    (select * from read_parquet($file) except all select * from {source}))
                """,
                {"file": str(folder / f"{table}.parquet")},
            ).fetchone()
            if differing:
                found[table] = differing
    return found
