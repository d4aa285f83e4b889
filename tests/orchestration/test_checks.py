"""The Python asset checks pass on a sound warehouse and fail on the faults they guard against."""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import pytest

from ingestion.stream_state import MODELS_STREAM, read_state, save_state
from ingestion.sweep import log_sweep
from ingestion.warehouse import connect, ensure_raw_schema
from orchestration.defs.checks import (
    MODEL_EDGES,
    edges_refer_to_known_models,
    quarantine_share_below_threshold,
    sweep_not_refused,
    watermark_never_moves_back,
)
from orchestration.defs.ingestion.keys import HUB_MODEL_SWEEP, HUB_MODELS
from orchestration.defs.resources import WarehouseResource


@pytest.fixture
def small_warehouse(tmp_path):
    """A warehouse with 100 models, a watermark, and a tiny edge table."""
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as con:
        ensure_raw_schema(con)
        for number in range(100):
            con.execute(
                """
                insert into raw.hub_models (model_oid, model_id, payload, first_seen_at,
                    changed_at, observed_at)
                values ($oid, $id, '{}', now(), now(), now())
                """,
                {"oid": f"oid{number}", "id": f"org/model-{number}"},
            )
        state = read_state(con, MODELS_STREAM)
        state.watermark = datetime(2025, 6, 1)
        save_state(con, state)
        con.execute("create view staging.stg_hub__models as select model_id from raw.hub_models")
        con.execute(
            "create table marts.fct_model_edges as select 'org/model-0' as parent_id, "
            "'org/model-' || i as child_id from range(1, 10) t(i)"
        )
    return path


def run_checks(path, instance) -> dict[str, dg.AssetCheckEvaluation]:
    result = dg.materialize(
        [
            dg.AssetSpec(HUB_MODELS),
            dg.AssetSpec(MODEL_EDGES),
            watermark_never_moves_back,
            quarantine_share_below_threshold,
            edges_refer_to_known_models,
        ],
        selection=dg.AssetSelection.all_asset_checks(),
        resources={"warehouse": WarehouseResource(path=str(path))},
        instance=instance,
        raise_on_error=False,
    )
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_checks_pass_on_a_sound_warehouse_and_fail_on_faults(small_warehouse):
    instance = dg.DagsterInstance.ephemeral()
    sound = run_checks(small_warehouse, instance)
    assert {name: e.passed for name, e in sound.items()} == {
        "watermark_never_moves_back": True,
        "quarantine_share_below_threshold": True,
        "edges_refer_to_known_models": True,
    }

    with connect(small_warehouse) as con:
        state = read_state(con, MODELS_STREAM)
        state.watermark = datetime(2025, 5, 1)
        save_state(con, state)
        con.execute(
            "insert into raw.quarantine select 'test', 'bad' || i, 'unparseable', '{', now() "
            "from range(5) t(i)"
        )
        con.execute("insert into marts.fct_model_edges values ('org/model-0', 'ghost/model')")
    faulty = run_checks(small_warehouse, instance)
    assert {name: e.passed for name, e in faulty.items()} == {
        "watermark_never_moves_back": False,
        "quarantine_share_below_threshold": False,
        "edges_refer_to_known_models": False,
    }
    assert faulty["edges_refer_to_known_models"].metadata["unknown_children"].value == 1


def test_a_watermark_never_recorded_warns_instead_of_blocking(small_warehouse):
    """Records without `lastModified` leave no watermark: a warning, not a stop."""
    with connect(small_warehouse) as con:
        state = read_state(con, MODELS_STREAM)
        state.watermark = None
        save_state(con, state)
    evaluation = run_checks(small_warehouse, dg.DagsterInstance.ephemeral())[
        "watermark_never_moves_back"
    ]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.description == "no watermark recorded: the stored models have no lastModified"


def test_a_refused_sweep_fails_its_check_saying_why(small_warehouse):
    def sweep_check() -> dg.AssetCheckEvaluation:
        result = dg.materialize(
            [dg.AssetSpec(HUB_MODEL_SWEEP), sweep_not_refused],
            selection=dg.AssetSelection.all_asset_checks(),
            resources={"warehouse": WarehouseResource(path=str(small_warehouse))},
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation

    with connect(small_warehouse) as con:
        log_sweep(con, datetime(2025, 6, 1), datetime(2025, 6, 1, 1), 100, 1, 0, 0)
    assert sweep_check().passed
    reason = "the sweep saw too few models: it would mark 40 of 100 active models deleted"
    with connect(small_warehouse) as con:
        log_sweep(con, datetime(2025, 6, 2), datetime(2025, 6, 2, 1), 60, 0, 0, 0, reason)
    refused = sweep_check()
    assert not refused.passed and refused.description == reason
    assert refused.severity == dg.AssetCheckSeverity.ERROR
