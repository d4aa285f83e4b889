"""Writing Hub payloads into `raw`: the staged merge, renames, placeholders and quarantine.

`raw.hub_models` holds the current state of every model (one row per stable Hub `_id`);
`raw.hub_model_versions` keeps every version ever observed. Pages are appended to
`raw.hub_models_staged` and merged in bulk. Values always travel as parameters or registered
tables, never as SQL text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

import duckdb
import pandas as pd
import pyarrow as pa

from ingestion.records import canonical_json, model_table, renamed_payload
from ingestion.warehouse import transaction, utc_now


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

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "changed": self.changed, "quarantined": self.quarantined}


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
