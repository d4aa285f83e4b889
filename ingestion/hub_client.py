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
import math
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, quote, urlsplit

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

from ingestion.config import (
    DEFAULT_MAX_CARD_BYTES,
    DEFAULT_MAX_SERVER_WAIT_SECONDS,
    Settings,
)
from ingestion.records import Undecodable

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


class SuspiciousListingError(HubUnavailableError):
    """A listing page did not prove where the listing goes on (or that it ended)."""


class ServerWaitTooLongError(HubUnavailableError):
    """The Hub asked for a wait longer than `RetryPolicy.max_server_wait`."""


class TooLargeError(RuntimeError):
    """A body larger than the cap; `size` is its size in bytes when the Hub said it."""

    def __init__(self, size: int | None, cap: int):
        told = f"{size:,} bytes" if size is not None else f"more than {cap:,} bytes"
        super().__init__(f"{told}, over the cap of {cap:,} bytes")
        self.size, self.cap = size, cap


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to insist: exponential backoff with jitter, or what the server asks for.

    `timeout` bounds each read, `deadline` a whole request (a server sending one byte every
    few seconds never hits the read timeout); `max_server_wait` caps a wait the server asks
    for (`Retry-After`, an exhausted `RateLimit` window): past it the request stops.
    """

    max_attempts: int = 6
    base_wait: float = 1.0
    max_wait: float = 60.0
    timeout: float = 60.0
    deadline: float = 300.0
    max_server_wait: float = DEFAULT_MAX_SERVER_WAIT_SECONDS
    sleep: Callable[[float], None] = time.sleep

    def backoff(self, attempt: int) -> float:
        wait = min(self.max_wait, self.base_wait * 2 ** (attempt - 1))
        return wait * random.uniform(0.5, 1.0)


def server_wait(response: httpx2.Response) -> float | None:
    """Seconds the server asked us to wait: `Retry-After` (seconds or an HTTP date), or an
    exhausted `RateLimit` window. None when it asked for nothing usable (absent, negative,
    not a number, infinite): our own backoff applies."""
    retry_after = response.headers.get("Retry-After")
    if retry_after is not None:
        seconds = _seconds(retry_after)
        if seconds is not None:
            return seconds
        log.warning("ignoring a nonsense Retry-After %r; using our own backoff", retry_after[:40])
    try:
        rate_limit = parse_ratelimit_headers(response.headers)
    except (ValueError, TypeError):
        return None
    if rate_limit is not None and rate_limit.remaining == 0:
        return _seconds(str(rate_limit.reset_in_seconds))
    return None


def _seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            return None
        value = (moment - datetime.now(UTC)).total_seconds()
        return max(0.0, value)
    return value if math.isfinite(value) and value >= 0 else None


def scrub(text: str, secret: str | None) -> str:
    """`text` without `secret` (the token), whatever a server echoed back."""
    if not secret:
        return text
    for form in {secret, quote(secret, safe="")}:
        text = text.replace(form, "[token]")
    return text


def _scrub_error(error: BaseException, secret: str | None) -> None:
    """Take the token out of an error's message before anyone logs or stores it."""
    if not secret:
        return
    error.args = tuple(scrub(a, secret) if isinstance(a, str) else a for a in error.args)
    if isinstance(getattr(error, "server_message", None), str):
        error.server_message = scrub(error.server_message, secret)


def _read_body(
    response: httpx2.Response, deadline: float, max_bytes: int | None, url: str
) -> bytes:
    """The whole body, within the request's deadline and the size cap."""
    size = response.headers.get("Content-Length")
    if max_bytes is not None and size is not None and size.isdigit() and int(size) > max_bytes:
        raise TooLargeError(int(size), max_bytes)
    chunks, received = [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        received += len(chunk)
        if max_bytes is not None and received > max_bytes:
            raise TooLargeError(None, max_bytes)
        if time.monotonic() > deadline:
            raise httpx2.ReadTimeout(f"no whole answer within the request deadline from {url}")
    return b"".join(chunks)


def _origin(url: str | httpx2.URL) -> tuple[str, str]:
    parts = urlsplit(str(url))
    return parts.scheme, parts.netloc


def request(
    url: str,
    *,
    headers: dict[str, str],
    policy: RetryPolicy,
    params: dict | None = None,
    decode_json: bool = True,
    check_body: Callable[[httpx2.Response, object], str | None] | None = None,
    max_bytes: int | None = None,
    secret: str | None = None,
) -> tuple[httpx2.Response, object]:
    """GET `url`, retrying 429/5xx, transport errors (dropped connections, redirect loops,
    broken encodings, the deadline) and bodies `check_body` names a problem with.

    Only a 200 answer is returned, with its decoded JSON (or raw bytes). Non-retryable HTTP
    errors raise huggingface_hub's typed errors; a body over `max_bytes` raises
    `TooLargeError`; exhausting the retries raises `HubUnavailableError`. `secret` (the
    token) is scrubbed from every error text.
    """
    last_problem = "no attempt made"
    for attempt in range(1, policy.max_attempts + 1):
        wait = None
        started = time.monotonic()
        try:
            with get_session().stream(
                "GET",
                url,
                params=params,
                headers=headers,
                timeout=min(policy.timeout, policy.deadline),
            ) as streamed:
                content = _read_body(streamed, started + policy.deadline, max_bytes, url)
            response = httpx2.Response(
                streamed.status_code,
                headers=streamed.headers,
                content=content,
                request=streamed.request,
            )
            if _origin(streamed.url) != _origin(url):
                last_problem = f"redirected to another origin ({_without_query(streamed.url)})"
            elif response.status_code in RETRY_STATUSES:
                last_problem = f"HTTP {response.status_code}"
                wait = server_wait(response)
            else:
                hf_raise_for_status(response)
                if response.status_code != 200:
                    last_problem = f"HTTP {response.status_code} instead of 200"
                else:
                    body = response.json() if decode_json else response.content
                    problem = check_body(response, body) if check_body is not None else None
                    if problem is None:
                        return response, body
                    last_problem = problem
        except HfHubHTTPError as error:
            _scrub_error(error, secret)
            raise
        except (httpx2.RequestError, json.JSONDecodeError, UnicodeDecodeError) as error:
            last_problem = scrub(f"{type(error).__name__}: {error}", secret)
        except RecursionError:
            last_problem = "JSON nested too deep to decode"
        if attempt == policy.max_attempts:
            break
        if wait is not None and wait > policy.max_server_wait:
            raise ServerWaitTooLongError(
                f"the Hub asked to wait {wait:,.0f}s ({last_problem} on {_without_query(url)}), "
                f"more than the cap of {policy.max_server_wait:,.0f}s "
                "(HUBGENOME_MAX_SERVER_WAIT); stopped instead of waiting, so the warehouse "
                "lock is released; everything committed is kept and the next run resumes "
                "from the last committed cursor"
            )
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
    error_type = SuspiciousListingError if last_problem.startswith(LISTING_PROBLEM) else None
    raise (error_type or HubUnavailableError)(
        f"the Hub kept failing on {_without_query(url)} after {policy.max_attempts} attempts "
        f"(last: {last_problem}); everything committed before this request is kept and the "
        "next run resumes from the last committed cursor"
    )


def _without_query(url: str | httpx2.URL) -> str:
    parts = urlsplit(str(url))
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


def quote_repo_id(repo_id: str) -> str:
    """A repo id as a URL path, each part quoted; `.` and `..` parts too, so that no id
    (`a/../b`) resolves to another repository's path."""
    return "/".join(
        "%2E" * len(part) if part in (".", "..") else quote(part, safe="")
        for part in repo_id.split("/")
    )


# Every problem `listing_problem` names starts so: the error raised for it says the listing
# did not provably end.
LISTING_PROBLEM = "suspicious listing page"


class HubClient:
    """The Hub at `endpoint`, with an optional token (never logged or stored)."""

    def __init__(
        self,
        endpoint: str,
        token: str | None = None,
        policy: RetryPolicy | None = None,
        max_card_bytes: int = DEFAULT_MAX_CARD_BYTES,
    ):
        self.endpoint = endpoint.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.max_card_bytes = max_card_bytes
        self.headers = build_hf_headers(token=token) if token else build_hf_headers()
        self._secret = token

    def scrub(self, text: str) -> str:
        """`text` without this client's token."""
        return scrub(text, self._secret)

    def fetch_page(self, cursor: str) -> Page:
        """Fetch the page at a cursor (a path + query relative to the endpoint).

        Only a page that proves where the listing goes on is accepted: a JSON array, and a
        next link that is absent (the end) or a new, non-empty cursor; an empty page must be
        the last. Anything else is retried, then raises `SuspiciousListingError`.
        """
        found: list[Page] = []

        def check(response: httpx2.Response, items: object) -> str | None:
            problem, page = self._page(cursor, response, items)
            found[:] = [page] if page is not None else []
            return problem

        request(
            self.endpoint + cursor,
            headers=self.headers,
            policy=self.policy,
            decode_json=False,
            check_body=check,
            secret=self._secret,
        )
        return found[0]

    def _page(self, cursor: str, response: httpx2.Response, content: object):
        items = decode_listing(content)
        if not isinstance(items, list):
            return f"{LISTING_PROBLEM}: {type(items).__name__}, not a JSON array", None
        links = response.headers.get("Link")
        next_link = _next_link(links) if links else None
        if next_link is None:
            return None, Page(items, None)
        if not next_link.strip():
            return f"{LISTING_PROBLEM}: an empty next link", None
        next_cursor = self._relative(next_link)
        parts = urlsplit(next_cursor)
        if next_cursor == cursor:
            return f"{LISTING_PROBLEM}: the next link points to this page", None
        cursors = parse_qs(parts.query, keep_blank_values=True).get("cursor")
        if cursors is not None and not cursors[-1].strip():
            return f"{LISTING_PROBLEM}: a next link with an empty cursor", None
        if not items:
            return f"{LISTING_PROBLEM}: an empty page with a next link", None
        return None, Page(items, next_cursor)

    def _relative(self, url: str) -> str:
        """Path and query relative to the endpoint (a Hub served under a path keeps its
        prefix once), so a stored cursor survives the endpoint moving ports."""
        parts = urlsplit(url)
        prefix = urlsplit(self.endpoint).path.rstrip("/")
        path = parts.path
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix) :]
        return f"{path}?{parts.query}" if parts.query else path

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

    def model_info(self, repo_id: str) -> dict | None:
        """The model the Hub serves under `repo_id` now (`_id`, `id`, `sha`; a renamed repo's
        old id answers for its new one), or None when there is none."""
        url = f"{self.endpoint}/api/models/{quote_repo_id(repo_id)}"
        try:
            _, body = request(
                url,
                params={"expand": ["sha"]},
                headers=self.headers,
                policy=self.policy,
                secret=self._secret,
            )
        except RepositoryNotFoundError:
            return None
        return body if isinstance(body, dict) else None

    def readme(self, repo_id: str, revision: str | None) -> bytes | None:
        """README.md bytes at a revision, or None when the repository has no README (404,
        410). Raises `TooLargeError` past `max_card_bytes`."""
        # `hf_hub_url` would validate the id and reject real, older repo ids (over 96 chars).
        revision = quote(revision or "main", safe="")
        url = f"{self.endpoint}/{quote_repo_id(repo_id)}/resolve/{revision}/README.md"
        try:
            _, body = request(
                url,
                headers=self.headers,
                policy=self.policy,
                decode_json=False,
                check_body=_etag_mismatch,
                max_bytes=self.max_card_bytes,
                secret=self._secret,
            )
        except EntryNotFoundError:
            return None
        except HfHubHTTPError as error:
            if error.response is not None and error.response.status_code == 410:
                return None
            raise
        return body


def client_from_settings(
    config: Settings,
    token: str | None = None,
    *,
    endpoint: str | None = None,
    max_attempts: int | None = None,
) -> HubClient:
    """The client `config` describes: its endpoint (unless `endpoint` is given), request
    deadline, wait and size caps."""
    policy = RetryPolicy(
        max_attempts=max_attempts or RetryPolicy.max_attempts,
        deadline=config.request_deadline_seconds,
        max_server_wait=config.max_server_wait_seconds,
    )
    return HubClient(
        endpoint or config.hub_endpoint, token, policy, max_card_bytes=config.max_card_bytes
    )


def decode_listing(content: bytes) -> object:
    """A listing page's JSON. A page holding an item nested too deep for the decoder is
    decoded item by item: that item becomes an `Undecodable`, the rest is kept."""
    try:
        return json.loads(content)
    except RecursionError:
        pass
    text = content.decode("utf-8")
    items: list = []
    for piece in _array_elements(text):
        try:
            items.append(json.loads(piece))
        except RecursionError:
            reason = f"nested too deep to decode ({len(piece):,} characters)"
            items.append(Undecodable(piece, reason))
    return items


def _array_elements(text: str) -> Iterator[str]:
    """The texts of a top-level JSON array's elements (the array is known to be well formed
    but for its nesting depth)."""
    depth, start, in_string, escaped = 0, None, False, False
    for at, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth == 1:
                start = at + 1
        elif char in "]}":
            if depth == 1 and text[start:at].strip():
                yield text[start:at]
            depth -= 1
        elif char == "," and depth == 1:
            yield text[start:at]
            start = at + 1
    if depth != 0:
        raise json.JSONDecodeError("unbalanced listing page", text, len(text))


def _next_link(header: str) -> str | None:
    """The URL of `rel="next"` in a `Link` header (empty when the link is `<>`), else None."""
    for part in header.split(","):
        target, _, rest = part.partition(";")
        if re.search(r'rel\s*=\s*"?next"?', rest):
            return target.strip().removeprefix("<").removesuffix(">")
    return None


def _etag_mismatch(response: httpx2.Response, body: object) -> str | None:
    """A README body that does not hash to its ETag (the git blob sha) was cut short."""
    etag = response.headers.get("ETag", "").removeprefix("W/").strip('"')
    if len(etag) != 40 or response.headers.get("X-Linked-Etag"):
        return None  # no git blob sha to check against
    content = response.content
    blob_sha = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
    return None if blob_sha == etag else "README body does not match its ETag (truncated)"


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
    "ServerWaitTooLongError",
    "SuspiciousListingError",
    "TooLargeError",
    "listing_cursor",
    "with_page_size",
]
