"""Fixtures for the analytics tests: hand-made warehouses shaped like the mart contract."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from contract_tables import model, write_contract_tables


@pytest.fixture
def contract_warehouse(tmp_path) -> Callable[[dict[str, dict]], Path]:
    """Factory: write hand-made families as contract tables into a temporary warehouse."""
    counter = iter(range(1000))

    def build(models: dict[str, dict]) -> Path:
        return write_contract_tables(tmp_path / f"contract-{next(counter)}.duckdb", models)

    return build


@pytest.fixture
def family_model() -> Callable[..., dict]:
    return model
