"""Apply a deterministic delta to a warehouse, as an incremental Hub listing would write it.

A share of the current models gets a new version (new sha, `lastModified` now, a license
edit), written through the ingestion write path, so `changed_at` moves exactly as it does
for real deltas. Run: `python -m bench.delta WAREHOUSE --fraction 0.01 --seed 1`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from ingestion.localhub.synthetic import hub_time
from ingestion.raw_writes import write_models
from ingestion.warehouse import connect, transaction, utc_now


def apply_delta(warehouse: Path, fraction: float, seed: int) -> int:
    """Edit `fraction` of the live models (chosen by a seeded hash); return how many."""
    with connect(warehouse) as con:
        (live,) = con.execute(
            "select count(*) from raw.hub_models where deleted_at is null"
        ).fetchone()
        k = max(1, round(live * fraction))
        rows = con.execute(
            """
            select payload::varchar from raw.hub_models
            where deleted_at is null
            order by hash(model_oid || $seed)
            limit $k
            """,
            {"seed": str(seed), "k": k},
        ).fetchall()
        now = utc_now()
        edited = []
        for (text,) in rows:
            payload = json.loads(text)
            payload["sha"] = hashlib.sha1(f"{payload['id']}:{seed}:{now}".encode()).hexdigest()
            payload["lastModified"] = hub_time(now)
            tags = [t for t in payload.get("tags") or [] if not t.startswith("license:")]
            payload["tags"] = [*tags, "license:apache-2.0"]
            if isinstance(payload.get("cardData"), dict):
                payload["cardData"] = {**payload["cardData"], "license": "apache-2.0"}
            edited.append(payload)
        with transaction(con):
            write_models(con, edited, now)
    return len(edited)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--fraction", type=float, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"edited {apply_delta(args.warehouse, args.fraction, args.seed)} models")


if __name__ == "__main__":
    main()
