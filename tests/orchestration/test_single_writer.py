"""Two materializations started together on one warehouse wait for each other; both succeed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import duckdb

from ingestion.config import PROJECT_ROOT
from ingestion.localhub.server import read_snapshot, serve
from orchestration.defs.resources import acquire_writer_lock

# Raw ingestion (Python writes) plus a dbt model (the dbt subprocess writes): both kinds of writer.
BUILD_IN_A_NEW_PROCESS = """
import dagster as dg
from orchestration.definitions import defs
selection = [
    dg.AssetKey(["raw", "hub_models"]),
    dg.AssetKey(["raw", "hub_model_versions"]),
    dg.AssetKey(["staging", "stg_hub__models"]),
]
with dg.DagsterInstance.ephemeral() as instance:
    job = defs().resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=instance, asset_selection=selection)
raise SystemExit(0 if result.success else 1)
"""
WAITING = "waiting for the warehouse writer lock"


class Build:
    """Ingestion plus dbt in its own Python process, its log collected line by line."""

    def __init__(self, env: dict[str, str]):
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-c", BUILD_IN_A_NEW_PROCESS],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def waiting(self) -> bool:
        return any(WAITING in line for line in self.lines)

    def finish(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code


def test_two_materializations_started_together_both_succeed(small_snapshot, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    hub = serve(small_snapshot)
    env = dict(os.environ, HF_ENDPOINT=hub.base_url, HUBGENOME_WAREHOUSE=str(warehouse))
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    try:
        # Hold the lock until both processes are queued on it, so they really collide.
        held = acquire_writer_lock(warehouse)
        builds = [Build(env), Build(env)]
        deadline = time.monotonic() + 180
        while not all(build.waiting() for build in builds):
            assert all(build.process.poll() is None for build in builds), "".join(
                builds[0].lines + builds[1].lines
            )
            assert time.monotonic() < deadline, "the builds never reached the writer lock"
            time.sleep(0.2)
        held.close()
        codes = [build.finish(timeout=600) for build in builds]
    finally:
        hub.shutdown()
        hub.server_close()
    logs = ["".join(build.lines) for build in builds]
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    for log in logs:
        assert "RUN_SUCCESS" in log
        assert "Could not set lock" not in log

    expected = {record["model"]["id"] for record in read_snapshot(small_snapshot)}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        (models, distinct) = con.execute(
            "select count(*), count(distinct model_oid) from raw.hub_models"
        ).fetchone()
        stored = {
            row[0] for row in con.execute("select model_id from staging.stg_hub__models").fetchall()
        }
    finally:
        con.close()
    assert models == distinct == len(expected)
    assert stored == expected
