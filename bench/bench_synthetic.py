"""Synthetic ecosystem generator at Hub scale: models per second and peak memory.

Usage: `python -m bench.bench_synthetic [--models 2000000] [--seed 0] [--keep]`.

Runs `python -m ingestion.localhub.synthetic` as its own process (gzipped JSONL with every card, as
`make run` writes it), measures wall time, CPU time and the peak RSS of the process, checks the
output's line count, and prints one JSON line (also appended to `bench/results/`). The
machine's load average is recorded too: with 2 cores shared, wall time can exceed CPU time.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.measure import run_measured
from ingestion.config import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results"


def count_lines(path: Path) -> int:
    with gzip.open(path, "rb") as lines:
        return sum(1 for _ in lines)


def bench(models: int, seed: int, folder: Path) -> dict:
    out = folder / f"synthetic-{models}-seed{seed}.jsonl.gz"
    argv = [sys.executable, "-m", "ingestion.localhub.synthetic", "--models", str(models)]
    argv += ["--seed", str(seed), "--out", str(out)]
    load_before = os.getloadavg()[0]
    measured = run_measured(f"generate {models}", argv, cwd=str(PROJECT_ROOT))
    written = count_lines(out)
    if written != models:
        raise RuntimeError(f"expected {models} lines in {out}, found {written}")
    return {
        "benchmark": "synthetic_generator",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "models": models,
        "seed": seed,
        "wall_s": round(measured.wall_s, 1),
        "cpu_s": round(measured.cpu_s, 1),
        "models_per_s_wall": round(models / measured.wall_s),
        "models_per_s_cpu": round(models / measured.cpu_s) if measured.cpu_s else None,
        "peak_rss_mb": round(measured.peak_rss_mb, 1),
        "output_mb": round(out.stat().st_size / 2**20, 1),
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="write the snapshot into this folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-synthetic-") as scratch:
        result = bench(args.models, args.seed, args.keep or Path(scratch))
    print(json.dumps(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "synthetic_generator.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
