"""The raw layer of the DuckDB warehouse: its tables, and writing Hub payloads into them.

`raw.hub_models` holds the current state of every model (one row per stable Hub `_id`);
`raw.hub_model_versions` keeps every version ever observed. Values always travel as
parameters or registered DataFrames, never as SQL text.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import IO

import duckdb
import orjson
import pandas as pd
import pyarrow as pa

from ingestion.config import duckdb_memory_limit
from ingestion.records import parse_hub_time

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
    status varchar not null,           -- ok | missing (404: no card) | failed (retried) | denied
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
    con.execute("set memory_limit = $limit", {"limit": duckdb_memory_limit()})
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
    path = writer_lock_path(warehouse)
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
def connect_writer(
    path: Path, on_wait: Callable[[Path], None] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse opened for writing with `raw` in place, after waiting for other writers."""
    lock = acquire_writer_lock(path, on_wait=on_wait)
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


def model_oid(payload: dict) -> str:
    """The stable key of a model: the Hub `_id`, or its repo id when the source lacks one."""
    return payload.get("_id") or f"id:{payload['id']}"


# orjson writes floats below 1e-4 as `0.00001` or `1.5e-6` where the standard library writes
# `1e-05`; a payload whose text shows either form takes the standard library's path, so stored
# texts (compared for change detection, hashed into version keys) stay as they always were.
def _may_differ_from_stdlib(text: bytes) -> bool:
    if b"0.0000" in text:
        return True
    at = text.find(b"e-")  # a find loop: a regex for `[0-9]e-[0-9]` costs more than orjson
    while at != -1:
        if text[at - 1 : at].isdigit() and text[at + 2 : at + 3].isdigit():
            return True
        at = text.find(b"e-", at + 2)
    return False


def canonical_json(value: object) -> str:
    """Compact JSON with sorted keys, as `json.dumps(sort_keys=True, ensure_ascii=False)`."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits, lone surrogates
        text = None
    if text is None or _may_differ_from_stdlib(text):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.decode()


def version_key(payload: dict, text: str) -> str:
    """The sha, or a hash of the payload text when the source has no sha."""
    return payload.get("sha") or hashlib.md5(text.encode()).hexdigest()


MODEL_SCHEMA = pa.schema(
    [
        ("model_oid", pa.string()),
        ("model_id", pa.string()),
        ("sha", pa.string()),
        ("version_key", pa.string()),
        # Microseconds, not nanoseconds: those end in 2262 and a Hub record dated 2999 would
        # crash the listing on every rerun.
        ("last_modified", pa.timestamp("us")),
        ("created_at", pa.timestamp("us")),
        # Arrow's JSON type arrives as DuckDB JSON without a second validating parse.
        ("payload", pa.json_()),
    ]
)


def model_table(payloads: Iterable[dict]) -> pa.Table:
    """One row per model (the last occurrence wins, as a later page would), built column-wise."""
    latest = {}
    for payload in payloads:
        latest[model_oid(payload)] = payload
    models = list(latest.values())
    texts = [canonical_json(payload) for payload in models]
    columns = [
        list(latest),
        [payload["id"] for payload in models],
        [payload.get("sha") for payload in models],
        [version_key(payload, text) for payload, text in zip(models, texts, strict=True)],
        [parse_hub_time(payload.get("lastModified")) for payload in models],
        [parse_hub_time(payload.get("createdAt")) for payload in models],
        texts,
    ]
    return pa.Table.from_arrays(
        [pa.array(c, type) for c, type in zip(columns, MODEL_SCHEMA.types, strict=True)],
        schema=MODEL_SCHEMA,
    )


@dataclass
class WriteCounts:
    """What one write did to `raw`."""

    added: int = 0
    changed: int = 0
    quarantined: int = 0

    def add(self, other: WriteCounts) -> None:
        self.added += other.added
        self.changed += other.changed
        self.quarantined += other.quarantined


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def has_placeholders(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether some models are keyed by `id:<repo id>` (imported from a source without `_id`)."""
    (found,) = con.execute(
        "select count(*) > 0 from raw.hub_models where starts_with(model_oid, 'id:')"
    ).fetchone()
    return bool(found)


def write_models(
    con: duckdb.DuckDBPyConnection,
    payloads: Iterable[dict],
    now: datetime,
    adopt: bool = False,
) -> WriteCounts:
    """Upsert payloads into `raw.hub_models`, append new versions and names, at once.

    Runs inside the caller's transaction; `stage_models` then `merge_staged`. With `adopt`, a
    model imported under `id:<repo id>` takes the real `_id` when the Hub first shows it.
    """
    stage_models(con, model_table(payloads), now)
    return merge_staged(con, adopt)


def stage_models(con: duckdb.DuckDBPyConnection, table: pa.Table, now: datetime) -> int:
    """Append a `model_table` observed at `now` to `raw.hub_models_staged`; returns its rows.

    An append to a table without indexes costs the same however big the warehouse is; the
    indexed tables are written by `merge_staged`, in bulk.
    """
    if table.num_rows == 0:
        return 0
    con.register("incoming", table)
    try:
        con.execute(
            """
            insert into raw.hub_models_staged
            select nextval('raw.hub_models_staged_seq'), model_oid, model_id, sha, version_key,
                   last_modified, created_at, payload, $now
            from incoming
            """,
            {"now": now},
        )
    finally:
        con.unregister("incoming")
    return table.num_rows


def write_page(
    con: duckdb.DuckDBPyConnection, table: pa.Table, now: datetime, adopt: bool = False
) -> WriteCounts:
    """Stage one page (a `model_table`) of a listing or import; merge once `MERGE_EVERY` wait.

    The caller merges what is left when its listing or import ends (`merge_staged`).
    """
    stage_models(con, table, now)
    if staged_rows(con) >= MERGE_EVERY:
        return merge_staged(con, adopt)
    return WriteCounts()


def staged_rows(con: duckdb.DuckDBPyConnection) -> int:
    # fetchall: a result left unfinished makes DuckDB refuse the next `register`
    [(count,)] = con.execute("select count(*) from raw.hub_models_staged").fetchall()
    return count


# Staged rows are merged when this many wait (and when a listing or import ends): a merge
# reads the key columns of the whole warehouse, so merging every page would cost more the
# bigger the warehouse.
MERGE_EVERY = 200_000


def merge_staged(con: duckdb.DuckDBPyConnection, adopt: bool = False) -> WriteCounts:
    """Merge `raw.hub_models_staged` into `raw`, in the caller's transaction, and empty it.

    Set work with hash joins and plain inserts: per-page upserts (`on conflict`) read the
    stored rows they could touch, and with `_id`s arriving scattered (a listing by
    `lastModified`) a page's cost grew with the table, 13 ms at 100k rows to 217 ms at 400k.
    A model's last staged row becomes its current row; a changed row (payload hash, repo id,
    or deleted) is deleted and inserted again with `changed_at` when that payload was first
    staged; every staged version and repo id not yet stored is added, first observation first.
    """
    if staged_rows(con) == 0:
        return WriteCounts()
    con.execute(
        """
        create or replace temp table merge_latest as
        -- Keys first, payloads moved once: carrying them through the grouping cost 3x.
        with keys as materialized (
            select model_oid, seq, observed_at, md5(payload::varchar) as payload_hash
            from raw.hub_models_staged
        ),
        latest as (
            select model_oid, max(seq) as seq,
                   min(observed_at) as first_observed_at, max(observed_at) as observed_at
            from keys
            group by model_oid
        ),
        latest_payload as (
            select model_oid, keys.payload_hash, latest.first_observed_at, latest.observed_at,
                   seq
            from keys
            join latest using (model_oid, seq)
        ),
        payload_since as (
            select model_oid, min(keys.observed_at) as payload_first_observed_at
            from keys
            join latest_payload using (model_oid, payload_hash)
            group by model_oid
        )
        select s.model_oid, s.model_id, s.sha, s.version_key, s.last_modified, s.created_at,
               s.payload, l.payload_hash, l.first_observed_at, l.observed_at,
               since.payload_first_observed_at
        from raw.hub_models_staged as s
        join latest_payload as l using (model_oid, seq)
        join payload_since as since using (model_oid)
        """
    )
    if adopt:
        adopt_placeholders(con, "merge_latest")
    counts = _merge_latest(con)
    # Emptied, not dropped (the next merge replaces them); on failure the caller's
    # rollback removes them.
    con.execute("truncate merge_latest")
    con.execute("truncate merge_matched")
    return counts


def _merge_latest(con: duckdb.DuckDBPyConnection) -> WriteCounts:
    con.execute(
        """
        insert into raw.hub_model_versions
        with first_staged as (
            select model_oid, version_key, min(seq) as seq, min(observed_at) as observed_at
            from raw.hub_models_staged
            group by model_oid, version_key
        )
        select model_oid, version_key, s.model_id, s.sha, s.last_modified, s.payload,
               first_staged.observed_at
        from raw.hub_models_staged as s
        join first_staged using (model_oid, version_key, seq)
        where not exists (
            select 1 from raw.hub_model_versions as v
            where v.model_oid = s.model_oid and v.version_key = s.version_key
        )
        """
    )
    con.execute(
        """
        insert into raw.hub_model_names
        select model_oid, model_id, min(observed_at)
        from raw.hub_models_staged as s
        where not exists (
            select 1 from raw.hub_model_names as n
            where n.model_oid = s.model_oid and n.model_id = s.model_id
        )
        group by model_oid, model_id
        """
    )
    con.execute(
        """
        create or replace temp table merge_matched as
        select m.rowid as row_id, m.model_oid, m.first_seen_at,
               m.payload_hash is distinct from l.payload_hash
                 or m.model_id <> l.model_id
                 or m.deleted_at is not null as changed
        from raw.hub_models as m
        join merge_latest as l using (model_oid)
        """
    )
    [(changed,)] = con.execute(
        "select count(*) filter (where changed) from merge_matched"
    ).fetchall()
    con.execute(
        """
        update raw.hub_models as m set observed_at = l.observed_at
        from merge_matched as x
        join merge_latest as l using (model_oid)
        where m.rowid = x.row_id and not x.changed
        """
    )
    con.execute(
        "delete from raw.hub_models where rowid in (select row_id from merge_matched where changed)"
    )
    [(total,)] = con.execute(
        """
        insert into raw.hub_models (
            model_oid, model_id, sha, last_modified, created_at, payload,
            first_seen_at, changed_at, observed_at, deleted_at, version_key, payload_hash
        )
        select l.model_oid, l.model_id, l.sha, l.last_modified, l.created_at, l.payload,
               coalesce(x.first_seen_at, l.first_observed_at),
               coalesce(l.payload_first_observed_at, l.observed_at), l.observed_at, null,
               l.version_key, l.payload_hash
        from merge_latest as l
        left join merge_matched as x using (model_oid)
        where x.model_oid is null or x.changed
        """
    ).fetchall()
    con.execute("delete from raw.hub_models_staged")
    return WriteCounts(added=total - changed, changed=changed)


def adopt_placeholders(con: duckdb.DuckDBPyConnection, seen: str = "merge_latest") -> int:
    """Re-key models stored as `id:<repo id>` to the Hub `_id` that `seen` shows for that id.

    `seen` names a relation with `model_oid` and `model_id` columns (the merge's
    `merge_latest` or the sweep's scratch table). A model whose real `_id` is already stored
    is left alone.
    """
    if seen not in ("merge_latest", "raw.hub_sweep_seen"):
        raise ValueError(f"unexpected relation {seen}")
    adoptable = f"""
        from {seen} as seen
        where target.model_oid = 'id:' || seen.model_id
          and not starts_with(seen.model_oid, 'id:')
          and seen.model_oid not in (select model_oid from raw.hub_models)
    """
    for table in ("hub_model_versions", "hub_model_names", "hub_card_fetches"):
        con.execute(f"update raw.{table} as target set model_oid = seen.model_oid {adoptable}")
    con.execute(
        f"update raw.hub_model_popularity as target set model_oid = seen.model_oid {adoptable}"
    )
    (adopted,) = con.execute(
        f"update raw.hub_models as target set model_oid = seen.model_oid {adoptable}"
    ).fetchone()
    return adopted


def renamed_payload(payload: dict, new_id: str) -> dict:
    """The payload as the Hub lists it under `new_id`: the name fields follow the rename."""
    renamed = dict(payload, id=new_id)
    if "modelId" in renamed:
        renamed["modelId"] = new_id
    if "author" in renamed:
        renamed["author"] = new_id.split("/", 1)[0] if "/" in new_id else None
    return renamed


def rename_models(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Give every model the sweep saw under a new repo id that id, in its row and payload.

    A rename is no commit (same sha, same `lastModified`), so no delta lists it again; the
    current row follows at once, the stored versions keep the name they were observed under.
    """
    rows = con.execute(
        """
        select m.model_oid, seen.model_id, m.payload
        from raw.hub_models as m
        join raw.hub_sweep_seen as seen using (model_oid)
        where m.model_id <> seen.model_id
        """
    ).fetchall()
    if not rows:
        return 0
    renames = pa.table(
        {
            "model_oid": [oid for oid, _, _ in rows],
            "model_id": [new_id for _, new_id, _ in rows],
            "payload": pa.array(
                [
                    canonical_json(renamed_payload(json.loads(payload), new_id))
                    for _, new_id, payload in rows
                ],
                pa.json_(),
            ),
        }
    )
    con.register("renames", renames)
    try:
        con.execute(
            """
            update raw.hub_models as m
            set model_id = renames.model_id, payload = renames.payload, changed_at = $now,
                payload_hash = md5(renames.payload::varchar)
            from renames
            where m.model_oid = renames.model_oid
            """,
            {"now": now},
        )
    finally:
        con.unregister("renames")
    return len(rows)


def write_quarantine(
    con: duckdb.DuckDBPyConnection,
    source: str,
    rejects: list[tuple[str | None, str, str]],
    now: datetime,
) -> int:
    """Keep rejected records (key, reason, verbatim payload); a record already kept is skipped."""
    if not rejects:
        return 0
    frame = pd.DataFrame(rejects, columns=["record_key", "reason", "payload"])
    con.register("rejects", frame)
    try:
        con.execute(
            """
            insert into raw.quarantine
            select distinct $source, record_key, reason, payload, $now from rejects
            where not exists (
                select 1 from raw.quarantine as kept
                where kept.source = $source
                  and kept.record_key is not distinct from rejects.record_key
                  and kept.payload is not distinct from rejects.payload
            )
            """,
            {"source": source, "now": now},
        )
    finally:
        con.unregister("rejects")
    return len(rejects)


def store_models(
    con: duckdb.DuckDBPyConnection, payloads: Iterable[dict], batch_size: int = 1000
) -> int:
    """Stage already-valid payloads batch by batch, then merge them; returns rows written."""
    written = 0
    adopt = has_placeholders(con)
    iterator = iter(payloads)
    while batch := list(islice(iterator, batch_size)):
        with transaction(con):
            written += stage_models(con, model_table(batch), utc_now())
    with transaction(con):
        merge_staged(con, adopt)
    return written


@dataclass
class StreamState:
    """A row of `raw.ingest_state`: the watermark, and the listing in progress if any."""

    stream: str
    watermark: datetime | None = None
    cursor: str | None = None
    started_at: datetime | None = None
    stop_before: datetime | None = None
    progress: dict = field(default_factory=dict)


def read_state(con: duckdb.DuckDBPyConnection, stream: str) -> StreamState:
    row = con.execute(
        """
        select watermark, cursor, started_at, stop_before, progress
        from raw.ingest_state where stream = $stream
        """,
        {"stream": stream},
    ).fetchone()
    if row is None:
        return StreamState(stream)
    watermark, cursor, started_at, stop_before, progress = row
    return StreamState(
        stream, watermark, cursor, started_at, stop_before, json.loads(progress or "{}")
    )


def save_state(con: duckdb.DuckDBPyConnection, state: StreamState) -> None:
    values = {
        "stream": state.stream,
        "watermark": state.watermark,
        "cursor": state.cursor,
        "now": utc_now(),
        "started_at": state.started_at,
        "stop_before": state.stop_before,
        "progress": json.dumps(state.progress),
    }
    # An update where the row exists: half the cost of `insert or replace`, paid every page.
    (updated,) = con.execute(
        """
        update raw.ingest_state
        set watermark = $watermark, cursor = $cursor, updated_at = $now,
            started_at = $started_at, stop_before = $stop_before, progress = $progress
        where stream = $stream
        """,
        values,
    ).fetchone()
    if not updated:
        con.execute(
            """
            insert into raw.ingest_state
                (stream, watermark, cursor, updated_at, started_at, stop_before, progress)
            values ($stream, $watermark, $cursor, $now, $started_at, $stop_before, $progress)
            """,
            values,
        )


# A `lastModified` further ahead than this is a clock error in the record: as a watermark it
# would make every later delta stop before the real changes.
FUTURE_TOLERANCE = timedelta(days=1)


def newest_last_modified(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest plausible `lastModified` stored (future-dated records are stored, not used)."""
    (watermark,) = con.execute(
        "select max(last_modified) from raw.hub_models where last_modified <= $latest",
        {"latest": utc_now() + FUTURE_TOLERANCE},
    ).fetchone()
    return watermark
