"""The floor under a full build: one DuckDB scan of every column of the raw tables it reads.

Usage: `python -m bench.scan_raw WAREHOUSE`. Prints the rows read per table as JSON.
"""

from __future__ import annotations

import json
import sys

import duckdb

# The raw tables a full build reads in full: model records, their versions and the cards.
RAW_TABLES = ("hub_models", "hub_model_versions", "hub_model_cards")


def scan(warehouse: str) -> dict[str, int]:
    """Read every value of each raw table once (hashing it, so nothing is skipped)."""
    con = duckdb.connect(warehouse, read_only=True)
    try:
        rows = {}
        for name in RAW_TABLES:
            rows[name], _ = con.execute(
                f"select count(*), sum(hash(row_value)) from raw.{name} as row_value"
            ).fetchone()
        return rows
    finally:
        con.close()


if __name__ == "__main__":
    print(json.dumps(scan(sys.argv[1])))
