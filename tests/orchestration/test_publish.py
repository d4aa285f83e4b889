"""Write-audit-publish: analysts read `<warehouse>.published.duckdb`, replaced only after a
build that passed, never blocking a refresh, and a reader keeps its snapshot."""

from __future__ import annotations

import dagster as dg
import pytest
from orchestration_support import advance_days, load_definitions, run_job, serve_evolving

from ingestion.exports import export_differences, exports_folder
from ingestion.publish import differences, published_build, published_path
from ingestion.warehouse import connect
from orchestration.defs.publish.assets import PUBLISHED


def count(con, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchone()[0]


@pytest.fixture
def built(small_snapshot, tmp_path, monkeypatch):
    hub = serve_evolving(small_snapshot)
    warehouse = tmp_path / "warehouse.duckdb"
    defs = load_definitions(hub.base_url, warehouse, monkeypatch)
    instance = dg.DagsterInstance.ephemeral()
    run_job(defs, "full_build", instance)
    yield hub, defs, instance, warehouse
    hub.shutdown()
    hub.server_close()


def test_a_reader_keeps_its_snapshot_and_never_blocks_a_refresh(built):
    hub, defs, instance, warehouse = built
    published = published_path(warehouse)
    first_build = published_build(published)
    assert first_build is not None and first_build.parent.name.endswith(".builds")

    with connect(published, read_only=True) as reader:
        models_before = count(reader, "marts.dim_models")
        # comments, analytics and the as-of macros came along
        (comment,) = reader.execute(
            "select comment from duckdb_tables() where table_name = 'dim_models'"
        ).fetchone()
        assert comment
        assert count(reader, "analytics.trait_mutation_rates") > 0
        assert count(reader, "marts.family_members_as_of(now()::timestamp)") > 0

        # The Hub gains models; a full refresh runs while the reader's connection is open.
        assert advance_days(hub, 30) > 0
        result = defs.resolve_job_def("full_build").execute_in_process(instance=instance)
        assert result.success
        assert count(reader, "marts.dim_models") == models_before  # its snapshot

    second_build = published_build(published)
    assert second_build != first_build
    with connect(published, read_only=True) as fresh:
        assert count(fresh, "marts.dim_models") > models_before
    with connect(warehouse, read_only=True) as con:
        assert count(con, "marts.dim_models") == count_published(published)
    assert differences(warehouse, second_build) == {}
    assert export_differences(second_build, exports_folder(warehouse)) == {}


def count_published(published) -> int:
    with connect(published, read_only=True) as con:
        return count(con, "marts.dim_models")


def test_a_build_that_fails_its_tests_keeps_the_previous_copy(built):
    hub, defs, instance, warehouse = built
    published = published_path(warehouse)
    before = published_build(published)
    models_published = count_published(published)
    assert advance_days(hub, 30) > 0
    run_job(defs, "hub_delta_job", instance)  # new models the failed build must not publish
    with connect(warehouse) as con:
        # A second `_id` under an existing repo id breaks stg_hub__models' unique test.
        con.execute(
            """
            insert into raw.hub_models by name
            select * replace ('duplicate-oid' as model_oid)
            from raw.hub_models where deleted_at is null limit 1
            """
        )
    # What the automation runs after a delta: every derived asset (no sweep to clean it up).
    graph = defs.resolve_asset_graph()
    derived = sorted(k for k in graph.materializable_asset_keys if k.path[0] != "raw")
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=derived, raise_on_error=False
    )
    assert not result.success
    assert PUBLISHED not in {e.asset_key for e in result.get_asset_materialization_events()}
    assert published_build(published) == before
    assert count_published(published) == models_published
