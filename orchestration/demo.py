"""`make run` / `hubgenome demo`: a synthetic Hub on loopback and the warehouse running itself.

The demo runs what production runs: the Dagster daemon (`dagster-daemon run`) with the
project's sensors, schedules and automation, as `dagster dev` would, and nobody acting.

1. **first start**: the Hub delta sensor notices the empty warehouse and ingests the Hub;
   the automation builds every asset (seeds, the first sweep and popularity snapshot, dbt
   models, analytics, the report) on its own. The demo waits until every asset is
   materialized and no run is left.
2. **one Hub change**: the local Hub's clock moves a day; the sensor launches the delta and
   the automation refreshes what depends on it, in one run. It prints the time each took and
   which assets were refreshed and which were not.

A failed run ends the demo at once with the run's id and error. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from ingestion.config import PROJECT_ROOT, Settings, child_environment, settings
from ingestion.localhub.server import start_process, stop_process
from ingestion.localhub.store import parse_clock
from ingestion.localhub.synthetic import generate, write_jsonl
from ingestion.stream_state import MODELS_STREAM, read_state
from ingestion.warehouse import connect
from orchestration.defs.sensors import ACTIVE_RUN_STATUSES

# The demo's sensors tick faster than production's (60 s and 30 s), so it ends in minutes.
DEMO_INTERVAL_SECONDS = 5


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


def stored_watermark(warehouse: Path) -> datetime | None:
    if not warehouse.exists():
        return None
    with connect(warehouse, read_only=True) as con:
        return read_state(con, MODELS_STREAM).watermark


def catch_up_hub_clock(endpoint: str, watermark: datetime | None) -> dict | None:
    """Replay the restarted Hub's evolution up to what the warehouse has already seen.

    The local Hub starts at its snapshot time on every run; a warehouse kept from an earlier
    `make run` is ahead of it, and the change of step 2 would be old news. The Hub's evolution
    is deterministic, so moving its clock one tick past the stored watermark restores that state.
    """
    with urllib.request.urlopen(f"{endpoint}/admin/clock", timeout=120) as response:
        clock = json.load(response)
    if watermark is None or watermark.replace(tzinfo=UTC) < parse_clock(clock["now"]):
        return None
    target = watermark.replace(tzinfo=UTC) + timedelta(seconds=clock["tick_seconds"])
    return move_hub_clock(endpoint, {"to": target.isoformat()})


class Daemon:
    """`dagster-daemon run` on the project's workspace, pointed at the local Hub."""

    def __init__(
        self,
        config: Settings,
        endpoint: str,
        log_path: Path,
        interval: int | None = DEMO_INTERVAL_SECONDS,
    ):
        """`interval`: seconds between sensor and automation ticks; None keeps production's."""
        intervals = {}
        if interval is not None:
            intervals = {
                "HUBGENOME_SENSOR_INTERVAL": str(interval),
                "HUBGENOME_AUTOMATION_INTERVAL": str(interval),
            }
        env = child_environment(
            HF_ENDPOINT=endpoint,
            HUBGENOME_WAREHOUSE=str(config.warehouse),
            DAGSTER_HOME=str(config.dagster_home),
            HUBGENOME_AUTOMATION="on",
            **intervals,
        )
        daemon = str(Path(sys.executable).parent / "dagster-daemon")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [daemon, "run", "-w", "workspace.yaml"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise SystemExit(
                f"dagster-daemon exited ({self.process.returncode}); see {self.log.name}"
            )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Watcher:
    """Reads the Dagster instance the daemon writes: runs and materializations since a moment."""

    def __init__(self, instance: dg.DagsterInstance, every_asset: set[dg.AssetKey]):
        self.instance = instance
        self.every_asset = every_asset
        self.reported: set[str] = set()

    def runs_since(self, moment: float) -> list[dg.DagsterRun]:
        records = self.instance.get_run_records(
            filters=dg.RunsFilter(created_after=datetime.fromtimestamp(moment, UTC))
        )
        # Run ids are random; the order a reader expects is the order they were created.
        ordered = sorted(records, key=lambda record: record.create_timestamp)
        return [record.dagster_run for record in ordered]

    def runs_updated_since(self, moment: float) -> list[dg.DagsterRun]:
        """Runs created, or whose status changed (a start, an end), since `moment`."""
        records = self.instance.get_run_records(
            filters=dg.RunsFilter(updated_after=datetime.fromtimestamp(moment, UTC))
        )
        return [record.dagster_run for record in records]

    def active_runs(self) -> list[dg.DagsterRun]:
        return list(self.instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE_RUN_STATUSES)))

    def latest(self) -> dict[dg.AssetKey, float]:
        """When each asset was last materialized (never: absent)."""
        events = self.instance.get_latest_materialization_events(sorted(self.every_asset))
        return {key: event.timestamp for key, event in events.items() if event is not None}

    def materialized_since(self, moment: float) -> set[dg.AssetKey]:
        return {key for key, when in self.latest().items() if when >= moment}

    def never_materialized(self) -> set[dg.AssetKey]:
        return self.every_asset - set(self.latest())

    def report_runs(self, moment: float) -> None:
        """Print each run the daemon finished since `moment`; stop the demo on a failure."""
        for run in self.runs_since(moment):
            if run.run_id in self.reported or not run.is_finished:
                continue
            self.reported.add(run.run_id)
            selection = f", {len(run.asset_selection)} assets" if run.asset_selection else ""
            print(
                f"  run {run.run_id[:8]} {run.job_name} by {launched_by(run)}: {run.status.value}"
                + selection,
                flush=True,
            )
            if run.status != dg.DagsterRunStatus.SUCCESS:
                raise SystemExit(
                    f"run {run.run_id} ({run.job_name}) ended {run.status.value}; "
                    f"`dagster dev` shows its logs (DAGSTER_HOME={self.instance.root_directory})"
                )


def launched_by(run: dg.DagsterRun) -> str:
    """The sensor or schedule that launched `run` ("?" for one launched by hand)."""
    return run.tags.get("dagster/sensor_name") or run.tags.get("dagster/schedule_name", "?")


def wait_until(done, watcher: Watcher, daemon: Daemon, since: float, timeout: float, what: str):
    """Poll `done()` every 2 s, printing finished runs; a bounded wait."""
    deadline = time.monotonic() + timeout
    while not done():
        daemon.check_alive()
        watcher.report_runs(since)
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(2)
    watcher.report_runs(since)


def settled(watcher: Watcher, quiet_seconds: float) -> bool:
    """No run active, and none started or ended in the last `quiet_seconds`: the sensors have
    ticked since the last run ended (a tick that raced that end may have launched one more)."""
    if watcher.active_runs():
        return False
    return not watcher.runs_updated_since(time.time() - quiet_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hubgenome demo", description=__doc__.splitlines()[0], formatter_class=_formatter
    )
    parser.add_argument("--models", type=_positive, default=3000, help="synthetic models")
    parser.add_argument("--seed", type=int, default=0, help="synthetic and evolution seed")
    parser.add_argument("--advance-days", type=float, default=1.0, help="the Hub change of step 2")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds each step may take at most"
    )
    parser.add_argument(
        "--hub-dir", type=Path, default=PROJECT_ROOT / "data" / "hub", help="synthetic snapshots"
    )
    args = parser.parse_args(argv)
    config = settings()
    snapshot = args.hub_dir / f"synthetic-{args.models}-seed{args.seed}.jsonl.gz"
    if not snapshot.exists():
        count = write_jsonl(generate(args.models, args.seed), snapshot)
        print(f"generated {count} synthetic models into {snapshot}")

    hub, endpoint = start_process(snapshot, "--seed", str(args.seed))
    try:
        caught_up = catch_up_hub_clock(endpoint, stored_watermark(config.warehouse))
        if caught_up:
            print(
                f"warehouse kept from an earlier run: local Hub replayed to {caught_up['now']} "
                f"({caught_up['applied']} change events)"
            )
        run_unattended(config, endpoint, args.advance_days, args.timeout)
    finally:
        stop_process(hub)
    print_summary(config.warehouse)
    return 0


def run_unattended(config: Settings, endpoint: str, advance_days: float, timeout: float) -> None:
    from orchestration.definitions import defs

    every_asset = set(defs().resolve_asset_graph().materializable_asset_keys)
    config.dagster_home.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.from_config(str(config.dagster_home)) as instance:
        watcher = Watcher(instance, every_asset)
        if not config.warehouse.exists():
            # Records of a warehouse that is gone would make its assets look built.
            instance.wipe_assets(sorted(every_asset - watcher.never_materialized()))
        started = time.time()
        daemon = Daemon(config, endpoint, config.warehouse.parent / "demo-daemon.log")
        try:
            print(f"\n== 1. first start: dagster-daemon on {endpoint}, nobody acting ==")
            wait_until(
                lambda: not watcher.never_materialized() and settled(watcher, 15),
                watcher,
                daemon,
                started,
                timeout,
                "every asset to be materialized",
            )
            took = time.time() - started
            print(f"every asset ({len(every_asset)}) materialized {took:.0f}s after start")

            print(f"\n== 2. the Hub's clock moves {advance_days:g} day(s) ==", flush=True)
            changed_at = time.time()
            clock = move_hub_clock(endpoint, {"advance_seconds": advance_days * 86_400})
            print(f"local Hub: {clock['applied']} change events, clock {clock['now']}")
            report_key = dg.AssetKey(["analytics", "reproduction_report"])
            wait_until(
                lambda: (
                    report_key in watcher.materialized_since(changed_at) and settled(watcher, 15)
                ),
                watcher,
                daemon,
                changed_at,
                timeout,
                "the report to reflect the change",
            )
            print_refresh(watcher, changed_at)
        finally:
            daemon.stop()


def print_refresh(watcher: Watcher, changed_at: float) -> None:
    runs = [run for run in watcher.runs_since(changed_at) if run.is_finished]
    refreshed = watcher.materialized_since(changed_at)
    instance = watcher.instance
    ended = {}
    for key in refreshed:
        event = instance.get_latest_materialization_event(key)
        ended[key.path[0]] = max(ended.get(key.path[0], 0.0), event.timestamp - changed_at)
    print(
        f"\n{len(runs)} runs after the change: "
        + ", ".join(f"{run.job_name} ({run.tags.get('dagster/sensor_name', '?')})" for run in runs)
    )
    for layer in ("raw", "staging", "intermediate", "marts", "analytics", "published"):
        if layer in ended:
            print(f"  {layer} up to date {ended[layer]:.0f}s after the change")
    print(f"refreshed ({len(refreshed)} assets):")
    for key in sorted(refreshed):
        print(f"  refreshed   {key.to_user_string()}")
    untouched = watcher.every_asset - refreshed
    print(f"not rerun ({len(untouched)} assets: nothing they depend on changed):")
    for key in sorted(untouched):
        print(f"  unchanged   {key.to_user_string()}")


def print_summary(path: Path) -> None:
    with connect(path, read_only=True) as con:
        (models,) = con.execute("select count(*) from staging.stg_hub__models").fetchone()
        edges = con.execute(
            "select coalesce(relation, 'untyped'), count(*) from marts.fct_model_edges "
            "group by 1 order by 2 desc"
        ).fetchall()
    print(f"\nwarehouse: {path}")
    print(f"models: {models}")
    for relation, count in edges:
        print(f"edges ({relation}): {count}")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


_formatter = argparse.ArgumentDefaultsHelpFormatter

if __name__ == "__main__":
    sys.exit(main())
