"""Crashes and failed writes: the ingestion process is killed (`kill -9`), denied disk space,
hit by an I/O error inside a write, or started twice at once; a rerun always ends with the
warehouse equal to the Hub."""

from __future__ import annotations

import random
import resource
import threading
import time

import pytest

from ingestion.cards import BATCH_SIZE
from ingestion.hub_client import HubClient
from ingestion.listing import PAGES_PER_COMMIT
from ingestion.localhub.server import serve
from ingestion.stream_state import read_state
from tests.ingestion.ingestion_helpers import open_warehouse

from .conftest import current_scale
from .support import (
    assert_matches_hub,
    chain_command,
    finish,
    hub_truth,
    kill_hard,
    requests_served,
    run_pipeline,
    start,
    wait_for_first_request,
)


@pytest.fixture(scope="module")
def hub(ecosystem):
    """One Hub for the module: nothing here changes what it serves."""
    server = serve(ecosystem)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def baseline(hub, tmp_path_factory, scale) -> dict:
    """An uninterrupted run of the ingestion process: its timings and file sizes."""
    warehouse = tmp_path_factory.mktemp("baseline") / "warehouse.duckdb"
    began = time.monotonic()
    before = requests_served(hub)
    process = start(chain_command(hub.base_url, warehouse, scale.page_size))
    startup = wait_for_first_request(hub, process, before)
    finish(process)
    work = time.monotonic() - began - startup
    sizes = [path.stat().st_size for path in warehouse.parent.glob("warehouse.duckdb*")]
    with open_warehouse(warehouse) as con:
        compared = assert_matches_hub(con, hub_truth(hub))
    return {"work_seconds": work, "largest_file": max(sizes), "rows": compared.rows}


def run_chain(hub, warehouse, scale) -> None:
    finish(start(chain_command(hub.base_url, warehouse, scale.page_size)))


@pytest.mark.parametrize("seed", range(current_scale().kill_seeds))
def test_kill_9_at_a_random_moment_then_rerun(seed, hub, baseline, warehouse, scale, record):
    kill_after = random.Random(seed).uniform(0, baseline["work_seconds"])
    before = requests_served(hub)
    process = start(chain_command(hub.base_url, warehouse, scale.page_size))
    wait_for_first_request(hub, process, before)
    time.sleep(kill_after)  # measured from the first request: past the interpreter's start
    killed = process.poll() is None
    if killed:
        kill_hard(process)
    else:
        finish(process)
    with open_warehouse(warehouse) as con:
        cursors = {stream: read_state(con, stream).cursor for stream in ("models", "sweep")}
        (models,) = con.execute("select count(*) from raw.hub_models").fetchone()
        (cards,) = con.execute("select count(*) from raw.hub_card_fetches").fetchone()
    run_chain(hub, warehouse, scale)
    with open_warehouse(warehouse) as con:
        compared = assert_matches_hub(con, hub_truth(hub))
    record(
        "kill -9 then rerun",
        seed=seed,
        kill_after=round(kill_after, 2),
        killed=killed,
        committed_before={"models": models, "card_fetches": cards},
        open_cursors=[stream for stream, cursor in cursors.items() if cursor],
        rows=compared.rows,
    )


@pytest.mark.parametrize("share", [0.15, 0.4, 0.65, 0.9][: current_scale().disk_limits])
def test_a_full_disk_fails_the_write_cleanly_and_the_rerun_completes(
    share, hub, baseline, warehouse, scale, record
):
    """RLIMIT_FSIZE caps every file the process writes: DuckDB's WAL or checkpoint write
    fails with EFBIG, exactly as on a full disk."""
    limit = int(baseline["largest_file"] * share)

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    process = start(chain_command(hub.base_url, warehouse, scale.page_size), preexec_fn=small_disk)
    _, err = process.communicate(timeout=600)
    error = err.strip().splitlines()[-1]
    assert process.returncode != 0, f"nothing failed with files capped at {limit} bytes"
    assert "File too large" in error, err[-2000:]  # the error says what went wrong
    run_chain(hub, warehouse, scale)
    with open_warehouse(warehouse) as con:
        compared = assert_matches_hub(con, hub_truth(hub))
    record("full disk then rerun", limit_bytes=limit, error=error, rows=compared.rows)


class InjectedDiskError(OSError):
    pass


class FailingDisk:
    """A DuckDB connection whose `failing_call`-th statement matching `statement` fails
    with an I/O error, as a disk that dies mid-transaction would; all else passes through."""

    def __init__(self, con, statement: str, failing_call: int):
        self._con, self._statement, self._failing_call = con, statement, failing_call
        self.calls = 0

    def execute(self, sql: str, *args, **kwargs):
        if self._statement in " ".join(sql.split()):
            self.calls += 1
            if self.calls == self._failing_call:
                raise InjectedDiskError(5, f"Input/output error (injected) on: {self._statement}")
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


def test_an_io_error_inside_a_write_rolls_the_page_back_and_the_rerun_completes(
    hub, warehouse, scale, record
):
    client = HubClient(hub.base_url)
    with open_warehouse(warehouse) as con:
        # The 2nd batch of pages fails as it is staged (its one write to the model tables);
        # the failed listing then merges the pages committed before it
        # (ModelDelta.merge_committed_pages).
        disk = FailingDisk(con, "insert into raw.hub_models_staged", 2)
        with pytest.raises(InjectedDiskError):
            run_pipeline(disk, client, scale.page_size)
        (versions,) = con.execute("select count(*) from raw.hub_model_versions").fetchone()
        state = read_state(con, "models")
        # The 2nd batch of card outcomes fails after its texts are written.
        disk = FailingDisk(con, "insert into raw.hub_card_fetches", 2)
        with pytest.raises(InjectedDiskError):
            run_pipeline(disk, client, scale.page_size)
        (fetches,) = con.execute("select count(*) from raw.hub_card_fetches").fetchone()
        (texts,) = con.execute("select count(*) from raw.hub_model_cards").fetchone()
        run_pipeline(con, client, scale.page_size)
        compared = assert_matches_hub(con, hub_truth(hub))
    # A failed batch of pages (ingest.PageBatch: one transaction) or of card outcomes is rolled
    # back whole, together with its cursor; only the pages of the first batch stay.
    pages = state.progress.get("pages", 0)
    assert 0 < pages <= PAGES_PER_COMMIT and versions == pages * scale.page_size
    assert fetches == BATCH_SIZE and 0 < texts <= fetches
    record("I/O error inside a write", rows=compared.rows)


def test_two_ingestion_runs_started_together(hub, warehouse, scale, record):
    outcomes: list[tuple[int, list[str]]] = []

    def run() -> None:
        process = start(chain_command(hub.base_url, warehouse, scale.page_size))
        _, err = process.communicate(timeout=600)
        outcomes.append((process.returncode, err.strip().splitlines()[-1:]))

    runners = [threading.Thread(target=run) for _ in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    # DuckDB admits one writing process: the CLI runs queue on the writer lock, as Dagster
    # runs do (ingestion.warehouse.connect_writer), and both succeed.
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    run_chain(hub, warehouse, scale)
    with open_warehouse(warehouse) as con:
        compared = assert_matches_hub(con, hub_truth(hub))
    record("two runs together", outcomes=outcomes, rows=compared.rows)
