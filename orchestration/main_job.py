"""`make run`: serve the synthetic Hub on loopback and materialize every asset through Dagster.

Usage: `python -m orchestration.main_job [--models N] [--seed S]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingestion.config import PROJECT_ROOT, warehouse_path
from ingestion.synthetic import generate, write_jsonl


def start_local_hub(source: Path) -> tuple[subprocess.Popen, str]:
    """Start `python -m ingestion.local_hub` on a free loopback port; return it and its URL."""
    port_file = Path(tempfile.mkdtemp()) / "port"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ingestion.local_hub",
            "--source",
            str(source),
            "--port",
            "0",
            "--port-file",
            str(port_file),
        ],
        cwd=PROJECT_ROOT,
    )
    deadline = time.monotonic() + 120
    while not port_file.exists() or not port_file.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the local Hub did not start; see its output above")
        time.sleep(0.1)
    return process, f"http://127.0.0.1:{port_file.read_text()}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    snapshot = PROJECT_ROOT / "data" / "hub" / f"synthetic-{args.models}-seed{args.seed}.jsonl.gz"
    if not snapshot.exists():
        count = write_jsonl(generate(args.models, args.seed), snapshot)
        print(f"generated {count} synthetic models into {snapshot}")

    hub, endpoint = start_local_hub(snapshot)
    try:
        os.environ["HF_ENDPOINT"] = endpoint
        import dagster as dg

        from orchestration.definitions import defs

        with dg.DagsterInstance.get() as instance:
            result = defs().resolve_job_def("full_build").execute_in_process(instance=instance)
        if not result.success:
            raise SystemExit("the full build failed; see the Dagster output above")
    finally:
        hub.terminate()
        hub.wait()
    print_summary(warehouse_path())


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
