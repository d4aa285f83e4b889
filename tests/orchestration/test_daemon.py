"""The demo's path is production's: `dagster-daemon` with the real sensors and automation,
nobody acting, from an empty warehouse to every asset, then one Hub change in one run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import dagster as dg
import pytest

from ingestion.config import PROJECT_ROOT, child_environment


@pytest.mark.slow
def test_the_daemon_alone_builds_every_asset_and_refreshes_a_change_in_one_run(tmp_path):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", dagster_home)
    warehouse = tmp_path / "warehouse.duckdb"
    env = child_environment(HUBGENOME_WAREHOUSE=str(warehouse), DAGSTER_HOME=str(dagster_home))
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.demo", "--models", "150", "--timeout", "600"]
        + ["--hub-dir", str(tmp_path / "hub")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    daemon_log = tmp_path / "demo-daemon.log"
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    from orchestration.definitions import defs

    every_asset = set(defs().resolve_asset_graph().materializable_asset_keys)
    assert f"every asset ({len(every_asset)}) materialized" in done.stdout
    after_change = done.stdout.split("the Hub's clock moves", 1)[1]
    runs = re.search(r"(\d+) runs after the change: (.*)", after_change)
    assert runs, after_change
    assert runs.group(2) == "hub_delta_job (hub_delta_sensor), __ASSET_JOB (warehouse_automation)"
    assert "refreshed   analytics/reproduction_report" in after_change
    assert "unchanged   marts/license_aliases" in after_change  # a seed: nothing it reads moved

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        statuses = {run.status for run in instance.get_runs()}
        missing = [k for k in every_asset if instance.get_latest_materialization_event(k) is None]
    assert statuses == {dg.DagsterRunStatus.SUCCESS}, daemon_log.read_text()[-3000:]
    assert missing == []
