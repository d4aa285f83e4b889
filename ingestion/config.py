"""Settings: the one reader of the environment, for ingestion, dbt, Dagster and the CLI.

Every other module takes what it needs from a `Settings` (`settings()` reads the environment
now); dbt gets the warehouse and DuckDB's memory cap from `Settings.dbt_vars`, so no default
is written twice and nothing is written back into `os.environ`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DEFAULT_HUB = "https://huggingface.co"
DEFAULT_MAX_SERVER_WAIT_SECONDS = 15 * 60
DEFAULT_MAX_CARD_BYTES = 5 * 1024 * 1024
DEFAULT_REQUEST_DEADLINE_SECONDS = 300.0


def _on(value: str) -> bool:
    return value.strip().lower() not in ("off", "0", "false", "no")


def _project_path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    """A finite number > 0 from the environment; a bad value is refused, naming the variable."""
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {text!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Where things are and how big they may get. Read with `settings()`.

    | variable | field | default |
    | --- | --- | --- |
    | `HUBGENOME_WAREHOUSE` | `warehouse` | `data/warehouse.duckdb` (relative to the project) |
    | `HF_ENDPOINT` | `hub_endpoint` | `https://huggingface.co` |
    | `HUBGENOME_DUCKDB_MEMORY` | `duckdb_memory_limit` | `6GB` |
    | `HUBGENOME_AUTOMATION` | `automation` | on (`off` starts sensors and schedules stopped) |
    | `HUBGENOME_SENSOR_INTERVAL` | `sensor_interval_seconds` | 60 (the Hub delta sensor) |
    | `HUBGENOME_AUTOMATION_INTERVAL` | `automation_interval_seconds` | 30 |
    | `DAGSTER_HOME` | `dagster_home` | `dagster_home/` (run history, sensor cursors) |
    | `HUBGENOME_MAX_SERVER_WAIT` | `max_server_wait_seconds` | 900 (longer `Retry-After`: stop) |
    | `HUBGENOME_REQUEST_DEADLINE` | `request_deadline_seconds` | 300 (one whole Hub request) |
    | `HUBGENOME_MAX_CARD_BYTES` | `max_card_bytes` | 5 MiB (larger READMEs: `too_large`) |

    `HF_TOKEN` is not a field: `hf_token()` reads it at call time and it is never stored.
    """

    warehouse: Path
    hub_endpoint: str
    duckdb_memory_limit: str
    automation: bool
    sensor_interval_seconds: int
    automation_interval_seconds: int
    dagster_home: Path
    max_server_wait_seconds: float = DEFAULT_MAX_SERVER_WAIT_SECONDS
    request_deadline_seconds: float = DEFAULT_REQUEST_DEADLINE_SECONDS
    max_card_bytes: int = DEFAULT_MAX_CARD_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            warehouse=_project_path(env.get("HUBGENOME_WAREHOUSE", "data/warehouse.duckdb")),
            hub_endpoint=env.get("HF_ENDPOINT", DEFAULT_HUB).rstrip("/"),
            # DuckDB's own default is 80% of RAM, which at 2M models let one analytics run
            # grow past 16 GB; past the cap DuckDB spills to disk instead.
            duckdb_memory_limit=env.get("HUBGENOME_DUCKDB_MEMORY", "6GB"),
            automation=_on(env.get("HUBGENOME_AUTOMATION", "on")),
            sensor_interval_seconds=int(env.get("HUBGENOME_SENSOR_INTERVAL", "60")),
            automation_interval_seconds=int(env.get("HUBGENOME_AUTOMATION_INTERVAL", "30")),
            dagster_home=_project_path(env.get("DAGSTER_HOME", "dagster_home")),
            max_server_wait_seconds=_positive(
                env, "HUBGENOME_MAX_SERVER_WAIT", DEFAULT_MAX_SERVER_WAIT_SECONDS
            ),
            request_deadline_seconds=_positive(
                env, "HUBGENOME_REQUEST_DEADLINE", DEFAULT_REQUEST_DEADLINE_SECONDS
            ),
            max_card_bytes=int(_positive(env, "HUBGENOME_MAX_CARD_BYTES", DEFAULT_MAX_CARD_BYTES)),
        )

    def dbt_vars(self, **extra: object) -> str:
        """dbt's `--vars`: the warehouse and memory cap `profiles.yml` reads, plus `extra`."""
        values = {
            "warehouse_path": str(self.warehouse),
            "duckdb_memory_limit": self.duckdb_memory_limit,
            **extra,
        }
        return json.dumps(values)

    def with_warehouse(self, warehouse: Path) -> Settings:
        return Settings(**{**self.__dict__, "warehouse": warehouse})


def settings() -> Settings:
    """The settings as the environment says now."""
    return Settings.from_env()


def child_environment(**overrides: str) -> dict[str, str]:
    """The environment for a child process: this one's, with `overrides` (settings it must
    see, e.g. the local Hub's endpoint for a demo daemon)."""
    return {**os.environ, **overrides}


def hf_token() -> str | None:
    """The Hub token (`HF_TOKEN`), read at call time; None when unset."""
    return os.environ.get("HF_TOKEN") or None
