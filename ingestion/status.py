"""`hubgenome status`: where the warehouse is and how fresh it is, for people and scripts."""

from __future__ import annotations

import fcntl
from datetime import datetime
from pathlib import Path

import duckdb

from ingestion.publish import published_build, published_path
from ingestion.warehouse import read_when_idle, writer_lock_path


def writer_lock_holder(warehouse: Path) -> int | None:
    """The pid of the process writing the warehouse now, or None when nobody is."""
    path = writer_lock_path(warehouse.resolve())
    if not path.exists():
        return None
    with path.open("r") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def describe(warehouse: Path) -> dict:
    """A JSON-able description of the warehouse; never writes, never waits for a writer."""
    published = published_path(warehouse)
    report: dict = {
        "warehouse": str(warehouse),
        "exists": warehouse.exists(),
        "writer_pid": writer_lock_holder(warehouse),
        # what analysts open: a consistent copy of the marts, replaced after each good build
        "published": str(published),
        "published_build": str(build) if (build := published_build(published)) else None,
    }
    if not warehouse.exists():
        return report
    report["size_bytes"] = warehouse.stat().st_size
    report["modified_at"] = datetime.fromtimestamp(warehouse.stat().st_mtime).isoformat()
    try:
        with read_when_idle(warehouse) as con:
            if con is None:
                report["unreadable"] = "a run is writing it now; try again when it is done"
                return report
            report["streams"] = _dicts(
                con.execute(
                    "select stream, watermark, cursor is not null as in_progress, started_at, "
                    "updated_at from raw.ingest_state order by stream"
                )
            )
            sweeps = _dicts(
                con.execute("select * from raw.hub_sweeps order by finished_at desc limit 1")
            )
            report["last_sweep"] = sweeps[0] if sweeps else None
            (report["raw"],) = _dicts(
                con.execute(
                    """
                    select
                        (select count(*) from raw.hub_models where deleted_at is null)
                            as models_active,
                        (select count(*) from raw.hub_models where deleted_at is not null)
                            as models_deleted,
                        (select count(*) from raw.hub_model_versions) as model_versions,
                        (select count(*) from raw.hub_model_cards) as model_cards,
                        (select count(*) from raw.quarantine) as quarantined
                    """
                )
            )
            report["marts"] = {
                row["table_name"]: row["rows"]
                for row in _dicts(
                    con.execute(
                        "select table_name, estimated_size as rows from duckdb_tables() "
                        "where schema_name = 'marts' order by table_name"
                    )
                )
            }
            report["last_dbt_build"] = None
            if report["marts"]:  # dbt's bookkeeping exists once it has run
                (report["last_dbt_build"],) = con.execute(
                    "select max(updated_at) from intermediate.dbt_watermarks"
                ).fetchone()
    except duckdb.IOException as error:
        report["unreadable"] = str(error).splitlines()[0]
    except duckdb.CatalogException:
        report["unreadable"] = "not a hubgenome warehouse (no raw layer)"
    return report


def render(report: dict) -> str:
    """The description as lines for a terminal."""
    lines = [f"warehouse: {report['warehouse']}"]
    lines.append(
        f"published (for analysts): {report['published']}"
        + ("" if report["published_build"] else " (not published yet)")
    )
    if not report["exists"]:
        return "\n".join([*lines, "  not created yet: run `hubgenome models` or `make run`"])
    lines.append(f"  {report['size_bytes'] / 1e6:,.1f} MB, modified {report['modified_at']}")
    if report["writer_pid"]:
        lines.append(f"  being written now by process {report['writer_pid']}")
    if "unreadable" in report:
        return "\n".join([*lines, f"  unreadable: {report['unreadable']}"])
    for stream in report["streams"]:
        state = "listing in progress" if stream["in_progress"] else "idle"
        lines.append(
            f"  stream {stream['stream']}: watermark {stream['watermark']}, {state}, "
            f"last written {stream['updated_at']}"
        )
    if report["last_sweep"]:
        lines.append(f"  last deletion sweep: {report['last_sweep']['finished_at']}")
    lines.append(f"  last dbt build: {report['last_dbt_build'] or 'never'}")
    lines.append("  raw: " + ", ".join(f"{k} {v:,}" for k, v in report["raw"].items()))
    marts = report["marts"]
    lines.append(f"  marts: {len(marts)} tables" if marts else "  marts: not built yet")
    lines.extend(f"    {name}: {rows:,} rows" for name, rows in marts.items())
    return "\n".join(lines)
