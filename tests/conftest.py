"""Shared fixtures: a synthetic snapshot, a local Hub on loopback, a fresh warehouse."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ingestion.config import PROJECT_ROOT, settings
from ingestion.localhub.server import serve
from ingestion.localhub.synthetic import generate, write_jsonl

SHARED_FIXTURES = PROJECT_ROOT.parent / "shared" / "hub_fixtures"
SMALL_ECOSYSTEM = 2000


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """Parse the dbt project once per session, as `make manifest` does."""
    subprocess.run(
        ["dbt", "parse", "--profiles-dir", ".", "--quiet", "--vars", settings().dbt_vars()],
        cwd=PROJECT_ROOT / "dbt_project",
        check=True,
        env=_env_with_venv_bin(),
    )
    return PROJECT_ROOT / "dbt_project" / "target" / "manifest.json"


def _env_with_venv_bin() -> dict[str, str]:
    import os
    import sys

    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


@pytest.fixture(scope="session")
def synthetic_snapshot(tmp_path_factory) -> Path:
    """A small deterministic synthetic ecosystem, written once per session."""
    path = tmp_path_factory.mktemp("hub") / "synthetic.jsonl.gz"
    write_jsonl(generate(SMALL_ECOSYSTEM, seed=11, messes=False), path)
    return path


@pytest.fixture
def local_hub(synthetic_snapshot):
    """The local Hub serving the synthetic snapshot on a free loopback port."""
    server = serve(synthetic_snapshot)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Path:
    """A fresh warehouse path, exported as HUBGENOME_WAREHOUSE for dbt subprocesses."""
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("HUBGENOME_WAREHOUSE", str(path))
    return path


def shared_fixture(name: str) -> Path:
    """A real Hub record file from ../shared/hub_fixtures, or skip the test when absent."""
    path = SHARED_FIXTURES / name
    if not path.exists():
        pytest.skip(f"real Hub fixture {name} not found in {SHARED_FIXTURES}")
    return path
