"""Write-audit-publish: analysts read a published copy of the marts, never the warehouse.

After a build whose models and tests passed, `publish` writes the analyst-facing schemas
(`marts`, seeds included, and `analytics`) with their comments and table macros (families as
of a date) into a new DuckDB file under `<published>.builds/`, then swaps the `published` path
(a symlink) to it in one atomic rename. So:
- a reader never holds the warehouse file, and never makes a refresh fail;
- a reader sees one whole build that passed, never a half-built one or one that failed;
- a reader with the file open keeps its snapshot (Linux keeps an unlinked file readable);
- the last `KEEP_BUILDS` builds are kept, older ones removed.

A publish costs what the builds since the last one changed: it copies the last published
file and rewrites only the changed rows.
- A dbt model logs the keys of the rows it wrote or deleted (`dbt_publish_log`, see
  dbt_project/macros/changed_rows.sql); its rows with those keys are replaced.
- A table rebuilt whole, and a table no model logs (seeds, analytics), is compared row by row
  (one hash per row on each side); only rows that differ are replaced.
- A new table, one whose columns changed, or one with most rows changed is written whole.
- The whole build is written from scratch on the first publish, when the last published file
  is not the one the warehouse's log counts from (`publish_state`), and every
  `WHOLE_WRITE_EVERY` publishes, which compacts the file.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion.warehouse import sql_hash, sql_identifier, sql_string, transaction, wal_path

PUBLISHED_SCHEMAS = ("marts", "analytics")
KEEP_BUILDS = 3
BUILD_ALIAS = "published_build"  # the new build, attached to the run's connection
# A publish that rewrites rows in a copy leaves the replaced rows' space in the file; after
# this many in a row, the next build is written whole.
WHOLE_WRITE_EVERY = 24
# A table with more than this share of its rows changed is written whole (cheaper than
# deleting and inserting most of it).
REWRITE_SHARE = 0.25


@dataclass
class Published:
    path: Path
    build: Path
    tables: int
    rows: int
    seconds: float
    whole: bool  # written from scratch, not from the last build
    rows_changed: int  # rows deleted or inserted (all rows of a whole write)


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
        select schema_name, table_name from duckdb_tables()
        where database_name = current_database() and schema_name in $schemas
          and not temporary
        order by all
        """,
        {"schemas": list(PUBLISHED_SCHEMAS)},
    ).fetchall()
    state = _read_state(con)
    base = published_build(published)
    from_base = (
        base is not None
        and state is not None
        and state[0] == base.name
        and state[1] < WHOLE_WRITE_EVERY
        and not wal_path(base).exists()
    )
    try:
        if from_base:
            shutil.copyfile(base, build)
        con.execute("attach $path as published_build", {"path": str(build)})
        try:
            changer = _Changes(con, warehouse)
            for schema in PUBLISHED_SCHEMAS:
                con.execute(f"create schema if not exists {sql_identifier(BUILD_ALIAS, schema)}")
            if from_base:
                changer.drop_tables_not_in(tables)
            for schema, table in tables:
                if from_base:
                    changer.update(schema, table)
                else:
                    changer.write_whole(schema, table)
            _copy_comments(con, warehouse)
            _copy_macros(con, warehouse)
            con.execute("checkpoint published_build")
            rows = sum(
                con.execute(
                    f"select count(*) from {sql_identifier(BUILD_ALIAS, schema, table)}"
                ).fetchone()[0]
                for schema, table in tables
            )
        finally:
            con.execute("detach published_build")
    except BaseException:  # an unfinished build is never pointed at: remove it
        build.unlink(missing_ok=True)
        wal_path(build).unlink(missing_ok=True)
        raise
    _point(published, build)
    _save_state(con, build, 0 if not from_base else state[1] + 1)
    _prune(folder, keep=build)
    return Published(
        published,
        build,
        len(tables),
        rows,
        time.monotonic() - started,
        whole=not from_base,
        rows_changed=changer.rows_changed,
    )


class _Changes:
    """Brings the tables of the attached build up to the warehouse's, counting the rows."""

    def __init__(self, con: duckdb.DuckDBPyConnection, warehouse: str):
        self.con = con
        self.warehouse = warehouse
        self.rows_changed = 0
        self.logged = _logged_models(con)
        self.log = _publish_log(con)

    def drop_tables_not_in(self, tables: list[tuple[str, str]]) -> None:
        wanted = set(tables)
        for schema, table in self.con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = $db",
            {"db": BUILD_ALIAS},
        ).fetchall():
            if (schema, table) not in wanted:
                self.con.execute(f"drop table {sql_identifier(BUILD_ALIAS, schema, table)}")

    def write_whole(self, schema: str, table: str) -> None:
        target = sql_identifier(BUILD_ALIAS, schema, table)
        source = sql_identifier(self.warehouse, schema, table)
        self.con.execute(f"create or replace table {target} as select * from {source}")
        self.rows_changed += self.con.execute(f"select count(*) from {target}").fetchone()[0]

    def update(self, schema: str, table: str) -> None:
        """Replace the rows of `table` that changed since the copied build."""
        if self._columns(BUILD_ALIAS, schema, table) != self._columns(
            self.warehouse, schema, table
        ):
            return self.write_whole(schema, table)
        source = sql_identifier(self.warehouse, schema, table)
        target = sql_identifier(BUILD_ALIAS, schema, table)
        whole, keys = self.log.get(table, (False, 0))
        by_key = (schema, table) in self.logged and not whole
        if by_key and not keys:
            return  # no build changed it since
        if by_key:
            key_columns = self.logged[(schema, table)]
            self.con.execute(
                """
                create or replace temp table publish_changed as
                select key_hash from intermediate.dbt_publish_log
                where model_name = $table and key_hash is not null
                """,
                {"table": table},
            )
        else:  # the hashes of the rows found more often in one copy than in the other
            key_columns = None
            self.con.execute(
                f"""
                create or replace temp table publish_changed as
                select key_hash from (
                    select hash(row_value) as key_hash, 1 as side from {target} as row_value
                    union all
                    select hash(row_value), -1 from {source} as row_value)
                group by key_hash having sum(side) <> 0
                """
            )
        (changed,) = self.con.execute("select count(*) from publish_changed").fetchone()
        (rows,) = self.con.execute(f"select count(*) from {source}").fetchone()
        if changed > REWRITE_SHARE * rows:
            self.write_whole(schema, table)
        elif changed:
            (deleted,) = self.con.execute(
                f"delete from {target} as row_value "
                f"where {sql_hash('row_value', key_columns)} in (from publish_changed)"
            ).fetchone()
            (inserted,) = self.con.execute(
                f"insert into {target} select * from {source} as row_value "
                f"where {sql_hash('row_value', key_columns)} in (from publish_changed)"
            ).fetchone()
            self.rows_changed += deleted + inserted
        self.con.execute("drop table publish_changed")

    def _columns(self, database: str, schema: str, table: str) -> list[tuple[str, str]]:
        return self.con.execute(
            """
            select column_name, data_type from duckdb_columns()
            where database_name = $db and schema_name = $schema and table_name = $table
            order by column_index
            """,
            {"db": database, "schema": schema, "table": table},
        ).fetchall()


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute(
        """
        select count(*) > 0 from duckdb_tables()
        where database_name = current_database() and schema_name = $schema
          and table_name = $table
        """,
        {"schema": schema, "table": table},
    ).fetchone()[0]


def _logged_models(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str] | None]:
    """The published tables whose every change dbt logs, with their key columns."""
    if not _has_table(con, "intermediate", "dbt_logged_models"):
        return {}
    return {
        (schema, name): key_columns
        for schema, name, key_columns in con.execute(
            "select schema_name, model_name, key_columns from intermediate.dbt_logged_models"
        ).fetchall()
    }


def _publish_log(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[bool, int]]:
    """Per model in the log: whether it was rebuilt whole, and how many keys it changed."""
    if not _has_table(con, "intermediate", "dbt_publish_log"):
        return {}
    return {
        name: (whole, keys)
        for name, whole, keys in con.execute(
            """
            select model_name, bool_or(key_hash is null), count(key_hash)
            from intermediate.dbt_publish_log group by model_name
            """
        ).fetchall()
    }


def _read_state(con: duckdb.DuckDBPyConnection) -> tuple[str, int] | None:
    """The build file the log counts from, and how many publishes in a row copied a build."""
    if not _has_table(con, "intermediate", "publish_state"):
        return None
    return con.execute(
        "select published_build, publishes_from_copy from intermediate.publish_state"
    ).fetchone()


def _save_state(con: duckdb.DuckDBPyConnection, build: Path, publishes_from_copy: int) -> None:
    """Empty the log and name the build it now counts from, in one transaction. A crash
    before this leaves a state that names an older build: the next publish writes whole."""
    con.execute("create schema if not exists intermediate")
    con.execute(
        """
        create table if not exists intermediate.publish_state (
            published_build varchar not null,
            publishes_from_copy integer not null,
            published_at timestamp not null
        )
        """
    )
    con.execute(
        "comment on table intermediate.publish_state is 'Publish bookkeeping: the published "
        "build file the publish log counts from (ingestion/publish.py).'"
    )
    with transaction(con):
        con.execute("delete from intermediate.publish_state")
        con.execute(
            "insert into intermediate.publish_state values ($build, $n, now()::timestamp)",
            {"build": build.name, "n": publishes_from_copy},
        )
        if _has_table(con, "intermediate", "dbt_publish_log"):
            con.execute("delete from intermediate.dbt_publish_log")


def _copy_comments(con: duckdb.DuckDBPyConnection, warehouse: str) -> None:
    """Set the build's table and column comments to the warehouse's where they differ."""
    params = {"warehouse": warehouse, "build": BUILD_ALIAS, "schemas": list(PUBLISHED_SCHEMAS)}
    for schema, table, comment in con.execute(
        """
        select schema_name, table_name, comment from duckdb_tables()
        where database_name = $warehouse and schema_name in $schemas
        except
        select schema_name, table_name, comment from duckdb_tables()
        where database_name = $build
        """,
        params,
    ).fetchall():
        target = sql_identifier(BUILD_ALIAS, schema, table)
        if comment is None:
            con.execute(f"comment on table {target} is null")
        else:
            con.execute(f"comment on table {target} is {sql_string(comment)}")
    for schema, table, column, comment in con.execute(
        """
        select schema_name, table_name, column_name, comment from duckdb_columns()
        where database_name = $warehouse and schema_name in $schemas
        except
        select schema_name, table_name, column_name, comment from duckdb_columns()
        where database_name = $build
        """,
        params,
    ).fetchall():
        target = sql_identifier(BUILD_ALIAS, schema, table, column)
        if comment is None:
            con.execute(f"comment on column {target} is null")
        else:
            con.execute(f"comment on column {target} is {sql_string(comment)}")


def _copy_macros(con: duckdb.DuckDBPyConnection, warehouse: str) -> None:
    """Recreate the warehouse's macros in the build, and drop the ones it no longer has."""

    def macros(database: str) -> list[tuple]:
        return con.execute(
            """
            select schema_name, function_name, parameters, macro_definition, function_type
            from duckdb_functions()
            where database_name = $db and schema_name in $schemas
              and function_type in ('macro', 'table_macro') and not internal
            """,
            {"db": database, "schemas": list(PUBLISHED_SCHEMAS)},
        ).fetchall()

    wanted = macros(warehouse)
    names = {(schema, name) for schema, name, *_ in wanted}
    for schema, name, _, _, kind in macros(BUILD_ALIAS):
        if (schema, name) not in names:
            target = sql_identifier(BUILD_ALIAS, schema, name)
            if kind == "table_macro":
                con.execute(f"drop macro table {target}")
            else:
                con.execute(f"drop macro {target}")
    for schema, name, parameters, definition, kind in wanted:
        target = sql_identifier(BUILD_ALIAS, schema, name)
        # DuckDB's own text of the macro, from its catalog, recreated as it was
        catalog_sql = (
            f"({', '.join(sql_identifier(p) for p in parameters)}) as "
            + ("table " if kind == "table_macro" else "")
            + definition
        )
        con.execute(f"create or replace macro {target}{catalog_sql}")


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
            wal_path(old).unlink(missing_ok=True)


def published_build(published: Path) -> Path | None:
    """The build file `published` points at, or None before the first publish."""
    return published.resolve() if published.is_symlink() and published.exists() else None


_TABLES = """
    select schema_name, table_name, comment from duckdb_tables()
    where database_name = $db and schema_name in $schemas
"""
_COLUMNS = """
    select schema_name, table_name, column_name, data_type, comment from duckdb_columns()
    where database_name = $db and schema_name in $schemas
"""


def differences(warehouse: Path, build: Path) -> dict[str, int]:
    """What differs between the published schemas of `warehouse` and a published `build`
    (for tests and benchmarks): per table, the rows in one and not the other (as multisets);
    `tables` and `columns`, the catalogue entries (names, types, comments) that differ."""
    con = duckdb.connect()
    try:
        con.execute("attach $path as warehouse (read_only)", {"path": str(warehouse)})
        con.execute("attach $path as build (read_only)", {"path": str(build)})
        schemas = list(PUBLISHED_SCHEMAS)

        def catalogue(db: str) -> dict[str, set]:
            params = {"db": db, "schemas": schemas}
            return {
                "tables": set(con.execute(_TABLES, params).fetchall()),
                "columns": set(con.execute(_COLUMNS, params).fetchall()),
            }

        ours, theirs = catalogue("warehouse"), catalogue("build")
        found = {
            name: len(ours[name] ^ theirs[name]) for name in ours if ours[name] != theirs[name]
        }
        for schema, table, _ in con.execute(
            _TABLES, {"db": "warehouse", "schemas": schemas}
        ).fetchall():
            source = sql_identifier("warehouse", schema, table)
            target = sql_identifier("build", schema, table)
            (differing,) = con.execute(
                f"""
                select count(*) from (
                    (select * from {source} except all select * from {target})
                    union all
                    (select * from {target} except all select * from {source}))
                """
            ).fetchone()
            if differing:
                found[f"{schema}.{table}"] = differing
        return found
    finally:
        con.close()


def open_published(published: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published marts (for analysts and tests)."""
    return duckdb.connect(str(published), read_only=True)
