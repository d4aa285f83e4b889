"""Fixtures of the dbt tests."""

import pytest

from ingestion.hub_client import HubClient
from ingestion.localhub.server import serve_store
from ingestion.localhub.store import HubStore
from ingestion.localhub.synthetic import generate
from tests.dbt.helpers import RATES


@pytest.fixture(scope="module")
def evolving_hub():
    """A local Hub of 300 models whose clock the test moves, and a client of it."""
    store = HubStore(generate(300, seed=5), seed=5, rates=RATES)
    server = serve_store(store)
    yield store, HubClient(server.base_url)
    server.shutdown()
    server.server_close()
