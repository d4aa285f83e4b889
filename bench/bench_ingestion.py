"""Ingestion throughput: listing from the local Hub, the parse+write path alone, importers.

Usage: `.venv/bin/python -m bench.bench_ingestion [--models 20000] [--skip-listing]
[--skip-import] [--out F]`.
The local Hub runs as its own process (as the real Hub would be remote), so the client's
numbers are not shared with the server's GIL. Goal: >= 20,000 models/s parsed and written.
"""

from __future__ import annotations

import argparse
import gzip
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


def listing_pages(snapshot: Path, page_size: int = 1000) -> list[bytes]:
    """The snapshot's models as list-API response bodies, newest `lastModified` first.

    Listing order scatters the `_id`s; the generator's order follows creation and would hide
    what that costs. Pages are kept as JSON text, as they arrive from the Hub, so that each is
    decoded into fresh objects and freed after it is written, as in a listing: a million
    records kept alive as dicts made every garbage collection walk them, and sorting them
    scattered them in memory, which a decoded page is not (on 1M models that bench reported
    17,600 models/CPU-s for the code this one measures at 21,700).
    """
    with gzip.open(snapshot, "rt", encoding="utf-8") as lines:
        items = [
            {k: model[k] for k in ("_id", "id", *EXPAND_FIELDS) if k in model}
            for model in (json.loads(line)["model"] for line in lines)
        ]
    items.sort(key=lambda item: item.get("lastModified") or "", reverse=True)
    return [
        json.dumps(items[start : start + page_size]).encode()
        for start in range(0, len(items), page_size)
    ]


def bench_parse_and_write(pages: list[bytes], folder: Path) -> dict:
    """The client side alone: pages decoded from memory, validated and written as a listing does.

    Decoding the JSON (done by the HTTP client in a listing) is timed apart, on this thread.
    CPU time (every thread of this process) is the measure that holds on a loaded machine; it
    runs until the connection is closed, so the final checkpoint is counted.
    """
    models = decode_seconds = decode_cpu_seconds = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    with connect(folder / "write.duckdb") as con:
        ensure_raw_schema(con)
        with PageBatch(con) as batch:  # commits as a listing does
            for body in pages:
                decode_started, decode_cpu_started = time.perf_counter(), time.thread_time()
                items = json.loads(body)
                decode_seconds += time.perf_counter() - decode_started
                decode_cpu_seconds += time.thread_time() - decode_cpu_started
                good, _ = split_records(items)
                models += len(items)
                with batch.page():
                    write_page(con, model_table(good), utc_now())
            with batch.page():
                merge_staged(con)
    seconds = time.perf_counter() - started - decode_seconds
    cpu_seconds = time.process_time() - cpu_started - decode_cpu_seconds
    return {
        "seconds": round(seconds, 2),
        "models_per_second": round(models / seconds),
        "json_decode_cpu_seconds": round(decode_cpu_seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "models_per_cpu_second": round(models / cpu_seconds),
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
    parser.add_argument("--skip-import", action="store_true", help="leave the importer out")
    args = parser.parse_args(argv)
    # Removed afterwards: at 1M models the snapshot and warehouses take up to about 4 GB.
    with tempfile.TemporaryDirectory(prefix="bench-ingestion-") as tmp:
        folder = Path(tmp)
        snapshot = folder / "snapshot.jsonl.gz"
        write_jsonl(generate(args.models, seed=1), snapshot)
        results = {"load_average_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
        if not args.skip_listing:
            results["listing_from_local_hub"] = bench_listing(snapshot, folder, args.models)
        results["parse_and_write_only"] = bench_parse_and_write(listing_pages(snapshot), folder)
        if not args.skip_import:
            results["import_fixture_jsonl"] = bench_import(snapshot, folder)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
