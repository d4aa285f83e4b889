"""Ingestion throughput: listing from the local Hub, the parse+write path alone, importers.

Usage: `.venv/bin/python -m bench.bench_ingestion [--models 20000] [--skip-listing] [--out F]`.
The local Hub runs as its own process (as the real Hub would be remote), so the client's
numbers are not shared with the server's GIL. Goal: >= 20,000 models/s parsed and written.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from ingestion.hub_client import EXPAND_FIELDS, HubClient
from ingestion.importers import import_snapshot
from ingestion.ingest import PageBatch, ingest_models, split_records
from ingestion.local_hub import start_process, stop_process
from ingestion.synthetic import generate, write_jsonl
from ingestion.warehouse import (
    connect,
    ensure_raw_schema,
    merge_staged,
    model_table,
    utc_now,
    write_page,
)


def bench_listing(snapshot: Path, folder: Path, n_models: int) -> dict:
    """The whole client against the local Hub; fetching (HTTP + JSON) is timed apart.

    Fetching runs on this thread, so its CPU is `thread_time` around it; the rest of the
    process's CPU (until the connection is closed, final checkpoint included) is parse+write.
    """
    hub, endpoint = start_process(snapshot, "--evolution", "none", quiet=True, timeout=1800)
    try:
        client = HubClient(endpoint)
        fetch_seconds = fetch_cpu_seconds = 0.0
        fetch_page = client.fetch_page

        def timed_fetch(cursor):
            nonlocal fetch_seconds, fetch_cpu_seconds
            started, cpu_started = time.perf_counter(), time.thread_time()
            try:
                return fetch_page(cursor)
            finally:
                fetch_seconds += time.perf_counter() - started
                fetch_cpu_seconds += time.thread_time() - cpu_started

        client.fetch_page = timed_fetch
        started, cpu_started = time.perf_counter(), time.process_time()
        with connect(folder / "listing.duckdb") as con:
            ensure_raw_schema(con)
            result = ingest_models(con, client)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        stop_process(hub)
    assert result.listed == n_models
    write_cpu_seconds = cpu_seconds - fetch_cpu_seconds
    return {
        "models": n_models,
        "seconds": round(seconds, 2),
        "models_per_second": round(n_models / seconds),
        "http_and_json_seconds": round(fetch_seconds, 2),
        "parse_and_write_seconds": round(seconds - fetch_seconds, 2),
        "parse_and_write_models_per_second": round(n_models / (seconds - fetch_seconds)),
        "http_and_json_cpu_seconds": round(fetch_cpu_seconds, 2),
        "parse_and_write_cpu_seconds": round(write_cpu_seconds, 2),
        "parse_and_write_models_per_cpu_second": round(n_models / write_cpu_seconds),
    }


def bench_parse_and_write(records: list[dict], folder: Path) -> dict:
    """The client side alone: pages already in memory, validated and written as a listing does.

    Pages come in listing order (newest `lastModified` first), which scatters the `_id`s; the
    generator's order follows creation and would hide what that costs. CPU time (every thread
    of this process) is the measure that holds on a loaded machine; it runs until the
    connection is closed, so the final checkpoint is counted.
    """
    items = [
        {k: r["model"][k] for k in ("_id", "id", *EXPAND_FIELDS) if k in r["model"]}
        for r in records
    ]
    items.sort(key=lambda item: item.get("lastModified") or "", reverse=True)
    started, cpu_started = time.perf_counter(), time.process_time()
    with connect(folder / "write.duckdb") as con:
        ensure_raw_schema(con)
        with PageBatch(con) as batch:  # commits as a listing does
            for start in range(0, len(items), 1000):
                good, _ = split_records(items[start : start + 1000])
                with batch.page():
                    write_page(con, model_table(good), utc_now())
            with batch.page():
                merge_staged(con)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "seconds": round(seconds, 2),
        "models_per_second": round(len(items) / seconds),
        "cpu_seconds": round(cpu_seconds, 2),
        "models_per_cpu_second": round(len(items) / cpu_seconds),
    }


def bench_import(snapshot: Path, folder: Path) -> dict:
    cpu_started = time.process_time()
    with connect(folder / "import.duckdb") as con:
        ensure_raw_schema(con)
        result = import_snapshot(con, snapshot)
    cpu_seconds = time.process_time() - cpu_started
    return {
        "rows": result.rows,
        "seconds": round(result.seconds, 2),
        "rows_per_second": round(result.rows_per_second),
        "cpu_seconds": round(cpu_seconds, 2),
        "rows_per_cpu_second": round(result.rows / cpu_seconds),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--skip-listing", action="store_true", help="only the parse+write and import numbers"
    )
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-ingestion-"))
    records = list(generate(args.models, seed=1))
    snapshot = folder / "snapshot.jsonl.gz"
    write_jsonl(iter(records), snapshot)
    results = {"load_average_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    if not args.skip_listing:
        results["listing_from_local_hub"] = bench_listing(snapshot, folder, args.models)
    results["parse_and_write_only"] = bench_parse_and_write(records, folder)
    results["import_fixture_jsonl"] = bench_import(snapshot, folder)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
