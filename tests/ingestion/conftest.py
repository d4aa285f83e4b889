"""The ingestion tests need no dbt: skip the session's `dbt parse`."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest():
    """Overrides the suite-wide fixture: nothing here reads the dbt manifest."""
    return None
