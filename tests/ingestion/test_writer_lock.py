"""Two ingestion command lines started together on one warehouse queue on the writer lock."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from ingestion_helpers import open_warehouse, source_models, stored_models

from ingestion.config import PROJECT_ROOT
from ingestion.localhub.server import read_snapshot
from ingestion.warehouse import acquire_writer_lock

WAITING = "waiting for the warehouse writer lock"


def start_cli_ingestion(endpoint: str, warehouse, log_path) -> subprocess.Popen:
    command = [sys.executable, "-m", "ingestion.ingest", "models"]
    command += ["--endpoint", endpoint, "--warehouse", str(warehouse), "--page-size", "500"]
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=log_path.open("w"), stderr=subprocess.STDOUT
    )


def test_two_cli_ingestions_started_together_both_succeed(
    local_hub, synthetic_snapshot, warehouse, tmp_path
):
    source = source_models(read_snapshot(synthetic_snapshot))
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    # Hold the lock until both processes are queued on it, so they really collide.
    held = acquire_writer_lock(warehouse)
    try:
        runs = [start_cli_ingestion(local_hub.base_url, warehouse, log) for log in logs]
        deadline = time.monotonic() + 120
        while not all(WAITING in log.read_text() for log in logs):
            assert all(run.poll() is None for run in runs), [log.read_text() for log in logs]
            assert time.monotonic() < deadline, "the ingestions never reached the writer lock"
            time.sleep(0.1)
    finally:
        held.close()
    codes = [run.wait(timeout=300) for run in runs]
    texts = [log.read_text() for log in logs]
    assert codes == [0, 0], texts
    assert not any("Could not set lock" in text for text in texts)
    # One of them loaded everything, the other found the warehouse loaded and listed a delta.
    assert sorted(f" {len(source):,} added," in text for text in texts) == [False, True], texts

    with open_warehouse(warehouse) as con:
        stored = stored_models(con)
        (rows, distinct) = con.execute(
            "select count(*), count(distinct model_oid) from raw.hub_models"
        ).fetchone()
    assert rows == distinct == len(source)
    assert {model_id: m["sha"] for model_id, m in stored.items()} == {
        model_id: model["sha"] for model_id, model in source.items()
    }


def test_a_warehouse_reached_through_a_symlink_shares_the_writer_lock(warehouse, tmp_path):
    """The lock is taken on the real path: a link to the file cannot open a second writer."""
    link = tmp_path / "elsewhere" / "link.duckdb"
    link.parent.mkdir()
    link.symlink_to(warehouse)
    held = acquire_writer_lock(warehouse)
    try:
        with pytest.raises(TimeoutError, match="stayed locked"):
            acquire_writer_lock(link, timeout=0.5)
    finally:
        held.close()
    acquire_writer_lock(link, timeout=5).close()  # free again once released
