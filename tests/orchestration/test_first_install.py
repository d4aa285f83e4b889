"""A first install reaches every asset unattended, evaluated by Dagster's own automation.

From an empty instance and an empty warehouse, each tick evaluates the conditions as the
automation sensor does and runs what it requests in one run, as the sensor launches it; the
raw delta runs when the Hub delta sensor asks for it.
"""

from __future__ import annotations

from functools import cached_property

import dagster as dg
import pytest
from orchestration_support import advance_days, load_definitions, requested, serve_evolving

from orchestration.defs.ingestion.keys import (
    HUB_MODEL_CARDS,
    HUB_MODEL_POPULARITY,
    HUB_MODEL_SWEEP,
    HUB_MODEL_VERSIONS,
    HUB_MODELS,
)
from orchestration.defs.sensors import hub_delta_sensor

MAX_TICKS = 4
REPORT = dg.AssetKey(["analytics", "reproduction_report"])
DELTA_KEYS = {HUB_MODELS, HUB_MODEL_VERSIONS, HUB_MODEL_CARDS}


class FirstInstall:
    """Ticks of one unattended install, each step run once and kept for the tests."""

    def __init__(self, snapshot, warehouse, monkeypatch, tmp_path):
        self.hub = serve_evolving(snapshot)
        self.defs = load_definitions(self.hub.base_url, warehouse, monkeypatch)
        self.graph = self.defs.resolve_asset_graph()
        self.every_asset = set(self.graph.materializable_asset_keys)
        self.instance = dg.DagsterInstance.ephemeral()
        self.cursor = None
        self.tmp_path = tmp_path
        self.runs: list[tuple[set[dg.AssetKey], bool]] = []

    def tick(self, run_config: dg.RunConfig | None = None) -> set[dg.AssetKey]:
        """One automation tick: evaluate, then run everything requested in one run."""
        evaluation = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor
        )
        self.cursor = evaluation.cursor
        keys = requested(evaluation)
        if keys:
            job = self.defs.resolve_implicit_global_asset_job_def()
            result = job.execute_in_process(
                instance=self.instance,
                asset_selection=sorted(keys),
                run_config=run_config,
                raise_on_error=False,
            )
            self.runs.append((keys, result.success))
        return keys

    def sensor_tick(self):
        resources = {name: self.defs.resources[name] for name in ("hub", "warehouse")}
        with dg.build_sensor_context(instance=self.instance, resources=resources) as context:
            decision = hub_delta_sensor(context)
        if isinstance(decision, dg.RunRequest):
            result = self.defs.resolve_job_def("hub_delta_job").execute_in_process(
                instance=self.instance
            )
            assert result.success
        return decision

    def never_materialized(self) -> set[dg.AssetKey]:
        return {
            key
            for key in self.every_asset
            if self.instance.get_latest_materialization_event(key) is None
        }

    @cached_property
    def before_any_load(self) -> set[dg.AssetKey]:
        return self.tick()

    @cached_property
    def unattended(self) -> list[set[dg.AssetKey]]:
        """The delta sensor fires on the empty warehouse; then ticks until nothing is asked."""
        self.before_any_load  # noqa: B018
        assert isinstance(self.sensor_tick(), dg.RunRequest)
        ticks = []
        for _ in range(MAX_TICKS):
            keys = self.tick()
            ticks.append(keys)
            if not keys:
                break
        return ticks

    @cached_property
    def idle(self) -> tuple[object, set[dg.AssetKey]]:
        self.unattended  # noqa: B018
        return self.sensor_tick(), self.tick()

    @cached_property
    def change(self) -> tuple[set[dg.AssetKey], set[dg.AssetKey]]:
        """The Hub moves; the sensor ingests it; one tick requests the refresh."""
        self.idle  # noqa: B018
        assert advance_days(self.hub, 2) > 0
        before = {key: self.latest(key) for key in self.every_asset}
        assert isinstance(self.sensor_tick(), dg.RunRequest)
        refreshed = self.tick()
        rebuilt = {key for key in self.every_asset if self.latest(key) != before[key]}
        return refreshed, rebuilt

    @cached_property
    def back_to_back(self) -> set[dg.AssetKey]:
        """A change ingested right after the refresh of the previous one, before any tick saw
        that refresh land: the tick sees both the refresh and the new data at once."""
        self.change  # noqa: B018
        assert advance_days(self.hub, 2) > 0
        assert isinstance(self.sensor_tick(), dg.RunRequest)
        return self.tick()

    @cached_property
    def failure(self) -> tuple[set[dg.AssetKey], set[dg.AssetKey], set[dg.AssetKey]]:
        """A change whose refresh fails at the report; two idle ticks; then the next change."""
        self.back_to_back  # noqa: B018
        assert advance_days(self.hub, 2) > 0
        assert isinstance(self.sensor_tick(), dg.RunRequest)
        unwritable = self.tmp_path / "a-file-not-a-folder"
        unwritable.write_text("")
        config = {"config": {"out_dir": str(unwritable)}}
        failing = dg.RunConfig(ops={"analytics__reproduction_report": config})
        failed = self.tick(run_config=failing)
        assert REPORT in failed, failed
        assert not self.runs[-1][1], "the refresh with the report's folder a file should fail"
        idle_after_failure = self.tick() | self.tick()
        advance_days(self.hub, 2)
        self.sensor_tick()
        return failed, idle_after_failure, self.tick()

    def latest(self, key: dg.AssetKey):
        event = self.instance.get_latest_materialization_event(key)
        return event and event.timestamp


@pytest.fixture(scope="module")
def install(small_snapshot, tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        folder = tmp_path_factory.mktemp("first-install")
        state = FirstInstall(small_snapshot, folder / "warehouse.duckdb", monkeypatch, folder)
        yield state
        state.hub.shutdown()
        state.hub.server_close()


def test_before_the_first_load_only_inputs_without_parents_are_built(install):
    seeds = {key for key in install.every_asset if not install.graph.get(key).parent_keys}
    assert install.before_any_load == seeds - DELTA_KEYS
    assert HUB_MODEL_POPULARITY in install.before_any_load
    assert any(key.path[0] == "marts" for key in install.before_any_load)  # the dbt seeds


def test_after_the_first_load_every_asset_is_built_in_bounded_ticks(install):
    ticks = install.unattended
    assert ticks[-1] == set(), f"still requesting after {MAX_TICKS} ticks: {ticks}"
    assert all(success for _, success in install.runs)
    assert install.never_materialized() == set()
    # The sweep only a daily schedule would run did not hold the graph back: one tick did all.
    assert HUB_MODEL_SWEEP in ticks[0] and REPORT in ticks[0]
    assert len([keys for keys in ticks if keys]) == 1


def test_a_tick_without_a_change_requests_nothing(install):
    decision, keys = install.idle
    assert isinstance(decision, dg.SkipReason)
    assert keys == set()


def test_a_hub_change_requests_exactly_the_affected_assets_in_one_run(install):
    refreshed, rebuilt = install.change
    assert REPORT in refreshed
    # Everything downstream of the delta's raw assets that is automated, and nothing else:
    downstream = set()
    frontier = list(DELTA_KEYS)
    while frontier:
        for child in install.graph.get(frontier.pop()).child_keys:
            if child not in downstream and child.path[0] != "raw":
                downstream.add(child)
                frontier.append(child)
    assert refreshed <= downstream
    untouched_seeds = {key for key in install.every_asset if key.path[0] == "marts"} - downstream
    assert untouched_seeds and not (untouched_seeds & rebuilt)
    assert HUB_MODEL_POPULARITY not in rebuilt and HUB_MODEL_SWEEP not in rebuilt
    assert rebuilt == refreshed | DELTA_KEYS  # the delta run, then one automation run
    assert install.runs[-1] == (refreshed, True)


def test_a_change_right_after_a_refresh_is_not_lost(install):
    """Dagster's edge conditions dropped it: the new data and the refresh's own update are seen
    on the same tick, and `since_last_handled()` lets the update win (`InputsChanged`)."""
    refreshed = install.back_to_back
    assert REPORT in refreshed and dg.AssetKey(["marts", "dim_models"]) in refreshed
    assert install.runs[-1] == (refreshed, True)


def test_a_failed_run_is_not_retried_every_tick_but_with_the_next_change(install):
    failed, idle_after_failure, next_change = install.failure
    assert REPORT in failed
    assert idle_after_failure == set()
    assert REPORT in next_change
    assert install.runs[-1][1]
