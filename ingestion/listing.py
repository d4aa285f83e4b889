"""The listing engine: walk a Hub listing page by page, resumably, with pages fetched ahead.

A listing walks `GET /api/models` page by page. Pages are written in transactions together
with the cursor of the page after the last of them (`raw.ingest_state`), so a process killed at
any moment resumes exactly where the last commit left off and ends in the same warehouse as an
uninterrupted run. Three listings use this engine: model deltas (`ingestion.ingest`), the
popularity refresh (`ingestion.popularity`) and the deletion sweep (`ingestion.sweep`); each
is a `Listing` that says how to prepare, write and finish its pages.

While a batch of pages is written, the next batches are fetched and prepared (validated,
turned into the tables to write) on a second thread, so the Hub's latency and the Python work
overlap DuckDB's.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime

import duckdb

from ingestion.hub_client import HfHubHTTPError, HubClient, Page, SuspiciousListingError
from ingestion.progress import Progress
from ingestion.stream_state import StreamState, read_state, save_state
from ingestion.warehouse import utc_now

PAGES_PER_COMMIT = 5
COMMIT_AFTER_SECONDS = 1.0
BATCHES_AHEAD = 3
REPEATED_CURSOR_ATTEMPTS = 3


class Listing:
    """One kind of listing: where it starts, and what its pages become in the warehouse.

    Subclasses set `stream` (its row in `raw.ingest_state`) and `first_cursor`, and override
    `write`; the other steps default to doing nothing. State a listing keeps across pages
    lives on the instance.
    """

    stream: str
    first_cursor: str

    def start(self, state: StreamState) -> None:
        """A new listing begins (not called when a stored one resumes)."""

    def prepare(self, items: list, state: StreamState) -> tuple[object, bool]:
        """(the page ready to write, whether it ends the listing). Runs on the fetching
        thread, ahead of the writes, so it must not touch the warehouse."""
        return items, False

    def write(self, prepared: list, state: StreamState, now: datetime) -> dict[str, int]:
        """Write a batch of consecutive prepared pages, in the batch's transaction; returns
        counts to add to `state.progress`."""
        raise NotImplementedError

    def finish(self, state: StreamState, now: datetime) -> dict[str, int]:
        """The listing ended; runs in its last batch's transaction."""
        return {}

    def fraction_done(self, items: list, state: StreamState) -> float | None:
        """The share of the listing done after `items`, when it can be told (for the ETA)."""
        return None


@dataclass
class PageBatch:
    """Consecutive pages of a listing, prepared, to be written in one transaction.

    `next_cursor` is the cursor after the last page; `error` what stopped the fetching after
    these pages (raised once they are written).
    """

    pages: list[Page]
    prepared: list
    next_cursor: str | None
    last: bool
    error: BaseException | None = None

    @property
    def items(self) -> list:
        return [item for page in self.pages for item in page.items]


class PageAhead:
    """Fetches and prepares batches of pages on one background thread, ahead of the writes.

    A batch closes after `PAGES_PER_COMMIT` pages, or once `COMMIT_AFTER_SECONDS` have passed
    since its first request (a Hub slower than that commits page by page), or at the listing's
    last page. A commit costs a WAL flush, and every DuckDB call of the writing thread waits to
    take the GIL back from this one: one write per batch instead of one per page.

    `start(cursor)` starts the batches from a cursor; they follow one another until the last
    page or a failure, at most `BATCHES_AHEAD` waiting (the thread keeps working while a merge
    runs). `result()` returns the next batch; a fetch or preparation that fails ends its batch
    with the error, and nothing is fetched after it until `start` is called again. Leaving the
    block stops at the request in flight and waits for it, so no request outlives the listing.
    """

    def __init__(self, client: HubClient, state: StreamState, listing: Listing):
        self.client, self.state, self.listing = client, state, listing
        self.cursors: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.batches: queue.Queue[PageBatch] = queue.Queue(maxsize=BATCHES_AHEAD)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="hub-page-ahead", daemon=True)
        self.seen_cursors: set[str] = set()

    def __enter__(self) -> PageAhead:
        self.thread.start()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.stopping.set()
        self.cursors.put(None)
        while self.thread.is_alive():  # room for a batch the thread may be waiting to queue
            with suppress(queue.Empty):
                self.batches.get_nowait()
            self.thread.join(timeout=0.01)

    def start(self, cursor: str) -> None:
        self.cursors.put(cursor)

    def result(self) -> PageBatch:
        return self.batches.get()

    def _serve(self) -> None:
        while (cursor := self.cursors.get()) is not None:
            self.seen_cursors.clear()  # a listing (re)started: its own cursors from here
            while cursor is not None and not self.stopping.is_set():
                batch = self._batch_from(cursor)
                self.batches.put(batch)
                cursor = None if batch.last or batch.error else batch.next_cursor

    def _batch_from(self, cursor: str) -> PageBatch:
        batch = PageBatch([], [], cursor, last=False)
        opened_at = time.monotonic()
        try:
            while (
                not batch.last
                and len(batch.pages) < PAGES_PER_COMMIT
                and time.monotonic() - opened_at < COMMIT_AFTER_SECONDS
                and not self.stopping.is_set()
            ):
                page = self._fetch(batch.next_cursor)
                prepared, last = self.listing.prepare(page.items, self.state)
                batch.pages.append(page)
                batch.prepared.append(prepared)
                batch.next_cursor = page.next_cursor
                batch.last = last or page.next_cursor is None
        except BaseException as error:  # handed to the writing thread, after the pages before it
            batch.error = error
        return batch

    def _fetch(self, cursor: str) -> Page:
        """A page whose next cursor this listing has not met before: a cursor met again
        would loop, so the page is fetched again, then the listing stops (`cursor` stays)."""
        self.seen_cursors.add(cursor)
        for _ in range(REPEATED_CURSOR_ATTEMPTS):
            page = self.client.fetch_page(cursor)
            if page.next_cursor is None or page.next_cursor not in self.seen_cursors:
                return page
        raise SuspiciousListingError(
            f"the Hub's next link after {cursor[:200]} repeats an earlier page of this "
            f"listing ({REPEATED_CURSOR_ATTEMPTS} attempts); the listing did not provably end, "
            "so nothing was taken as done: the next run resumes from the last committed cursor"
        )


# While a batch is written, the thread preparing the next one holds the GIL in long Python
# stretches; each DuckDB call of the writing thread then waits up to the switch interval
# (5 ms by default) to take it back. A listing shortens it.
LISTING_SWITCH_INTERVAL = 0.0001


@contextmanager
def quick_thread_switches() -> Iterator[None]:
    """The interpreter's thread switch interval set to `LISTING_SWITCH_INTERVAL`, then restored."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(LISTING_SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def follow_listing(
    con: duckdb.DuckDBPyConnection, client: HubClient, listing: Listing, progress: Progress
) -> StreamState:
    """Walk a listing from its stored cursor (or from `first_cursor`), committing page batches.

    Batches of pages are fetched and prepared ahead (`PageAhead`) and written in order, each in
    one transaction with the cursor after it, so a process killed at any moment resumes from
    the last commit. Returns the final state; `state.progress` holds the listing's totals
    across resumptions.
    """
    first_cursor = listing.first_cursor
    state = read_state(con, listing.stream)
    if state.cursor is None:
        state.started_at = utc_now()
        state.cursor = first_cursor
        state.progress = {}
        listing.start(state)
    else:
        progress.log.info(
            f"{progress.label}: resuming the listing started at {state.started_at} "
            f"after {state.progress.get('pages', 0)} committed pages"
        )
    restarted = False
    with quick_thread_switches(), PageAhead(client, state, listing) as ahead:
        ahead.start(state.cursor)
        while state.cursor is not None:
            batch = ahead.result()
            if batch.pages:
                write_batch(con, state, batch, listing)
                progress.update(
                    len(batch.items), listing.fraction_done(batch.items, state), len(batch.pages)
                )
            if batch.error is None:
                continue
            # A stored cursor the Hub no longer accepts: list again from the top, once.
            status = _rejected_cursor_status(batch.error)
            if status is None or restarted or state.cursor == first_cursor:
                raise batch.error
            progress.log.warning(f"{progress.label}: cursor rejected ({status}); relisting")
            state.cursor, restarted = first_cursor, True
            ahead.start(state.cursor)
    progress.finish()
    return state


def _rejected_cursor_status(error: BaseException) -> int | None:
    """The status of a Hub answer refusing a request's cursor (400/404/422), else None."""
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        status = error.response.status_code
        return status if status in (400, 404, 422) else None
    return None


def write_batch(
    con: duckdb.DuckDBPyConnection,
    state: StreamState,
    batch: PageBatch,
    listing: Listing,
) -> None:
    """Write a batch and the stream state after it in one transaction (finishing the stream
    with its last page); a failure rolls the whole batch back."""
    now = utc_now()
    con.execute("begin transaction")
    try:
        counts = listing.write(batch.prepared, state, now)
        counts["pages"] = len(batch.pages)
        counts["listed"] = len(batch.items)
        if batch.last:
            state.cursor = None
            accumulate(state.progress, counts)
            accumulate(state.progress, listing.finish(state, now))
            state.started_at = None
            state.stop_before = None
        else:
            state.cursor = batch.next_cursor
            accumulate(state.progress, counts)
        save_state(con, state)
    except BaseException:
        with suppress(duckdb.Error):  # a broken connection: the error raised says why
            con.execute("rollback")
        raise
    con.execute("commit")


def accumulate(totals: dict, counts: dict[str, int]) -> None:
    for key, value in counts.items():
        totals[key] = totals.get(key, 0) + value
