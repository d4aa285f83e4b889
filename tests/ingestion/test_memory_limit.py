"""Every warehouse connection, dbt's included, caps DuckDB's memory (HUBGENOME_DUCKDB_MEMORY)."""

import subprocess
import sys
from pathlib import Path

from ingestion.config import PROJECT_ROOT
from ingestion.warehouse import connect

DBT = str(Path(sys.executable).parent / "dbt")


def test_python_connections_take_the_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("HUBGENOME_DUCKDB_MEMORY", "1GB")
    with connect(tmp_path / "w.duckdb") as con:
        (limit,) = con.execute("select current_setting('memory_limit')").fetchone()
    assert limit == "953.6 MiB"
    with connect(tmp_path / "w.duckdb", read_only=True) as con:
        (limit,) = con.execute("select current_setting('memory_limit')").fetchone()
    assert limit == "953.6 MiB"


def test_dbt_connections_take_the_cap(tmp_path):
    project = PROJECT_ROOT / "dbt_project"
    shown = subprocess.run(
        [
            DBT,
            "show",
            "--inline",
            "select current_setting('memory_limit') as memory_limit",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--target-path",
            str(tmp_path / "target"),
            "--output",
            "json",
        ],
        env={
            "PATH": str(Path(sys.executable).parent),
            "HUBGENOME_WAREHOUSE": str(tmp_path / "w.duckdb"),
            "HUBGENOME_DUCKDB_MEMORY": "2GB",
            "HOME": str(tmp_path),
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"memory_limit": "1.8 GiB"' in shown.stdout
