"""The walking skeleton end to end: local Hub -> real client -> raw -> dbt marts, via Dagster."""

from __future__ import annotations

import re

import dagster as dg
import duckdb

from ingestion.localhub.server import read_snapshot
from orchestration.defs.ingestion.assets import hub_delta
from orchestration.defs.resources import HubResource, WarehouseResource
from orchestration.defs.transform.assets import hubgenome_dbt_models
from orchestration.defs.transform.project import dbt_resource

PRECEDENCE = {"finetune": 1, "quantized": 2, "adapter": 3, "merge": 4}
TYPED_TAG = re.compile(r"^base_model:(finetune|adapter|quantized|merge):(.+)$")


def expected_edges(snapshot) -> dict[tuple[str, str], str]:
    """(parent, child) -> primary relation, computed from the snapshot's tags in Python."""
    edges: dict[tuple[str, str], str] = {}
    for record in read_snapshot(snapshot):
        model = record["model"]
        for tag in model["tags"]:
            match = TYPED_TAG.match(tag)
            if match:
                key = (match.group(2), model["id"])
                relation = match.group(1)
                if PRECEDENCE[relation] > PRECEDENCE.get(edges.get(key, ""), 0):
                    edges[key] = relation
    return edges


def materialize_all(endpoint: str, warehouse_path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [hub_delta, hubgenome_dbt_models],
        resources={
            "hub": HubResource(endpoint=endpoint),
            "warehouse": WarehouseResource(path=str(warehouse_path)),
            "dbt": dbt_resource(),
        },
        instance=dg.DagsterInstance.ephemeral(),
    )


def test_every_asset_materializes_and_matches_the_generated_hub(
    local_hub, synthetic_snapshot, warehouse
):
    result = materialize_all(local_hub.base_url, warehouse)
    assert result.success

    models = {r["model"]["id"] for r in read_snapshot(synthetic_snapshot)}
    truth = expected_edges(synthetic_snapshot)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        stored = {
            row[0] for row in con.execute("select model_id from staging.stg_hub__models").fetchall()
        }
        edges = {
            (parent, child): relation
            for parent, child, relation in con.execute(
                "select parent_id, child_id, relation from marts.fct_model_edges"
            ).fetchall()
        }
        relations = {
            r
            for (r,) in con.execute(
                "select distinct relation from marts.fct_model_edges"
            ).fetchall()
        }
    finally:
        con.close()

    assert stored == models
    assert edges == truth
    assert relations == {"finetune", "adapter", "quantized", "merge"}

    materializations = {
        event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
    }
    assert {
        "raw/hub_models",
        "staging/stg_hub__models",
        "marts/fct_model_edges",
    } <= materializations


def test_definitions_form_one_lineage_from_raw_to_marts():
    from orchestration.definitions import defs

    graph = defs().resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"raw/hub_models", "staging/stg_hub__models", "marts/fct_model_edges"} <= keys
    staging_parents = graph.get(dg.AssetKey(["staging", "stg_hub__models"])).parent_keys
    assert dg.AssetKey(["raw", "hub_models"]) in staging_parents
    upstream = graph.get(dg.AssetKey(["marts", "fct_model_edges"])).parent_keys
    assert dg.AssetKey(["intermediate", "int_lineage_tags_parsed"]) in upstream


def test_a_second_run_is_idempotent_and_leaves_whole_table_tests_to_full_builds(
    local_hub, warehouse
):
    """A second run stores nothing twice. The staging views' and sources' tests read whole raw
    tables: a first build and a full refresh run them, an incremental build does not, and its
    run still succeeds."""
    raw_layer_check = dg.AssetCheckKey(
        dg.AssetKey(["staging", "stg_hub__models"]), "unique_stg_hub__models_model_id"
    )
    mart_check = dg.AssetCheckKey(
        dg.AssetKey(["marts", "dim_models"]), "unique_dim_models_model_id"
    )

    def checks_run(result: dg.ExecuteInProcessResult) -> dict[dg.AssetCheckKey, bool]:
        assert result.success
        return {e.asset_check_key: e.passed for e in result.get_asset_check_evaluations()}

    first = checks_run(materialize_all(local_hub.base_url, warehouse))
    assert first[raw_layer_check] and first[mart_check]
    incremental = checks_run(materialize_all(local_hub.base_url, warehouse))
    assert raw_layer_check not in incremental and incremental[mart_check]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        (models, distinct) = con.execute(
            "select count(*), count(distinct model_oid) from raw.hub_models"
        ).fetchone()
        (versions,) = con.execute("select count(*) from raw.hub_model_versions").fetchone()
    finally:
        con.close()
    assert models == distinct == versions

    full_refresh = checks_run(
        dg.materialize(
            [hubgenome_dbt_models],
            resources={"warehouse": WarehouseResource(path=str(warehouse)), "dbt": dbt_resource()},
            run_config={"ops": {"hubgenome_dbt_models": {"config": {"full_refresh": True}}}},
            instance=dg.DagsterInstance.ephemeral(),
        )
    )
    assert full_refresh[raw_layer_check] and full_refresh[mart_check]
