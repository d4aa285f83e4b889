"""Listing the Hub with the real `huggingface_hub` client, as Hub-shaped payload dicts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, is_dataclass
from datetime import datetime

from huggingface_hub import HfApi, ModelInfo

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


def _hub_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def model_payload(info: ModelInfo) -> dict:
    """Rebuild the Hub's JSON item from a `ModelInfo` (field names as the Hub sends them)."""
    card_data = info.card_data.to_dict() if hasattr(info.card_data, "to_dict") else info.card_data
    safetensors = asdict(info.safetensors) if is_dataclass(info.safetensors) else info.safetensors
    return {
        "_id": getattr(info, "_id", None),
        "id": info.id,
        "author": info.author,
        "sha": info.sha,
        "createdAt": _hub_time(info.created_at),
        "lastModified": _hub_time(info.last_modified),
        "private": info.private,
        "gated": info.gated,
        "disabled": info.disabled,
        "downloads": info.downloads,
        "likes": info.likes,
        "library_name": info.library_name,
        "pipeline_tag": info.pipeline_tag,
        "tags": info.tags,
        "cardData": card_data,
        "config": info.config,
        "safetensors": safetensors,
    }


def list_model_payloads(endpoint: str, token: str | None = None) -> Iterator[dict]:
    """Every model on the Hub, newest `lastModified` first, as payload dicts."""
    api = HfApi(endpoint=endpoint, token=token)
    for info in api.list_models(sort="last_modified", expand=EXPAND_FIELDS):
        yield model_payload(info)
