"""Downloads and likes as a time series: they change without `lastModified` moving.

A refresh lists every model with only `downloads` and `likes` expanded and appends a row to
`raw.hub_model_popularity` for each model whose counts differ from its latest recorded
ones (a change-only series; the first observation of a model is always kept). All rows of
one refresh share its start time, so a refresh resumed after a crash is indistinguishable
from an uninterrupted one.
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
from ingestion.records import listed_key
from ingestion.stream_state import StreamState

log = logging.getLogger(__name__)

POPULARITY_STREAM = "popularity"
POPULARITY_FIELDS = ["downloads", "likes"]


@dataclass
class PopularityResult:
    pages: int
    listed: int
    recorded: int
    observed_at: datetime | None
    seconds: float


def _count(value) -> int | None:
    """A count that fits the table's 64 bits, else None (the delta quarantines the record)."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value
    return None


def popularity_frame(items: list) -> pd.DataFrame:
    rows = {}
    for item in items:
        key = listed_key(item)
        if key is not None:
            rows[key[0]] = (_count(item.get("downloads")), _count(item.get("likes")))
    frame = pd.DataFrame(
        [(oid, downloads, likes) for oid, (downloads, likes) in rows.items()],
        columns=["model_oid", "downloads", "likes"],
    )
    return frame.astype({"downloads": "Int64", "likes": "Int64"})


class PopularityRefresh(Listing):
    """Every model's downloads and likes; a row only where they changed."""

    stream = POPULARITY_STREAM

    def __init__(self, con: duckdb.DuckDBPyConnection, page_size: int | None):
        self.con = con
        # By `createdAt`: a commit during the refresh moves no model past the keyset cursor.
        self.first_cursor = with_page_size(
            listing_cursor(sort="createdAt", expand=POPULARITY_FIELDS), page_size
        )
        self.observed_at: datetime | None = None

    def prepare(self, items: list, state: StreamState):
        return popularity_frame(items), False

    def write(self, frames: list[pd.DataFrame], state: StreamState, now: datetime):
        self.observed_at = state.started_at
        # A model listed on two pages of a batch (the listing moved under it) is recorded once,
        # as a later batch would find it recorded: its first counts.
        frame = pd.concat(frames).drop_duplicates("model_oid", keep="first")
        self.con.register("incoming", frame)
        try:
            (recorded,) = self.con.execute(
                """
                insert into raw.hub_model_popularity
                select incoming.model_oid, $observed_at, incoming.downloads, incoming.likes
                from incoming
                left join (
                    select model_oid,
                           arg_max(downloads, observed_at) as downloads,
                           arg_max(likes, observed_at) as likes
                    from raw.hub_model_popularity
                    where model_oid in (select model_oid from incoming)
                    group by model_oid
                ) as latest using (model_oid)
                where latest.model_oid is null
                   or latest.downloads is distinct from incoming.downloads
                   or latest.likes is distinct from incoming.likes
                on conflict do nothing
                """,
                {"observed_at": state.started_at},
            ).fetchone()
        finally:
            self.con.unregister("incoming")
        return {"recorded": recorded}


def refresh_popularity(
    con: duckdb.DuckDBPyConnection,
    client: HubClient,
    *,
    page_size: int | None = None,
    logger: logging.Logger = log,
) -> PopularityResult:
    """List downloads and likes of every model; record the ones that changed."""
    refresh = PopularityRefresh(con, page_size)
    progress = Progress(logger, "popularity refresh")
    totals = follow_listing(con, client, refresh, progress).progress
    return PopularityResult(
        pages=totals.get("pages", 0),
        listed=totals.get("listed", 0),
        recorded=totals.get("recorded", 0),
        observed_at=refresh.observed_at,
        seconds=progress.elapsed,
    )
