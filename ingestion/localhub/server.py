"""A Hugging Face Hub-compatible HTTP server on loopback, for offline runs and tests.

Serves a snapshot (the synthetic generator's, or any JSONL file of `{"model": item, "readme":
text}` lines, the format of `../shared/hub_fixtures/`) with what `huggingface_hub` uses here:

- `GET /api/models`: search, author, filter (AND of tags), pipeline_tag, sort, limit, full,
  cardData, config, expand; keyset cursor pagination through `Link: <...>; rel="next"`, each
  page read from the state now, as on the Hub (`--pinned-listings`: from the first page's).
- `GET /api/models/{repo_id}` and `/api/models/{repo_id}/revision/{revision}`.
- `HEAD`/`GET /{repo_id}/resolve/{revision}/{filename}` for README.md, config.json and
  .gitattributes, with the headers `hf_hub_download` needs.
- `GET /api/whoami-v2`, and the admin endpoints under `/admin/` (clock, events, faults, stats).

The ecosystem changes as the clock advances (`--clock`, `POST /admin/clock`); faults are chosen
per run (`--fault`, `PUT /admin/faults`, see `hub_faults`). `docs/local-hub.md` has it all.

Run: `python -m ingestion.localhub.server --source data/hub/synthetic.jsonl.gz --port 8765`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import ipaddress
import json
import math
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from ingestion.config import PROJECT_ROOT
from ingestion.hub_client import DEFAULT_LIST_FIELDS
from ingestion.localhub import synthetic
from ingestion.localhub.faults import FaultPlan, RequestInfo
from ingestion.localhub.store import (
    SORT_FIELDS,
    EvolutionRates,
    HubStore,
    Version,
    deep_safe,
    parse_clock,
    read_snapshot,
)

__all__ = ["HubStore", "LocalHubServer", "read_snapshot", "serve", "serve_store"]

FULL_EXTRA_FIELDS = ("author", "sha", "lastModified", "gated", "disabled", "siblings")
# What `expand` accepts (huggingface_hub's ExpandModelProperty_T).
EXPANDABLE = frozenset(
    (
        "author",
        "baseModels",
        "cardData",
        "childrenModelCount",
        "config",
        "createdAt",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "evalResults",
        "gated",
        "gguf",
        "inference",
        "inferenceProviderMapping",
        "lastModified",
        "library_name",
        "likes",
        "mask_token",
        "model-index",
        "pipeline_tag",
        "private",
        "resourceGroup",
        "safetensors",
        "sha",
        "siblings",
        "spaces",
        "tags",
        "transformersInfo",
        "trendingScore",
        "usedStorage",
        "widgetData",
    )  # fmt: skip
)
SORT_ALIASES = {
    **{name: name for name in SORT_FIELDS},
    "last_modified": "lastModified",
    "created_at": "createdAt",
    "trending_score": "trendingScore",
}
MAX_PAGE_SIZE = 1000
JSON_TYPE = "application/json; charset=utf-8"
GITATTRIBUTES = "*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs\n"
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


@dataclass
class Access:
    """Who may read what. Tokens are compared, never logged or echoed."""

    full_access: frozenset[str] = frozenset()  # read private repos, past every gate
    no_access: frozenset[str] = frozenset()  # valid identities without grants
    accept_any_hf_token: bool = True  # when no token is registered: any `hf_...` is valid

    def identify(self, authorization: str | None) -> tuple[bool, str | None]:
        """(credentials valid, grant) where grant is None, "none" or "full"."""
        if not authorization:
            return True, None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False, None
        if token in self.full_access:
            return True, "full"
        if token in self.no_access:
            return True, "none"
        open_door = self.accept_any_hf_token and not (self.full_access or self.no_access)
        if open_door and token.startswith("hf_"):
            return True, "none"
        return False, None


@dataclass
class Stats:
    requests: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, endpoint: str, status: int) -> None:
        with self.lock:
            self.requests[endpoint] += 1
            self.statuses[str(status)] += 1


def encode_cursor(key: tuple, depth: int, as_of: float | None = None) -> str:
    """A keyset cursor, as the Hub's: the sort value and `_id` of the last item served (and
    the page depth, for faults). `as_of` pins the listing to a clock time (`pinned_listings`)."""
    value, oid = key
    payload = {"k": value, "_id": oid, "d": depth}
    if as_of is not None:
        payload["t"] = as_of
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[tuple, int, float | None]:
    """(the key to continue after, the page depth, the pinned clock time or None)."""
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    as_of = payload.get("t")
    value = payload["k"]
    return (
        (-math.inf if value is None else value, payload["_id"]),
        int(payload["d"]),
        None if as_of is None else float(as_of),
    )


def project_item(item: dict, query: dict[str, list[str]]) -> dict:
    """Shape one listed item as the Hub does for the given query parameters."""
    expand = query.get("expand") or query.get("expand[]")
    if expand:
        fields = ["_id", "id", *expand]
    else:
        fields = list(DEFAULT_LIST_FIELDS)
        if _flag(query, "full"):
            fields += FULL_EXTRA_FIELDS
        if _flag(query, "cardData"):
            fields.append("cardData")
        if _flag(query, "config"):
            fields.append("config")
    return {name: item[name] for name in dict.fromkeys(fields) if name in item}


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["false"])[-1].lower() in ("1", "true")


def _git_blob_sha(body: bytes) -> str:
    """The ETag the Hub gives a non-LFS file: its git blob id."""
    return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers=None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.headers = headers or {}


class HubRequestHandler(BaseHTTPRequestHandler):
    server: LocalHubServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK hold every small response back ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002 - quiet; never log headers (tokens)
        pass

    def do_GET(self):
        self._route("GET")

    def do_HEAD(self):
        self._route("HEAD")

    def do_POST(self):
        self._route("POST")

    def do_PUT(self):
        self._route("PUT")

    # -- routing ------------------------------------------------------------------------

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = parse_qs(url.query, keep_blank_values=True)
        self._send_body = method != "HEAD"
        self._status = 0  # the handler serves every request of a kept-alive connection
        self._body_fault: str | None = None
        self._acted: dict[str, dict[str, str]] = {}  # misbehaviours this answer carries out
        self._extra_headers: dict[str, str] = {}
        self._endpoint: str | None = None  # admin requests are not counted
        prefix = self.server.path_prefix
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix) :] or "/"
        if path.startswith("/admin/"):
            self._admin(method, path, query)
            return
        endpoint = self._endpoint_of(path)
        self._endpoint = endpoint or "other"
        try:
            valid, grant = self.server.access.identify(self.headers.get("Authorization"))
            if not valid:
                raise HubError(
                    401, INVALID_CREDENTIALS, None, {"X-Error-Message": INVALID_CREDENTIALS}
                )
            self._grant = grant
            if endpoint is not None and not self._inject_faults(method, endpoint, url, query):
                return
            if path == "/api/models":
                self._list_models(query)
            elif path.startswith("/api/models/"):
                self._model_info(path.removeprefix("/api/models/"), query)
            elif path == "/api/whoami-v2":
                self._whoami()
            elif "/resolve/" in path:
                repo_id, _, rest = path.lstrip("/").partition("/resolve/")
                revision, _, filename = rest.partition("/")
                self._resolve(repo_id, revision, filename)
            else:
                raise HubError(404, "Not Found")
        except HubError as error:
            self._error(error)
        except (ValueError, KeyError, json.JSONDecodeError) as error:
            self._error(HubError(400, f"Bad request: {error}"))
        finally:
            self._count()

    def _count(self) -> None:
        """Count the request once: before its response is written (a client that has read
        the response must find it counted), or at the end for one that sent none."""
        if self._endpoint is not None:
            self.server.stats.count(self._endpoint, self._status)
            self._endpoint = None

    @staticmethod
    def _endpoint_of(path: str) -> str | None:
        if path == "/api/models":
            return "list"
        if path.startswith("/api/models/"):
            return "info"
        if "/resolve/" in path:
            return "resolve"
        return None

    def _inject_faults(self, method: str, endpoint: str, url, query) -> bool:
        """Apply this run's faults; False when a fault already answered the request."""
        plan = self.server.faults
        depth = 0
        if endpoint == "list" and "cursor" in query:
            try:
                depth = decode_cursor(query["cursor"][-1])[1]
            except (ValueError, KeyError, TypeError):
                depth = 0
        request = RequestInfo(
            endpoint=endpoint,
            key=f"{method} {url.path}?{'&'.join(sorted(url.query.split('&')))}",
            client=hashlib.sha256((self.headers.get("Authorization") or "").encode()).hexdigest(),
            page_depth=depth,
        )
        for fault in plan.decide(request):
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status is not None:
                message = {429: "Too Many Requests", 504: "Gateway Timeout"}.get(
                    fault.status,
                    "Internal Error - We're working hard to fix this as soon as possible!",
                )
                self._error(HubError(fault.status, message, None, fault.headers))
                return False
            if fault.kind in ("reset", "truncated"):
                self._body_fault = fault.kind
            elif fault.params:
                self._acted[fault.kind] = fault.params
        self._extra_headers.update(plan.budget_headers(request))
        return not self._answered_by_misbehaviour(url)

    def _answered_by_misbehaviour(self, url) -> bool:
        """Misbehaviours that replace the answer: redirects and an echoed token."""
        here = f"{url.path}?{url.query}" if url.query else url.path
        if "redirect_loop" in self._acted:
            self._redirect(here, status=302)
        elif "no_location" in self._acted:
            self._json(302, {"error": "Found"}, {})
        elif "cross_origin" in self._acted:
            host, port = self.server.server_address[:2]
            other = "localhost" if host != "localhost" else "127.0.0.1"
            self._redirect(f"http://{other}:{port}{here}", status=302)
        elif "echo_token" in self._acted:
            authorization = self.headers.get("Authorization") or ""
            status = int(self._acted["echo_token"]["status"])
            message = f"Bad request: we received {authorization!r}"
            self._error(HubError(status, message, None, {"X-Error-Message": message}))
        else:
            return False
        return True

    # -- the API ------------------------------------------------------------------------

    def _visible(self, item: dict) -> bool:
        return not item.get("private") or self._grant == "full"

    def _list_models(self, query: dict[str, list[str]]) -> None:
        store = self.server.store
        field_name = SORT_ALIASES.get(query.get("sort", ["lastModified"])[-1])
        if field_name is None:
            raise HubError(400, f"Invalid sort parameter, must be one of {sorted(SORT_FIELDS)}")
        if query.get("direction", ["-1"])[-1] != "-1":
            raise HubError(400, "Only direction=-1 (descending) is supported")
        expand = query.get("expand") or query.get("expand[]") or []
        unknown = sorted(set(expand) - EXPANDABLE)
        if unknown:
            raise HubError(400, f'"expand" must be one of {sorted(EXPANDABLE)}; got {unknown}')
        limit = int(query.get("limit", [self.server.page_size])[-1])
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        if "cursor" in query:
            after, depth, pinned = decode_cursor(query["cursor"][-1])
        else:
            after, depth, pinned = None, 0, None
        # The Hub's cursor is a keyset: each page reads the state now, after the last key
        # served, so a model changed meanwhile moves ahead of the cursor and is not listed.
        as_of = store.now if pinned is None else pinned
        if self.server.pinned_listings and pinned is None:
            pinned = as_of
        rows = store.sorted_at(as_of, field_name, after)
        matches = _matcher(query)
        page: list[dict] = []
        last_key = None
        more = False
        for key, version in rows:
            item = version.item
            if not (self._visible(item) and matches(item)):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(project_item(item, query))
            last_key = key
        headers = dict(self._extra_headers)
        if more and last_key is not None:
            next_cursor = encode_cursor(last_key, depth + 1, pinned)
            if "repeat_cursor" in self._acted and depth >= 2:
                second_page = self._first_page_key(store.sorted_at(as_of, field_name), limit)
                next_cursor = encode_cursor(second_page, 1, pinned)
            headers["Link"] = f'<{self._next_url(query, next_cursor)}>; rel="next"'
            if "empty_next" in self._acted:
                page = []
            if "blank_link" in self._acted:
                headers["Link"] = '<>; rel="next"'
            elif "blank_cursor" in self._acted:
                headers["Link"] = f'<{self._next_url(query, "")}>; rel="next"'
            elif "self_link" in self._acted:
                here = query["cursor"][-1] if "cursor" in query else None
                headers["Link"] = f'<{self._next_url(query, here)}>; rel="next"'
        self._json(200, page, headers)

    def _next_url(self, query: dict[str, list[str]], cursor: str | None) -> str:
        next_query = {k: v for k, v in query.items() if k != "cursor"}
        if cursor is not None:
            next_query["cursor"] = [cursor]
        return f"{self._base_url()}/api/models?{urlencode(next_query, doseq=True)}"

    def _first_page_key(self, rows: Iterator[tuple], limit: int) -> tuple:
        """The key after which the listing's second page starts (visibility aside)."""
        last = None
        for count, key in enumerate((k for k, v in rows if self._visible(v.item)), start=1):
            last = key
            if count == limit:
                break
        return last

    def _base_url(self) -> str:
        host = self.headers.get("Host") or self.server.base_url.removeprefix("http://")
        return f"http://{host}{self.server.path_prefix}"

    def _find(self, repo_id: str) -> tuple[str, Version]:
        """The model or the Hub's error: 401 private without token, 404 missing, 307 renamed."""
        oid, version = self.server.store.lookup(repo_id)
        if version is None:
            new_id = self.server.store.renamed_to(repo_id)
            if new_id is not None:
                raise _Redirect(repo_id, new_id)
            raise HubError(404, "Repository not found", "RepoNotFound")
        if not self._visible(version.item):
            status = 401 if self._grant is None else 404
            raise HubError(status, "Repository not found", "RepoNotFound")
        return oid, version

    def _model_info(self, rest: str, query: dict[str, list[str]]) -> None:
        repo_id, _, revision = rest.partition("/revision/")
        try:
            oid, version = self._find(repo_id)
        except _Redirect as redirect:
            self._redirect(self.path.replace(quote(redirect.old, safe="/"), redirect.new, 1))
            return
        if revision:
            version = self.server.store.revision(oid, unquote(revision))
            if version is None or version.item is None:
                raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        item = version.item
        expand = query.get("expand") or query.get("expand[]")
        payload = (
            {k: item[k] for k in dict.fromkeys(["_id", "id", *expand]) if k in item}
            if expand
            else item
        )
        self._json(200, payload, dict(self._extra_headers))

    def _whoami(self) -> None:
        if self._grant is None:
            raise HubError(401, INVALID_CREDENTIALS, None, {"X-Error-Message": INVALID_CREDENTIALS})
        self._json(
            200, {"type": "user", "name": "local-hub-user", "auth": {"type": "access_token"}}, {}
        )

    def _resolve(self, repo_id: str, revision: str, filename: str) -> None:
        try:
            oid, current = self._find(repo_id)
        except _Redirect as redirect:
            new_path = f"/{quote(redirect.new)}/resolve/{revision}/{quote(filename)}"
            self._redirect(self.server.path_prefix + new_path)
            return
        version = self.server.store.revision(oid, unquote(revision))
        if version is None or version.item is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        commit = version.item.get("sha") or hashlib.sha1(oid.encode()).hexdigest()
        gated = version.item.get("gated")
        if gated and filename not in ("README.md", ".gitattributes") and self._grant != "full":
            status = 401 if self._grant is None else 403
            message = f"Access to model {repo_id} is restricted. You must have access to it."
            raise HubError(status, message, "GatedRepo", {"X-Repo-Commit": commit})
        body = self._file(version, filename)
        if body is None:
            raise HubError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": commit})
        headers = {
            **self._extra_headers,
            "Content-Type": "text/plain; charset=utf-8",
            "ETag": f'"{_git_blob_sha(body)}"',
            "X-Repo-Commit": commit,
            "Accept-Ranges": "bytes",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
        }
        self._send(200, body, headers)

    @staticmethod
    def _file(version: Version, filename: str) -> bytes | None:
        if filename == "README.md":
            text = version.readme_text()
            return None if text is None else text.encode("utf-8")
        if filename == "config.json" and version.item.get("config") is not None:
            return json.dumps(version.item["config"], indent=2).encode()
        if filename == ".gitattributes":
            return GITATTRIBUTES.encode()
        return None

    # -- admin --------------------------------------------------------------------------

    def _admin(self, method: str, path: str, query: dict[str, list[str]]) -> None:
        store, server = self.server.store, self.server
        try:
            if path == "/admin/clock" and method == "GET":
                self._json(200, self._clock_state(), {})
            elif path == "/admin/clock" and method == "POST":
                body = self._read_json()
                if "to" in body:
                    applied = store.advance(parse_clock(body["to"]))
                else:
                    seconds = float(body.get("advance_seconds", 0))
                    applied = store.advance(store.clock() + timedelta(seconds=seconds))
                self._json(200, {**self._clock_state(), "applied": applied}, {})
            elif path == "/admin/events" and method == "GET":
                since = int(query.get("since", ["0"])[-1])
                with store._lock:
                    events = store.events[since:]
                self._json(200, {"events": events, "next": since + len(events)}, {})
            elif path == "/admin/faults" and method == "GET":
                self._json(200, server.faults.describe(), {})
            elif path == "/admin/faults" and method == "PUT":
                body = self._read_json()
                server.faults = FaultPlan.from_texts(
                    body.get("faults", []), int(body.get("seed", 0))
                )
                self._json(200, server.faults.describe(), {})
            elif path == "/admin/stats" and method == "GET":
                with server.stats.lock:
                    stats = {
                        "requests": dict(server.stats.requests),
                        "statuses": dict(server.stats.statuses),
                    }
                self._json(200, {**stats, "faults": server.faults.describe()}, {})
            else:
                raise HubError(404, "Not Found")
        except HubError as error:
            self._error(error)
        except (ValueError, KeyError, TypeError) as error:
            self._error(HubError(400, f"Bad request: {error}"))

    def _clock_state(self) -> dict:
        store = self.server.store
        return {
            "now": synthetic.hub_time(store.clock()),
            "snapshot_time": synthetic.hub_time(store.snapshot_time),
            "tick_seconds": store.tick_seconds,
            "events": len(store.events),
            "models": len(store),
        }

    def _read_json(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}") if length else {}

    # -- responses ----------------------------------------------------------------------

    def _redirect(self, location: str, status: int = 307) -> None:
        headers = {**self._extra_headers, "Location": location}
        self._json(status, {"error": "Repository moved", "url": location}, headers)

    def _json(self, status: int, payload, headers: dict[str, str]) -> None:
        body = _dumps(payload).encode()
        self._send(status, body, {"Content-Type": JSON_TYPE, **headers})

    def _error(self, error: HubError) -> None:
        headers = {**self._extra_headers, **error.headers}
        if error.code:
            headers["X-Error-Code"] = error.code
            headers.setdefault("X-Error-Message", error.message)
        self._body_fault = None
        self._json(error.status, {"error": error.message}, headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self._status = status
        self._count()
        fault = self._body_fault if status == 200 and self._send_body else None
        if fault == "truncated":
            body = body[: max(1, len(body) // 2)]
        if "bad_encoding" in self._acted:
            headers = {**headers, "Content-Encoding": "gzip"}
        self.send_response(status)
        self.send_header("X-Request-Id", f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not self._send_body:
            return
        if "drip" in self._acted:
            interval = float(self._acted["drip"]["interval"])
            try:
                for at in range(len(body)):
                    self.wfile.write(body[at : at + 1])
                    self.wfile.flush()
                    time.sleep(interval)
            except OSError:  # the client gave up: its deadline
                self.close_connection = True
            return
        if fault == "reset":
            self.wfile.write(body[: len(body) // 2])
            self._reset_connection()
            return
        self.wfile.write(body)

    def _reset_connection(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a dropped proxy does."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.wfile.close()
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass


def _dumps(payload) -> str:
    """Compact JSON, even of a record nested deeper than the recursion limit."""
    return deep_safe(partial(json.dumps, separators=(",", ":")), payload)


class _Redirect(Exception):
    def __init__(self, old: str, new: str):
        super().__init__(old)
        self.old, self.new = old, new


def _matcher(query: dict[str, list[str]]):
    """A predicate for search (substring of the id), author, filter (AND of tags), pipeline_tag."""
    search = (query.get("search") or [""])[-1].lower()
    author = (query.get("author") or [""])[-1].lower()
    tags = [value for value in query.get("filter", []) if value]
    pipeline_tag = (query.get("pipeline_tag") or [""])[-1]

    def matches(item: dict) -> bool:
        repo_id = item["id"]
        if search and search not in repo_id.lower():
            return False
        if author and repo_id.split("/", 1)[0].lower() != author:
            return False
        if pipeline_tag and item.get("pipeline_tag") != pipeline_tag:
            return False
        if tags:
            item_tags = set(item.get("tags") or ())
            return all(tag in item_tags for tag in tags)
        return True

    return matches


class LocalHubServer(ThreadingHTTPServer):
    """A threaded HTTP server holding one `HubStore`, its access rules and its faults."""

    daemon_threads = True

    def __init__(
        self,
        store: HubStore,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        access: Access | None = None,
        faults: FaultPlan | None = None,
        page_size: int = MAX_PAGE_SIZE,
        pinned_listings: bool = False,
        path_prefix: str = "",
    ):
        if not _is_loopback(host):
            raise ValueError(f"the local Hub serves on loopback only, not {host!r}")
        super().__init__((host, port), HubRequestHandler)
        self.store = store
        self.access = access or Access()
        self.faults = faults or FaultPlan()
        self.page_size = page_size
        # Off: keyset cursors as the Hub's. On: a listing reads the state of its first page.
        self.pinned_listings = pinned_listings
        self.path_prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""
        self.stats = Stats()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{self.path_prefix}"

    def start_in_thread(self) -> LocalHubServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_store(
    store: HubStore, host: str = "127.0.0.1", port: int = 0, **options
) -> LocalHubServer:
    """Serve a store from a background thread; `.base_url` tells where, `.shutdown()` stops."""
    return LocalHubServer(store, host, port, **options).start_in_thread()


def serve(
    source: Path, host: str = "127.0.0.1", port: int = 0, *, seed: int = 0, **options
) -> LocalHubServer:
    """Load a JSONL snapshot and serve it from a background thread."""
    return serve_store(HubStore(read_snapshot(source), seed=seed), host, port, **options)


def start_process(
    source: Path, *options: str, quiet: bool = False, timeout: float = 120
) -> tuple[subprocess.Popen, str]:
    """Run `python -m ingestion.localhub.server --source SOURCE *options` on a free loopback port.

    Returns the process and its base URL once the server is listening.
    """
    port_file = Path(tempfile.mkdtemp()) / "port"
    command = [sys.executable, "-m", "ingestion.localhub.server", "--source", str(source), *options]
    command += ["--port", "0", "--port-file", str(port_file)]
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=output)
    deadline = time.monotonic() + timeout
    while not port_file.exists() or not port_file.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the local Hub did not start; see its output above")
        time.sleep(0.1)
    return process, f"http://127.0.0.1:{port_file.read_text()}"


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """Stop a local Hub process: SIGTERM, then SIGKILL if it has not exited within `timeout`."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a Hub snapshot on loopback.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--source", type=Path, help="JSONL(.gz) of {model, readme} records")
    source.add_argument("--synthetic", type=int, metavar="N", help="serve N synthetic models")
    parser.add_argument("--seed", type=int, default=0, help="synthetic and evolution seed")
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--port-file", type=Path, help="write the bound port here when ready")
    parser.add_argument("--clock", type=parse_clock, help="start the clock here (>= snapshot)")
    parser.add_argument("--tick-seconds", type=int, default=3600, help="evolution granularity")
    parser.add_argument("--evolution", default="", help="events/day/1000 models, or none")
    parser.add_argument("--fault", action="append", default=[], help="e.g. burst:every=50")
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--token", action="append", default=[], help="token with full access")
    parser.add_argument("--token-no-access", action="append", default=[], help="token, no grants")
    parser.add_argument("--page-size", type=int, default=MAX_PAGE_SIZE)
    parser.add_argument(
        "--pinned-listings",
        action="store_true",
        help="serve every page of a listing from the state at its first page (the real Hub "
        "does not: its cursor is a keyset)",
    )
    parser.add_argument("--path-prefix", default="", help="serve under a path, e.g. /mirror")
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="folder for the store's temporary SQLite file (default: the system's temp folder)",
    )
    args = parser.parse_args(argv)

    if args.source:
        records = read_snapshot(args.source)
    else:
        records = synthetic.generate(args.synthetic, args.seed)
    store = HubStore(
        records,
        seed=args.seed,
        rates=EvolutionRates.parse(args.evolution),
        tick_seconds=args.tick_seconds,
        work_dir=args.work_dir,
    )
    if args.clock:
        store.advance(args.clock)
    server = LocalHubServer(
        store,
        args.host,
        args.port,
        access=Access(frozenset(args.token), frozenset(args.token_no_access)),
        faults=FaultPlan.from_texts(args.fault, args.fault_seed),
        page_size=args.page_size,
        pinned_listings=args.pinned_listings,
        path_prefix=args.path_prefix,
    )
    print(
        f"local Hub serving {len(store)} models at {server.base_url}, "
        f"clock {synthetic.hub_time(store.clock())}",
        flush=True,
    )
    # SIGTERM stops the server cleanly, even when the parent started it with SIGTERM ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    if args.port_file:
        args.port_file.write_text(str(server.server_address[1]))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()


if __name__ == "__main__":
    main()
