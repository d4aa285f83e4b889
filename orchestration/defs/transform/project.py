"""The dbt project as Dagster sees it. The manifest is prepared by `make manifest` / tests."""

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from ingestion.config import PROJECT_ROOT

# dbt is installed beside this interpreter: keep it findable when the venv is not activated.
_interpreter_bin = str(Path(sys.executable).parent)
if _interpreter_bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _interpreter_bin + os.pathsep + os.environ.get("PATH", "")

dbt_project = DbtProject(
    project_dir=PROJECT_ROOT / "dbt_project",
    profiles_dir=PROJECT_ROOT / "dbt_project",
)
dbt_project.prepare_if_dev()

# Unit tests check the SQL against fixed inputs, not the data: `make test` runs them (tests/dbt),
# and production builds leave them out, as dbt recommends.
DBT_BUILD_ARGS = ("build", "--exclude-resource-type", "unit_test")
