"""Declarative automation: which layer refreshes when, set in one place.

Raw assets are roots: the Hub delta sensor and the schedules (`sensors.py`, `schedules.py`)
launch them. Every derived layer refreshes only when something it depends on was updated,
when it is missing, or when its code changed, so assets outside the changed lineage never rerun.
A raw asset counts as updated only when its data version (a fingerprint of what it stored)
changed: a scheduled run that found nothing new on the Hub rebuilds nothing below it.
The one automation sensor below evaluates those conditions and runs by default.
"""

from __future__ import annotations

import os
import warnings

import dagster as dg

DERIVED_LAYERS = ("staging", "intermediate", "marts", "analytics", "reports")
RAW_LAYER = dg.AssetSelection.key_prefixes("raw")


def automation_enabled() -> bool:
    """Sensors and schedules start running unless `HUBGENOME_AUTOMATION=off` (e.g. a UI demo)."""
    return os.environ.get("HUBGENOME_AUTOMATION", "on").lower() not in ("off", "0", "false")


SENSOR_STATUS = (
    dg.DefaultSensorStatus.RUNNING if automation_enabled() else dg.DefaultSensorStatus.STOPPED
)
SCHEDULE_STATUS = (
    dg.DefaultScheduleStatus.RUNNING if automation_enabled() else dg.DefaultScheduleStatus.STOPPED
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


def refresh_on_upstream_change() -> dg.AutomationCondition:
    """DOP's `~in_progress() & (missing() | code_version_changed() | any_deps_updated())`,
    handled once per change (`since_last_handled`) and held back while a parent is missing
    or running, so a failed run is not retried every tick and nothing runs on half-built inputs.
    """
    AC = dg.AutomationCondition
    return (
        (AC.newly_missing() | AC.code_version_changed() | any_deps_changed()).since_last_handled()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
    ).with_label("refresh_on_upstream_change")


def layer_automation_condition(layer: str) -> dg.AutomationCondition | None:
    """The condition for an asset of `layer` (its key's first part); None for raw roots."""
    return refresh_on_upstream_change() if layer in DERIVED_LAYERS else None


def with_layer_automation(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Give a Python asset of a derived layer its layer's condition unless it chose its own."""
    if spec.automation_condition is not None:
        return spec
    condition = layer_automation_condition(spec.key.path[0])
    return spec if condition is None else spec.replace_attributes(automation_condition=condition)


def apply_layer_automation(defs: dg.Definitions) -> dg.Definitions:
    """Apply `with_layer_automation` to every asset spec in `defs` (dbt already has its own)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # the API is stable enough for this
        return defs.map_resolved_asset_specs(func=with_layer_automation)


warehouse_automation = dg.AutomationConditionSensorDefinition(
    "warehouse_automation",
    target=dg.AssetSelection.all(),
    default_status=SENSOR_STATUS,
    minimum_interval_seconds=30,
    description="Refreshes every derived asset whose inputs changed (raw -> staging -> marts -> "
    "analytics), and nothing else.",
)
