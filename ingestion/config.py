"""Locations and settings shared by ingestion, orchestration and tests."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"


def warehouse_path() -> Path:
    """Absolute path of the DuckDB warehouse (`HUBGENOME_WAREHOUSE`, relative to the project)."""
    path = Path(os.environ.get("HUBGENOME_WAREHOUSE", DEFAULT_WAREHOUSE))
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    return path


def duckdb_memory_limit() -> str:
    """DuckDB's memory cap for every warehouse connection (`HUBGENOME_DUCKDB_MEMORY`).

    DuckDB's own default is 80% of the machine's RAM, which at 2M models let one analytics
    run grow past 16 GB; past the cap DuckDB spills to disk instead.
    """
    return os.environ.get("HUBGENOME_DUCKDB_MEMORY", "6GB")


def hub_endpoint() -> str:
    """The Hub the client talks to; `HF_ENDPOINT` as huggingface_hub reads it."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
