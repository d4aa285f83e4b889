"""A dbt run killed mid-build (`kill -9`), then rerun, leaves every staging, intermediate and
mart relation equal, row for row, to an uninterrupted build from the same raw layer: once on
an empty warehouse and (full run) once in the middle of an incremental build."""

from __future__ import annotations

import random
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from ingestion.config import Settings
from ingestion.hub_client import HubClient
from ingestion.localhub.server import serve
from tests.ingestion.ingestion_helpers import open_warehouse

from .conftest import current_scale
from .support import child_env, kill_hard, run_pipeline, start

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
BUILT_SCHEMAS = ("staging", "intermediate", "marts")
# Columns that name the build that wrote a row (its wall-clock time or its dbt invocation):
# a killed build and its rerun are other builds than the uninterrupted one.
BUILD_TIME_COLUMNS = {
    ("dbt_watermarks", "updated_at"),
    ("dbt_incremental_builds", "invocation_id"),
    ("model_changes", "run_id"),
    ("model_changes", "run_started_at"),
}
# Per-build bookkeeping, not data: which models the last build built incrementally, and the
# keys it changed (a rerun after a kill records only what the rerun itself changed).
PER_BUILD_TABLES = {"dbt_incremental_builds", "dbt_changed_keys"}
# The change log's rows carry their build's run id, so their publish-log hashes (of the whole
# row) differ from build to build; every other model's logged keys must be the same.
COMPARED_ROWS = {"dbt_publish_log": "model_name <> 'model_changes'"}
WORK_FILE = "warehouse.duckdb"


class DbtRun:
    """`dbt build` of seeds and models on one warehouse file, in its own process group.

    Every run of the module uses the same warehouse path and target folder: the path is part
    of the profile, and an unchanged profile lets dbt reuse its parse (seconds, not 30).
    """

    def __init__(self, workspace: Path):
        target = workspace / "target"
        partial = DBT_PROJECT / "target" / "partial_parse.msgpack"
        if partial.exists() and not (target / partial.name).exists():
            target.mkdir(exist_ok=True)
            shutil.copy(partial, target / partial.name)
        self.models_started = 0
        self.process = start(
            [
                "dbt",
                "build",  # seeds and models; the data tests are the dbt suite's business
                "--resource-type",
                "seed",
                "--resource-type",
                "model",
                "--profiles-dir",
                ".",
                "--vars",
                Settings.from_env().with_warehouse(workspace / WORK_FILE).dbt_vars(),
                "--target-path",
                str(target),
                "--log-path",
                str(target / "logs"),
            ],
            env=child_env(),
            cwd=DBT_PROJECT,
            stderr=subprocess.STDOUT,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if " START " in line:
                self.models_started += 1

    def wait(self) -> None:
        self.process.wait(timeout=900)
        self._reader.join()
        assert self.process.returncode == 0, "".join(self.lines[-40:])

    def kill_when(self, models_started: int, extra_delay: float) -> bool:
        """`kill -9` once `models_started` models have started (plus a delay); False when
        dbt finished first."""
        while self.models_started < models_started and self.process.poll() is None:
            time.sleep(0.01)
        time.sleep(extra_delay)
        if self.process.poll() is not None:
            return False
        kill_hard(self.process)
        return True


def built_relations(path: Path) -> dict[str, list[str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            """
            select table_schema || '.' || table_name, list(column_name order by ordinal_position)
            from information_schema.columns
            where table_schema in $schemas
            group by 1
            """,
            {"schemas": list(BUILT_SCHEMAS)},
        ).fetchall()
    return dict(rows)


def differing_relations(built: Path, expected: Path) -> tuple[dict[str, tuple[int, int]], int]:
    """Relations whose rows differ (name -> rows only in `built`, rows only in `expected`),
    and the rows compared."""
    relations = built_relations(expected)
    assert built_relations(built) == relations
    differences, rows = {}, 0
    con = duckdb.connect()
    try:
        con.execute("attach $path as built (read_only)", {"path": str(built)})
        con.execute("attach $path as expected (read_only)", {"path": str(expected)})
        for name, columns in relations.items():
            table = name.split(".")[1]
            if table in PER_BUILD_TABLES:
                continue
            kept = ", ".join(f'"{c}"' for c in columns if (table, c) not in BUILD_TIME_COLUMNS)
            where = COMPARED_ROWS.get(table, "true")
            built_rows = f"{kept} from built.{name} where {where}"
            expected_rows = f"{kept} from expected.{name} where {where}"
            only_built, only_expected = con.execute(
                f"""
                select
                    (select count(*) from (select {built_rows} except all select {expected_rows})),
                    (select count(*) from (select {expected_rows} except all select {built_rows}))
                """
            ).fetchone()
            only_one = (only_built, only_expected) if only_built or only_expected else None
            (count,) = con.execute(f"select count(*) from expected.{name}").fetchone()
            rows += count
            if only_one:
                differences[name] = only_one
    finally:
        con.close()
    return differences, rows


@pytest.fixture(scope="module")
def raw_layer(ecosystem, tmp_path_factory, scale) -> dict:
    """A raw layer ingested from the Hub, and the same Hub a few weeks later."""
    folder = tmp_path_factory.mktemp("dbt_kill")
    before, after = folder / "raw_before.duckdb", folder / "raw_after.duckdb"
    server = serve(ecosystem)
    try:
        with open_warehouse(before) as con:
            run_pipeline(con, HubClient(server.base_url), scale.page_size)
        shutil.copy(before, after)
        store = server.store
        store.advance(store.clock() + timedelta(days=20))
        with open_warehouse(after) as con:
            run_pipeline(con, HubClient(server.base_url), scale.page_size)
    finally:
        server.shutdown()
        server.server_close()
    return {"before": before, "after": after}


def replace_raw(path: Path, source: Path) -> None:
    """Give a built warehouse the raw layer of `source` (the Hub's later state)."""
    with duckdb.connect(str(path)) as con:
        con.execute("attach $path as source (read_only)", {"path": str(source)})
        tables = con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'source' and table_schema = 'raw'"
        ).fetchall()
        for (table,) in tables:
            con.execute(f"delete from raw.{table}")
            con.execute(f"insert into raw.{table} select * from source.raw.{table}")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dbt_workspace")


@contextmanager
def in_workspace(path: Path, workspace: Path):
    """Move a warehouse file to the workspace's fixed path for a dbt run, then back."""
    shutil.move(path, workspace / WORK_FILE)
    try:
        yield
    finally:
        shutil.move(workspace / WORK_FILE, path)


def build(path: Path, workspace: Path) -> int:
    """An uninterrupted build; returns how many nodes it ran."""
    with in_workspace(path, workspace):
        run = DbtRun(workspace)
        run.wait()
    return run.models_started


@pytest.mark.slow
@pytest.mark.skipif(not current_scale().full, reason="HUBGENOME_RELIABILITY=full only")
@pytest.mark.parametrize("seed", range(max(1, current_scale().dbt_kill_seeds)))
def test_a_dbt_run_killed_mid_build_then_rerun_equals_an_uninterrupted_build(
    seed, raw_layer, workspace, tmp_path, record
):
    incremental = seed % 2 == 1  # odd seeds interrupt an incremental build of later raw data
    expected, interrupted = tmp_path / "expected.duckdb", tmp_path / "interrupted.duckdb"
    for path in (expected, interrupted):
        shutil.copy(raw_layer["before"], path)
        if incremental:
            build(path, workspace)
            replace_raw(path, raw_layer["after"])
    nodes = build(expected, workspace)

    rng = random.Random(seed)
    with in_workspace(interrupted, workspace):
        run = DbtRun(workspace)
        killed = run.kill_when(rng.randint(1, nodes), rng.uniform(0, 0.5))
        if not killed:
            run.wait()
    build(interrupted, workspace)
    differences, rows = differing_relations(interrupted, expected)
    assert not differences, differences
    record(
        "dbt build killed mid-build",
        seed=seed,
        incremental=incremental,
        killed=killed,
        nodes_started_before_kill=run.models_started,
        relations=len(built_relations(expected)),
        rows=rows,
    )
