"""Declarative automation and the Hub delta sensor, evaluated on a real instance.

One scenario: build everything from a local Hub, run the raw jobs again while the Hub stands
still, then let the Hub's clock move, ingest the delta, and ask Dagster each time what the
automation would launch.
"""

from __future__ import annotations

from functools import cached_property

import dagster as dg
import pytest
from orchestration_support import (
    advance_days,
    load_definitions,
    materialized_keys,
    raw_data_versions,
    requested,
    run_job,
    serve_evolving,
)

from orchestration.defs.ingestion.keys import HUB_MODEL_POPULARITY, HUB_MODEL_SWEEP, HUB_MODELS
from orchestration.defs.sensors import hub_delta_sensor, newest_hub_modification

RAW_JOBS = ("hub_delta_job", "hub_popularity_job", "hub_sweep_job")


def automated_descendants(graph, updated: set[dg.AssetKey]) -> set[dg.AssetKey]:
    """Every derived asset downstream of `updated` (raw assets are roots run by jobs)."""
    seen: set[dg.AssetKey] = set()
    frontier = list(updated)
    while frontier:
        for child in graph.get(frontier.pop()).child_keys:
            if child not in seen and child.path[0] != "raw":
                seen.add(child)
                frontier.append(child)
    return {key for key in seen if graph.get(key).automation_condition is not None}


class Scenario:
    """Steps run lazily and once, so each test asks only for the state it needs."""

    def __init__(self, snapshot, warehouse, monkeypatch):
        self.hub = serve_evolving(snapshot)
        self.defs = load_definitions(self.hub.base_url, warehouse, monkeypatch)
        self.graph = self.defs.resolve_asset_graph()
        self.instance = dg.DagsterInstance.ephemeral()
        self.warehouse = warehouse

    def evaluate(self, cursor=None):
        return dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=cursor
        )

    def data_versions(self) -> dict[dg.AssetKey, str | None]:
        return raw_data_versions(self.instance, self.graph.materializable_asset_keys)

    def sensor_tick(self):
        resources = {name: self.defs.resources[name] for name in ("hub", "warehouse")}
        with dg.build_sensor_context(instance=self.instance, resources=resources) as context:
            return hub_delta_sensor(context)

    @cached_property
    def sensor_before_build(self):
        return self.sensor_tick()

    @cached_property
    def built(self):
        """Full build, then one evaluation whose cursor every later evaluation starts from."""
        self.sensor_before_build  # noqa: B018 - probe the empty warehouse first
        run_job(self.defs, "full_build", self.instance)
        return self.evaluate()

    @cached_property
    def idle_raw_runs(self):
        """Every raw job runs again (as schedules would) while the Hub has not moved."""
        cursor = self.built.cursor
        before = self.data_versions()
        ran = set()
        for job in RAW_JOBS:
            ran |= materialized_keys(run_job(self.defs, job, self.instance))
        return ran, before, self.data_versions(), self.evaluate(cursor)

    @cached_property
    def delta(self):
        """The Hub moves, the delta job ingests it, the automation is evaluated."""
        *_, idle_evaluation = self.idle_raw_runs
        cursor = idle_evaluation.cursor
        self.versions_before_delta = self.data_versions()
        self.sensor_after_build = self.sensor_tick()
        self.changes = advance_days(self.hub, 3)
        self.sensor_after_advance = self.sensor_tick()
        self.newest_after_advance = newest_hub_modification(self.defs.resources["hub"])
        updated = materialized_keys(run_job(self.defs, "hub_delta_job", self.instance))
        self.sensor_after_delta = self.sensor_tick()
        return updated, self.changed_since(self.versions_before_delta), self.evaluate(cursor)

    def changed_since(self, versions: dict[dg.AssetKey, str | None]) -> set[dg.AssetKey]:
        """Raw assets whose data version differs from `versions`."""
        return {key for key, version in self.data_versions().items() if version != versions[key]}

    @cached_property
    def refreshed(self):
        """What the automation requested after the delta is run; then it is evaluated again."""
        *_, evaluation = self.delta
        job = self.defs.resolve_implicit_global_asset_job_def()
        run = job.execute_in_process(
            instance=self.instance, asset_selection=sorted(requested(evaluation))
        )
        return run, self.evaluate(evaluation.cursor)

    @cached_property
    def rebuilt(self):
        """The Hub moves again; `full_build` ingests it (the sweep marks the deletions since the
        first build) and builds everything in one run; then the scheduled delta runs again."""
        _, settled = self.refreshed
        versions = self.data_versions()
        advance_days(self.hub, 1)
        run_job(self.defs, "full_build", self.instance)
        changed = self.changed_since(versions)
        after_build = self.evaluate(settled.cursor)
        run_job(self.defs, "hub_delta_job", self.instance)
        return changed, after_build, self.evaluate(after_build.cursor)


@pytest.fixture(scope="module")
def scenario(small_snapshot, tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        warehouse = tmp_path_factory.mktemp("automation") / "warehouse.duckdb"
        state = Scenario(small_snapshot, warehouse, monkeypatch)
        yield state
        state.hub.shutdown()
        state.hub.server_close()


def test_every_derived_layer_is_automated_and_raw_only_for_a_first_install(scenario):
    for key in scenario.graph.materializable_asset_keys:
        node = scenario.graph.get(key)
        layer = key.path[0]
        assert node.group_name == layer, key
        if key in (HUB_MODEL_SWEEP, HUB_MODEL_POPULARITY):
            assert node.automation_condition.get_label() == "first_install", key
        elif layer == "raw":
            assert node.automation_condition is None, key
        else:
            assert node.automation_condition is not None, key
    sensor = scenario.defs.resolve_sensor_def("warehouse_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_every_dbt_source_is_a_raw_asset_that_runs(scenario):
    """A source with no asset writing it would count as missing forever and hold back every
    model that reads it (raw.hub_model_names once held back marts.model_lifecycle)."""
    for key in scenario.graph.get_all_asset_keys():
        if key.path[0] == "raw":
            assert key in scenario.graph.materializable_asset_keys, key


def test_nothing_is_requested_when_nothing_changed(scenario):
    assert scenario.built.total_requested == 0
    again = scenario.evaluate(scenario.built.cursor)
    assert requested(again) == set()
    assert again.total_requested == 0


def test_raw_runs_that_stored_nothing_new_request_nothing(scenario):
    ran, before, after, result = scenario.idle_raw_runs
    raw_keys = {key for key in scenario.graph.materializable_asset_keys if key.path[0] == "raw"}
    assert ran == raw_keys  # each run recorded a materialization...
    assert all(before.values()) and after == before  # ...with the data version it had
    assert requested(result) == set()
    assert result.total_requested == 0


def test_a_raw_update_requests_exactly_its_dependents(scenario):
    updated, changed, result = scenario.delta
    assert updated and all(key.path[0] == "raw" for key in updated)
    assert HUB_MODELS in changed and changed <= updated
    expected = automated_descendants(scenario.graph, changed)
    assert expected
    assert requested(result) == expected

    refreshed, settled = scenario.refreshed
    assert refreshed.success
    assert materialized_keys(refreshed) == expected
    assert requested(settled) == set()


def test_raw_changes_built_in_the_same_run_as_their_dependents_request_nothing(scenario):
    changed, after_build, _ = scenario.rebuilt
    assert {HUB_MODELS, HUB_MODEL_SWEEP} <= changed
    assert requested(after_build) == set()


def test_a_sweep_change_is_not_reported_again_by_the_next_listing(scenario):
    """Both write raw.hub_models: the deletions the sweep marked were reported by the sweep."""
    *_, after_idle_delta = scenario.rebuilt
    assert requested(after_idle_delta) == set()


def test_the_delta_sensor_runs_only_when_the_hub_moved(scenario):
    assert isinstance(scenario.sensor_before_build, dg.RunRequest)
    scenario.delta  # noqa: B018
    assert isinstance(scenario.sensor_after_build, dg.SkipReason)
    assert scenario.changes > 0
    moved = scenario.sensor_after_advance
    assert isinstance(moved, dg.RunRequest)
    newest = moved.tags["hubgenome/hub_newest_last_modified"]
    assert newest == scenario.newest_after_advance.isoformat()
    assert newest > scenario.sensor_before_build.tags["hubgenome/hub_newest_last_modified"]
    # No run key: a warehouse rebuilt from scratch must be able to list the same Hub again.
    assert moved.run_key is None
    assert isinstance(scenario.sensor_after_delta, dg.SkipReason)


def test_the_delta_sensor_waits_while_a_delta_run_is_active(scenario):
    job = scenario.defs.resolve_job_def("hub_delta_job")
    queued = scenario.instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
    try:
        decision = scenario.sensor_tick()
        assert isinstance(decision, dg.SkipReason)
        assert queued.run_id in decision.skip_message
    finally:
        scenario.instance.delete_run(queued.run_id)
