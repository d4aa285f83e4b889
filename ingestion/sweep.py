"""The deletion sweep: a cheap listing of every model id, then deletions and renames.

Pages of `(_id, id)` go to the scratch table `raw.hub_sweep_seen`, committed with the
cursor like any listing. The listing is sorted by `createdAt`, a key no commit changes: the
Hub's cursor is a keyset, and in a listing by `lastModified` every model committed while the
sweep runs would move ahead of the cursor and look deleted. When the listing completes (and
only then), in the same transaction as its last page: models listed under a new repo id are
renamed (the `_id` is stable), models seen again after a deletion are restored, and the
models the Hub no longer lists get `deleted_at` (history is never erased), except:

- a model a delta listed after the sweep started is live (reconciled with the changes
  made meanwhile);
- when there are few candidates (`CONFIRM_LOOKUPS`), each is looked up directly and only
  the ones the Hub confirms gone are marked;
- more candidates than `max_deleted_share` (default 1%) of the active models: nothing is
  marked (`SuspiciousSweepError`), and the refusal is logged in `raw.hub_sweeps` with why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from ingestion.hub_client import HubClient, listing_cursor, with_page_size
from ingestion.listing import Listing, follow_listing
from ingestion.progress import Progress
from ingestion.raw_writes import adopt_placeholders, rename_models
from ingestion.records import listed_key
from ingestion.stream_state import StreamState, read_state, save_state
from ingestion.warehouse import transaction, utc_now

log = logging.getLogger(__name__)

SWEEP_STREAM = "sweep"
SWEEP_FIELDS = ["sha"]  # the smallest expansion: the list API then returns `_id`, `id`, `sha`
SWEEP_SORT = "createdAt"  # no commit moves a model in this order (renames neither)
MAX_DELETED_SHARE = 0.01
CONFIRM_LOOKUPS = 100  # up to this many candidates, each is confirmed by a direct lookup


class SuspiciousSweepError(RuntimeError):
    """The sweep would mark too many models deleted; no deletion was marked."""

    def __init__(self, message: str, candidates: int, active: int):
        super().__init__(message)
        self.candidates, self.active = candidates, active


@dataclass
class SweepResult:
    pages: int
    seen: int
    deleted: int
    renamed: int
    restored: int
    seconds: float
    kept_live: int = 0  # candidates a direct lookup or a later delta showed live


def refuse_mass_deletion(doomed: int, active: int, max_share: float) -> None:
    if doomed > max_share * active:
        raise SuspiciousSweepError(
            f"the sweep saw too few models: it would mark {doomed:,} of {active:,} active "
            f"models deleted (more than {max_share:.0%}, too many to confirm one by one); "
            "nothing was marked. Check the Hub listing, or pass a higher max_deleted_share "
            "if this is real.",
            doomed,
            active,
        )


class DeletionSweep(Listing):
    """Every model id the Hub lists, into `raw.hub_sweep_seen`; deletions and renames at the end."""

    stream = SWEEP_STREAM

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        client: HubClient,
        page_size: int | None,
        max_deleted_share: float,
    ):
        self.con, self.client = con, client
        self.first_cursor = with_page_size(
            listing_cursor(sort=SWEEP_SORT, expand=SWEEP_FIELDS), page_size
        )
        self.max_deleted_share = max_deleted_share
        self.kept_live = 0

    def start(self, state: StreamState) -> None:
        self.con.execute("delete from raw.hub_sweep_seen")

    def prepare(self, items: list, state: StreamState):
        seen = dict(key for key in map(listed_key, items) if key is not None)
        return pd.DataFrame(list(seen.items()), columns=["model_oid", "model_id"]), False

    def write(self, frames: list[pd.DataFrame], state: StreamState, now: datetime):
        # A model listed on two pages of a batch (the listing moved under it): its last counts.
        frame = pd.concat(frames).drop_duplicates("model_oid", keep="last")
        self.con.register("incoming", frame)
        try:
            self.con.execute(
                """
                insert or replace into raw.hub_sweep_seen
                select model_oid, model_id from incoming
                """
            )
        finally:
            self.con.unregister("incoming")
        return {"seen": len(frame)}

    def finish(self, state: StreamState, now: datetime) -> dict[str, int]:
        adopt_placeholders(self.con, "raw.hub_sweep_seen")
        doomed = self._confirmed_deletions(state.started_at)
        renamed = rename_models(self.con, now)
        self.con.execute(
            """
            insert into raw.hub_model_names
            select model_oid, model_id, $now from raw.hub_sweep_seen
            where model_oid in (select model_oid from raw.hub_models)
            on conflict do nothing
            """,
            {"now": now},
        )
        (restored,) = self.con.execute(
            """
            update raw.hub_models as m
            set deleted_at = null, changed_at = $now, observed_at = $now
            from raw.hub_sweep_seen as seen
            where m.model_oid = seen.model_oid and m.deleted_at is not null
            """,
            {"now": now},
        ).fetchone()
        self.con.register("doomed", pd.DataFrame({"model_oid": doomed}, dtype=object))
        try:
            (deleted,) = self.con.execute(
                """
                update raw.hub_models
                set deleted_at = $now, changed_at = $now
                where deleted_at is null and model_oid in (select model_oid from doomed)
                """,
                {"now": now},
            ).fetchone()
        finally:
            self.con.unregister("doomed")
        (seen,) = self.con.execute("select count(*) from raw.hub_sweep_seen").fetchone()
        log_sweep(self.con, state.started_at, now, seen, deleted, renamed, restored)
        self.con.execute("delete from raw.hub_sweep_seen")
        return {"deleted": deleted, "renamed": renamed, "restored": restored}

    def _confirmed_deletions(self, started_at: datetime | None) -> list[str]:
        """The models to mark deleted: not listed, not listed by a delta since the sweep
        started, and (when few) confirmed gone by a direct lookup."""
        rows = self.con.execute(
            """
            select m.model_oid, m.model_id
            from raw.hub_models as m
            left join raw.hub_sweep_seen as seen using (model_oid)
            where m.deleted_at is null and seen.model_oid is null
              and ($started is null or m.observed_at < $started)
            order by m.model_oid
            """,
            {"started": started_at},
        ).fetchall()
        (active,) = self.con.execute(
            "select count(*) from raw.hub_models where deleted_at is null"
        ).fetchone()
        if len(rows) > CONFIRM_LOOKUPS:
            refuse_mass_deletion(len(rows), active, self.max_deleted_share)
            return [oid for oid, _ in rows]
        doomed = [oid for oid, model_id in rows if self._gone(oid, model_id)]
        self.kept_live = len(rows) - len(doomed)
        return doomed

    def _gone(self, oid: str, model_id: str) -> bool:
        """Whether the Hub confirms the model gone; a lookup that fails confirms nothing."""
        try:
            found = self.client.model_info(model_id)
        except Exception as error:  # any failure: keep the model, the next sweep asks again
            log.warning("sweep: could not confirm %s is gone (%s); kept", model_id, error)
            return False
        if found is None:
            return True
        # A placeholder (`id:<repo id>`) has no `_id` to compare: the repo id answers for it.
        return not oid.startswith("id:") and found.get("_id") not in (None, oid)


def log_sweep(
    con: duckdb.DuckDBPyConnection,
    started_at: datetime | None,
    now: datetime,
    seen: int,
    deleted: int,
    renamed: int,
    restored: int,
    refused: str | None = None,
) -> None:
    """One row in `raw.hub_sweeps`: what a finished sweep did, or why it refused."""
    con.execute(
        """
        insert or replace into raw.hub_sweeps
            (started_at, finished_at, models_seen, marked_deleted, renamed, restored, refused)
        values ($started, $now, $seen, $deleted, $renamed, $restored, $refused)
        """,
        {
            "started": started_at or now,
            "now": now,
            "seen": seen,
            "deleted": deleted,
            "renamed": renamed,
            "restored": restored,
            "refused": refused,
        },
    )


def record_refusal(
    con: duckdb.DuckDBPyConnection, refusal: SuspiciousSweepError, now: datetime
) -> None:
    """Log a refused sweep and start the next one from the top (its listing was whole, but
    too little to trust)."""
    with transaction(con):
        state = read_state(con, SWEEP_STREAM)
        (seen,) = con.execute("select count(*) from raw.hub_sweep_seen").fetchone()
        log_sweep(con, state.started_at, now, seen, 0, 0, 0, refused=str(refusal))
        con.execute("delete from raw.hub_sweep_seen")
        state.cursor = state.started_at = state.stop_before = None
        save_state(con, state)


def sweep_deletions(
    con: duckdb.DuckDBPyConnection,
    client: HubClient,
    *,
    page_size: int | None = None,
    max_deleted_share: float = MAX_DELETED_SHARE,
    logger: logging.Logger = log,
) -> SweepResult:
    """List every model id; mark deletions and renames in `raw.hub_models`.

    Raises `SuspiciousSweepError` (after logging the refusal) when it would delete too many.
    """
    sweep = DeletionSweep(con, client, page_size, max_deleted_share)
    progress = Progress(logger, "deletion sweep")
    try:
        totals = follow_listing(con, client, sweep, progress).progress
    except SuspiciousSweepError as refusal:
        record_refusal(con, refusal, utc_now())
        raise
    return SweepResult(
        pages=totals.get("pages", 0),
        seen=totals.get("seen", 0),
        deleted=totals.get("deleted", 0),
        renamed=totals.get("renamed", 0),
        restored=totals.get("restored", 0),
        seconds=progress.elapsed,
        kept_live=sweep.kept_live,
    )
