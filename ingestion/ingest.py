"""The models delta: list what changed on the Hub since the watermark into `raw`.

Deltas list newest `lastModified` first and stop at the stored watermark minus an overlap
window (late-indexed commits land inside it); an empty warehouse means a full listing. The
watermark only moves when a listing completes. The listing engine (`ingestion.listing`)
commits pages with their cursor, so a killed delta resumes where it stopped.

`python -m ingestion.ingest models|cards|popularity|sweep` is an alias of `hubgenome`'s
subcommands of the same names, kept for scripts that call it.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.hub_client import HubClient, listing_cursor, with_page_size
from ingestion.listing import Listing, accumulate, follow_listing
from ingestion.progress import Progress
from ingestion.raw_writes import (
    WriteCounts,
    has_placeholders,
    merge_staged,
    write_page,
    write_quarantine,
)
from ingestion.records import model_table, parse_hub_time, split_records
from ingestion.stream_state import (
    MODELS_STREAM,
    StreamState,
    newest_last_modified,
    read_state,
    save_state,
)
from ingestion.warehouse import transaction

log = logging.getLogger(__name__)

MODELS_SOURCE = "hub:/api/models"
DEFAULT_OVERLAP = timedelta(hours=6)


@dataclass
class DeltaResult:
    """What one delta listing did, for logs and Dagster metadata."""

    pages: int
    listed: int
    added: int
    changed: int
    quarantined: int
    watermark: datetime | None
    stop_before: datetime | None
    seconds: float

    @property
    def models_per_second(self) -> float:
        return self.listed / self.seconds if self.seconds > 0 else 0.0


class ModelDelta(Listing):
    """The models listing, newest `lastModified` first, back to the watermark minus `overlap`."""

    stream = MODELS_STREAM

    def __init__(self, con: duckdb.DuckDBPyConnection, overlap: timedelta, page_size: int | None):
        self.con = con
        self.overlap = overlap
        self.first_cursor = with_page_size(listing_cursor(), page_size)
        self.adopt = has_placeholders(con)
        self.stop_before: datetime | None = None
        self.newest_seen: datetime | None = None

    def start(self, state: StreamState) -> None:
        state.stop_before = state.watermark - self.overlap if state.watermark else None

    def prepare(self, items: list, state: StreamState):
        good, rejects = split_records(items)
        return (model_table(good), rejects), _older_than(good, state.stop_before)

    def write(self, pages: list, state: StreamState, now: datetime) -> dict[str, int]:
        tables = [table for table, _ in pages]
        batch = pa.concat_tables(tables)
        counts = WriteCounts()
        if pc.count_distinct(batch["model_oid"]).as_py() == batch.num_rows:
            counts.add(write_page(self.con, batch, now, self.adopt))
        else:
            # A model on two pages (it changed while listed): staged page by page, so that
            # both versions are kept and the later page's row is the later one.
            for table in tables:
                counts.add(write_page(self.con, table, now, self.adopt))
        rejects = [reject for _, page_rejects in pages for reject in page_rejects]
        counts.quarantined = write_quarantine(self.con, MODELS_SOURCE, rejects, now)
        self.stop_before = state.stop_before
        return counts.as_dict()

    def finish(self, state: StreamState, now: datetime) -> dict[str, int]:
        counts = merge_staged(self.con, self.adopt).as_dict()
        newest = newest_last_modified(self.con)
        if state.watermark is None or (newest is not None and newest > state.watermark):
            state.watermark = newest
        return counts

    def fraction_done(self, items: list, state: StreamState) -> float | None:
        if state.stop_before is None:
            return None
        times = [t for t in (_last_modified(item) for item in items) if t is not None]
        if not times:
            return None
        self.newest_seen = self.newest_seen or max(times)
        span = (self.newest_seen - state.stop_before).total_seconds()
        return (self.newest_seen - min(times)).total_seconds() / span if span > 0 else None

    def merge_committed_pages(self) -> None:
        """Make the pages a failed listing committed visible in `raw.hub_models` at once.

        The rerun resumes from the cursor either way; a killed process leaves them staged
        for its rerun to merge.
        """
        # suppress: a broken connection; the error on its way up says why
        with suppress(duckdb.Error), transaction(self.con):
            state = read_state(self.con, MODELS_STREAM)
            accumulate(state.progress, merge_staged(self.con, self.adopt).as_dict())
            save_state(self.con, state)


def ingest_models(
    con: duckdb.DuckDBPyConnection,
    client: HubClient,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
    page_size: int | None = None,
    logger: logging.Logger = log,
) -> DeltaResult:
    """List models changed since the watermark (all of them on an empty warehouse)."""
    delta = ModelDelta(con, overlap, page_size)
    progress = Progress(logger, "models delta")
    try:
        state = follow_listing(con, client, delta, progress)
    except Exception:
        delta.merge_committed_pages()
        raise
    totals = state.progress
    return DeltaResult(
        pages=totals.get("pages", 0),
        listed=totals.get("listed", 0),
        added=totals.get("added", 0),
        changed=totals.get("changed", 0),
        quarantined=totals.get("quarantined", 0),
        watermark=state.watermark,
        stop_before=delta.stop_before,
        seconds=progress.elapsed,
    )


def _last_modified(item: dict) -> datetime | None:
    try:
        return parse_hub_time(item.get("lastModified"))
    except (ValueError, TypeError, AttributeError):
        return None


def _older_than(items: list[dict], stop_before: datetime | None) -> bool:
    """Whether the page reached models older than the delta's stopping point. A record
    without a (readable) `lastModified` says nothing about where the listing is."""
    if stop_before is None:
        return False
    times = (_last_modified(item) for item in items if isinstance(item, dict))
    return any(moment is not None and moment < stop_before for moment in times)


if __name__ == "__main__":
    # The alias becomes `python -m ingestion ...` in place (same process, no import of the CLI).
    os.execv(sys.executable, [sys.executable, "-m", "ingestion", *sys.argv[1:]])
