"""Pages fetched and prepared ahead, written in batches: one transaction per batch, in order."""

from __future__ import annotations

import time

import pytest
from ingestion_helpers import (
    client_for,
    open_warehouse,
    source_models,
    stored_models,
)

from ingestion import listing
from ingestion.hub_client import HubClient, Page, listing_cursor
from ingestion.ingest import ingest_models
from ingestion.localhub.server import read_snapshot
from ingestion.stream_state import StreamState, save_state
from ingestion.warehouse import utc_now


def model(oid: str, sha: str, modified: str) -> dict:
    return {
        "_id": oid,
        "id": f"org/{oid}",
        "sha": sha,
        "lastModified": modified,
        "createdAt": "2024-01-01T00:00:00.000Z",
        "tags": ["region:us"],
    }


class ListedPages(HubClient):
    """A Hub serving fixed pages (lists of records), each after `delay` seconds."""

    def __init__(self, pages: list[list[dict]], delay: float = 0.0):
        super().__init__("http://listed-pages")
        self.listed, self.delay = pages, delay

    def fetch_page(self, cursor: str) -> Page:
        index = int(cursor.removeprefix("/page/")) if cursor.startswith("/page/") else 0
        time.sleep(self.delay)
        more = index + 1 < len(self.listed)
        return Page(list(self.listed[index]), f"/page/{index + 1}" if more else None)


class CountingCommits:
    """A connection that counts the commits made through it."""

    def __init__(self, con):
        self._con, self.commits = con, 0

    def execute(self, sql: str, *args, **kwargs):
        self.commits += sql.strip() == "commit"
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def test_a_model_changed_while_listed_keeps_both_versions_within_one_batch(warehouse):
    # The listing moved under model "x": it is on the first page and again, edited, on the
    # second, both pages in one batch (one transaction, one staged write when possible).
    pages = [
        [
            model("x", "a" * 40, "2024-03-01T00:00:00.000Z"),
            model("y", "b" * 40, "2024-02-01T00:00:00.000Z"),
        ],
        [
            model("z", "c" * 40, "2024-01-15T00:00:00.000Z"),
            model("x", "d" * 40, "2024-03-02T00:00:00.000Z"),
        ],
    ]
    with open_warehouse(warehouse) as con:
        counting = CountingCommits(con)
        result = ingest_models(counting, ListedPages(pages))
        current = dict(con.execute("select model_oid, sha from raw.hub_models").fetchall())
        versions = con.execute(
            "select sha from raw.hub_model_versions where model_oid = 'x' order by sha"
        ).fetchall()
    assert counting.commits == 1
    assert (result.pages, result.listed, result.added) == (2, 4, 3)
    assert current == {"x": "d" * 40, "y": "b" * 40, "z": "c" * 40}
    assert versions == [("a" * 40,), ("d" * 40,)]


@pytest.mark.parametrize(("delay", "commits"), [(0.0, 3), (0.06, 12)], ids=["fast-hub", "slow-hub"])
def test_batches_close_at_five_pages_or_after_the_time_limit(
    warehouse, monkeypatch, delay, commits
):
    monkeypatch.setattr(listing, "COMMIT_AFTER_SECONDS", 0.05)
    pages = [
        [
            model(
                f"m{page:02d}{row}", f"{page:02d}{row}".ljust(40, "0"), "2024-01-01T00:00:00.000Z"
            )
            for row in range(3)
        ]
        for page in range(12)
    ]
    with open_warehouse(warehouse) as con:
        counting = CountingCommits(con)
        result = ingest_models(counting, ListedPages(pages, delay=delay))
        (stored,) = con.execute("select count(*) from raw.hub_models").fetchone()
    # 12 pages: batches of 5, 5 and 2 from a fast Hub; a page a batch from a Hub slower than
    # the time limit, so a slow Hub's pages are committed as they come.
    assert counting.commits == commits
    assert (result.pages, stored) == (12, 36)


def test_a_stored_cursor_the_hub_refuses_restarts_the_listing_once(
    local_hub, synthetic_snapshot, warehouse, caplog
):
    # A listing interrupted long ago: the Hub no longer accepts its cursor (400).
    with open_warehouse(warehouse) as con:
        stale = StreamState(
            "models",
            cursor=f"{listing_cursor()}&cursor=bm90IGEgY3Vyc29y",
            started_at=utc_now(),
            progress={"pages": 3},
        )
        save_state(con, stale)
        result = ingest_models(con, client_for(local_hub), page_size=500)
        stored = stored_models(con)
    source = source_models(read_snapshot(synthetic_snapshot))
    assert caplog.text.count("cursor rejected (400); relisting") == 1
    assert result.listed == len(source)
    assert {model_id: row["sha"] for model_id, row in stored.items()} == {
        model_id: model["sha"] for model_id, model in source.items()
    }
