"""`make run`: serve an evolving synthetic Hub on loopback and let the warehouse refresh itself.

Two ticks. Tick 1 is the initial load (every asset), then a scheduled delta run while the Hub
stands still (it stores nothing new, so the automation requests nothing). Then the local Hub's
clock moves forward, the Hub delta sensor notices, the delta ingestion runs, and the automation
requests only the assets downstream of what changed; the rest is printed as not rerun.

Usage: `python -m orchestration.main_job [--models N] [--seed S] [--advance-days D]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingestion.config import PROJECT_ROOT, warehouse_path
from ingestion.hub_store import parse_clock
from ingestion.local_hub import start_process, stop_process
from ingestion.synthetic import generate, write_jsonl


def start_local_hub(source: Path, seed: int) -> tuple[subprocess.Popen, str]:
    """Start the local Hub serving `source`, its evolution seeded by `seed`."""
    return start_process(source, "--seed", str(seed))


def move_hub_clock(endpoint: str, move: dict) -> dict:
    """POST `move` (`advance_seconds` or `to`) to the local Hub's clock; returns its clock state."""
    request = urllib.request.Request(
        f"{endpoint}/admin/clock",
        data=json.dumps(move).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.load(response)


def advance_hub_clock(endpoint: str, days: float) -> dict:
    """Move the local Hub's clock `days` forward."""
    return move_hub_clock(endpoint, {"advance_seconds": days * 86_400})


def catch_up_hub_clock(endpoint: str, watermark: datetime | None) -> dict | None:
    """Replay the restarted Hub's evolution up to what the warehouse has already seen.

    The local Hub starts at its snapshot time on every run; a warehouse kept from an earlier
    `make run` is ahead of it, and tick 2's delta would be old news. The Hub's evolution is
    deterministic, so moving its clock one tick past the stored watermark restores that state.
    """
    with urllib.request.urlopen(f"{endpoint}/admin/clock", timeout=120) as response:
        clock = json.load(response)
    if watermark is None or watermark.replace(tzinfo=UTC) < parse_clock(clock["now"]):
        return None
    target = watermark.replace(tzinfo=UTC) + timedelta(seconds=clock["tick_seconds"])
    return move_hub_clock(endpoint, {"to": target.isoformat()})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--advance-days", type=float, default=1.0)
    args = parser.parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "dagster_home"))

    snapshot = PROJECT_ROOT / "data" / "hub" / f"synthetic-{args.models}-seed{args.seed}.jsonl.gz"
    if not snapshot.exists():
        count = write_jsonl(generate(args.models, args.seed), snapshot)
        print(f"generated {count} synthetic models into {snapshot}")

    hub, endpoint = start_local_hub(snapshot, args.seed)
    try:
        os.environ["HF_ENDPOINT"] = endpoint
        run_two_ticks(endpoint, args.advance_days)
    finally:
        stop_process(hub)
    print_summary(warehouse_path())


def run_two_ticks(endpoint: str, advance_days: float) -> None:
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.defs.sensors import hub_delta_sensor, stored_watermark

    definitions = defs()
    graph = definitions.resolve_asset_graph()
    every_asset = set(graph.materializable_asset_keys)

    def execute(job_name: str, selection=None, tags=None) -> set[dg.AssetKey]:
        job = definitions.resolve_job_def(job_name)
        result = job.execute_in_process(
            instance=instance, asset_selection=selection, tags=tags, raise_on_error=False
        )
        if not result.success:
            raise SystemExit(f"{job_name} failed; see the Dagster output above")
        return {event.asset_key for event in result.get_asset_materialization_events()}

    caught_up = catch_up_hub_clock(endpoint, stored_watermark(definitions.resources["warehouse"]))
    if caught_up:
        print(
            f"warehouse kept from an earlier run: local Hub replayed to {caught_up['now']} "
            f"({caught_up['applied']} change events)"
        )

    with dg.DagsterInstance.get() as instance:
        print("\n== tick 1: initial load ==", flush=True)
        built = execute("full_build")
        settled = dg.evaluate_automation_conditions(defs=definitions, instance=instance)
        print(f"built {len(built)} assets; automation then requests {len(requested(settled))}")
        versions = raw_data_versions(instance, every_asset)
        idle = execute("hub_delta_job")  # what the 30-minute schedule runs, Hub or no Hub move
        moved = sum(raw_data_versions(instance, idle)[key] != versions[key] for key in idle)
        settled = dg.evaluate_automation_conditions(
            defs=definitions, instance=instance, cursor=settled.cursor
        )
        print(
            f"scheduled hub_delta_job, Hub unchanged: {len(idle)} raw assets recorded, "
            f"{moved} data versions changed; automation requests {len(requested(settled))}"
        )
        if requested(settled):  # as the automation sensor would launch it
            execute("__ASSET_JOB", selection=sorted(requested(settled)))

        print(f"\n== tick 2: the Hub's clock moves {advance_days:g} day(s) ==", flush=True)
        clock = advance_hub_clock(endpoint, advance_days)
        print(f"local Hub: {clock['applied']} change events, clock {clock['now']}")
        sensor_resources = {name: definitions.resources[name] for name in ("hub", "warehouse")}
        with dg.build_sensor_context(instance=instance, resources=sensor_resources) as context:
            decision = hub_delta_sensor(context)
        if not isinstance(decision, dg.RunRequest):
            print(f"hub_delta_sensor skipped: {decision.skip_message}")
            return
        print(f"hub_delta_sensor: run requested (run key {decision.run_key})")
        ingested = execute("hub_delta_job", tags=decision.tags)
        print("ingested:", ", ".join(sorted(k.to_user_string() for k in ingested)))

        evaluation = dg.evaluate_automation_conditions(
            defs=definitions, instance=instance, cursor=settled.cursor
        )
        refresh = requested(evaluation)
        refreshed = execute("__ASSET_JOB", selection=sorted(refresh)) if refresh else set()
        untouched = every_asset - ingested - refreshed
        print(f"\nautomation refreshed {len(refreshed)} assets downstream of the delta:")
        for key in sorted(refreshed):
            print(f"  refreshed   {key.to_user_string()}")
        print(f"not rerun ({len(untouched)} assets: nothing they depend on changed):")
        for key in sorted(untouched):
            print(f"  unchanged   {key.to_user_string()}")


def raw_data_versions(instance, keys) -> dict:
    """The data version (stored-content fingerprint) of each raw asset's latest materialization."""
    from dagster._core.definitions.data_version import DATA_VERSION_TAG

    versions = {}
    for key in keys:
        if key.path[0] == "raw":
            event = instance.get_latest_materialization_event(key)
            versions[key] = event and event.asset_materialization.tags.get(DATA_VERSION_TAG)
    return versions


def requested(evaluation) -> set:
    """Asset keys an automation evaluation asks to materialize."""
    import dagster as dg

    return {
        result.key
        for result in evaluation.results
        if isinstance(result.key, dg.AssetKey) and result.true_subset.size
    }


def print_summary(path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        (models,) = con.execute("select count(*) from staging.stg_hub__models").fetchone()
        edges = con.execute(
            "select coalesce(relation, 'untyped'), count(*) from marts.fct_model_edges "
            "group by 1 order by 2 desc"
        ).fetchall()
    finally:
        con.close()
    print(f"\nwarehouse: {path}")
    print(f"models: {models}")
    for relation, count in edges:
        print(f"edges ({relation}): {count}")


if __name__ == "__main__":
    main()
