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
DBT_BUILD_ARGS = ("build", "--exclude-resource-type", "unit_test")


def dbt_resource() -> DbtCliResource:
    """The dbt CLI on this project; each invocation passes the settings' `--vars`."""
    return DbtCliResource(
        project_dir=dbt_project, profiles_dir=DBT_PROJECT_DIR, dbt_executable=DBT_EXECUTABLE
    )
