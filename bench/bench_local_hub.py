"""The local Hub at scale: load time, server memory, and a full listing through huggingface_hub.

Usage: `.venv/bin/python -m bench.bench_local_hub --models 200000 [--seed 1] [--keep]`.

Generates N synthetic models (`python -m ingestion.localhub.synthetic`, cached in the temp
folder), starts the server as its own process, and reports: seconds until it listens (load),
its peak RSS while loading and while serving, the seconds and models/s to list every model
with `HfApi.list_models` (the real client, default fields, pages of 1,000), and a few hundred
`model_info` lookups. One JSON line is printed and appended to `bench/results/`. The machine is
shared: wall times are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from huggingface_hub import HfApi

from ingestion.config import PROJECT_ROOT
from ingestion.localhub.server import start_process, stop_process

RESULTS = PROJECT_ROOT / "bench" / "results"


class PeakRss:
    """Samples one process's RSS every 100 ms from a thread; `peak()` resets the window."""

    def __init__(self, pid: int):
        self._process = psutil.Process(pid)
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self._peak = max(self._peak, self._process.memory_info().rss)
            except psutil.NoSuchProcess:
                return
            time.sleep(0.1)

    def peak_mb(self, reset: bool = True) -> float:
        peak, self._peak = self._peak, 0 if reset else self._peak
        return round(peak / 2**20, 1)

    def now_mb(self) -> float:
        return round(self._process.memory_info().rss / 2**20, 1)

    def stop(self) -> None:
        self._stop.set()


def snapshot_for(models: int, seed: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"hubgenome-synthetic-{models}-{seed}.jsonl.gz"
    if not path.exists():
        partial = path.with_suffix(".partial.gz")
        command = [sys.executable, "-m", "ingestion.localhub.synthetic"]
        command += ["--models", str(models), "--seed", str(seed), "--out", str(partial)]
        subprocess.run(command, cwd=PROJECT_ROOT, check=True)
        partial.rename(path)
    return path


def bench(models: int, seed: int, lookups: int = 300) -> dict:
    snapshot = snapshot_for(models, seed)
    started = time.perf_counter()
    process, endpoint = start_process(snapshot, "--evolution", "none", quiet=True, timeout=7200)
    load_seconds = time.perf_counter() - started
    watcher = PeakRss(process.pid)
    try:  # the watcher starts once the port is bound: the load's peak is the kernel's VmHWM
        load_peak = _high_water_mb(process.pid)
        api = HfApi(endpoint=endpoint)
        started = time.perf_counter()
        ids = [model.id for model in api.list_models(limit=None)]
        list_seconds = time.perf_counter() - started
        listing_peak = watcher.peak_mb()
        sample = random.Random(seed).sample(ids, min(lookups, len(ids)))
        started = time.perf_counter()
        for repo_id in sample:
            api.model_info(repo_id)
        lookup_ms = (time.perf_counter() - started) / max(1, len(sample)) * 1000
        rss_after = watcher.now_mb()
        store_mb = _store_file_mb(process.pid)
    finally:
        watcher.stop()
        stop_process(process)
    assert len(ids) == len(set(ids)), "a listing served a model twice"
    return {
        "bench": "local_hub",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "models": models,
        "listed": len(ids),
        "load_s": round(load_seconds, 1),
        "peak_rss_after_load_mb": load_peak,
        "list_s": round(list_seconds, 1),
        "list_models_per_s": round(len(ids) / list_seconds),
        "peak_rss_listing_mb": listing_peak,
        "model_info_ms": round(lookup_ms, 1),
        "rss_after_mb": rss_after,
        "store_file_mb": store_mb,
        "load_average": os.getloadavg()[0],
    }


def _store_file_mb(pid: int) -> float | None:
    """Size of the server's SQLite file (unlinked once open, so found through its descriptors)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if "hub.sqlite" in os.readlink(fd):
                return round(fd.stat().st_size / 2**20, 1)
        except OSError:
            continue
    return None


def _high_water_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set since it started (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--label", default="", help="a note stored with the result")
    args = parser.parse_args(argv)
    result = {**bench(args.models, args.seed), "label": args.label}
    line = json.dumps(result)
    print(line, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "local_hub.jsonl", "a", encoding="utf-8") as out:
        out.write(line + "\n")


if __name__ == "__main__":
    main()
