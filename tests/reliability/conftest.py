"""The reliability suite: short by default (part of `make test`), wide with
`HUBGENOME_RELIABILITY=full` (`make test-reliability`): more seeds, bigger ecosystems."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingestion.localhub.synthetic import generate, write_jsonl


@dataclass(frozen=True)
class Scale:
    """How hard the suite pushes; `full` is what docs/reliability.md reports."""

    full: bool
    models: int  # models in the served ecosystem
    page_size: int
    kill_seeds: int  # kill -9 points of the ingestion processes
    dbt_kill_seeds: int
    disk_limits: int  # file-size limits the failed-write scenario tries
    fault_seeds: int  # seeds per Hub fault kind


SHORT = Scale(full=False, models=300, page_size=30, kill_seeds=2, dbt_kill_seeds=0,
              disk_limits=1, fault_seeds=1)  # fmt: skip
FULL = Scale(full=True, models=1500, page_size=60, kill_seeds=24, dbt_kill_seeds=6,
             disk_limits=4, fault_seeds=4)  # fmt: skip


def current_scale() -> Scale:
    return FULL if os.environ.get("HUBGENOME_RELIABILITY", "").lower() == "full" else SHORT


@pytest.fixture(scope="session")
def scale() -> Scale:
    return current_scale()


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest():
    """Overrides the suite-wide `dbt parse`: the scenarios that use dbt run it themselves."""
    return None


@pytest.fixture(scope="session")
def ecosystem(tmp_path_factory, scale) -> Path:
    """The synthetic ecosystem the fault and crash scenarios serve (with its messes)."""
    path = tmp_path_factory.mktemp("reliability") / "ecosystem.jsonl.gz"
    write_jsonl(generate(scale.models, seed=909), path)
    return path


_RECORDS: list[dict] = []


@pytest.fixture
def record(request):
    """Keep a scenario's numbers; `HUBGENOME_RELIABILITY_REPORT` names a JSON file for them."""

    def keep(scenario: str, **numbers) -> None:
        _RECORDS.append({"test": request.node.nodeid, "scenario": scenario, **numbers})

    return keep


def pytest_sessionfinish(session):
    target = os.environ.get("HUBGENOME_RELIABILITY_REPORT")
    if target and _RECORDS:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(json.dumps(_RECORDS, indent=1, default=str))
