"""Model cards: README.md of every new or changed model version, stored once per content hash.

`raw.hub_card_fetches` records one outcome per (model, version): `ok` (with the content hash),
`missing` (the Hub answered 404 for README.md: the model has no card), `denied` (gated,
private or disabled) or `failed` (retried by the next run). `raw.hub_model_cards` holds each
distinct README text once. Fetches run in a bounded thread pool; the main thread alone writes.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa

from ingestion.hub_client import (
    GatedRepoError,
    HfHubHTTPError,
    HubClient,
    HubUnavailableError,
    RepositoryNotFoundError,
)
from ingestion.progress import Progress
from ingestion.warehouse import transaction, utc_now

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
BATCH_SIZE = 200


@dataclass
class CardFetch:
    """One README fetch outcome."""

    model_oid: str
    version_key: str | None  # None: the model's current version in raw.hub_models
    status: str
    text: bytes | None = None
    error: str | None = None


@dataclass
class CardResult:
    """What one card run did, for logs and Dagster metadata."""

    fetched: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    new_texts: int = 0
    seconds: float = 0.0


def fetch_one(client: HubClient, model_oid: str, model_id: str, version_key: str, sha):
    """Fetch one README and classify the outcome; never raises for Hub-side problems."""
    try:
        body = client.readme(model_id, sha)
    except GatedRepoError as error:
        return CardFetch(model_oid, version_key, "denied", error=_short(error))
    except RepositoryNotFoundError as error:
        # Deleted or renamed since the listing: retried until a sweep marks it deleted.
        return CardFetch(model_oid, version_key, "failed", error=_short(error))
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        outcome = "denied" if status in (401, 403, 451) else "failed"
        return CardFetch(model_oid, version_key, outcome, error=_short(error))
    except (HubUnavailableError, OSError) as error:
        return CardFetch(model_oid, version_key, "failed", error=_short(error))
    if body is None:
        return CardFetch(model_oid, version_key, "missing")
    return CardFetch(model_oid, version_key, "ok", text=body)


def _short(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"


def pending_cards(con: duckdb.DuckDBPyConnection, run_started: datetime, limit: int) -> list:
    """Current versions with no card outcome yet, or a failure from an earlier run."""
    return con.execute(
        """
        select m.model_oid, m.model_id, m.version_key, m.sha
        from raw.hub_models as m
        left join raw.hub_card_fetches as f
          on f.model_oid = m.model_oid and f.version_key = m.version_key
        where m.deleted_at is null
          and m.version_key is not null
          and (f.status is null or (f.status = 'failed' and f.fetched_at < $run_started))
        order by m.model_oid
        limit $limit
        """,
        {"run_started": run_started, "limit": limit},
    ).fetchall()


def write_card_fetches(
    con: duckdb.DuckDBPyConnection,
    fetches: list[CardFetch],
    now: datetime,
    in_transaction: bool = False,
) -> int:
    """Store outcomes and new texts; returns how many texts were new.

    Opens its own transaction unless `in_transaction` says the caller holds one.
    """
    texts = {}
    latest = {(fetch.model_oid, fetch.version_key): fetch for fetch in fetches}.values()
    hashes = []
    for fetch in latest:
        content_hash = None
        if fetch.text is not None:
            content_hash = hashlib.sha256(fetch.text).hexdigest()
            texts[content_hash] = fetch.text
        hashes.append(content_hash)
    outcomes = pa.table(
        {
            "model_oid": pa.array([fetch.model_oid for fetch in latest], pa.string()),
            "version_key": pa.array([fetch.version_key for fetch in latest], pa.string()),
            "status": pa.array([fetch.status for fetch in latest], pa.string()),
            "content_hash": pa.array(hashes, pa.string()),
            "error": pa.array([fetch.error for fetch in latest], pa.string()),
        }
    )
    cards = pa.table(
        {
            "content_hash": pa.array(list(texts), pa.string()),
            "card_text": pa.array(
                [body.decode("utf-8", errors="replace") for body in texts.values()], pa.string()
            ),
            "n_bytes": pa.array([len(body) for body in texts.values()], pa.int64()),
        }
    )
    con.register("outcomes", outcomes)
    con.register("cards", cards)
    try:
        with nullcontext() if in_transaction else transaction(con):
            new_texts = len(
                con.execute(
                    """
                    insert into raw.hub_model_cards
                    select content_hash, card_text, n_bytes, $now from cards
                    on conflict do nothing
                    returning content_hash
                    """,
                    {"now": now},
                ).fetchall()
            )
            con.execute(
                """
                insert into raw.hub_card_fetches as previous
                select outcomes.model_oid, coalesce(outcomes.version_key, current.version_key),
                       status, content_hash, error, 1, $now
                from outcomes
                left join raw.hub_models as current using (model_oid)
                on conflict (model_oid, version_key) do update set
                    status = excluded.status,
                    content_hash = excluded.content_hash,
                    error = excluded.error,
                    attempts = previous.attempts + 1,
                    fetched_at = excluded.fetched_at
                """,
                {"now": now},
            )
    finally:
        con.unregister("outcomes")
        con.unregister("cards")
    return new_texts


def fetch_cards(
    con: duckdb.DuckDBPyConnection,
    client: HubClient,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    batch_size: int = BATCH_SIZE,
    logger: logging.Logger = log,
) -> CardResult:
    """Fetch the README of every version that needs one, `concurrency` requests at a time."""
    run_started = utc_now()
    result = CardResult()
    progress = Progress(logger, "model cards")
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="card") as pool:
        while batch := pending_cards(con, run_started, batch_size):
            fetches = list(pool.map(lambda row: fetch_one(client, *row), batch))
            result.new_texts += write_card_fetches(con, fetches, utc_now())
            for fetch in fetches:
                result.by_status[fetch.status] = result.by_status.get(fetch.status, 0) + 1
            result.fetched += len(fetches)
            progress.update(len(fetches))
    progress.finish()
    result.seconds = progress.elapsed
    return result
