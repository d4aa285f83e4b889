"""`kill -9` at random moments, then rerun: the warehouse equals an uninterrupted run's."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ingestion_helpers import (
    open_warehouse,
    source_cards,
    source_models,
    stored_cards,
    stored_models,
)

from ingestion.config import PROJECT_ROOT
from ingestion.localhub.server import read_snapshot
from ingestion.stream_state import read_state


def run_ingest(what: str, endpoint: str, warehouse: Path, kill_after: int | None) -> bool:
    """Run `python -m ingestion.ingest WHAT`; kill -9 it once it has made `kill_after` HTTP
    requests (counted from its log, so the kill lands mid-run however loaded the machine is).
    True if it was killed before finishing."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ingestion.ingest",
            "--verbose",  # one log line per HTTP request, counted below
            what,
            "--endpoint",
            endpoint,
            "--warehouse",
            str(warehouse),
            "--page-size",
            "25",
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    requests, tail = 0, []
    for line in process.stderr:
        tail = [*tail[-20:], line]
        requests += "HTTP Request:" in line
        if kill_after is not None and requests >= kill_after:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return True
    process.wait()
    assert process.returncode == 0, "".join(tail)
    return False


def warehouse_contents(path: Path) -> tuple:
    with open_warehouse(path) as con:
        versions = con.execute(
            "select model_oid, version_key, model_id, sha, payload::varchar "
            "from raw.hub_model_versions order by all"
        ).fetchall()
        state = read_state(con, "models")
        return stored_models(con), stored_cards(con), versions, state.watermark, state.cursor


@pytest.mark.slow
def test_kill_9_at_random_points_then_rerun_ends_in_the_uninterrupted_warehouse(
    local_hub, synthetic_snapshot, tmp_path
):
    records = list(read_snapshot(synthetic_snapshot))
    reference = tmp_path / "reference.duckdb"
    for what in ("models", "cards"):
        run_ingest(what, local_hub.base_url, reference, kill_after=None)

    interrupted = tmp_path / "interrupted.duckdb"
    rng = random.Random(7)
    kills_mid_listing = 0
    for what in ("models", "cards"):
        for _ in range(3):
            if not run_ingest(what, local_hub.base_url, interrupted, rng.randint(2, 40)):
                break
            with open_warehouse(interrupted) as con:
                kills_mid_listing += read_state(con, "models").cursor is not None
        run_ingest(what, local_hub.base_url, interrupted, kill_after=None)

    expected, got = warehouse_contents(reference), warehouse_contents(interrupted)
    assert kills_mid_listing >= 1, "no kill landed in the middle of a listing"
    assert got == expected
    models, cards, *_ = got
    source = source_models(records)
    assert {model_id: m["sha"] for model_id, m in models.items()} == {
        model_id: m["sha"] for model_id, m in source.items()
    }
    assert cards == source_cards(records)
    with open_warehouse(interrupted) as con:
        duplicates = con.execute(
            "select count(*) - count(distinct model_id) from raw.hub_models"
        ).fetchone()[0]
    assert duplicates == 0
