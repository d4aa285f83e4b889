"""Incremental, resumable listing of the Hub into `raw`.

A listing walks `GET /api/models` page by page. Pages are written in transactions together
with the cursor of the page after the last of them (`raw.ingest_state`), so a process killed at
any moment resumes exactly where the last commit left off and ends in the same warehouse as an
uninterrupted run. Three listings share this engine: model deltas (this module), the
popularity refresh (`ingestion.popularity`) and the deletion sweep (`ingestion.sweep`).

While a page is written, the next one is fetched and prepared (validated, turned into the
table to write) on a second thread, so the Hub's latency and the Python work overlap DuckDB's.

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

# prepare(items, state) -> (the page ready to write, whether it ends the listing); runs on the
# fetching thread, one page ahead of the writes, so it must not touch the warehouse
PagePreparer = Callable[[list, StreamState], tuple[object, bool]]
# write(prepared, state, now) -> counts to add to state.progress; in the page's transaction
PageWriter = Callable[[object, StreamState, datetime], dict[str, int]]
# finish(state, now) -> counts to add to state.progress; runs in the last page's transaction
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


class PageBatch:
    """Consecutive pages in one transaction, each page with the cursor after it.

    A commit costs a WAL flush, so pages from a fast Hub share one: it commits after
    `PAGES_PER_COMMIT` pages or `COMMIT_AFTER_SECONDS` (a slow Hub commits page by page) and
    when the block ends, done or failed. A kill loses at most the open transaction's pages,
    which the rerun lists again from the committed cursor.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.pages = 0
        self.opened_at: float | None = None

    def __enter__(self) -> PageBatch:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            self.commit()  # also when a request failed: the pages written so far stay
        except duckdb.Error:
            if exc is None:
                raise
            # The connection failed with the error already on its way up; it says why.

    @contextmanager
    def page(self) -> Iterator[None]:
        """Write one page; a failure rolls the open transaction back, pages before it too."""
        if self.opened_at is None:
            self.con.execute("begin transaction")
            self.opened_at = time.monotonic()
        try:
            yield
        except BaseException:
            self.opened_at, self.pages = None, 0
            with suppress(duckdb.Error):  # a broken connection: the error raised says why
                self.con.execute("rollback")
            raise
        self.pages += 1
        if (
            self.pages >= PAGES_PER_COMMIT
            or time.monotonic() - self.opened_at >= COMMIT_AFTER_SECONDS
        ):
            self.commit()

    def commit(self) -> None:
        if self.opened_at is not None:
            self.opened_at, self.pages = None, 0  # a failed commit is not tried again
            self.con.execute("commit")


def keep_items(items: list, state: StreamState) -> tuple[list, bool]:
    """The default `PagePreparer`: the items as listed; the listing ends with its last page."""
    return items, False


class PageAhead:
    """Fetches and prepares pages on one background thread, while the writing thread writes.

    `start(cursor)` asks for a page; `result()` returns the oldest one asked for, or raises
    what fetching or preparing it raised. Leaving the block lets a fetch in flight finish, so
    no request outlives the listing.
    """

    def __init__(self, client: HubClient, state: StreamState, prepare: PagePreparer):
        self.client, self.state, self.prepare = client, state, prepare
        self.cursors: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.outcomes: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name="hub-page-ahead", daemon=True)

    def __enter__(self) -> PageAhead:
        self.thread.start()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.cursors.put(None)
        self.thread.join()

    def _serve(self) -> None:
        while (cursor := self.cursors.get()) is not None:
            try:
                page = self.client.fetch_page(cursor)
                outcome = (page, *self.prepare(page.items, self.state))
            except BaseException as error:  # handed to the writing thread, which raises it
                outcome = error
            self.outcomes.put(outcome)

    def start(self, cursor: str) -> None:
        self.cursors.put(cursor)

    def result(self) -> tuple[Page, object, bool]:
        outcome = self.outcomes.get()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


# While a page is written, the thread preparing the next one holds the GIL in long Python
# stretches; each DuckDB call of the writing thread then waits up to the switch interval
# (5 ms by default) to take it back, about a dozen times a page. A listing shortens it.
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

    Each page is fetched and prepared one page ahead (`PageAhead`) and written in order with
    the cursor after it. Returns the final state; `state.progress` holds the listing's totals
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
    with (
        quick_thread_switches(),
        PageAhead(client, state, prepare) as ahead,
        PageBatch(con) as batch,
    ):
        ahead.start(state.cursor)
        while state.cursor is not None:
            try:
                page, prepared, last = ahead.result()
            except HfHubHTTPError as error:
                # A stored cursor the Hub no longer accepts: list again from the top, once.
                status = error.response.status_code if error.response is not None else None
                if restarted or state.cursor == first_cursor or status not in (400, 404, 422):
                    raise
                progress.log.warning(f"{progress.label}: cursor rejected ({status}); relisting")
                state.cursor, restarted = first_cursor, True
                ahead.start(state.cursor)
                continue
            last = last or page.next_cursor is None
            if not last:
                ahead.start(page.next_cursor)
            now = utc_now()
            with batch.page():
                write_listed_page(con, state, page, prepared, last, write, finish, now)
            progress.update(len(page.items), fraction_done(page.items, state))
    progress.finish()
    return state


def write_listed_page(
    con: duckdb.DuckDBPyConnection,
    state: StreamState,
    page: Page,
    prepared: object,
    last: bool,
    write: PageWriter,
    finish: Finisher,
    now: datetime,
) -> None:
    """Write one page and the stream state after it (finishing the stream on its last page)."""
    counts = write(prepared, state, now)
    counts["pages"] = 1
    counts["listed"] = len(page.items)
    if last:
        state.cursor = None
        _accumulate(state.progress, counts)
        _accumulate(state.progress, finish(state, now))
        state.started_at = None
        state.stop_before = None
    else:
        state.cursor = page.next_cursor
        _accumulate(state.progress, counts)
    save_state(con, state)


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

    def write(prepared, state: StreamState, now: datetime) -> dict[str, int]:
        table, rejects = prepared
        counts = write_page(con, table, now, adopt)
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
