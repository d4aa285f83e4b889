"""A publish copies the last published build and rewrites only the rows the builds since
changed (the dbt publish log; a row-by-row comparison for the rest). Across local-Hub clock
moves with edits, deletions and renames, a build that changed nothing, a full refresh and a
lost log, the published copy must equal the warehouse's marts exactly, every time."""

from __future__ import annotations

from datetime import timedelta

from ingestion.publish import differences, publish, published_path
from ingestion.warehouse import connect_writer
from tests.dbt.helpers import refresh_from_hub, run_dbt


def _publish(warehouse, run_id: str):
    with connect_writer(warehouse) as con:
        return publish(con, published_path(warehouse), run_id)


def test_each_publish_rewrites_only_the_changed_rows_and_equals_the_warehouse(
    evolving_hub, tmp_path_factory
):
    store, client = evolving_hub
    root = tmp_path_factory.mktemp("publish-rows")
    warehouse, target = root / "warehouse.duckdb", root / "target"

    refresh_from_hub(warehouse, client, target)
    first = _publish(warehouse, "run-0")
    assert first.whole and first.rows_changed == first.rows > 0
    assert differences(warehouse, first.build) == {}

    for step, hours in enumerate((6, 48)):
        store.advance(store.clock() + timedelta(hours=hours))
        refresh_from_hub(warehouse, client, target)
        result = _publish(warehouse, f"run-{step + 1}")
        assert not result.whole, step
        assert result.rows_changed > 0, step
        if hours < 24:  # a few hours of this busy Hub change a small part of the marts
            assert result.rows_changed < result.rows / 2, step
        assert differences(warehouse, result.build) == {}, step

    # The publish emptied the log it applied.
    with connect_writer(warehouse) as con:
        assert con.execute("select count(*) from intermediate.dbt_publish_log").fetchone() == (0,)

    # A build that changed nothing changes no published row.
    run_dbt(warehouse, target, "build")
    unchanged = _publish(warehouse, "run-same")
    assert (unchanged.whole, unchanged.rows_changed) == (False, 0)
    assert differences(warehouse, unchanged.build) == {}

    # A full refresh rebuilds every model whole: compared row by row, still exact.
    store.advance(store.clock() + timedelta(days=2))
    refresh_from_hub(warehouse, client, target, "--full-refresh")
    refreshed = _publish(warehouse, "run-full")
    assert not refreshed.whole
    assert differences(warehouse, refreshed.build) == {}

    # After a crash between the swap and the log's reset (here: the state names another
    # build), the log may lack rows the published build lacks too: the publish writes whole.
    with connect_writer(warehouse) as con:
        con.execute("update intermediate.publish_state set published_build = 'elsewhere.duckdb'")
    rewritten = _publish(warehouse, "run-after-crash")
    assert rewritten.whole
    assert differences(warehouse, rewritten.build) == {}
