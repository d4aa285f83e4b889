"""The DuckDB warehouse file: connecting, the one-writer lock, the raw layer's tables, and
transactions. What is written into `raw` lives in `raw_writes`, stream cursors in
`stream_state`."""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import duckdb

from ingestion.config import settings

WAREHOUSE_SCHEMAS = ("raw", "staging", "intermediate", "marts", "analytics")

RAW_DDL = """
create table if not exists raw.hub_models (
    model_oid varchar primary key,   -- the Hub's stable _id (survives renames)
    model_id varchar not null,       -- current repo id
    sha varchar,
    last_modified timestamp,
    created_at timestamp,
    payload json using compression zstd not null,  -- the list-API item as received
    first_seen_at timestamp not null,
    changed_at timestamp not null,   -- when this row's version last changed here
    observed_at timestamp not null,  -- when a listing last returned it
    deleted_at timestamp             -- set when a sweep no longer finds it on the Hub
);
create table if not exists raw.hub_model_versions (
    model_oid varchar not null,
    version_key varchar not null,    -- sha, or a hash of the payload when the source has none
    model_id varchar not null,
    sha varchar,
    last_modified timestamp,
    payload json using compression zstd not null,
    observed_at timestamp not null,
    primary key (model_oid, version_key)
);
create table if not exists raw.hub_model_cards (
    content_hash varchar primary key,  -- sha256 of the README bytes; each text stored once
    card_text varchar using compression zstd not null,
    n_bytes bigint not null,
    first_seen_at timestamp not null
);
create table if not exists raw.hub_card_fetches (
    model_oid varchar not null,
    version_key varchar not null,      -- the model version whose README was fetched
    status varchar not null,           -- ok | missing (404/410) | failed | denied | too_large
    content_hash varchar,              -- set when status = ok
    error varchar,
    attempts integer not null,
    fetched_at timestamp not null,
    primary key (model_oid, version_key)
);
create table if not exists raw.hub_model_popularity (
    model_oid varchar not null,
    observed_at timestamp not null,
    downloads bigint,
    likes bigint,
    primary key (model_oid, observed_at)
);
create table if not exists raw.quarantine (
    source varchar not null,           -- which stream or file the record came from
    record_key varchar,                -- its id when one could be read
    reason varchar not null,
    payload varchar,                   -- the raw record, verbatim
    quarantined_at timestamp not null
);
create table if not exists raw.ingest_state (
    stream varchar primary key,
    watermark timestamp,
    cursor varchar,
    updated_at timestamp not null
);
-- An in-progress listing: when it started, where it stops, its running counts.
alter table raw.ingest_state add column if not exists started_at timestamp;
alter table raw.ingest_state add column if not exists stop_before timestamp;
alter table raw.ingest_state add column if not exists progress json;
-- The current version's key (as in raw.hub_model_versions), for card fetches.
alter table raw.hub_models add column if not exists version_key varchar;
-- md5 of the payload text: whether a listed payload changed, without reading the stored one.
alter table raw.hub_models add column if not exists payload_hash varchar;
update raw.hub_models set payload_hash = md5(payload::varchar) where payload_hash is null;
create table if not exists raw.hub_model_names (
    model_oid varchar not null,        -- every repo id a model has been seen under (renames)
    model_id varchar not null,
    first_seen_at timestamp not null,
    primary key (model_oid, model_id)
);
create table if not exists raw.hub_sweep_seen (
    model_oid varchar primary key,     -- scratch: models seen by the sweep in progress
    model_id varchar not null
);
create table if not exists raw.hub_sweeps (
    started_at timestamp primary key,  -- one row per completed deletion sweep
    finished_at timestamp not null,
    models_seen bigint not null,
    marked_deleted bigint not null,
    renamed bigint not null,
    restored bigint not null
);
-- Why a sweep marked nothing deleted (too many unconfirmed candidates); null when applied.
alter table raw.hub_sweeps add column if not exists refused varchar;
-- Listed or imported models not yet merged into the tables above (see `merge_staged`).
create sequence if not exists raw.hub_models_staged_seq;
create table if not exists raw.hub_models_staged (
    seq bigint not null,               -- arrival order: a model's last staged row wins
    model_oid varchar not null,
    model_id varchar not null,
    sha varchar,
    version_key varchar not null,
    last_modified timestamp,
    created_at timestamp,
    -- uncompressed: rows live until the next merge; zstd would compress and decompress them
    payload json using compression uncompressed not null,
    observed_at timestamp not null
);
"""


def sql_identifier(*parts: str) -> str:
    """A (qualified) identifier, each part double-quoted and escaped: safe in SQL text."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def sql_hash(alias: str, columns: list[str] | None) -> str:
    """`hash()` of the named columns of the row `alias`, or of the whole row (escaped)."""
    if not columns:
        return f"hash({sql_identifier(alias)})"
    return f"hash({', '.join(sql_identifier(alias, column) for column in columns)})"


def sql_string(text: str) -> str:
    """A string literal, escaped, for the statements that take no parameters (COMMENT ON)."""
    return "'" + text.replace("'", "''") + "'"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# DuckDB checkpoints (rewrites tables and primary-key indexes from the WAL) once the WAL
# passes this size; at the default 16 MiB a listing checkpointed every few pages and that
# was a third of its CPU. Commits still go to the WAL first, so a crash loses nothing.
CHECKPOINT_THRESHOLD = "256MiB"


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse file (creating its folder) and close it afterwards."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("set memory_limit = $limit", {"limit": settings().duckdb_memory_limit})
    if not read_only:
        # A setting, not connect(config=...): other connections to the file stay compatible.
        con.execute("set checkpoint_threshold = $size", {"size": CHECKPOINT_THRESHOLD})
    try:
        yield con
    finally:
        con.close()


WRITER_LOCK_TIMEOUT_SECONDS = 4 * 3600


def writer_lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".writer.lock")


def wal_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".wal")


def copy_warehouse(source: Path, destination: Path) -> Path:
    """Copy a closed warehouse file and its write-ahead log, if any, to `destination`.

    A log left beside `destination` by an earlier copy is removed: DuckDB would replay it.
    """
    shutil.copyfile(source, destination)
    wal_path(destination).unlink(missing_ok=True)
    if wal_path(source).exists():
        shutil.copyfile(wal_path(source), wal_path(destination))
    return destination


def remove_warehouse(warehouse: Path) -> None:
    """Delete a warehouse file and its write-ahead log."""
    warehouse.unlink(missing_ok=True)
    wal_path(warehouse).unlink(missing_ok=True)


def acquire_writer_lock(
    warehouse: Path,
    timeout: float = WRITER_LOCK_TIMEOUT_SECONDS,
    on_wait: Callable[[Path], None] | None = None,
) -> IO[str]:
    """Block until this process is the warehouse's only writer; returns the open lock file.

    DuckDB refuses a second writing process at once instead of waiting, so writers queue on
    an advisory `flock` beside the file. The lock is released when the file is closed, also
    when the process dies, so a crashed run never leaves the warehouse locked.
    """
    # The real path: a warehouse reached through a symlink shares the lock of its target.
    path = writer_lock_path(warehouse.resolve())
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    deadline = time.monotonic() + timeout
    waiting = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise TimeoutError(f"{path} stayed locked for {timeout:.0f}s") from None
            if not waiting and on_wait is not None:
                on_wait(path)
            waiting = True
            time.sleep(0.2)
            continue
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return handle


@contextmanager
def read_when_idle(path: Path) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """The warehouse opened read-only while holding the writer lock, or None if a writer has it.

    DuckDB refuses a writer while any other process has the file open, even read-only, so a
    short read (a sensor's probe, `hubgenome status`) takes the writer lock without waiting:
    a run that starts meanwhile waits the few milliseconds on the lock instead of failing.
    """
    lock_path = writer_lock_path(path.resolve())
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        with connect(path, read_only=True) as con:
            yield con


@contextmanager
def connect_writer(
    path: Path,
    on_wait: Callable[[Path], None] | None = None,
    lock_timeout: float = WRITER_LOCK_TIMEOUT_SECONDS,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse opened for writing with `raw` in place, after waiting for other writers."""
    lock = acquire_writer_lock(path, timeout=lock_timeout, on_wait=on_wait)
    try:
        with connect(path) as con:
            ensure_raw_schema(con)
            yield con
    finally:
        lock.close()


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    for schema in WAREHOUSE_SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    con.execute(RAW_DDL)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
