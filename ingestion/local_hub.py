"""A Hugging Face Hub-compatible HTTP server on loopback, for offline runs and tests.

Serves a JSONL snapshot (`{"model": item, "readme": text}` per line, as written by
`ingestion.synthetic` or found in `../shared/hub_fixtures/`) with the endpoints that
`huggingface_hub` uses here: `GET /api/models` (sorted, cursor-paginated through
`Link: <...>; rel="next"`), `GET /api/models/{repo_id}` and
`HEAD`/`GET /{repo_id}/resolve/{revision}/README.md`.

Run: `python -m ingestion.local_hub --source data/hub/synthetic.jsonl.gz --port 8765`.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

# Fields the list endpoint returns when neither `expand` nor `full` is given (as the Hub does).
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
FULL_EXTRA_FIELDS = ("author", "sha", "lastModified", "gated", "disabled", "siblings")
SORT_FIELDS = {
    "lastModified": "lastModified",
    "last_modified": "lastModified",
    "createdAt": "createdAt",
    "created_at": "createdAt",
    "downloads": "downloads",
    "likes": "likes",
    "trendingScore": "trendingScore",
    "trending_score": "trendingScore",
}
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000


def read_snapshot(path: Path) -> Iterable[dict]:
    """Stream `{"model", "readme"}` records from a JSONL or JSONL.gz file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


class HubStore:
    """The served ecosystem: models by id plus their README texts."""

    def __init__(self, records: Iterable[dict]):
        self.models: dict[str, dict] = {}
        self.readmes: dict[str, str | None] = {}
        for record in records:
            model = record["model"]
            self.models[model["id"]] = model
            self.readmes[model["id"]] = record.get("readme")
        self._sorted: dict[str, list[dict]] = {}
        self._lock = threading.Lock()

    def sorted_by(self, field: str) -> list[dict]:
        with self._lock:
            if field not in self._sorted:
                self._sorted[field] = sorted(
                    self.models.values(),
                    key=lambda m: (_sort_value(m, field), m["id"]),
                    reverse=True,
                )
            return self._sorted[field]


def _sort_value(model: dict, field: str):
    value = model.get(field)
    if value is None:
        return "" if field in ("lastModified", "createdAt") else -1
    return value


def _encode_cursor(key: tuple) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _decode_cursor(cursor: str) -> tuple:
    return tuple(json.loads(base64.urlsafe_b64decode(cursor.encode())))


def project_item(model: dict, query: dict[str, list[str]]) -> dict:
    """Shape one item as the list endpoint does for the given query parameters."""
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
    return {field: model[field] for field in fields if field in model}


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["false"])[-1].lower() in ("1", "true")


class HubRequestHandler(BaseHTTPRequestHandler):
    server: LocalHubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - keep the test output quiet
        pass

    def do_GET(self):
        self._route(send_body=True)

    def do_HEAD(self):
        self._route(send_body=False)

    def _route(self, send_body: bool) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = parse_qs(url.query)
        if path == "/api/models":
            self._list_models(query, send_body)
        elif path.startswith("/api/models/"):
            self._model_info(path.removeprefix("/api/models/"), send_body)
        elif "/resolve/" in path:
            repo_id, _, rest = path.lstrip("/").partition("/resolve/")
            revision, _, filename = rest.partition("/")
            self._resolve(repo_id, revision, filename, send_body)
        else:
            self._error(404, "Not Found", "EntryNotFound", send_body)

    def _list_models(self, query: dict[str, list[str]], send_body: bool) -> None:
        field = SORT_FIELDS.get(query.get("sort", ["lastModified"])[-1])
        if field is None:
            self._error(400, "Invalid sort parameter", "BadRequest", send_body)
            return
        limit = min(int(query.get("limit", [DEFAULT_PAGE_SIZE])[-1]), MAX_PAGE_SIZE)
        ordered = self.server.store.sorted_by(field)
        start = 0
        if "cursor" in query:
            after = _decode_cursor(query["cursor"][-1])
            start = _bisect_after(ordered, field, after)
        page = ordered[start : start + limit]
        headers = {}
        if start + limit < len(ordered) and page:
            last = page[-1]
            next_query = {k: v for k, v in query.items() if k != "cursor"}
            next_query["cursor"] = [_encode_cursor((_sort_value(last, field), last["id"]))]
            next_url = f"{self.server.base_url}/api/models?{urlencode(next_query, doseq=True)}"
            headers["Link"] = f'<{next_url}>; rel="next"'
        self._json(200, [project_item(m, query) for m in page], headers, send_body)

    def _model_info(self, rest: str, send_body: bool) -> None:
        repo_id = rest.split("/revision/")[0]
        model = self.server.store.models.get(repo_id)
        if model is None:
            self._error(404, "Repository not found", "RepoNotFound", send_body)
            return
        self._json(200, model, {}, send_body)

    def _resolve(self, repo_id: str, revision: str, filename: str, send_body: bool) -> None:
        store = self.server.store
        model = store.models.get(repo_id)
        if model is None:
            self._error(404, "Repository not found", "RepoNotFound", send_body)
            return
        readme = store.readmes.get(repo_id)
        if filename != "README.md" or readme is None:
            self._error(404, "Entry not found", "EntryNotFound", send_body)
            return
        body = readme.encode("utf-8")
        commit = model.get("sha") or hashlib.sha1(repo_id.encode()).hexdigest()
        headers = {
            "ETag": f'"{hashlib.sha1(body).hexdigest()}"',
            "X-Repo-Commit": commit,
            "Content-Type": "text/plain; charset=utf-8",
        }
        self._send(200, body, headers, send_body)

    def _json(self, status: int, payload, headers: dict[str, str], send_body: bool) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._send(status, body, {"Content-Type": "application/json", **headers}, send_body)

    def _error(self, status: int, message: str, code: str, send_body: bool) -> None:
        self._json(status, {"error": message}, {"X-Error-Code": code}, send_body)

    def _send(self, status: int, body: bytes, headers: dict[str, str], send_body: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def _bisect_after(ordered: list[dict], field: str, after: tuple) -> int:
    """Index of the first item strictly after the cursor key in descending order."""
    low, high = 0, len(ordered)
    target = (after[0], after[1])
    while low < high:
        mid = (low + high) // 2
        key = (_sort_value(ordered[mid], field), ordered[mid]["id"])
        if key >= target:
            low = mid + 1
        else:
            high = mid
    return low


class LocalHubServer(ThreadingHTTPServer):
    """A threaded HTTP server holding one `HubStore`."""

    daemon_threads = True

    def __init__(self, store: HubStore, host: str = "127.0.0.1", port: int = 0):
        super().__init__((host, port), HubRequestHandler)
        self.store = store

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start_in_thread(self) -> LocalHubServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


def serve(source: Path, host: str = "127.0.0.1", port: int = 0) -> LocalHubServer:
    """Load a snapshot and serve it from a background thread; `.base_url` tells where."""
    return LocalHubServer(HubStore(read_snapshot(source)), host, port).start_in_thread()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a Hub snapshot on loopback.")
    parser.add_argument("--source", type=Path, required=True, help="JSONL(.gz) snapshot")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--port-file", type=Path, help="write the bound port here when ready")
    args = parser.parse_args(argv)
    server = LocalHubServer(HubStore(read_snapshot(args.source)), args.host, args.port)
    print(f"local Hub serving {len(server.store.models)} models at {server.base_url}", flush=True)
    if args.port_file:
        args.port_file.write_text(str(server.server_address[1]))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
