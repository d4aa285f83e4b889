"""The raw layer of the DuckDB warehouse: its tables, and writing Hub payloads into them.

`raw.hub_models` holds the current state of every model (one row per stable Hub `_id`);
`raw.hub_model_versions` keeps every version ever observed. Values always travel as
parameters or registered DataFrames, never as SQL text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import duckdb
import pandas as pd

WAREHOUSE_SCHEMAS = ("raw", "staging", "intermediate", "marts", "analytics")

RAW_DDL = """
create table if not exists raw.hub_models (
    model_oid varchar primary key,   -- the Hub's stable _id (survives renames)
    model_id varchar not null,       -- current repo id
    sha varchar,
    last_modified timestamp,
    created_at timestamp,
    payload json not null,           -- the list-API item as received
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
    payload json not null,
    observed_at timestamp not null,
    primary key (model_oid, version_key)
);
create table if not exists raw.hub_model_cards (
    content_hash varchar primary key,  -- sha256 of the README bytes; each text stored once
    card_text varchar not null,
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
"""


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse file (creating its folder) and close it afterwards."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    for schema in WAREHOUSE_SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    con.execute(RAW_DDL)


def model_oid(payload: dict) -> str:
    """The stable key of a model: the Hub `_id`, or its repo id when the source lacks one."""
    return payload.get("_id") or f"id:{payload['id']}"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


def _rows(payloads: Iterable[dict]) -> pd.DataFrame:
    rows = []
    for payload in payloads:
        text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        rows.append(
            {
                "model_oid": model_oid(payload),
                "model_id": payload["id"],
                "sha": payload.get("sha"),
                "version_key": payload.get("sha") or hashlib.md5(text.encode()).hexdigest(),
                "last_modified": _parse_time(payload.get("lastModified")),
                "created_at": _parse_time(payload.get("createdAt")),
                "payload": text,
            }
        )
    frame = pd.DataFrame(rows)
    # The last occurrence of a model in one batch wins, as a later page would.
    return frame.drop_duplicates("model_oid", keep="last")


def store_models(
    con: duckdb.DuckDBPyConnection, payloads: Iterable[dict], batch_size: int = 1000
) -> int:
    """Upsert payloads into `raw.hub_models` and append new versions; returns rows written."""
    written = 0
    iterator = iter(payloads)
    while batch := list(islice(iterator, batch_size)):
        frame = _rows(batch)
        now = utc_now()
        con.register("incoming", frame)
        try:
            con.execute("begin transaction")
            con.execute(
                """
                insert into raw.hub_model_versions
                select model_oid, version_key, model_id, sha, last_modified,
                       payload::json, $now
                from incoming
                on conflict do nothing
                """,
                {"now": now},
            )
            con.execute(
                """
                insert into raw.hub_models as current
                select model_oid, model_id, sha, last_modified, created_at, payload::json,
                       $now, $now, $now, null
                from incoming
                on conflict (model_oid) do update set
                    model_id = excluded.model_id,
                    sha = excluded.sha,
                    last_modified = excluded.last_modified,
                    created_at = excluded.created_at,
                    payload = excluded.payload,
                    changed_at = case
                        when current.payload is distinct from excluded.payload
                          or current.deleted_at is not null
                        then excluded.changed_at else current.changed_at end,
                    observed_at = excluded.observed_at,
                    deleted_at = null
                """,
                {"now": now},
            )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        finally:
            con.unregister("incoming")
        written += len(frame)
    return written


def set_watermark(con: duckdb.DuckDBPyConnection, stream: str) -> datetime | None:
    """Record the newest `last_modified` in the warehouse as the stream's watermark."""
    (watermark,) = con.execute("select max(last_modified) from raw.hub_models").fetchone()
    con.execute(
        """
        insert or replace into raw.ingest_state (stream, watermark, cursor, updated_at)
        values ($stream, $watermark, null, $now)
        """,
        {"stream": stream, "watermark": watermark, "now": utc_now()},
    )
    return watermark
