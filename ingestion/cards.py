"""Model cards: README.md of every new or changed model version, stored once per content hash.

`raw.hub_card_fetches` records one outcome per (model, version): `ok` (with the content hash),
`missing` (the Hub answered 404 or 410 for README.md: the model has no card; asked again on a
back-off schedule, `MISSING_RECHECK`), `denied` (gated, private or disabled), `too_large`
(over `Settings.max_card_bytes`; the error says its size) or `failed` (anything else, with
its reason; retried by the next run). One card's failure never stops the others.
`raw.hub_model_cards` holds each distinct README text once (only 200 answers are stored).
Fetches run in a bounded thread pool; the main thread alone writes.
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
    TooLargeError,
)
from ingestion.progress import Progress
from ingestion.warehouse import transaction, utc_now

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
BATCH_SIZE = 200
# A README answered 404/410 is asked again after 1, 2, 4, ... days, at most every 64 days.
MISSING_RECHECK_DAYS, MISSING_RECHECK_MAX_DAYS = 1, 64


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
    """Fetch one README and classify the outcome; never raises for one card's problem."""

    def outcome(status: str, error: Exception | None = None, text: bytes | None = None):
        reason = None if error is None else client.scrub(_short(error))
        return CardFetch(model_oid, version_key, status, text=text, error=reason)

    try:
        body = client.readme(model_id, sha)
    except GatedRepoError as error:
        return outcome("denied", error)
    except RepositoryNotFoundError as error:
        # Deleted or renamed since the listing: retried until a sweep marks it deleted.
        return outcome("failed", error)
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        return outcome("denied" if status in (401, 403, 451) else "failed", error)
    except TooLargeError as error:
        return outcome("too_large", error)
    except (HubUnavailableError, OSError) as error:
        return outcome("failed", error)
    except Exception as error:  # one card's surprise must not stop the others
        log.warning("README of %s failed unexpectedly: %s", model_id, client.scrub(str(error)))
        return outcome("failed", error)
    if body is None:
        return outcome("missing")
    return outcome("ok", text=body)


def _short(error: Exception) -> str:
    """The error's type and message on one line (a Hub error's server message included)."""
    return f"{type(error).__name__}: {' '.join(str(error).split())[:400]}"


def collect_pending_cards(con: duckdb.DuckDBPyConnection, run_started: datetime) -> int:
    """Current versions with no card outcome yet, a failure from an earlier run, or a
    `missing` README due for its next check (1, 2, 4, ... days after the last), collected
    once per run into the temporary table `pending_cards`; returns how many.

    Once: the anti-join reads every current model, seconds at millions of models, and was
    paid again for every batch of 200 fetches."""
    con.execute(
        """
        create or replace temporary table pending_cards as
        select m.model_oid, m.model_id, m.version_key, m.sha
        from raw.hub_models as m
        left join raw.hub_card_fetches as f
          on f.model_oid = m.model_oid and f.version_key = m.version_key
        where m.deleted_at is null
          and m.version_key is not null
          and (
            f.status is null
            or (f.status = 'failed' and f.fetched_at < $run_started)
            or (
                f.status = 'missing'
                and f.fetched_at + to_days(
                    least($max_days, $first_days * (2 ** least(f.attempts - 1, 30)))::integer
                ) <= $run_started
            )
          )
        """,
        {
            "run_started": run_started,
            "first_days": MISSING_RECHECK_DAYS,
            "max_days": MISSING_RECHECK_MAX_DAYS,
        },
    )
    (pending,) = con.execute("select count(*) from pending_cards").fetchone()
    return pending


def next_pending_cards(con: duckdb.DuckDBPyConnection, after: str | None, limit: int) -> list:
    """The next `limit` rows of `pending_cards` by model_oid (one version per model)."""
    return con.execute(
        """
        select model_oid, model_id, version_key, sha from pending_cards
        where $after is null or model_oid > $after
        order by model_oid
        limit $limit
        """,
        {"after": after, "limit": limit},
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
    pending = collect_pending_cards(con, run_started)
    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="card") as pool:
            after = None
            while batch := next_pending_cards(con, after, batch_size):
                after = batch[-1][0]
                fetches = list(pool.map(lambda row: fetch_one(client, *row), batch))
                result.new_texts += write_card_fetches(con, fetches, utc_now())
                for fetch in fetches:
                    result.by_status[fetch.status] = result.by_status.get(fetch.status, 0) + 1
                result.fetched += len(fetches)
                progress.update(len(fetches), fraction_done=result.fetched / pending)
    finally:
        # Emptied, not dropped: the table goes with the connection, and no statement of an
        # ingestion drops a table (tests/reliability/test_security.py checks the SQL log).
        con.execute("truncate pending_cards")
    progress.finish()
    result.seconds = progress.elapsed
    return result
