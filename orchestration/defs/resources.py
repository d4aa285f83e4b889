"""Resources shared by every asset: the Hub client settings, the warehouse, dbt."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from ingestion.config import hf_token, settings
from ingestion.warehouse import acquire_writer_lock, connect, ensure_raw_schema
from orchestration.defs.transform.project import dbt_resource


class HubResource(dg.ConfigurableResource):
    """Where the Hub is. The token is read from `HF_TOKEN` at call time, never stored in config."""

    endpoint: str

    def token(self) -> str | None:
        return hf_token()


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file, with one writing run at a time.

    A run that uses this resource holds the warehouse's writer lock from its start to its end,
    so the dbt subprocess it launches writes alone too. Runs started together (two processes,
    two `dagster asset materialize` calls, the UI and `make run`) wait for each other.
    Sensors get no lock: they only read.
    """

    path: str
    _lock: IO[str] | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if context.dagster_run is None:
            return  # a sensor or a script reading the warehouse: no lock, read-only use only

        def report_wait(lock_path: Path) -> None:
            if context.log is not None:
                context.log.info(f"waiting for the warehouse writer lock {lock_path}")

        self._lock = acquire_writer_lock(Path(self.path), on_wait=report_wait)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(Path(self.path), read_only) as con:
            if not read_only:
                ensure_raw_schema(con)
            yield con


@dg.definitions
def resources() -> dg.Definitions:
    current = settings()
    return dg.Definitions(
        resources={
            "hub": HubResource(endpoint=current.hub_endpoint),
            "warehouse": WarehouseResource(path=str(current.warehouse)),
            "dbt": dbt_resource(),
        },
        executor=dg.in_process_executor,
    )
