"""The dbt project as Dagster sees it. The manifest is prepared by `make manifest` / tests."""

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject

from ingestion.config import DBT_PROJECT_DIR
from ingestion.warehouse import connect

# dbt is installed beside this interpreter: found there also when the venv is not activated.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()

# Unit tests check the SQL against fixed inputs, not the data: `make test` runs them (tests/dbt),
# and production builds leave them out, as dbt recommends.
# Cautious indirect selection: a data test runs only in a build that selects every model it
# reads. With dbt's default (eager), a run of a subset (the automation's) ran the relationship
# tests of `fct_model_edges` against `dim_models` on a first install where `dim_models` was
# not built yet, and the run failed. Tests Dagster selects by name still run.
DBT_BUILD_ARGS = (
    "build",
    "--exclude-resource-type",
    "unit_test",
    "--indirect-selection",
    "cautious",
)


def whole_table_tests(manifest: Mapping[str, Any]) -> list[str]:
    """Data tests that read only views and sources: the raw layer's checks, which read whole
    raw tables whatever a build changed (tests on incremental models read the changed rows)."""
    nodes = manifest["nodes"]

    def reads_whole(parent: str) -> bool:
        return parent.startswith("source.") or nodes[parent]["config"]["materialized"] == "view"

    return sorted(
        node["name"]
        for node in nodes.values()
        if node["resource_type"] == "test"
        and node["depends_on"]["nodes"]
        and all(reads_whole(parent) for parent in node["depends_on"]["nodes"])
    )


def builds_incrementally(warehouse: Path, manifest: Mapping[str, Any]) -> bool:
    """Whether every incremental model already has its table in `warehouse`."""
    wanted = {
        (node["schema"], node["alias"] or node["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    }
    if not Path(warehouse).exists():
        return False
    with connect(Path(warehouse), read_only=True) as con:
        present = set(con.execute("select schema_name, table_name from duckdb_tables()").fetchall())
    return wanted <= present


def dbt_build_args(warehouse: Path, full_refresh: bool = False) -> list[str]:
    """The `dbt build` arguments for `warehouse`.

    An incremental build leaves out `whole_table_tests`: they cost a third of its data tests
    at 3M models and check what the ingestion's merges keep (one row per key). A first build
    and the weekly full refresh run them.
    """
    args = list(DBT_BUILD_ARGS)
    if full_refresh:
        return [*args, "--full-refresh"]
    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    if builds_incrementally(warehouse, manifest):
        args += ["--exclude", " ".join(whole_table_tests(manifest))]
    return args


def dbt_resource() -> DbtCliResource:
    """The dbt CLI on this project; each invocation passes the settings' `--vars`."""
    return DbtCliResource(
        project_dir=dbt_project, profiles_dir=DBT_PROJECT_DIR, dbt_executable=DBT_EXECUTABLE
    )
