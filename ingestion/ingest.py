"""Incremental, resumable listing of the Hub into `raw`.

A listing walks `GET /api/models` page by page. Pages are written in transactions together
with the cursor of the page after the last of them (`raw.ingest_state`), so a process killed at
any moment resumes exactly where the last commit left off and ends in the same warehouse as an
uninterrupted run. Three listings share this engine: model deltas (this module), the
popularity refresh (`ingestion.popularity`) and the deletion sweep (`ingestion.sweep`).

While a batch of pages is written, the next batches are fetched and prepared (validated,
turned into the tables to write) on a second thread, so the Hub's latency and the Python work
overlap DuckDB's.

Deltas list newest `lastModified` first and stop at the stored watermark minus an overlap
window (late-indexed commits land inside it); an empty warehouse means a full listing. The
watermark only moves when a listing completes.

Run: `python -m ingestion.ingest models|cards|popularity|sweep [--endpoint URL]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.config import hub_endpoint, warehouse_path
from ingestion.hub_client import (
    HfHubHTTPError,
    HubClient,
    Page,
    listing_cursor,
    with_page_size,
)
from ingestion.progress import Progress
from ingestion.records import parse_hub_time, record_key, record_problem
from ingestion.warehouse import (
    StreamState,
    WriteCounts,
    has_placeholders,
    merge_staged,
    model_oid,
    model_table,
    newest_last_modified,
    read_state,
    save_state,
    transaction,
    utc_now,
    write_page,
    write_quarantine,
)

log = logging.getLogger(__name__)

MODELS_STREAM = "models"
MODELS_SOURCE = "hub:/api/models"
DEFAULT_OVERLAP = timedelta(hours=6)
PAGES_PER_COMMIT = 5
COMMIT_AFTER_SECONDS = 1.0
BATCHES_AHEAD = 3

# prepare(items, state) -> (the page ready to write, whether it ends the listing); runs on the
# fetching thread, ahead of the writes, so it must not touch the warehouse
PagePreparer = Callable[[list, StreamState], tuple[object, bool]]
# write(prepared pages, state, now) -> counts to add to state.progress; one call per batch of
# consecutive pages, in the batch's transaction
PageWriter = Callable[[list, StreamState, datetime], dict[str, int]]
# finish(state, now) -> counts to add to state.progress; runs in the last batch's transaction
Finisher = Callable[[StreamState, datetime], dict[str, int]]


def split_records(items: list) -> tuple[list[dict], list[tuple[str | None, str, str]]]:
    """Valid model records, and (key, reason, verbatim payload) for the others.

    One repo id under two `_id`s in one page cannot both be live on the Hub: the most
    recently modified one is kept, the other quarantined (the marts key models by repo id).
    """
    good, rejects = [], []
    for item in items:
        problem = record_problem(item)
        if problem is None:
            good.append(item)
        else:
            rejects.append((record_key(item), problem, json.dumps(item, ensure_ascii=False)))
    newest: dict[str, dict] = {}
    for item in good:
        kept = newest.get(item["id"])
        if kept is None or _recency(item) >= _recency(kept):
            newest[item["id"]] = item
    if len(newest) == len(good):  # every repo id once: nothing to choose
        return good, rejects
    for item in good:
        kept = newest[item["id"]]
        if model_oid(item) != model_oid(kept):
            reason = f"id: listed twice in one page; kept the newer _id {model_oid(kept)}"
            rejects.append((item["id"], reason, json.dumps(item, ensure_ascii=False)))
    return [item for item in good if model_oid(item) == model_oid(newest[item["id"]])], rejects


def _recency(item: dict) -> tuple[str, str]:
    return (item.get("lastModified") or "", item.get("createdAt") or "")


def keep_items(items: list, state: StreamState) -> tuple[list, bool]:
    """The default `PagePreparer`: the items as listed; the listing ends with its last page."""
    return items, False


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

    def __init__(self, client: HubClient, state: StreamState, prepare: PagePreparer):
        self.client, self.state, self.prepare = client, state, prepare
        self.cursors: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.batches: queue.Queue[PageBatch] = queue.Queue(maxsize=BATCHES_AHEAD)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="hub-page-ahead", daemon=True)

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
                page = self.client.fetch_page(batch.next_cursor)
                prepared, last = self.prepare(page.items, self.state)
                batch.pages.append(page)
                batch.prepared.append(prepared)
                batch.next_cursor = page.next_cursor
                batch.last = last or page.next_cursor is None
        except BaseException as error:  # handed to the writing thread, after the pages before it
            batch.error = error
        return batch


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
    con: duckdb.DuckDBPyConnection,
    client: HubClient,
    stream: str,
    first_cursor: str,
    write: PageWriter,
    finish: Finisher,
    progress: Progress,
    start: Callable[[StreamState], None] = lambda state: None,
    fraction_done: Callable[[list, StreamState], float | None] = lambda items, state: None,
    prepare: PagePreparer = keep_items,
) -> StreamState:
    """Walk a listing from its stored cursor (or from `first_cursor`), committing page batches.

    Batches of pages are fetched and prepared ahead (`PageAhead`) and written in order, each in
    one transaction with the cursor after it, so a process killed at any moment resumes from
    the last commit. Returns the final state; `state.progress` holds the listing's totals
    across resumptions.
    """
    state = read_state(con, stream)
    if state.cursor is None:
        state.started_at = utc_now()
        state.cursor = first_cursor
        state.progress = {}
        start(state)
    else:
        progress.log.info(
            f"{progress.label}: resuming the listing started at {state.started_at} "
            f"after {state.progress.get('pages', 0)} committed pages"
        )
    restarted = False
    with quick_thread_switches(), PageAhead(client, state, prepare) as ahead:
        ahead.start(state.cursor)
        while state.cursor is not None:
            batch = ahead.result()
            if batch.pages:
                write_batch(con, state, batch, write, finish)
                progress.update(
                    len(batch.items), fraction_done(batch.items, state), len(batch.pages)
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
    write: PageWriter,
    finish: Finisher,
) -> None:
    """Write a batch and the stream state after it in one transaction (finishing the stream
    with its last page); a failure rolls the whole batch back."""
    now = utc_now()
    con.execute("begin transaction")
    try:
        counts = write(batch.prepared, state, now)
        counts["pages"] = len(batch.pages)
        counts["listed"] = len(batch.items)
        if batch.last:
            state.cursor = None
            _accumulate(state.progress, counts)
            _accumulate(state.progress, finish(state, now))
            state.started_at = None
            state.stop_before = None
        else:
            state.cursor = batch.next_cursor
            _accumulate(state.progress, counts)
        save_state(con, state)
    except BaseException:
        with suppress(duckdb.Error):  # a broken connection: the error raised says why
            con.execute("rollback")
        raise
    con.execute("commit")


def _accumulate(totals: dict, counts: dict[str, int]) -> None:
    for key, value in counts.items():
        totals[key] = totals.get(key, 0) + value


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


def ingest_models(
    con: duckdb.DuckDBPyConnection,
    client: HubClient,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
    page_size: int | None = None,
    logger: logging.Logger = log,
) -> DeltaResult:
    """List models changed since the watermark (all of them on an empty warehouse)."""
    adopt = has_placeholders(con)
    stop_before: list[datetime | None] = [None]

    def start(state: StreamState) -> None:
        state.stop_before = state.watermark - overlap if state.watermark else None

    def prepare(items: list, state: StreamState):
        good, rejects = split_records(items)
        return (model_table(good), rejects), _older_than(good, state.stop_before)

    def write(pages: list, state: StreamState, now: datetime) -> dict[str, int]:
        tables = [table for table, _ in pages]
        batch = pa.concat_tables(tables)
        counts = WriteCounts()
        if pc.count_distinct(batch["model_oid"]).as_py() == batch.num_rows:
            counts.add(write_page(con, batch, now, adopt))
        else:
            # A model on two pages (it changed while listed): staged page by page, so that
            # both versions are kept and the later page's row is the later one.
            for table in tables:
                counts.add(write_page(con, table, now, adopt))
        rejects = [reject for _, page_rejects in pages for reject in page_rejects]
        counts.quarantined = write_quarantine(con, MODELS_SOURCE, rejects, now)
        stop_before[0] = state.stop_before
        return _as_dict(counts)

    def finish(state: StreamState, now: datetime) -> dict[str, int]:
        counts = _as_dict(merge_staged(con, adopt))
        newest = newest_last_modified(con)
        if state.watermark is None or (newest is not None and newest > state.watermark):
            state.watermark = newest
        return counts

    newest_seen: list[datetime | None] = [None]

    def fraction_done(items: list, state: StreamState) -> float | None:
        if state.stop_before is None:
            return None
        times = [t for t in (_last_modified(item) for item in items) if t is not None]
        if not times:
            return None
        newest_seen[0] = newest_seen[0] or max(times)
        span = (newest_seen[0] - state.stop_before).total_seconds()
        return (newest_seen[0] - min(times)).total_seconds() / span if span > 0 else None

    progress = Progress(logger, "models delta")
    try:
        state = follow_listing(
            con,
            client,
            MODELS_STREAM,
            with_page_size(listing_cursor(), page_size),
            write,
            finish,
            progress,
            start=start,
            fraction_done=fraction_done,
            prepare=prepare,
        )
    except Exception:
        merge_committed_pages(con, adopt)
        raise
    totals = state.progress
    return DeltaResult(
        pages=totals.get("pages", 0),
        listed=totals.get("listed", 0),
        added=totals.get("added", 0),
        changed=totals.get("changed", 0),
        quarantined=totals.get("quarantined", 0),
        watermark=state.watermark,
        stop_before=stop_before[0],
        seconds=progress.elapsed,
    )


def merge_committed_pages(con: duckdb.DuckDBPyConnection, adopt: bool) -> None:
    """Make the pages a failed listing committed visible in `raw.hub_models` at once.

    The rerun resumes from the cursor either way; a killed process leaves them staged
    for its rerun to merge.
    """
    # suppress: a broken connection; the error on its way up says why
    with suppress(duckdb.Error), transaction(con):
        state = read_state(con, MODELS_STREAM)
        _accumulate(state.progress, _as_dict(merge_staged(con, adopt)))
        save_state(con, state)


def _as_dict(counts: WriteCounts) -> dict[str, int]:
    return {"added": counts.added, "changed": counts.changed, "quarantined": counts.quarantined}


def _last_modified(item: dict) -> datetime | None:
    try:
        return parse_hub_time(item.get("lastModified"))
    except (ValueError, TypeError, AttributeError):
        return None


def _older_than(items: list[dict], stop_before: datetime | None) -> bool:
    """Whether the page reached models older than the delta's stopping point."""
    if stop_before is None:
        return False
    return any((_last_modified(item) or datetime.min) < stop_before for item in items)


def log_lock_wait(lock_path: Path) -> None:
    log.info(f"waiting for the warehouse writer lock {lock_path} (another run is writing)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["models", "cards", "popularity", "sweep"])
    parser.add_argument("--endpoint", default=None, help="the Hub (default: HF_ENDPOINT)")
    parser.add_argument("--warehouse", type=Path, default=None)
    parser.add_argument("--page-size", type=int, default=None)
    parser.add_argument(
        "--overlap-hours", type=float, default=DEFAULT_OVERLAP.total_seconds() / 3600
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    import os

    from ingestion.warehouse import connect_writer

    client = HubClient(args.endpoint or hub_endpoint(), os.environ.get("HF_TOKEN") or None)
    with connect_writer(args.warehouse or warehouse_path(), on_wait=log_lock_wait) as con:
        if args.what == "models":
            result = ingest_models(
                con,
                client,
                overlap=timedelta(hours=args.overlap_hours),
                page_size=args.page_size,
            )
        elif args.what == "cards":
            from ingestion.cards import fetch_cards

            result = fetch_cards(con, client)
        elif args.what == "popularity":
            from ingestion.popularity import refresh_popularity

            result = refresh_popularity(con, client, page_size=args.page_size)
        else:
            from ingestion.sweep import sweep_deletions

            result = sweep_deletions(con, client, page_size=args.page_size)
    print(result)


if __name__ == "__main__":
    main()
