"""Faults the local Hub injects, chosen per run and reproducible from a seed.

A fault spec is `KIND` or `KIND:key=value,key=value`, for example `burst:every=40,length=2`.
Kinds, with their parameters and defaults:

| kind | effect | parameters |
| --- | --- | --- |
| `rate_limit` | 429 with `Retry-After` and `RateLimit` headers | `p=0.05`, `retry_after=1` |
| `budget` | a budget per window (the Hub's: 5 minutes); then 429 | `requests=1000`, `window=300` |
| `burst` | runs of consecutive 5xx | `every=100`, `length=3`, `status=503` (or 500, 502, `mixed`) |
| `deep_504` | 504 on listing pages at or past a depth | `depth=5`, `p=0.5` |
| `reset` | the connection is reset halfway through the body | `p=0.02` |
| `truncated` | a 200 whose JSON body is cut short (Content-Length matches the cut) | `p=0.02` |
| `slow` | the response waits before it is sent | `p=0.1`, `delay=0.5` |
| `empty_next` | a listing page answers `[]` but keeps its next link | `p=1` |
| `blank_link` | a listing page's next link is `Link: <>` | `p=1` |
| `blank_cursor` | a listing page's next link carries `cursor=` (empty) | `p=1` |
| `self_link` | a listing page's next link points to that same page | `p=1` |
| `repeat_cursor` | a listing page (depth >= 2) links back to the page at depth 1 | `p=1` |
| `cross_origin` | a 302 to the same URL on another origin (`localhost` for `127.0.0.1`) | `p=1` |
| `wait` | 429, `Retry-After` verbatim, `RateLimit` reset | `p=1`, `retry_after=1`, `reset=` |
| `drip` | the body is sent one byte every `interval` seconds | `p=1`, `interval=0.5` |
| `redirect_loop` | a 302 to the same URL | `p=1` |
| `bad_encoding` | `Content-Encoding: gzip` on a body that is not gzip | `p=1` |
| `no_location` | a 302 without a `Location` header | `p=1` |
| `gone` | 410 Gone | `p=1` |
| `echo_token` | an error echoing the `Authorization` header | `p=1`, `status=400` |

Every kind also takes `on=list+info+resolve` (which endpoints it hits; default all of them).
The kinds from `empty_next` on also take `attempts=N`: only the first N attempts of a request
meet the fault (0, the default: every attempt), so a retry can get through; and `depth=N`:
only listing pages at depth >= N (and every other request) meet it.
Decisions hash (seed, kind, request, attempt number of that same request), so a rerun with the
same seed and the same requests meets the same faults, whatever the thread interleaving.
Bursts and the budget count requests in arrival order instead.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

ENDPOINTS = ("list", "info", "resolve")
DEFAULTS: dict[str, dict[str, str]] = {
    "rate_limit": {"p": "0.05", "retry_after": "1"},
    "budget": {"requests": "1000", "window": "300"},
    "burst": {"every": "100", "length": "3", "status": "503"},
    "deep_504": {"depth": "5", "p": "0.5"},
    "reset": {"p": "0.02"},
    "truncated": {"p": "0.02"},
    "slow": {"p": "0.1", "delay": "0.5"},
    # Misbehaviours (issue 20): every attempt by default; `attempts=N` limits them.
    "empty_next": {"p": "1", "attempts": "0", "depth": "0"},
    "blank_link": {"p": "1", "attempts": "0", "depth": "0"},
    "blank_cursor": {"p": "1", "attempts": "0", "depth": "0"},
    "self_link": {"p": "1", "attempts": "0", "depth": "0"},
    "repeat_cursor": {"p": "1", "attempts": "0", "depth": "0"},
    "cross_origin": {"p": "1", "attempts": "0", "depth": "0"},
    "wait": {"p": "1", "attempts": "0", "depth": "0", "retry_after": "1", "reset": ""},
    "drip": {"p": "1", "attempts": "0", "depth": "0", "interval": "0.5"},
    "redirect_loop": {"p": "1", "attempts": "0", "depth": "0"},
    "bad_encoding": {"p": "1", "attempts": "0", "depth": "0"},
    "no_location": {"p": "1", "attempts": "0", "depth": "0"},
    "gone": {"p": "1", "attempts": "0", "depth": "0"},
    "echo_token": {"p": "1", "attempts": "0", "depth": "0", "status": "400"},
}
# Kinds the server carries out itself (the fault only says which request meets them).
SERVER_ACTED = frozenset(kind for kind in DEFAULTS if "attempts" in DEFAULTS[kind])
BURST_STATUSES = (500, 502, 503)


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    params: dict[str, str]
    endpoints: tuple[str, ...] = ENDPOINTS

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        kind, _, rest = text.strip().partition(":")
        if kind not in DEFAULTS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(DEFAULTS)}")
        params = dict(DEFAULTS[kind])
        endpoints = ENDPOINTS
        for pair in filter(None, rest.split(",")):
            key, sep, value = pair.partition("=")
            if not sep:
                raise ValueError(f"fault parameter {pair!r} is not key=value")
            if key == "on":
                endpoints = tuple(value.split("+"))
                if not set(endpoints) <= set(ENDPOINTS):
                    raise ValueError(f"fault endpoints must be among {ENDPOINTS}: {value!r}")
            elif key in params:
                params[key] = value
            else:
                raise ValueError(f"fault {kind} has no parameter {key!r}")
        return cls(kind, params, endpoints)

    def number(self, key: str) -> float:
        return float(self.params[key])

    def describe(self) -> str:
        params = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.kind}:{params},on={'+'.join(self.endpoints)}"


@dataclass
class Fault:
    """What to do to one response."""

    kind: str
    status: int | None = None  # an error status to answer with instead of the real response
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    params: dict[str, str] = field(default_factory=dict)  # for the kinds the server acts out


@dataclass
class RequestInfo:
    endpoint: str  # list | info | resolve
    key: str  # method, path and sorted query: the identity of a request across retries
    client: str  # token or "anonymous": whose budget it spends
    page_depth: int = 0  # 0 for the first listing page


class FaultPlan:
    """The faults of one run; thread-safe; counts what it injected."""

    def __init__(self, specs: list[FaultSpec] | None = None, seed: int = 0):
        self.specs = list(specs or [])
        self.seed = seed
        self.injected: Counter[str] = Counter()
        self._attempts: Counter[str] = Counter()
        self._sequence = 0
        self._budget_used: Counter[tuple[str, int]] = Counter()
        self._started = time.monotonic()
        self._lock = threading.Lock()

    @classmethod
    def from_texts(cls, texts: list[str], seed: int = 0) -> FaultPlan:
        return cls([FaultSpec.parse(text) for text in texts], seed)

    def describe(self) -> dict:
        return {
            "seed": self.seed,
            "faults": [spec.describe() for spec in self.specs],
            "injected": dict(self.injected),
            "requests": self._sequence,
        }

    def _uniform(self, kind: str, key: str, attempt: int) -> float:
        digest = hashlib.sha256(f"{self.seed}:{kind}:{key}:{attempt}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def budget_headers(self, request: RequestInfo) -> dict[str, str]:
        """`RateLimit` headers for a response that spends budget (empty without a budget)."""
        for spec in self.specs:
            if spec.kind == "budget" and request.endpoint in spec.endpoints:
                limit, window = int(spec.number("requests")), spec.number("window")
                elapsed = time.monotonic() - self._started
                slot = int(elapsed // window)
                remaining = max(0, limit - self._budget_used[(request.client, slot)])
                reset = max(1, int((slot + 1) * window - elapsed + 0.999))
                return _ratelimit_headers(remaining, reset, limit, window)
        return {}

    def decide(self, request: RequestInfo) -> list[Fault]:
        """The faults for this request, in the order they apply (first error status wins)."""
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
            self._attempts[request.key] += 1
            attempt = self._attempts[request.key]
            faults = []
            for spec in self.specs:
                if request.endpoint in spec.endpoints:
                    fault = self._apply(spec, request, sequence, attempt)
                    if fault is not None:
                        faults.append(fault)
            for fault in faults:
                self.injected[fault.kind] += 1
            return faults

    def _apply(
        self, spec: FaultSpec, request: RequestInfo, sequence: int, attempt: int
    ) -> Fault | None:
        kind = spec.kind
        roll = self._uniform(kind, request.key, attempt)
        if kind == "budget":
            limit, window = int(spec.number("requests")), spec.number("window")
            elapsed = time.monotonic() - self._started
            slot = int(elapsed // window)
            used = self._budget_used[(request.client, slot)]
            reset = max(1, int((slot + 1) * window - elapsed + 0.999))
            if used >= limit:
                headers = _ratelimit_headers(0, reset, limit, window)
                return Fault(kind, 429, {"Retry-After": str(reset), **headers})
            self._budget_used[(request.client, slot)] = used + 1
            return None
        if kind == "rate_limit" and roll < spec.number("p"):
            wait = int(spec.number("retry_after"))
            headers = _ratelimit_headers(0, wait, 1000, 300)
            return Fault(kind, 429, {"Retry-After": str(wait), **headers})
        if kind == "burst":
            every, length = int(spec.number("every")), int(spec.number("length"))
            offset = int(self._uniform(kind, "offset", 0) * every)
            position = (sequence - 1 + offset) % every
            if position < length:
                status = spec.params["status"]
                code = BURST_STATUSES[position % 3] if status == "mixed" else int(status)
                return Fault(kind, code)
            return None
        if kind == "deep_504":
            deep = request.endpoint == "list" and request.page_depth >= int(spec.number("depth"))
            return Fault(kind, 504) if deep and roll < spec.number("p") else None
        if kind == "slow" and roll < spec.number("p"):
            return Fault(kind, delay=spec.number("delay"))
        if kind in ("reset", "truncated") and roll < spec.number("p"):
            return Fault(kind)
        if kind in SERVER_ACTED:
            limit = int(spec.number("attempts"))
            deep_enough = request.endpoint != "list" or request.page_depth >= spec.number("depth")
            if roll < spec.number("p") and (limit == 0 or attempt <= limit) and deep_enough:
                return _misbehaviour(spec)
        return None


def _misbehaviour(spec: FaultSpec) -> Fault:
    kind, params = spec.kind, spec.params
    if kind == "wait":
        headers = {"Retry-After": params["retry_after"]} if params["retry_after"] else {}
        if params["reset"]:
            headers["RateLimit"] = f'"api";r=0;t={params["reset"]}'
            headers["RateLimit-Policy"] = '"fixed window";"api";q=1000;w=300'
        return Fault(kind, 429, headers)
    if kind == "gone":
        return Fault(kind, 410)
    return Fault(kind, params=dict(params))


def _ratelimit_headers(remaining: int, reset: int, limit: int, window: float) -> dict[str, str]:
    """The IETF draft headers the Hub sends and `huggingface_hub` parses."""
    return {
        "RateLimit": f'"api";r={remaining};t={reset}',
        "RateLimit-Policy": f'"fixed window";"api";q={limit};w={int(window)}',
    }
