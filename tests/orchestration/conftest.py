"""Fixtures for orchestration tests: a small synthetic ecosystem for the local Hub."""

from __future__ import annotations

from pathlib import Path

import pytest
from orchestration_support import ORCHESTRATION_ECOSYSTEM

from ingestion.localhub.synthetic import generate, write_jsonl


@pytest.fixture(scope="session")
def small_snapshot(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("orchestration-hub") / "synthetic.jsonl.gz"
    write_jsonl(generate(ORCHESTRATION_ECOSYSTEM, seed=5), path)
    return path
