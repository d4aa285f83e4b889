"""Every warehouse connection, dbt's included, caps DuckDB's memory (HUBGENOME_DUCKDB_MEMORY)."""

import json
import subprocess
import sys
from pathlib import Path

from ingestion.warehouse import connect


def test_python_connections_take_the_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("HUBGENOME_DUCKDB_MEMORY", "1GB")
    with connect(tmp_path / "w.duckdb") as con:
        (limit,) = con.execute("select current_setting('memory_limit')").fetchone()
    assert limit == "953.6 MiB"
    with connect(tmp_path / "w.duckdb", read_only=True) as con:
        (limit,) = con.execute("select current_setting('memory_limit')").fetchone()
    assert limit == "953.6 MiB"


def dbt_memory_limit(tmp_path: Path, cap: str | None) -> str:
    """DuckDB's memory limit as a dbt connection of the project sees it, run as an operator
    would (`hubgenome dbt ...`, settings from the environment)."""
    env = {
        "PATH": str(Path(sys.executable).parent),
        "HUBGENOME_WAREHOUSE": str(tmp_path / "w.duckdb"),
        "HOME": str(tmp_path),
    }
    if cap is not None:
        env["HUBGENOME_DUCKDB_MEMORY"] = cap
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "ingestion",
            "dbt",
            "show",
            "--inline",
            "select current_setting('memory_limit') as memory_limit",
            "--target-path",
            str(tmp_path / "target"),
            "--output",
            "json",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(shown.stdout[shown.stdout.index("{") :])["show"][0]["memory_limit"]


def test_dbt_connections_take_the_cap_and_the_same_default(tmp_path, monkeypatch):
    assert dbt_memory_limit(tmp_path, "2GB") == "1.8 GiB"
    monkeypatch.delenv("HUBGENOME_DUCKDB_MEMORY", raising=False)
    with connect(tmp_path / "python.duckdb") as con:
        (python_default,) = con.execute("select current_setting('memory_limit')").fetchone()
    assert dbt_memory_limit(tmp_path, None) == python_default
