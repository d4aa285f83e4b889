"""Declarative automation: which layer refreshes when, set in one place.

Raw assets are roots: the Hub delta sensor and the schedules (`sensors.py`, `schedules.py`)
launch them; the sweep and popularity are also built once on a first install
(`first_install`). Every derived layer is built when missing and refreshed while an input
differs from what it was built from (`InputsChanged`) or its code changed, so assets outside
the changed lineage never rerun.
A raw asset counts as updated only when its data version (a fingerprint of what it stored)
changed: a scheduled run that found nothing new on the Hub rebuilds nothing below it.
The one automation sensor below evaluates those conditions and runs by default.
"""

from __future__ import annotations

import warnings

import dagster as dg

from ingestion.config import settings
from orchestration.dagster_internals import CachingStaleStatusResolver, StaleStatus
from orchestration.defs.ingestion.keys import HUB_MODEL_POPULARITY, HUB_MODEL_SWEEP

DERIVED_LAYERS = ("staging", "intermediate", "marts", "analytics", "published")
RAW_LAYER = dg.AssetSelection.key_prefixes("raw")
# Raw assets that only a daily schedule produces: nothing waits for their first run.
SCHEDULED_ROOTS = dg.AssetSelection.assets(HUB_MODEL_SWEEP, HUB_MODEL_POPULARITY)


# Sensors and schedules start running unless `HUBGENOME_AUTOMATION=off` (e.g. a UI demo).
SENSOR_STATUS = (
    dg.DefaultSensorStatus.RUNNING if settings().automation else dg.DefaultSensorStatus.STOPPED
)
SCHEDULE_STATUS = (
    dg.DefaultScheduleStatus.RUNNING if settings().automation else dg.DefaultScheduleStatus.STOPPED
)


def any_deps_changed() -> dg.AutomationCondition:
    """`any_deps_updated()`, except that a raw dep counts only when its data version changed.

    Raw runs are launched by schedules whether or not the Hub moved, and each records a
    materialization; their data version says whether it stored anything new. As in
    `any_deps_updated`, a dep updated by a run that also ran this asset does not count.
    """
    AC = dg.AutomationCondition
    raw_changed = AC.any_deps_match(
        AC.data_version_changed() & ~AC.executed_with_root_target()
    ).allow(RAW_LAYER)
    return (raw_changed | AC.any_deps_updated().ignore(RAW_LAYER)).with_label("any_deps_changed")


class InputsChanged(dg.AutomationCondition):
    """True while an input's data version differs from the one the asset was last built from
    (Dagster's own stale status, from the provenance each materialization records).

    A state, not an event: Dagster's `data_version_changed()` and `newly_updated()` are true
    for one tick, and `since_last_handled()` drops a trigger that lands on the same tick as the
    asset's own update, so a Hub delta finishing just after a refresh run was lost for good.
    Needs the automation sensor to run in the code server (`use_user_code_server=True`).
    """

    @property
    def name(self) -> str:
        return "inputs_changed"

    @property
    def description(self) -> str:
        return "an input's data version differs from the one it was built from"

    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        status = _stale_resolver(context).get_status(context.key)
        true_subset = (
            context.candidate_subset if status == StaleStatus.STALE else context.get_empty_subset()
        )
        return dg.AutomationResult(context=context, true_subset=true_subset)


_resolvers: dict[int, CachingStaleStatusResolver] = {}


def _stale_resolver(context: dg.AutomationContext) -> CachingStaleStatusResolver:
    """One resolver per evaluation (its caches span every asset of the tick). The resolver
    holds its view, so a later tick's view cannot reuse that id while it is cached."""
    view = context.asset_graph_view
    if id(view) not in _resolvers:
        _resolvers.clear()
        _resolvers[id(view)] = CachingStaleStatusResolver(
            instance=view.instance, asset_graph=context.asset_graph, loading_context=view
        )
    return _resolvers[id(view)]


def refresh_on_upstream_change() -> dg.AutomationCondition:
    """Build when missing, rebuild when an input changed or the code did, in one run per change.

    - `missing()`: an asset never built is requested as soon as its inputs exist, on a first
      install too (Dagster's `newly_missing()` skips assets missing before the condition was
      first evaluated, so the dbt seeds were never built).
    - `InputsChanged()`: a state, so no change is lost (see the class); with
      `any_deps_match(will_be_requested())`, every layer below a change is requested on the
      same tick and the automation sensor launches them together in one run.
    - `~execution_failed()`: a build that failed is not retried every tick; the edge-triggered
      `any_deps_changed().since_last_handled()` retries it with the next change of its inputs
      (or `code_version_changed()` with its code).
    - Never while a parent is missing, except the raw assets only a daily schedule produces
      (`SCHEDULED_ROOTS`: their tables exist, empty, from the first connection), nor while
      a parent or the asset itself is being built.
    """
    AC = dg.AutomationCondition
    return (
        (
            (
                (AC.missing() | InputsChanged() | AC.any_deps_match(AC.will_be_requested()))
                & ~AC.execution_failed()
            ).with_label("missing_or_inputs_changed_and_not_failed")
            | (AC.code_version_changed() | any_deps_changed()).since_last_handled()
        )
        & ~AC.any_deps_missing().ignore(SCHEDULED_ROOTS)
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
    ).with_label("refresh_on_upstream_change")


def first_install() -> dg.AutomationCondition:
    """For raw assets only a daily schedule produces: built once as soon as their inputs exist,
    so a new install reaches every asset without waiting for 02:00 or 03:00."""
    AC = dg.AutomationCondition
    return (
        AC.missing()
        & ~AC.execution_failed()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
    ).with_label("first_install")


def layer_automation_condition(layer: str) -> dg.AutomationCondition | None:
    """The condition for an asset of `layer` (its key's first part); None for raw roots."""
    return refresh_on_upstream_change() if layer in DERIVED_LAYERS else None


def with_layer_automation(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Give a Python asset of a derived layer its layer's condition unless it chose its own;
    scheduled raw roots get `first_install`."""
    if spec.automation_condition is not None:
        return spec
    if spec.key in (HUB_MODEL_SWEEP, HUB_MODEL_POPULARITY):
        return spec.replace_attributes(automation_condition=first_install())
    condition = layer_automation_condition(spec.key.path[0])
    return spec if condition is None else spec.replace_attributes(automation_condition=condition)


def apply_layer_automation(defs: dg.Definitions) -> dg.Definitions:
    """Apply `with_layer_automation` to every asset spec in `defs` (dbt already has its own)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # the API is stable enough for this
        return defs.map_resolved_asset_specs(func=with_layer_automation)


with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)  # use_user_code_server: see InputsChanged
    warehouse_automation = dg.AutomationConditionSensorDefinition(
        "warehouse_automation",
        target=dg.AssetSelection.all(),
        default_status=SENSOR_STATUS,
        minimum_interval_seconds=settings().automation_interval_seconds,
        use_user_code_server=True,  # `InputsChanged` is Python, evaluated where the code is
        description="Refreshes every derived asset whose inputs changed (raw -> staging -> "
        "marts -> analytics -> published), and nothing else.",
    )
