"""Talking to the Hub through `huggingface_hub`'s HTTP layer, one listing page at a time.

`HfApi.list_models` builds exactly this request (`GET /api/models?sort=...&expand=...`) but hides
the `Link: <...>; rel="next"` cursor inside its generator, so a caller cannot commit a page
together with the cursor that follows it, nor resume a listing from a stored cursor. This
module therefore drives the same endpoint with huggingface_hub's own building blocks: its
shared `httpx` session (`get_session`, so a custom client factory still applies), its headers
(`build_hf_headers`: user agent and `HF_TOKEN`), its rate-limit header parser and its error
mapping (`hf_raise_for_status`). Only the page loop and the retry policy are ours, because a
resumable listing needs the cursor and a truncated body must be retried like a 5xx.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import httpx2
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
)
from huggingface_hub.utils import (
    build_hf_headers,
    get_session,
    hf_raise_for_status,
    parse_ratelimit_headers,
)

log = logging.getLogger(__name__)

# Every list-API field the warehouse needs; `expand` cannot be combined with full/cardData.
EXPAND_FIELDS = [
    "author",
    "createdAt",
    "lastModified",
    "sha",
    "tags",
    "cardData",
    "downloads",
    "likes",
    "library_name",
    "pipeline_tag",
    "gated",
    "private",
    "disabled",
    "config",
    "safetensors",
]
# Fields the list endpoint returns when neither `expand` nor `full` is given.
DEFAULT_LIST_FIELDS = (
    "_id",
    "id",
    "likes",
    "trendingScore",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
    "modelId",
)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HubUnavailableError(RuntimeError):
    """A request kept failing after every retry; what was committed before it stays."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to insist: exponential backoff with jitter, or what the server asks for."""

    max_attempts: int = 6
    base_wait: float = 1.0
    max_wait: float = 60.0
    timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def backoff(self, attempt: int) -> float:
        wait = min(self.max_wait, self.base_wait * 2 ** (attempt - 1))
        return wait * random.uniform(0.5, 1.0)


def server_wait(response: httpx2.Response) -> float | None:
    """Seconds the server asked us to wait: `Retry-After`, or an exhausted `RateLimit` window."""
    retry_after = response.headers.get("Retry-After")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass  # an HTTP date: fall back to our own backoff
    rate_limit = parse_ratelimit_headers(response.headers)
    if rate_limit is not None and rate_limit.remaining == 0:
        return float(rate_limit.reset_in_seconds)
    return None


def request(
    url: str,
    *,
    headers: dict[str, str],
    policy: RetryPolicy,
    params: dict | None = None,
    decode_json: bool = True,
    check_body: Callable[[httpx2.Response], str | None] | None = None,
) -> tuple[httpx2.Response, object]:
    """GET `url`, retrying 429/5xx, dropped connections and truncated bodies.

    `check_body` may name a problem with a 200 body (a truncated file), which is retried too.
    Returns the response and its decoded JSON (or raw bytes). Non-retryable HTTP errors raise
    huggingface_hub's typed errors; exhausting the retries raises `HubUnavailableError`.
    """
    last_problem = "no attempt made"
    for attempt in range(1, policy.max_attempts + 1):
        wait = None
        try:
            response = get_session().get(
                url, params=params, headers=headers, timeout=policy.timeout
            )
            if response.status_code in RETRY_STATUSES:
                last_problem = f"HTTP {response.status_code}"
                wait = server_wait(response)
            else:
                hf_raise_for_status(response)
                body = response.json() if decode_json else response.content
                problem = check_body(response) if check_body is not None else None
                if problem is None:
                    return response, body
                last_problem = problem
        except (httpx2.TransportError, json.JSONDecodeError, UnicodeDecodeError) as error:
            last_problem = f"{type(error).__name__}: {error}"
        if attempt == policy.max_attempts:
            break
        wait = policy.backoff(attempt) if wait is None else wait
        log.warning(
            "%s on %s; retry %d/%d in %.1fs",
            last_problem,
            _without_query(url),
            attempt,
            policy.max_attempts - 1,
            wait,
        )
        policy.sleep(wait)
    raise HubUnavailableError(
        f"the Hub kept failing on {_without_query(url)} after {policy.max_attempts} attempts "
        f"(last: {last_problem}); everything committed before this request is kept and the "
        "next run resumes from the last committed cursor"
    )


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


@dataclass(frozen=True)
class Page:
    """One listing page: its items and the cursor (path + query) of the next page, if any."""

    items: list
    next_cursor: str | None


def listing_cursor(sort: str = "lastModified", expand: list[str] | None = None) -> str:
    """The relative URL of a listing's first page, as `HfApi.list_models` would request it."""
    query = httpx2.QueryParams({"sort": sort, "expand": expand or EXPAND_FIELDS})
    return f"/api/models?{query}"


def with_page_size(cursor: str, page_size: int | None) -> str:
    """Add `limit` to a first-page cursor (the Hub's default page size is 1000)."""
    if page_size is None:
        return cursor
    return str(httpx2.URL(cursor).copy_merge_params({"limit": page_size}))


class HubClient:
    """The Hub at `endpoint`, with an optional token (never logged or stored)."""

    def __init__(self, endpoint: str, token: str | None = None, policy: RetryPolicy | None = None):
        self.endpoint = endpoint.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.headers = build_hf_headers(token=token) if token else build_hf_headers()

    def fetch_page(self, cursor: str) -> Page:
        """Fetch the page at a cursor (a path + query relative to the endpoint)."""
        response, items = request(self.endpoint + cursor, headers=self.headers, policy=self.policy)
        if not isinstance(items, list):
            raise HubUnavailableError(
                f"the Hub listing returned {type(items).__name__}, not a list"
            )
        next_url = response.links.get("next", {}).get("url")
        return Page(items, _relative(next_url) if next_url else None)

    def newest_last_modified(self) -> str | None:
        """The newest `lastModified` on the Hub as it sends it: one page of one item."""
        page = self.fetch_page(with_page_size(listing_cursor(expand=["lastModified"]), 1))
        first = page.items[0] if page.items else None
        return first.get("lastModified") if isinstance(first, dict) else None

    def pages(self, cursor: str) -> Iterator[Page]:
        """Follow a listing from `cursor` to its end."""
        next_cursor: str | None = cursor
        while next_cursor is not None:
            page = self.fetch_page(next_cursor)
            yield page
            next_cursor = page.next_cursor

    def readme(self, repo_id: str, revision: str | None) -> bytes | None:
        """README.md bytes at a revision, or None when the repository has no README (404)."""
        # `hf_hub_url` would validate the id and reject real, older repo ids (over 96 chars).
        revision = quote(revision or "main", safe="")
        url = f"{self.endpoint}/{quote(repo_id, safe='/')}/resolve/{revision}/README.md"
        try:
            _, body = request(
                url,
                headers=self.headers,
                policy=self.policy,
                decode_json=False,
                check_body=_etag_mismatch,
            )
        except EntryNotFoundError:
            return None
        return body


def _etag_mismatch(response: httpx2.Response) -> str | None:
    """A README body that does not hash to its ETag (the git blob sha) was cut short."""
    etag = response.headers.get("ETag", "").removeprefix("W/").strip('"')
    if len(etag) != 40 or response.headers.get("X-Linked-Etag"):
        return None  # no git blob sha to check against
    body = response.content
    blob_sha = hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()
    return None if blob_sha == etag else "README body does not match its ETag (truncated)"


def _relative(url: str) -> str:
    """Keep path and query only, so a stored cursor survives an endpoint moving ports."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def list_model_payloads(endpoint: str, token: str | None = None) -> Iterator[dict]:
    """Every model on the Hub, newest `lastModified` first, as the list API returns them."""
    for page in HubClient(endpoint, token).pages(listing_cursor()):
        yield from page.items


__all__ = [
    "EXPAND_FIELDS",
    "EntryNotFoundError",
    "GatedRepoError",
    "HfHubHTTPError",
    "HubClient",
    "HubUnavailableError",
    "Page",
    "RepositoryNotFoundError",
    "RetryPolicy",
    "listing_cursor",
    "with_page_size",
]
