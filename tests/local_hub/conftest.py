"""Fixtures for the local Hub tests: synthetic records, a server per test, the real client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from huggingface_hub import HfApi, constants

from ingestion.localhub.faults import FaultPlan
from ingestion.localhub.server import Access, LocalHubServer, serve_store
from ingestion.localhub.store import EvolutionRates, HubStore
from ingestion.localhub.synthetic import generate

FULL_TOKEN = "hf_localhubfullaccesstoken0000000000"
NO_ACCESS_TOKEN = "hf_localhubnoaccesstoken00000000000"
STILL = EvolutionRates.parse("none")


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest():
    """Overrides the suite-wide fixture: nothing here reads the dbt manifest."""
    return None


@pytest.fixture(scope="session")
def hub_records() -> list[dict]:
    """1,200 synthetic models with the Hub's messes; a few made private."""
    records = list(generate(1200, seed=7))
    for record in records[5:1200:150]:
        record["model"]["private"] = True
    return records


@pytest.fixture
def start_hub() -> Iterator[Callable[..., LocalHubServer]]:
    """Start local Hubs on free loopback ports; all are stopped after the test."""
    servers: list[LocalHubServer] = []

    def start(records, *, faults: list[str] = (), fault_seed: int = 0, **options):
        store_options = {
            key: options.pop(key) for key in ("seed", "rates", "tick_seconds") if key in options
        }
        store_options.setdefault("rates", STILL)
        store = HubStore(list(records), **store_options)  # a store never mutates its input
        options.setdefault("access", Access(frozenset({FULL_TOKEN}), frozenset({NO_ACCESS_TOKEN})))
        server = serve_store(
            store, faults=FaultPlan.from_texts(list(faults), fault_seed), **options
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hub(start_hub, hub_records) -> LocalHubServer:
    return start_hub(hub_records, page_size=250)


@pytest.fixture
def api(hub) -> HfApi:
    return HfApi(endpoint=hub.base_url, token=False)


@contextmanager
def card_endpoint(monkeypatch, base_url: str, cache_dir):
    """Point `ModelCard.load` / `hf_hub_download` (which read module constants) at a server."""
    monkeypatch.setattr(constants, "ENDPOINT", base_url)
    monkeypatch.setattr(
        constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        base_url + "/{repo_id}/resolve/{revision}/{filename}",
    )
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache_dir))
    yield


def public(records: list[dict]) -> list[dict]:
    return [r for r in records if not r["model"].get("private")]
