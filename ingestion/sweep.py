"""The deletion sweep: a cheap listing of every model id, then deletions and renames.

Pages of `(_id, id)` go to the scratch table `raw.hub_sweep_seen`, committed with the
cursor like any listing. When the listing completes, in the same transaction as its last
page: models the Hub no longer lists get `deleted_at` (history is never erased), models
listed under a new repo id are renamed (the `_id` is stable), models seen again after a
deletion are restored, and the sweep is logged in `raw.hub_sweeps`. A sweep that would
delete more than `max_deleted_share` of the models is refused: an empty or truncated
listing must not wipe the warehouse.
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
from ingestion.stream_state import StreamState

log = logging.getLogger(__name__)

SWEEP_STREAM = "sweep"
SWEEP_FIELDS = ["sha"]  # the smallest expansion: the list API then returns `_id`, `id`, `sha`
MAX_DELETED_SHARE = 0.5


class SuspiciousSweepError(RuntimeError):
    """The sweep would mark too many models deleted; nothing was marked."""


@dataclass
class SweepResult:
    pages: int
    seen: int
    deleted: int
    renamed: int
    restored: int
    seconds: float


def refuse_mass_deletion(doomed: int, active: int, max_share: float) -> None:
    if active >= 20 and doomed > max_share * active:
        raise SuspiciousSweepError(
            f"the sweep saw too few models: it would mark {doomed:,} of {active:,} active "
            f"models deleted (more than {max_share:.0%}); nothing was marked. Check the Hub "
            "listing, or pass a higher max_deleted_share if this is real."
        )


class DeletionSweep(Listing):
    """Every model id the Hub lists, into `raw.hub_sweep_seen`; deletions and renames at the end."""

    stream = SWEEP_STREAM

    def __init__(
        self, con: duckdb.DuckDBPyConnection, page_size: int | None, max_deleted_share: float
    ):
        self.con = con
        self.first_cursor = with_page_size(listing_cursor(expand=SWEEP_FIELDS), page_size)
        self.max_deleted_share = max_deleted_share

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
        (doomed, active) = self.con.execute(
            """
            select count(*) filter (where seen.model_oid is null), count(*)
            from raw.hub_models as m
            left join raw.hub_sweep_seen as seen using (model_oid)
            where m.deleted_at is null
            """
        ).fetchone()
        refuse_mass_deletion(doomed, active, self.max_deleted_share)
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
        (deleted,) = self.con.execute(
            """
            update raw.hub_models
            set deleted_at = $now, changed_at = $now
            where deleted_at is null
              and model_oid not in (select model_oid from raw.hub_sweep_seen)
            """,
            {"now": now},
        ).fetchone()
        (seen,) = self.con.execute("select count(*) from raw.hub_sweep_seen").fetchone()
        self.con.execute(
            "insert or replace into raw.hub_sweeps values ($started, $now, $seen, $deleted, "
            "$renamed, $restored)",
            {
                "started": state.started_at,
                "now": now,
                "seen": seen,
                "deleted": deleted,
                "renamed": renamed,
                "restored": restored,
            },
        )
        self.con.execute("delete from raw.hub_sweep_seen")
        return {"deleted": deleted, "renamed": renamed, "restored": restored}


def sweep_deletions(
    con: duckdb.DuckDBPyConnection,
    client: HubClient,
    *,
    page_size: int | None = None,
    max_deleted_share: float = MAX_DELETED_SHARE,
    logger: logging.Logger = log,
) -> SweepResult:
    """List every model id; mark deletions and renames in `raw.hub_models`."""
    sweep = DeletionSweep(con, page_size, max_deleted_share)
    progress = Progress(logger, "deletion sweep")
    totals = follow_listing(con, client, sweep, progress).progress
    return SweepResult(
        pages=totals.get("pages", 0),
        seen=totals.get("seen", 0),
        deleted=totals.get("deleted", 0),
        renamed=totals.get("renamed", 0),
        restored=totals.get("restored", 0),
        seconds=progress.elapsed,
    )
