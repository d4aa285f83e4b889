"""Where each listing stands: its watermark, and the cursor of a listing in progress
(`raw.ingest_state`, one row per stream), saved in the transaction of the pages it follows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb

from ingestion.warehouse import utc_now

MODELS_STREAM = "models"


@dataclass
class StreamState:
    """A row of `raw.ingest_state`: the watermark, and the listing in progress if any."""

    stream: str
    watermark: datetime | None = None
    cursor: str | None = None
    started_at: datetime | None = None
    stop_before: datetime | None = None
    progress: dict = field(default_factory=dict)


def read_state(con: duckdb.DuckDBPyConnection, stream: str) -> StreamState:
    row = con.execute(
        """
        select watermark, cursor, started_at, stop_before, progress
        from raw.ingest_state where stream = $stream
        """,
        {"stream": stream},
    ).fetchone()
    if row is None:
        return StreamState(stream)
    watermark, cursor, started_at, stop_before, progress = row
    return StreamState(
        stream, watermark, cursor, started_at, stop_before, json.loads(progress or "{}")
    )


def save_state(con: duckdb.DuckDBPyConnection, state: StreamState) -> None:
    values = {
        "stream": state.stream,
        "watermark": state.watermark,
        "cursor": state.cursor,
        "now": utc_now(),
        "started_at": state.started_at,
        "stop_before": state.stop_before,
        "progress": json.dumps(state.progress),
    }
    # An update where the row exists: half the cost of `insert or replace`, paid every page.
    (updated,) = con.execute(
        """
        update raw.ingest_state
        set watermark = $watermark, cursor = $cursor, updated_at = $now,
            started_at = $started_at, stop_before = $stop_before, progress = $progress
        where stream = $stream
        """,
        values,
    ).fetchone()
    if not updated:
        con.execute(
            """
            insert into raw.ingest_state
                (stream, watermark, cursor, updated_at, started_at, stop_before, progress)
            values ($stream, $watermark, $cursor, $now, $started_at, $stop_before, $progress)
            """,
            values,
        )


# A `lastModified` further ahead than this is a clock error in the record: as a watermark it
# would make every later delta stop before the real changes.
FUTURE_TOLERANCE = timedelta(days=1)


def newest_last_modified(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest plausible `lastModified` stored (future-dated records are stored, not used)."""
    (watermark,) = con.execute(
        "select max(last_modified) from raw.hub_models where last_modified <= $latest",
        {"latest": utc_now() + FUTURE_TOLERANCE},
    ).fetchone()
    return watermark
