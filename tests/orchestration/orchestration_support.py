"""Helpers for orchestration tests: an evolving local Hub and the project's real definitions."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ingestion.localhub.server import serve
from ingestion.localhub.store import advance_by
from orchestration.dagster_internals import DATA_VERSION_TAG

# Small on purpose: these tests are about what runs when, not about volume.
ORCHESTRATION_ECOSYSTEM = 300


def serve_evolving(snapshot: Path, seed: int = 3):
    """A local Hub whose clock can move; the ecosystem evolves deterministically as it does."""
    return serve(snapshot, seed=seed)


def advance_days(hub, days: float) -> int:
    """Move the local Hub's clock forward; returns how many change events that applied."""
    return advance_by(hub.store, days * 86_400)


def load_definitions(endpoint: str, warehouse: Path, monkeypatch) -> dg.Definitions:
    """The project's real definitions, with resources pointing at this Hub and warehouse."""
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HUBGENOME_WAREHOUSE", str(warehouse))
    from orchestration.definitions import defs

    return defs()


def run_job(definitions: dg.Definitions, name: str, instance: dg.DagsterInstance):
    result = definitions.resolve_job_def(name).execute_in_process(instance=instance)
    assert result.success, f"job {name} failed"
    return result


def materialized_keys(result) -> set[dg.AssetKey]:
    return {event.asset_key for event in result.get_asset_materialization_events()}


def requested(evaluation) -> set[dg.AssetKey]:
    """Asset keys an automation evaluation asks to materialize."""
    return {
        result.key
        for result in evaluation.results
        if isinstance(result.key, dg.AssetKey) and result.true_subset.size
    }


def raw_data_versions(instance, keys) -> dict:
    """The data version (stored-content fingerprint) of each raw asset's latest materialization."""
    versions = {}
    for key in keys:
        if key.path[0] == "raw":
            event = instance.get_latest_materialization_event(key)
            versions[key] = event and event.asset_materialization.tags.get(DATA_VERSION_TAG)
    return versions
