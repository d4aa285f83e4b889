"""The analytics assets through real Dagster materializations on a contract-shaped warehouse."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from ingestion.localhub.synthetic import generate
from orchestration.defs.analytics.assets import (
    DIM_MODEL_FAMILY,
    FCT_MODEL_EDGES,
    report_dir,
    similarity_by_configuration,
    trait_mutation_rates,
    trait_orderings,
    trait_transitions,
)
from orchestration.defs.resources import WarehouseResource

# The report reads marts beyond the contract tables: it is tested on real dbt builds
# (test_analytics_e2e.py, test_real_families.py).
ANALYTICS_ASSETS = [
    similarity_by_configuration,
    trait_mutation_rates,
    trait_transitions,
    trait_orderings,
]


def small_run_config() -> dg.RunConfig:
    return dg.RunConfig(
        ops={
            "analytics__similarity_by_configuration": {
                "config": {"n_samples": 300, "resamples": 300, "fit_sample": 2000}
            },
        }
    )


def materialize_analytics(warehouse_path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ANALYTICS_ASSETS,
        resources={"warehouse": WarehouseResource(path=str(warehouse_path))},
        run_config=small_run_config(),
        instance=dg.DagsterInstance.ephemeral(),
    )


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    """The synthetic ecosystem written as contract tables, then every analytics asset."""
    from contract_tables import specs_from_records, write_contract_tables

    root = tmp_path_factory.mktemp("analytics")
    path = write_contract_tables(
        root / "warehouse.duckdb", specs_from_records(generate(1500, seed=4))
    )
    result = materialize_analytics(path)
    return result, path


def test_every_analytics_asset_materializes_and_its_checks_pass(synthetic_run):
    result, path = synthetic_run
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(check.passed for check in checks)
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'analytics'"
            ).fetchall()
        }
        relationships = {
            r
            for (r,) in con.execute(
                "select distinct relationship from analytics.similarity_by_configuration"
            ).fetchall()
        }
        undocumented = con.execute(
            """
            select table_name, null from duckdb_tables()
            where schema_name = 'analytics' and coalesce(comment, '') = ''
            union all
            select table_name, column_name from duckdb_columns()
            where schema_name = 'analytics' and coalesce(comment, '') = ''
            """
        ).fetchall()
    finally:
        con.close()
    assert tables == {
        "similarity_by_configuration",
        "trait_mutation_rates",
        "trait_transitions",
        "trait_orderings",
    }
    assert undocumented == []  # every analytics table and column carries a comment
    # Which deeper relationships exist depends on the generated forest (unit tests cover each).
    assert {"random", "parent-child", "siblings", "grandparent-grandchild"} <= relationships


def test_the_report_goes_beside_the_warehouse_unless_configured(tmp_path):
    warehouse = tmp_path / "somewhere" / "warehouse.duckdb"
    assert report_dir(warehouse) == tmp_path / "somewhere" / "reports"
    assert report_dir(str(warehouse), "paper-run") == tmp_path / "somewhere" / "paper-run"
    assert report_dir(warehouse, str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"


def test_analytics_depend_on_the_marts_and_refresh_only_with_them():
    from orchestration.definitions import defs

    graph = defs().resolve_asset_graph()
    similarity = graph.get(dg.AssetKey(["analytics", "similarity_by_configuration"]))
    assert {FCT_MODEL_EDGES, DIM_MODEL_FAMILY} <= set(similarity.parent_keys)
    condition = similarity.automation_condition
    assert condition is not None and "any_deps_updated" in str(condition).lower().replace(" ", "_")
