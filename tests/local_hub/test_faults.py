"""Faults chosen per run, each seen through raw HTTP and through the real client's retries."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request

import pytest
from huggingface_hub import HfApi, ModelCard
from huggingface_hub.utils import parse_ratelimit_headers

from ingestion.localhub.faults import FaultSpec
from tests.local_hub.conftest import card_endpoint, public


@pytest.fixture(autouse=True)
def no_ambient_token(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)


def fetch(url: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def full_listing(server) -> list[str]:
    return [m.id for m in HfApi(endpoint=server.base_url, token=False).list_models()]


def test_rate_limit_answers_429_with_retry_after_and_ratelimit_headers(start_hub, hub_records):
    hub = start_hub(hub_records, faults=["rate_limit:p=1,retry_after=7"])
    status, headers, _ = fetch(f"{hub.base_url}/api/models?limit=1")
    assert status == 429 and headers["Retry-After"] == "7"
    info = parse_ratelimit_headers(headers)
    assert (info.remaining, info.reset_in_seconds, info.window_seconds) == (0, 7, 300)


def test_the_client_rides_out_rate_limits(start_hub, hub_records):
    hub = start_hub(
        hub_records, page_size=250, faults=["rate_limit:p=0.4,retry_after=0"], fault_seed=1
    )
    assert len(full_listing(hub)) == len(public(hub_records))
    assert hub.faults.injected["rate_limit"] >= 1


def test_a_request_budget_per_window_counts_down_then_429s_until_the_window_ends(
    start_hub, hub_records
):
    hub = start_hub(hub_records, page_size=250, faults=["budget:requests=3,window=2"])
    remaining = []
    for _ in range(4):
        status, headers, _ = fetch(f"{hub.base_url}/api/models?limit=1")
        info = parse_ratelimit_headers(headers)
        remaining.append((status, info.remaining, info.limit, info.window_seconds))
    assert remaining[:3] == [(200, 2, 3, 2), (200, 1, 3, 2), (200, 0, 3, 2)]
    assert remaining[3][:2] == (429, 0)
    time.sleep(2.1)
    assert len(full_listing(hub)) == len(public(hub_records))  # waits out the window
    assert hub.faults.injected["budget"] >= 1


def test_5xx_bursts_hit_consecutive_requests_and_the_client_retries_through(start_hub, hub_records):
    hub = start_hub(hub_records, faults=["burst:every=6,length=3,status=mixed"], fault_seed=1)
    statuses = [fetch(f"{hub.base_url}/api/models?limit=1")[0] for _ in range(12)]
    failing = [s for s in statuses if s != 200]
    assert sorted(failing) == [500, 500, 502, 502, 503, 503]
    runs = "".join("x" if s != 200 else "." for s in statuses * 2)
    assert "xxx" in runs and "xxxx" not in runs

    calm = start_hub(hub_records, page_size=250, faults=["burst:every=5,length=1,status=502"])
    assert full_listing(calm) == full_listing(start_hub(hub_records, page_size=250))
    assert calm.faults.injected["burst"] >= 1


def test_deep_pages_time_out_with_504(start_hub, hub_records):
    hub = start_hub(hub_records, page_size=100, faults=["deep_504:depth=2,p=1"])
    url = f"{hub.base_url}/api/models"
    statuses = []
    for _ in range(3):
        status, headers, _ = fetch(url)
        statuses.append(status)
        if status == 200:
            link = headers["Link"]
            url = link[1 : link.index(">")]
    assert statuses == [200, 200, 504]

    flaky = start_hub(hub_records, page_size=250, faults=["deep_504:depth=2,p=0.3"])
    assert len(full_listing(flaky)) == len(public(hub_records))
    assert flaky.faults.injected["deep_504"] >= 1


def test_a_connection_reset_mid_body_is_retried_by_the_client(start_hub, hub_records):
    hub = start_hub(hub_records, faults=["reset:p=1"])
    with pytest.raises((http.client.IncompleteRead, ConnectionError, urllib.error.URLError)):
        fetch(f"{hub.base_url}/api/models?limit=50")

    flaky = start_hub(hub_records, page_size=250, faults=["reset:p=0.4"], fault_seed=2)
    assert len(full_listing(flaky)) == len(public(hub_records))
    assert flaky.faults.injected["reset"] >= 1


def test_truncated_json_is_a_complete_response_with_a_broken_body(start_hub, hub_records):
    hub = start_hub(hub_records, faults=["truncated:p=1,on=list"])
    status, headers, body = fetch(f"{hub.base_url}/api/models?limit=20")
    assert status == 200 and int(headers["Content-Length"]) == len(body)
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    with pytest.raises(ValueError):  # the client does not retry a body it cannot parse
        full_listing(hub)
    assert HfApi(endpoint=hub.base_url, token=False).model_info(hub_records[0]["model"]["id"])


def test_slow_responses_wait_before_answering(start_hub, hub_records):
    hub = start_hub(hub_records, faults=["slow:p=1,delay=0.3,on=info"])
    started = time.monotonic()
    status, _, _ = fetch(f"{hub.base_url}/api/models/{hub_records[0]['model']['id']}")
    assert status == 200 and time.monotonic() - started >= 0.3
    assert fetch(f"{hub.base_url}/api/models?limit=1")[0] == 200
    assert hub.faults.injected == {"slow": 1}


def test_faults_are_reproducible_from_their_seed(start_hub, hub_records):
    specs = ["rate_limit:p=0.3", "burst:every=7,length=2", "deep_504:depth=1,p=0.3"]

    def outcomes(seed: int) -> list[int]:
        hub = start_hub(hub_records, page_size=100, faults=specs, fault_seed=seed)
        results, url = [], f"{hub.base_url}/api/models"
        for _ in range(30):
            status, headers, _ = fetch(url)
            results.append(status)
            if status == 200 and "Link" in headers:
                url = headers["Link"][1 : headers["Link"].index(">")]
        return results

    first = outcomes(seed=5)
    assert first == outcomes(seed=5)
    assert first != outcomes(seed=6)
    assert {429, 503, 504} <= set(first)


def test_fault_specs_are_validated():
    assert FaultSpec.parse("slow").params == {"p": "0.1", "delay": "0.5"}
    assert FaultSpec.parse("burst:length=2,on=list").endpoints == ("list",)
    for bad in ("explode", "slow:speed=3", "slow:p", "slow:on=everything"):
        with pytest.raises(ValueError):
            FaultSpec.parse(bad)


def test_model_card_loads_wait_out_slow_files_and_refuse_truncated_ones(
    start_hub, hub_records, monkeypatch, tmp_path
):
    record = next(r for r in public(hub_records) if r["readme"])
    hub = start_hub(hub_records, faults=["slow:p=1,delay=0.2,on=resolve"])
    with card_endpoint(monkeypatch, hub.base_url, tmp_path / "slow"):
        assert ModelCard.load(record["model"]["id"]).text == ModelCard(record["readme"]).text
    assert hub.faults.injected["slow"] == 2  # HEAD, then GET

    hub = start_hub(hub_records, faults=["truncated:p=1,on=resolve"])
    with (
        card_endpoint(monkeypatch, hub.base_url, tmp_path / "truncated"),
        pytest.raises(OSError, match="[Cc]onsistency"),  # the size differs from the HEAD's
    ):
        ModelCard.load(record["model"]["id"])
