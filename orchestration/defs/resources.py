"""Resources shared by every asset: the Hub client settings, the warehouse, dbt."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from ingestion.config import hub_endpoint, warehouse_path
from ingestion.warehouse import connect, ensure_raw_schema
from orchestration.defs.transform.project import dbt_project


class HubResource(dg.ConfigurableResource):
    """Where the Hub is. The token is read from `HF_TOKEN` at call time, never stored in config."""

    endpoint: str

    def token(self) -> str | None:
        return os.environ.get("HF_TOKEN") or None


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. One writer at a time: assets that write use pool `duckdb`."""

    path: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(Path(self.path), read_only) as con:
            if not read_only:
                ensure_raw_schema(con)
            yield con


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "hub": HubResource(endpoint=hub_endpoint()),
            "warehouse": WarehouseResource(path=str(warehouse_path())),
            "dbt": DbtCliResource(project_dir=dbt_project, profiles_dir=dbt_project.project_dir),
        },
        executor=dg.in_process_executor,
    )
