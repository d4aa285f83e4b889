"""Write-audit-publish: analysts read a published copy of the marts, never the warehouse.

After a build whose models and tests passed, `publish` writes the analyst-facing schemas
(`marts`, seeds included, and `analytics`) with their comments and table macros (families as
of a date) into a new DuckDB file under `<published>.builds/`, then swaps the `published` path
(a symlink) to it in one atomic rename. So:
- a reader never holds the warehouse file, and never makes a refresh fail;
- a reader sees one whole build that passed, never a half-built one or one that failed;
- a reader with the file open keeps its snapshot (Linux keeps an unlinked file readable);
- the last `KEEP_BUILDS` builds are kept, older ones removed.

Each build is written whole into an empty file: skipping the tables whose content had not
changed (a file copy of the last build, then a fingerprint of every table) was measured
slower at 2M models, because a delta of 0.01% already changes the largest marts
(BENCHMARKS.md, "Publishing ... at 2M").
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion.warehouse import sql_identifier, sql_string

PUBLISHED_SCHEMAS = ("marts", "analytics")
KEEP_BUILDS = 3
BUILD_ALIAS = "published_build"  # the new build, attached to the run's connection


@dataclass
class Published:
    path: Path
    build: Path
    tables: int
    rows: int
    seconds: float


def published_path(warehouse: Path) -> Path:
    """Where analysts open the published copy of `warehouse`: beside it."""
    return warehouse.with_name(warehouse.stem + ".published.duckdb")


def builds_folder(published: Path) -> Path:
    return published.with_name(published.name + ".builds")


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
    try:
        con.execute("attach $path as published_build", {"path": str(build)})
        try:
            rows = _write_build(con, warehouse, tables)
        finally:
            con.execute("detach published_build")
    except BaseException:  # an unfinished build is never pointed at: remove it
        build.unlink(missing_ok=True)
        build.with_name(build.name + ".wal").unlink(missing_ok=True)
        raise
    _point(published, build)
    _prune(folder, keep=build)
    return Published(published, build, len(tables), rows, time.monotonic() - started)


def _write_build(
    con: duckdb.DuckDBPyConnection, warehouse: str, tables: list[tuple[str, str, str | None]]
) -> int:
    """Copy `tables` with their comments and the macros into the attached build; return the
    rows copied."""
    rows = 0
    for schema in PUBLISHED_SCHEMAS:
        con.execute(f"create schema if not exists {sql_identifier(BUILD_ALIAS, schema)}")
    for schema, table, comment in tables:
        source = sql_identifier(warehouse, schema, table)
        target = sql_identifier(BUILD_ALIAS, schema, table)
        con.execute(f"create table {target} as select * from {source}")
        rows += con.execute(f"select count(*) from {target}").fetchone()[0]
        if comment:
            con.execute(f"comment on table {target} is {sql_string(comment)}")
    _copy_column_comments(con)
    _copy_macros(con)
    con.execute("checkpoint published_build")
    return rows


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


def published_build(published: Path) -> Path | None:
    """The build file `published` points at, or None before the first publish."""
    return published.resolve() if published.is_symlink() and published.exists() else None


def open_published(published: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published marts (for analysts and tests)."""
    return duckdb.connect(str(published), read_only=True)
