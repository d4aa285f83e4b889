"""`make bench`: the warehouse at Hub scale, side by side with the paper's approach.

Usage: `python -m bench.run --models 100000 [--skip-http] [--skip-baseline]`.

Every step runs as its own process and is measured for wall time, CPU time and the peak
memory of its process tree. The results table is printed and appended, with the machine
and package versions, to `BENCHMARKS.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import duckdb
import psutil

from bench.measure import Measurement, run_measured
from ingestion.config import PROJECT_ROOT, settings
from ingestion.localhub.server import start_process, stop_process
from ingestion.warehouse import copy_warehouse, remove_warehouse
from orchestration.defs.transform.project import dbt_build_args

PY = sys.executable
DBT = str(Path(sys.executable).parent / "dbt")
DBT_DIR = str(PROJECT_ROOT / "dbt_project")
RESULTS = PROJECT_ROOT / "bench" / "results"
DBT_OPTIONS = ("--project-dir", DBT_DIR, "--profiles-dir", DBT_DIR, "--quiet")


# The dbt models that compute what the baseline computes (edges, families, card drift).
SAME_OUTPUTS = ["+fct_model_edges", "+dim_model_family", "+card_drift"]
# The analyst-facing lineage, history and compliance models (issue 21): rows and build time.
LINEAGE_MODELS = (
    "fct_model_lineage",
    "int_model_versions",
    "model_history",
    "model_edge_history",
    "model_lifecycle",
    "model_changes",
    "model_license_compliance",
    "dim_models",
)
# The baseline holds every model in networkx and pandas; past this it would exhaust the machine.
BASELINE_MEMORY_LIMIT_MB = 0.75 * psutil.virtual_memory().total / 2**20
# Above this size, fetching every README over HTTP is left out (one request per model).
HTTP_CARDS_MAX_MODELS = 100_000
# Above this size the baseline is left out: at 2M it exhausted 24 GB (BENCHMARKS.md, 2026-12-02).
BASELINE_MAX_MODELS = 1_000_000


def dbt_build(
    step: str, warehouse: Path, *extra: str, command: str = "build", full_refresh: bool = False
) -> Measurement:
    """Run dbt as the Dagster assets do (`dbt_build_args` for a build), and profile it."""
    if command == "build":
        args = dbt_build_args(warehouse, full_refresh)
    else:
        args = [command, *(["--full-refresh"] if full_refresh else [])]
    target = warehouse.parent / "dbt-target"
    measurement = run_measured(
        step,
        [DBT, *args, *DBT_OPTIONS, "--target-path", str(target), *extra]
        + ["--vars", settings().with_warehouse(warehouse).dbt_vars()],
    )
    measurement.profile = dbt_profile(target / "run_results.json", measurement.wall_s)
    return measurement


def dbt_profile(run_results: Path, wall_s: float) -> dict:
    """Split a dbt invocation's wall time: start-up (imports, manifest), models, tests, hooks."""
    results = json.loads(run_results.read_text())
    by_type: dict[str, float] = {}
    for node in results["results"]:
        kind = node["unique_id"].split(".", 1)[0]
        by_type[kind] = by_type.get(kind, 0.0) + node["execution_time"]
    slowest = sorted(results["results"], key=lambda node: -node["execution_time"])[:4]
    seconds = {
        node["unique_id"].rsplit(".", 1)[-1]: node["execution_time"]
        for node in results["results"]
        if node["unique_id"].startswith("model.")
    }
    return {
        "model_seconds": {name: seconds[name] for name in LINEAGE_MODELS if name in seconds},
        "startup_s": wall_s - results["elapsed_time"],
        "models_s": by_type.get("model", 0.0),
        "tests_s": by_type.get("test", 0.0) + by_type.get("unit_test", 0.0),
        "tests": sum(1 for node in results["results"] if node["unique_id"].startswith("test.")),
        "hooks_s": by_type.get("operation", 0.0),
        "slowest": [
            (node["unique_id"].rsplit(".", 1)[-1], node["execution_time"]) for node in slowest
        ],
    }


def apply_delta(warehouse: Path, fraction: float, seed: int) -> Measurement:
    """Edit `fraction` of the models through the ingestion write path (`bench/delta.py`)."""
    before = datetime.now(UTC).replace(tzinfo=None)
    delta = run_measured(
        f"apply a {fraction:.2%} delta",
        [PY, "-m", "bench.delta", str(warehouse), "--fraction", str(fraction), "--seed", str(seed)],
    )
    delta.rows = count(
        warehouse,
        "select count(*) from raw.hub_models where changed_at >= $before",
        {"before": before},
    )
    return delta


def rows_changed(before: Path, after: Path) -> dict:
    """Rows of dbt tables that differ between two warehouses (`bench/rows_changed.py`)."""
    output = subprocess.run(
        [PY, "-m", "bench.rows_changed", str(before), str(after)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output)


def top_tables(changed: dict, n: int = 4) -> list[tuple[str, int]]:
    return sorted(
        ((name, rows) for name, rows in changed["tables"].items() if rows),
        key=lambda item: -item[1],
    )[:n]


def analytics(step: str, warehouse: Path) -> Measurement:
    """Materialize every analytics asset through Dagster, as the automation does."""
    return run_measured(
        step,
        [PY, "-m", "bench.dagster_step", "analytics"],
        env={"HUBGENOME_WAREHOUSE": str(warehouse)},
    )


def publish(step: str, warehouse: Path, build: Measurement) -> Measurement:
    """Materialize the `published` layer (the published copy, then the Parquet exports) after
    `build`, as Dagster does."""
    reported = warehouse.parent / "published-metadata.json"
    measurement = run_measured(
        step,
        [PY, "-m", "bench.dagster_step", "published", str(reported)],
        env={"HUBGENOME_WAREHOUSE": str(warehouse)},
    )
    metadata = json.loads(reported.read_text())["published/warehouse"]
    measurement.rows = metadata["dagster/row_count"]
    copy_s = metadata["seconds"]
    how = (
        "written whole"
        if metadata["written_whole"]
        else f"copied, {metadata['rows_changed']:,} rows rewritten"
    )
    exports = json.loads(reported.read_text())["published/parquet_exports"]
    measurement.note = (
        f"the publish itself {copy_s:.1f} s ({metadata['tables']} tables, {how}) = "
        f"{copy_s / build.wall_s:.1%} of the build before it; the Parquet exports "
        f"{exports['seconds']:.1f} s ({exports['marts_written']} marts written, "
        f"{exports['marts_unchanged']} unchanged); the rest is Dagster's start-up"
    )
    return measurement


def hub_server(process: subprocess.Popen, load_s: float, models: int) -> Measurement:
    """The local Hub's own process: its load time, and its CPU and peak RSS (the kernel's
    high-water mark) over the load and every listing so far."""
    cpu = psutil.Process(process.pid).cpu_times()
    status = Path(f"/proc/{process.pid}/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return Measurement(
        step="local Hub server: load the snapshot (wall), then serve the listings",
        wall_s=load_s,
        cpu_s=cpu.user + cpu.system,
        peak_rss_mb=peak_kb / 1024,
        rows=models,
        note="CPU and peak RSS of the server process over the load and the listings",
    )


def lineage_rows(warehouse: Path) -> dict[str, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        found = {
            name: schema
            for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables() where table_name in $names",
                {"names": list(LINEAGE_MODELS)},
            ).fetchall()
        }
        rows = {
            name: con.execute(f"select count(*) from {schema}.{name}").fetchone()[0]
            for name, schema in found.items()
        }
        rows["fct_model_lineage max distance"] = con.execute(
            "select max(distance) from marts.fct_model_lineage"
        ).fetchone()[0]
        return rows
    finally:
        con.close()


def count(warehouse: Path, sql: str, params: dict | None = None) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchone()[0]
    finally:
        con.close()


def run(
    models: int,
    skip_http: bool,
    skip_baseline: bool,
    results: list[Measurement],
    lineage_sizes: dict[str, int],
) -> None:
    """Run every step, appending each measurement to `results` as soon as it is taken, and
    the sizes of the lineage models after the full build to `lineage_sizes`."""
    workdir = RESULTS / f"{models}"
    workdir.mkdir(parents=True, exist_ok=True)
    snapshot = workdir / "snapshot.jsonl.gz"
    imported = workdir / "imported.duckdb"
    listed = workdir / "listed.duckdb"
    for stale in (imported, listed, snapshot):
        stale.unlink(missing_ok=True)

    step = run_measured(
        "generate synthetic ecosystem",
        [
            PY,
            "-m",
            "ingestion.localhub.synthetic",
            "--models",
            str(models),
            "--seed",
            "1",
            "--out",
            str(snapshot),
        ],
    )
    step.rows = models
    results.append(step)

    bootstrap = run_measured(
        "bootstrap import of the snapshot file",
        [PY, "-m", "ingestion.importers", str(snapshot), "--warehouse", str(imported)],
    )
    bootstrap.rows = count(imported, "select count(*) from raw.hub_models")
    results.append(bootstrap)
    scan = run_measured(
        "the floor: one DuckDB scan of every raw column a build reads",
        [PY, "-m", "bench.scan_raw", str(imported)],
    )
    scan.rows = bootstrap.rows
    results.append(scan)

    if not skip_http:
        # Loading 2M models takes minutes.
        started = time.monotonic()
        hub, endpoint = start_process(snapshot, quiet=True, timeout=1800)
        load_s = time.monotonic() - started
        try:
            streams = ("models", "cards") if models <= HTTP_CARDS_MAX_MODELS else ("models",)
            for what in streams:
                step = run_measured(
                    f"ingestion through the local Hub: {what}",
                    [
                        PY,
                        "-m",
                        "ingestion.ingest",
                        what,
                        "--endpoint",
                        endpoint,
                        "--warehouse",
                        str(listed),
                    ],
                )
                table = "hub_models" if what == "models" else "hub_card_fetches"
                step.rows = count(listed, f"select count(*) from raw.{table}")
                results.append(step)
            results.append(hub_server(hub, load_s, models))
        finally:
            stop_process(hub)

    # The manifests are prepared ahead, as a deployment does (`make manifest`): no step pays a
    # full parse. The project's own target holds the one the Dagster definitions read.
    for target in (workdir / "dbt-target", PROJECT_ROOT / "dbt_project" / "target"):
        subprocess.run(
            [DBT, "parse", *DBT_OPTIONS, "--target-path", str(target)]
            + ["--vars", settings().with_warehouse(imported).dbt_vars()],
            check=True,
        )
    step = dbt_build("full dbt build (run + tests)", imported, full_refresh=True)
    step.rows = count(imported, "select count(*) from marts.dim_model_family")
    step.note = f"{step.wall_s / scan.wall_s:.0f}x the scan of the raw tables"
    results.append(step)
    full_build = step
    lineage_sizes.update(lineage_rows(imported))

    step = analytics("analytics assets (Dagster)", imported)
    results.append(step)
    full_analytics = step
    # After the analytics, as the automation publishes: the copy holds them too.
    results.append(publish("publish after the full build and analytics", imported, full_build))
    pipeline = [bootstrap, full_build, step]
    results.append(
        Measurement(
            step="whole pipeline from an empty warehouse (sum of import, full build, analytics)",
            wall_s=sum(m.wall_s for m in pipeline),
            cpu_s=sum(m.cpu_s for m in pipeline),
            peak_rss_mb=max(m.peak_rss_mb for m in pipeline),
            rows=models,
        )
    )

    for fraction in (0.01, 0.0001):
        results.append(apply_delta(imported, fraction, seed=1))
        before = copy_warehouse(imported, workdir / "before-build.duckdb")
        step = dbt_build(f"incremental dbt build after the {fraction:.2%} delta", imported)
        changed = rows_changed(before, imported)
        remove_warehouse(before)
        step.rows = changed["total"]
        step.note = (
            f"{step.wall_s / full_build.wall_s:.1%} of the full build; rows changed: "
            + ", ".join(f"{name} {n:,}" for name, n in top_tables(changed))
        )
        results.append(step)
        refreshed = analytics(f"analytics assets after the {fraction:.2%} delta's build", imported)
        refreshed.note = f"{refreshed.wall_s / full_analytics.wall_s:.0%} of the analytics above"
        results.append(refreshed)
        results.append(publish(f"publish after the {fraction:.2%} delta's build", imported, step))
    step = dbt_build("full-refresh dbt build on the same data", imported, full_refresh=True)
    results.append(step)

    if models > BASELINE_MAX_MODELS and not skip_baseline:
        print(f"the baseline is left out above {BASELINE_MAX_MODELS:,} models (memory)")
    elif not skip_baseline:
        same = dbt_build(
            "ours, the baseline's outputs only: dbt run " + " ".join(SAME_OUTPUTS),
            imported,
            "--select",
            *SAME_OUTPUTS,
            command="run",
            full_refresh=True,
        )
        ours = run_measured(
            "ours: read those outputs (+ mutation rates in SQL)",
            [PY, "-m", "bench.compare", "ours", str(imported), str(workdir / "ours.json")],
        )
        baseline = run_measured(
            "paper baseline (networkx, Python loops)",
            [PY, "-m", "bench.compare", "baseline", str(imported), str(workdir / "baseline.json")],
            memory_limit_mb=BASELINE_MEMORY_LIMIT_MB,
        )
        ours_cpu = same.cpu_s + ours.cpu_s
        ours_wall = same.wall_s + ours.wall_s
        if baseline.completed:
            verdict = subprocess.run(
                [
                    PY,
                    "-m",
                    "bench.compare",
                    "check",
                    str(workdir / "ours.json"),
                    str(workdir / "baseline.json"),
                ],
                capture_output=True,
                text=True,
            )
            baseline.note = verdict.stdout.strip().replace("\n", "; ")
            same.note = (
                f"baseline CPU / ours CPU = {baseline.cpu_s / ours_cpu:.1f}x "
                f"(wall {baseline.wall_s / ours_wall:.1f}x)"
            )
        else:
            same.note = (
                f"the baseline did not finish; up to where it was stopped it had used "
                f"{baseline.cpu_s / ours_cpu:.1f}x our CPU time and "
                f"{baseline.peak_rss_mb / max(same.peak_rss_mb, ours.peak_rss_mb):.0f}x our memory"
            )
        results += [same, ours, baseline]
        # The paper's approach has no incremental mode: after a delta it recomputes everything,
        # at the cost above. Ours refreshes the same outputs incrementally.
        results.append(apply_delta(imported, 0.01, seed=2))
        refresh = dbt_build(
            "ours, the baseline's outputs only, refreshed after the delta: dbt run "
            + " ".join(SAME_OUTPUTS),
            imported,
            "--select",
            *SAME_OUTPUTS,
            command="run",
        )
        refresh.note = (
            f"baseline CPU / ours CPU = {baseline.cpu_s / refresh.cpu_s:.1f}x "
            f"(wall {baseline.wall_s / refresh.wall_s:.1f}x)"
            + ("" if baseline.completed else "; the baseline did not finish")
        )
        results.append(refresh)


def environment() -> str:
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in (
            "dagster",
            "dbt-core",
            "dbt-duckdb",
            "duckdb",
            "pandas",
            "huggingface_hub",
            "networkx",
        )
    )
    return (
        f"{platform.node()}: {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, Python {platform.python_version()}, "
        f"load average at the end {os.getloadavg()[0]:.1f}; "
        f"{packages}"
    )


def steps_table(results: list[Measurement]) -> list[str]:
    """The Markdown table of measured steps."""
    lines = [
        "| step | wall s | CPU s | peak RSS MB | rows | note |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for m in results:
        rows = f"{m.rows:,}" if m.rows is not None else ""
        cells = (m.step, f"{m.wall_s:.1f}", f"{m.cpu_s:.1f}", f"{m.peak_rss_mb:,.0f}", rows, m.note)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def lineage_table(sizes: dict[str, int], results: list[Measurement]) -> list[str]:
    """The lineage, history and compliance models: rows, and seconds in each dbt build."""
    builds = [m for m in results if m.profile and m.profile.get("model_seconds")]
    if not sizes or not builds:
        return []
    lines = [
        "",
        "The lineage, history and compliance models (rows after the full build; dbt's seconds "
        f"per model in each build; the deepest lineage pair: distance "
        f"{sizes.get('fct_model_lineage max distance')}):",
        "",
        "| model | rows | " + " | ".join(m.step for m in builds) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in builds) + " |",
    ]
    for name in LINEAGE_MODELS:
        seconds = [m.profile["model_seconds"].get(name) for m in builds]
        cells = [f"{s:.1f}" if s is not None else "-" for s in seconds]
        rows = f"{sizes[name]:,}" if name in sizes else "-"
        lines.append(f"| `{name}` | {rows} | " + " | ".join(cells) + " |")
    return lines


def table(models: int, results: list[Measurement], lineage_sizes: dict[str, int]) -> str:
    lines = [
        f"### {models:,} models, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        environment(),
        "",
        *steps_table(results),
    ]
    lines += [
        "",
        "Where the dbt steps' time goes (wall seconds, from dbt's `run_results.json`; start-up is "
        "dbt's imports, manifest load and artifact writes):",
        "",
        "| dbt step | wall s | start-up s | models s | data tests s | hooks s | slowest (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for m in results:
        if m.profile:
            p = m.profile
            slowest = ", ".join(f"{name} {seconds:.1f}" for name, seconds in p["slowest"])
            cells = (
                m.step,
                f"{m.wall_s:.1f}",
                f"{p['startup_s']:.1f}",
                f"{p['models_s']:.1f}",
                f"{p['tests_s']:.1f} ({p['tests']})",
                f"{p['hooks_s']:.1f}",
                slowest,
            )
            lines.append("| " + " | ".join(cells) + " |")
    lines += lineage_table(lineage_sizes, results)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--skip-http", action="store_true", help="skip ingestion over HTTP")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--no-record", action="store_true", help="do not append BENCHMARKS.md")
    args = parser.parse_args(argv)
    results: list[Measurement] = []
    lineage_sizes: dict[str, int] = {}
    failure = None
    try:
        run(args.models, args.skip_http, args.skip_baseline, results, lineage_sizes)
    except (Exception, KeyboardInterrupt) as error:  # the steps measured so far are kept
        failure = error
    text = table(args.models, results, lineage_sizes)
    if failure is not None:
        text += f"\nThe run stopped early: {failure}\n"
    print(text)
    (RESULTS / f"{args.models}" / "results.json").write_text(
        json.dumps([m.as_dict() for m in results], indent=2)
    )
    if not args.no_record:
        with open(PROJECT_ROOT / "BENCHMARKS.md", "a", encoding="utf-8") as out:
            out.write("\n" + text)
    if failure is not None:
        raise SystemExit(f"benchmark stopped early: {failure}")


if __name__ == "__main__":
    main()
