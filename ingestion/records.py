"""Hub model records before they reach the warehouse: checks, keys and canonical text.

A record that breaks the list API's schema goes to `raw.quarantine` with the reason returned
here; everything else is stored verbatim, as canonical JSON (`canonical_json`) in the Arrow
table a page is written from (`model_table`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime

import orjson
import pyarrow as pa

_OPTIONAL_TYPES: dict[str, tuple[type, ...]] = {
    "_id": (str,),
    "sha": (str,),
    "author": (str,),
    "library_name": (str,),
    "pipeline_tag": (str,),
    "private": (bool,),
    "disabled": (bool,),
    "gated": (bool, str),
    "cardData": (dict,),
    "config": (dict,),
    "safetensors": (dict,),
}
_COUNTS = ("downloads", "likes")
_TIMES = ("lastModified", "createdAt")
_BIGINT = range(-(2**63), 2**63)


class Undecodable:
    """A listed or imported item whose text could not be decoded: kept for the quarantine,
    with its repo id when one shows in its text (`key`)."""

    def __init__(self, text: str, reason: str):
        self.text, self.reason = text, reason
        found = re.search(r'"id"\s*:\s*"((?:[^"\\]|\\.)*)"', text[:10_000])
        self.key = found.group(1) if found else None


def parse_hub_time(value: str | None) -> datetime | None:
    """`2025-01-29T08:29:22.000Z` -> naive UTC datetime; None stays None; junk raises."""
    if value is None or value == "":
        return None
    if len(value) == 24 and value[-1] == "Z":  # the Hub's own format: already UTC
        return datetime.fromisoformat(value[:-1])
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def record_problem(item: object) -> str | None:
    """Why `item` cannot be stored as a model record, or None when it can."""
    if isinstance(item, Undecodable):
        return item.reason
    if not isinstance(item, dict):
        return f"not a JSON object but {type(item).__name__}"
    model_id = item.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        return "id: missing or not a non-empty string"
    for field, types in _OPTIONAL_TYPES.items():
        value = item.get(field)
        if value is not None and not isinstance(value, types):
            return f"{field}: expected {'/'.join(t.__name__ for t in types)}, got {value!r:.80}"
    for field in _COUNTS:
        value = item.get(field)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return f"{field}: expected an integer, got {value!r:.80}"
        if value is not None and value not in _BIGINT:
            return f"{field}: {str(value)[:80]} does not fit in 64 bits"
    tags = item.get("tags")
    if tags is not None and (
        not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags)
    ):
        return f"tags: expected a list of strings, got {tags!r:.80}"
    for field in _TIMES:
        value = item.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            return f"{field}: expected an ISO 8601 string, got {value!r:.80}"
        try:
            parse_hub_time(value)
        except ValueError:
            return f"{field}: not an ISO 8601 timestamp: {value!r:.80}"
    return None


def record_key(item: object) -> str | None:
    """The record's repo id when one can be read, for the quarantine table."""
    if isinstance(item, dict):
        model_id = item.get("id")
        return model_id if isinstance(model_id, str) else None
    return item.key if isinstance(item, Undecodable) else None


def model_oid(payload: dict) -> str:
    """The stable key of a model: the Hub `_id`, or its repo id when the source lacks one."""
    return payload.get("_id") or f"id:{payload['id']}"


# orjson writes floats below 1e-4 as `0.00001` or `1.5e-6` where the standard library writes
# `1e-05`; a payload whose text shows either form takes the standard library's path, so stored
# texts (compared for change detection, hashed into version keys) stay as they always were.
def _may_differ_from_stdlib(text: bytes) -> bool:
    if b"0.0000" in text:
        return True
    at = text.find(b"e-")  # a find loop: a regex for `[0-9]e-[0-9]` costs more than orjson
    while at != -1:
        if text[at - 1 : at].isdigit() and text[at + 2 : at + 3].isdigit():
            return True
        at = text.find(b"e-", at + 2)
    return False


def canonical_json(value: object) -> str:
    """Compact JSON with sorted keys, as `json.dumps(sort_keys=True, ensure_ascii=False)`."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits, lone surrogates
        text = None
    if text is None or _may_differ_from_stdlib(text):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.decode()


def version_key(payload: dict, text: str) -> str:
    """The sha, or a hash of the payload text when the source has no sha."""
    return payload.get("sha") or hashlib.md5(text.encode()).hexdigest()


MODEL_SCHEMA = pa.schema(
    [
        ("model_oid", pa.string()),
        ("model_id", pa.string()),
        ("sha", pa.string()),
        ("version_key", pa.string()),
        # Microseconds, not nanoseconds: those end in 2262 and a Hub record dated 2999 would
        # crash the listing on every rerun.
        ("last_modified", pa.timestamp("us")),
        ("created_at", pa.timestamp("us")),
        # Arrow's JSON type arrives as DuckDB JSON without a second validating parse.
        ("payload", pa.json_()),
    ]
)


class CheckedRecords(list):
    """Records `split_records` found storable, with their canonical texts (`texts`)."""

    texts: list[str]


def storable_text(payload: dict) -> tuple[str | None, str | None]:
    """(canonical text, None), or (None, why the payload cannot be stored as text)."""
    try:
        text = canonical_json(payload)
    except RecursionError:
        return None, "nested too deep to store as JSON"
    except (TypeError, ValueError) as error:
        return None, f"not storable as JSON: {str(error)[:120]}"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            bad = text[error.start : error.end].encode("unicode_escape").decode()
            return None, f"not storable as UTF-8 text: {error.reason} ({bad})"
    return text, None


def model_table(payloads: Iterable[dict]) -> pa.Table:
    """One row per model (the last occurrence wins, as a later page would), built column-wise."""
    known = getattr(payloads, "texts", None)
    latest, text_of = {}, {}
    for at, payload in enumerate(payloads):
        oid = model_oid(payload)
        latest[oid] = payload
        if known is not None:
            text_of[oid] = known[at]
    models = list(latest.values())
    if known is not None:
        texts = list(text_of.values())
    else:
        texts = [canonical_json(payload) for payload in models]
    columns = [
        list(latest),
        [payload["id"] for payload in models],
        [payload.get("sha") for payload in models],
        [version_key(payload, text) for payload, text in zip(models, texts, strict=True)],
        [parse_hub_time(payload.get("lastModified")) for payload in models],
        [parse_hub_time(payload.get("createdAt")) for payload in models],
        texts,
    ]
    return pa.Table.from_arrays(
        [pa.array(c, type) for c, type in zip(columns, MODEL_SCHEMA.types, strict=True)],
        schema=MODEL_SCHEMA,
    )


def renamed_payload(payload: dict, new_id: str) -> dict:
    """The payload as the Hub lists it under `new_id`: the name fields follow the rename."""
    renamed = dict(payload, id=new_id)
    if "modelId" in renamed:
        renamed["modelId"] = new_id
    if "author" in renamed:
        renamed["author"] = new_id.split("/", 1)[0] if "/" in new_id else None
    return renamed


def split_records(items: list) -> tuple[CheckedRecords, list[tuple[str | None, str, str]]]:
    """Valid, storable model records (with their canonical texts), and (key, reason,
    verbatim payload) for the others.

    The same `_id` twice in one page keeps its newest version (a later identical copy is
    dropped, a different one quarantined). One repo id under two `_id`s in one page cannot
    both be live on the Hub: the most recently modified one is kept, the other quarantined
    (the marts key models by repo id).
    """
    good, texts, rejects = [], [], []
    for item in items:
        problem = record_problem(item)
        text = None
        if problem is None:
            text, problem = storable_text(item)
        if problem is None:
            good.append(item)
            texts.append(text)
        else:
            rejects.append((_safe_key(item), problem, verbatim(item)))
    if len({model_oid(item) for item in good}) < len(good):
        good, texts = _newest_per_oid(good, texts, rejects)
    newest: dict[str, dict] = {}
    for item in good:
        kept = newest.get(item["id"])
        if kept is None or _recency(item) >= _recency(kept):
            newest[item["id"]] = item
    if len(newest) < len(good):
        kept_texts = []
        for item, text in zip(good, texts, strict=True):
            kept = newest[item["id"]]
            if model_oid(item) != model_oid(kept):
                reason = f"id: listed twice in one page; kept the newer _id {model_oid(kept)}"
                rejects.append((item["id"], reason, text))
            else:
                kept_texts.append((item, text))
        good, texts = [item for item, _ in kept_texts], [text for _, text in kept_texts]
    checked = CheckedRecords(good)
    checked.texts = texts
    return checked, rejects


def _newest_per_oid(good: list, texts: list, rejects: list) -> tuple[list, list]:
    """One record per `_id`: the newest (the later on a tie); different others quarantined."""
    newest: dict[str, int] = {}
    for at, item in enumerate(good):
        oid = model_oid(item)
        if oid not in newest or _recency(item) >= _recency(good[newest[oid]]):
            newest[oid] = at
    kept = set(newest.values())
    for at, item in enumerate(good):
        if at in kept:
            continue
        winner = newest[model_oid(item)]
        if texts[at] != texts[winner]:
            version = good[winner].get("sha") or good[winner].get("lastModified")
            reason = f"_id: listed twice in one page; kept the newer version ({version})"
            rejects.append((item["id"], reason, texts[at]))
    order = sorted(kept)
    return [good[at] for at in order], [texts[at] for at in order]


def listed_key(item: object) -> tuple[str, str] | None:
    """(`_id` or placeholder, repo id) of a listed item whose keys can be stored, else None
    (the models delta quarantines such an item; id-only listings skip it)."""
    if not isinstance(item, dict):
        return None
    model_id, oid = item.get("id"), item.get("_id")
    if not isinstance(model_id, str) or not model_id.strip():
        return None
    if oid is not None and not isinstance(oid, str):
        return None
    key = model_oid(item)
    for text in (key, model_id):
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return None
    return key, model_id


def _safe_key(item: object) -> str | None:
    key = record_key(item)
    if key is None or key.isascii():
        return key
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def verbatim(item: object) -> str:
    """The record's text for the quarantine: as received, with what UTF-8 cannot hold
    escaped."""
    if isinstance(item, Undecodable):
        return item.text.encode("utf-8", "backslashreplace").decode("utf-8")
    try:
        text = json.dumps(item, ensure_ascii=False)
    except (RecursionError, ValueError, TypeError):
        return repr(item)[:10_000]
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _recency(item: dict) -> tuple[str, str]:
    return (item.get("lastModified") or "", item.get("createdAt") or "")
