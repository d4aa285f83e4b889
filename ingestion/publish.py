"""Write-audit-publish: analysts read a published copy of the marts, never the warehouse.

After a build whose models and tests passed, `publish` writes the analyst-facing schemas
(`marts`, seeds included, and `analytics`) with their comments and table macros (families as
of a date) into a new DuckDB file under `<published>.builds/`, then swaps the `published` path
(a symlink) to it in one atomic rename. So:
- a reader never holds the warehouse file, and never makes a refresh fail;
- a reader sees one whole build that passed, never a half-built one or one that failed;
- a reader with the file open keeps its snapshot (Linux keeps an unlinked file readable);
- the last `KEEP_BUILDS` builds are kept, older ones removed.

A publish costs what the build changed: the new build file starts as a file copy of the one
published before, and only the tables whose content changed (by a fingerprint of their
columns and rows) are written again. A copy that has gathered too much free space is
started afresh.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion.warehouse import sql_identifier, sql_string

PUBLISHED_SCHEMAS = ("marts", "analytics")
KEEP_BUILDS = 3
# Above this share of free blocks, a carried-over build file is rewritten from scratch.
MAX_FREE_SHARE = 0.5
BUILD_ALIAS = "published_build"


@dataclass
class Published:
    path: Path
    build: Path
    tables: int
    rows: int
    seconds: float
    tables_written: int = 0


def published_path(warehouse: Path) -> Path:
    """Where analysts open the published copy of `warehouse`: beside it."""
    return warehouse.with_name(warehouse.stem + ".published.duckdb")


def builds_folder(published: Path) -> Path:
    return published.with_name(published.name + ".builds")


def fingerprints_path(build: Path) -> Path:
    """The fingerprints of the tables a build holds, beside it."""
    return build.with_name(build.name + ".tables.json")


def table_fingerprint(
    con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str
) -> dict:
    """Columns with their types, row count and an order-free hash of the rows."""
    columns = con.execute(
        """
        select list(column_name || ' ' || data_type order by column_index) from duckdb_columns()
        where database_name = $database and schema_name = $schema and table_name = $table
        """,
        {"database": database, "schema": schema, "table": table},
    ).fetchone()[0]
    rows, content = con.execute(
        f"select count(*), coalesce(sum(hash(t)::hugeint), 0)::varchar "
        f"from {sql_identifier(database, schema, table)} t"
    ).fetchone()
    return {"columns": columns, "rows": rows, "hash": content}


def publish(con: duckdb.DuckDBPyConnection, published: Path, build_id: str) -> Published:
    """Write the published schemas of the warehouse `con` writes into a new build file and
    point `published` at it. `con` must hold the writer lock (a run's connection)."""
    started = time.monotonic()
    folder = builds_folder(published)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    build = folder / f"{stamp}-{build_id[:12]}.duckdb"
    warehouse = con.execute("select current_database()").fetchone()[0]
    tables = con.execute(
        """
        select schema_name, table_name, comment from duckdb_tables()
        where database_name = current_database() and schema_name in $schemas
          and not temporary
        order by all
        """,
        {"schemas": list(PUBLISHED_SCHEMAS)},
    ).fetchall()
    fingerprints = {
        f"{schema}.{table}": table_fingerprint(con, warehouse, schema, table)
        for schema, table, _ in tables
    }
    try:
        carried = _start_from_previous(con, published_build(published), build)
        try:
            written = _write_build(con, warehouse, tables, fingerprints, carried)
        finally:
            con.execute(f"detach {BUILD_ALIAS}")
    except BaseException:  # an unfinished build is never pointed at: remove it
        build.unlink(missing_ok=True)
        build.with_name(build.name + ".wal").unlink(missing_ok=True)
        raise
    fingerprints_path(build).write_text(json.dumps(fingerprints))
    _point(published, build)
    _prune(folder, keep=build)
    rows = sum(fingerprint["rows"] for fingerprint in fingerprints.values())
    return Published(
        published, build, len(tables), rows, time.monotonic() - started, tables_written=written
    )


def _write_build(
    con: duckdb.DuckDBPyConnection,
    warehouse: str,
    tables: list[tuple[str, str, str | None]],
    fingerprints: dict[str, dict],
    carried: dict[str, dict],
) -> int:
    """Bring the attached build up to the warehouse: rewrite the tables whose fingerprint
    differs from the carried one, drop those gone, renew comments and macros; return how many
    tables were written."""
    written = 0
    for schema in PUBLISHED_SCHEMAS:
        con.execute(f"create schema if not exists {sql_identifier(BUILD_ALIAS, schema)}")
    for schema, table in _tables_in(con, BUILD_ALIAS):
        if f"{schema}.{table}" not in fingerprints:
            con.execute(f"drop table {sql_identifier(BUILD_ALIAS, schema, table)}")
    for schema, table, comment in tables:
        target = sql_identifier(BUILD_ALIAS, schema, table)
        if carried.get(f"{schema}.{table}") != fingerprints[f"{schema}.{table}"]:
            source = sql_identifier(warehouse, schema, table)
            con.execute(f"create or replace table {target} as select * from {source}")
            written += 1
        con.execute(f"comment on table {target} is {sql_string(comment) if comment else 'null'}")
    _copy_column_comments(con)
    _copy_macros(con)
    con.execute(f"checkpoint {BUILD_ALIAS}")
    return written


def _start_from_previous(
    con: duckdb.DuckDBPyConnection, previous: Path | None, build: Path
) -> dict[str, dict]:
    """Attach `build` as a copy of the previous build when that pays, else empty; return the
    fingerprints of the tables it carries over."""
    carried = {}
    state = fingerprints_path(previous) if previous else None
    clean = previous and not previous.with_name(previous.name + ".wal").exists()
    if clean and state.exists():
        shutil.copyfile(previous, build)
        carried = json.loads(state.read_text())
    con.execute("attach $path as " + BUILD_ALIAS, {"path": str(build)})
    if carried:
        free, total = con.execute(
            "select free_blocks, total_blocks from pragma_database_size() "
            "where database_name = $alias",
            {"alias": BUILD_ALIAS},
        ).fetchone()
        if total and free / total > MAX_FREE_SHARE:
            con.execute(f"detach {BUILD_ALIAS}")
            build.unlink()
            con.execute("attach $path as " + BUILD_ALIAS, {"path": str(build)})
            carried = {}
    return carried


def _tables_in(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str]]:
    return con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = $database",
        {"database": database},
    ).fetchall()


def _copy_column_comments(con: duckdb.DuckDBPyConnection) -> None:
    for schema, table, column, comment in con.execute(
        """
        select schema_name, table_name, column_name, comment from duckdb_columns()
        where database_name = current_database() and schema_name in $schemas
          and comment is not null
        """,
        {"schemas": list(PUBLISHED_SCHEMAS)},
    ).fetchall():
        target = sql_identifier(BUILD_ALIAS, schema, table, column)
        con.execute(f"comment on column {target} is {sql_string(comment)}")


def _copy_macros(con: duckdb.DuckDBPyConnection) -> None:
    for schema, name, kind in con.execute(
        """
        select schema_name, function_name, function_type from duckdb_functions()
        where database_name = $alias and function_type in ('macro', 'table_macro')
          and not internal
        """,
        {"alias": BUILD_ALIAS},
    ).fetchall():
        table = " table" if kind == "table_macro" else ""
        con.execute(f"drop macro{table} {sql_identifier(BUILD_ALIAS, schema, name)}")
    for schema, name, parameters, definition, kind in con.execute(
        """
        select schema_name, function_name, parameters, macro_definition, function_type
        from duckdb_functions()
        where database_name = current_database() and schema_name in $schemas
          and function_type in ('macro', 'table_macro') and not internal
        """,
        {"schemas": list(PUBLISHED_SCHEMAS)},
    ).fetchall():
        target = sql_identifier(BUILD_ALIAS, schema, name)
        # DuckDB's own text of the macro, from its catalog, recreated as it was
        catalog_sql = (
            f"({', '.join(sql_identifier(p) for p in parameters)}) as "
            + ("table " if kind == "table_macro" else "")
            + definition
        )
        con.execute(f"create macro {target}{catalog_sql}")


def _point(published: Path, build: Path) -> None:
    """Make `published` a symlink to `build`, atomically (rename over the old link)."""
    staging = published.with_name(f".{published.name}.{os.getpid()}.link")
    staging.unlink(missing_ok=True)
    staging.symlink_to(os.path.relpath(build, published.parent))
    os.replace(staging, published)


def _prune(folder: Path, keep: Path) -> None:
    builds = sorted(folder.glob("*.duckdb"))
    for old in builds[:-KEEP_BUILDS]:
        if old != keep:
            old.unlink(missing_ok=True)
            old.with_name(old.name + ".wal").unlink(missing_ok=True)
            fingerprints_path(old).unlink(missing_ok=True)


def published_build(published: Path) -> Path | None:
    """The build file `published` points at, or None before the first publish."""
    return published.resolve() if published.is_symlink() and published.exists() else None


def open_published(published: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published marts (for analysts and tests)."""
    return duckdb.connect(str(published), read_only=True)
