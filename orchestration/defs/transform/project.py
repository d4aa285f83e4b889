"""The dbt project as Dagster sees it. The manifest is prepared by `make manifest` / tests."""

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from ingestion.config import DBT_PROJECT_DIR

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


def dbt_resource() -> DbtCliResource:
    """The dbt CLI on this project; each invocation passes the settings' `--vars`."""
    return DbtCliResource(
        project_dir=dbt_project, profiles_dir=DBT_PROJECT_DIR, dbt_executable=DBT_EXECUTABLE
    )
