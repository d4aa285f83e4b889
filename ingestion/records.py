"""Checking Hub model records before they reach the warehouse.

A record that breaks the list API's schema goes to `raw.quarantine` with the reason returned
here; everything else is stored verbatim.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
    return None
