"""Freshness: how long the marts, the analytics and the report take to reflect the Hub, with
`dagster-daemon` running the shipped sensors and automation unattended (production intervals
unless `--interval` says otherwise), against the local Hub over HTTP.

Scenarios: a first start on an empty warehouse, then changes of about 0.01% and 1% of the
models (the local Hub's clock moves by one-minute ticks until that many change events applied).
Prints a markdown table; `--record` appends it to BENCHMARKS.md.

Run: `python -m bench.freshness --models 3000 [--interval 60] [--record]`.

At Hub scale a first start would fetch every README over HTTP (one request per model; about
an hour at 3M), so `--warehouse W --snapshot S` starts instead from a copy of a warehouse
`bench.run` built (`bench/results/<N>/imported.duckdb`) and a local Hub serving the snapshot
it was imported from (`snapshot.jsonl.gz`): the first scenario is then the daemon's first
start on a built warehouse, the Hub's first change after it is a row of its own (it carries
the first install's one-off work, such as the first deletion sweep), and the change scenarios
after it are measured as before. `bench.run`'s deltas stamp `lastModified` with the wall
clock, ahead of the local Hub's clock; the copy's stored `lastModified` values are set back
to the Hub's newest, so that the Hub's next changes count as new for the delta sensor, as
they would on a warehouse that only ever listed it.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from ingestion.config import PROJECT_ROOT, settings
from ingestion.hub_client import HubClient
from ingestion.localhub.server import start_process, stop_process
from ingestion.localhub.synthetic import generate, write_jsonl
from ingestion.warehouse import connect, copy_warehouse
from orchestration.demo import (
    Daemon,
    Watcher,
    launched_by,
    move_hub_clock,
    settled,
    wait_until,
)

LAYERS = ("raw", "staging", "intermediate", "marts", "analytics", "published")
REPORT = dg.AssetKey(["analytics", "reproduction_report"])


# The local Hub's clock moves by ticks of this many seconds. At 3M models an hour of its
# evolution is about 9,500 events (0.3%), too coarse for a 0.01% change.
TICK_SECONDS = 60
MAX_TICKS = 100_000  # about 70 days of the Hub's time: a Hub with nothing left to change


def change_hub(endpoint: str, events: int) -> int:
    """Move the Hub's clock until at least `events` change events applied: one tick, then as
    many ticks at once as the events per tick so far say the rest needs."""
    applied = ticks = 0
    while applied < events:
        if ticks > MAX_TICKS:
            raise RuntimeError(f"{ticks} ticks of the local Hub applied {applied} of {events}")
        step = 1 if applied == 0 else max(1, round((events - applied) * ticks / applied))
        applied += move_hub_clock(endpoint, {"advance_seconds": step * TICK_SECONDS})["applied"]
        ticks += step
    return applied


def clamp_to_hub_clock(warehouse: Path, hub_newest: str) -> None:
    """Set the stored `lastModified` values later than the Hub's newest back to it."""
    with connect(warehouse) as con:
        con.execute(
            "update raw.hub_models set last_modified = $newest::timestamptz::timestamp "
            "where last_modified > $newest::timestamptz::timestamp",
            {"newest": hub_newest},
        )


def layer_times(watcher: Watcher, since: float) -> dict[str, float]:
    """Seconds from `since` until each layer's last asset refreshed after it."""
    times: dict[str, float] = {}
    for key, when in watcher.latest().items():
        if when >= since:
            layer = key.path[0]
            times[layer] = max(times.get(layer, 0.0), when - since)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3000)
    parser.add_argument("--interval", type=int, default=None, help="sensor and automation s")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--record", action="store_true", help="append to BENCHMARKS.md")
    parser.add_argument("--warehouse", type=Path, help="start from a copy of this warehouse")
    parser.add_argument("--snapshot", type=Path, help="the snapshot --warehouse came from")
    args = parser.parse_args(argv)
    if (args.warehouse is None) != (args.snapshot is None):
        parser.error("--warehouse and --snapshot go together")

    work = Path(tempfile.mkdtemp(prefix="hubgenome-freshness-"))
    dagster_home = work / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", dagster_home)
    config = settings()
    config = config.with_warehouse(work / "warehouse.duckdb")
    config = type(config)(**{**config.__dict__, "dagster_home": dagster_home})
    if args.warehouse:
        copy_warehouse(args.warehouse, config.warehouse)
        snapshot = args.snapshot
    else:
        snapshot = work / "hub.jsonl.gz"
        write_jsonl(generate(args.models, 0), snapshot)
    # Loading millions of models takes minutes.
    hub, endpoint = start_process(
        snapshot, "--seed", "0", "--tick-seconds", str(TICK_SECONDS), quiet=True, timeout=1800
    )
    if args.warehouse:
        clamp_to_hub_clock(config.warehouse, HubClient(endpoint).newest_last_modified())
    rows = []
    try:
        from orchestration.definitions import defs

        every_asset = set(defs().resolve_asset_graph().materializable_asset_keys)
        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            watcher = Watcher(instance, every_asset)
            started = time.time()
            daemon = Daemon(config, endpoint, work / "daemon.log", interval=args.interval)
            try:
                # A built warehouse's downstream assets wait for the Hub's first change (or
                # the half-hourly delta schedule): its first start ends once the daemon's
                # first runs have settled.
                def first_start_done() -> bool:
                    if args.warehouse:
                        return time.time() - started > 90 and settled(watcher, 30)
                    return not watcher.never_materialized() and settled(watcher, 15)

                wait_until(
                    first_start_done, watcher, daemon, started, args.timeout, "the first start"
                )
                start = "built" if args.warehouse else "empty"
                rows.append(row(f"first start, {start} warehouse", args.models, watcher, started))
                # On a built warehouse the daemon's first start leaves the Hub's first change
                # to carry what a first install does once (the sweep's first run, every
                # derived asset's first materialization): a row of its own.
                shares = [("first change after the start", 0.0001)] if args.warehouse else []
                shares += [(None, 0.0001), (None, 0.01)]
                for first, share in shares:
                    events = max(1, round(args.models * share))
                    applied = change_hub(endpoint, events)
                    changed_at = time.time()
                    wait_until(
                        lambda at=changed_at: REPORT in watcher.materialized_since(at)
                        and settled(watcher, 15),
                        watcher, daemon, changed_at, args.timeout, "the report",
                    )  # fmt: skip
                    share_applied = applied / args.models
                    label = f"{share:.2%} change ({applied} Hub events, {share_applied:.3%})"
                    label = f"{first}: {label}" if first else label
                    rows.append(row(label, args.models, watcher, changed_at))
            finally:
                daemon.stop()
    finally:
        stop_process(hub)
    table = render(rows, args)
    print(table)
    if args.record:
        with open(PROJECT_ROOT / "BENCHMARKS.md", "a", encoding="utf-8") as out:
            out.write("\n" + table)
    shutil.rmtree(work, ignore_errors=True)


def row(label: str, models: int, watcher: Watcher, since: float) -> dict:
    runs = [run for run in watcher.runs_since(since) if run.is_finished]
    return {
        "scenario": label,
        "runs": len(runs),
        "timeline": timeline(watcher.instance, since),
        **layer_times(watcher, since),
    }


def timeline(instance: dg.DagsterInstance, since: float) -> str:
    """Each run launched since `since`: by what, and when it was created, started and ended
    (seconds after `since`)."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(created_after=datetime.fromtimestamp(since, UTC))
    )
    parts = []
    for record in sorted(records, key=lambda record: record.create_timestamp):
        run = record.dagster_run
        moments = [
            f"{name} {moment - since:.0f}"
            for name, moment in (
                ("created", record.create_timestamp.timestamp()),
                ("started", record.start_time),
                ("ended", record.end_time),
            )
            if moment is not None
        ]
        parts.append(f"{run.job_name} by {launched_by(run)} ({', '.join(moments)})")
    return "; ".join(parts)


def render(rows: list[dict], args: argparse.Namespace) -> str:
    interval = args.interval or "production (60 s sensor, 30 s automation)"
    lines = [
        f"### Freshness, {args.models:,} models, dagster-daemon unattended, intervals: "
        f"{interval} ({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        "| scenario | runs | " + " | ".join(f"{layer} (s)" for layer in LAYERS) + " |",
        "| --- | --- | " + " | ".join("---" for _ in LAYERS) + " |",
    ]
    for entry in rows:
        cells = [f"{entry[layer]:.0f}" if layer in entry else "-" for layer in LAYERS]
        lines.append(f"| {entry['scenario']} | {entry['runs']} | " + " | ".join(cells) + " |")
    lines += ["", "Runs, seconds after the change (or the start):", ""]
    lines += [f"- {entry['scenario']}: {entry['timeline']}" for entry in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
