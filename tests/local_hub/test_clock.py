"""The clock: what successive listings show as the served ecosystem evolves."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from huggingface_hub import HfApi, ModelCard
from huggingface_hub.errors import RepositoryNotFoundError

from ingestion.config import PROJECT_ROOT
from ingestion.localhub.server import start_process, stop_process
from ingestion.localhub.store import EvolutionRates, HubStore
from ingestion.localhub.synthetic import generate, hub_time, parse_hub_time
from tests.local_hub.conftest import card_endpoint

BUSY = EvolutionRates(
    new=60, edit=60, license_edit=40, base_model_edit=40, delete=25, rename=25, popularity=200
)
EXPAND = ["sha", "lastModified", "downloads", "likes", "tags", "cardData", "author"]


@pytest.fixture(scope="module")
def small_records() -> list[dict]:
    return list(generate(400, seed=3))


def admin(base_url: str, path: str, body: dict | None = None, method: str | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base_url + path, data=data, method=method or ("POST" if data else "GET")
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def listing(api: HfApi) -> dict[str, object]:
    return {m.id: m for m in api.list_models(expand=EXPAND)}


def test_advancing_the_clock_shows_every_kind_of_change(
    start_hub, small_records, tmp_path, monkeypatch
):
    hub = start_hub(small_records, rates=BUSY, seed=5)
    api = HfApi(endpoint=hub.base_url, token=False)
    before = listing(api)
    by_oid_before = {m._id: m for m in before.values()}
    state = admin(hub.base_url, "/admin/clock", {"advance_seconds": 2 * 86_400})
    assert parse_hub_time(state["now"]) - parse_hub_time(state["snapshot_time"]) == timedelta(
        days=2
    )
    events = admin(hub.base_url, "/admin/events")["events"]
    assert {e["kind"] for e in events} == set(EvolutionRates.__dataclass_fields__)
    after = listing(api)

    final: dict[str, dict] = {}  # the last event per model decides what it looks like now
    for event in events:
        final[event["_id"]] = event
    touched_once = {oid for oid in final if sum(e["_id"] == oid for e in events) == 1}
    with card_endpoint(monkeypatch, hub.base_url, tmp_path / "cache"):
        for oid in touched_once:
            event = final[oid]
            kind, old = event["kind"], by_oid_before.get(oid)
            if kind == "new":
                assert event["id"] in after and old is None
                assert after[event["id"]].last_modified == parse_hub_time(event["time"])
            elif kind == "delete":
                assert event["id"] not in after
                with pytest.raises(RepositoryNotFoundError):
                    api.model_info(event["id"])
            elif kind in ("edit", "license_edit", "base_model_edit"):
                now = after[event["id"]]
                assert now.sha != old.sha
                assert now.last_modified == parse_hub_time(event["time"])
                assert api.model_info(event["id"], revision=old.sha).sha == old.sha
                if kind == "license_edit":
                    assert f"license:{event['new']}" in now.tags
                    if now.card_data is not None:
                        assert ModelCard.load(event["id"]).data.license == event["new"]
                if kind == "base_model_edit":
                    lineage = {t for t in now.tags if t.startswith("base_model:")}
                    assert {t.split(":")[-1] for t in lineage} == set(event["parents"])
            elif kind == "rename":
                now = after[event["id"]]
                assert event["old_id"] not in after
                assert (now.sha, now.last_modified) == (old.sha, old.last_modified)
                assert api.model_info(event["old_id"]).id == event["id"]  # the Hub redirects
            elif kind == "popularity":
                now = after[event["id"]]
                assert (now.sha, now.last_modified) == (old.sha, old.last_modified)
                assert now.downloads == _info_downloads(api, event["id"])


def _info_downloads(api: HfApi, repo_id: str) -> int:
    return api.model_info(repo_id).downloads


def test_the_state_at_a_time_does_not_depend_on_how_the_clock_got_there(small_records):
    one_step = HubStore(list(small_records), seed=9, rates=BUSY)
    many_steps = HubStore(list(small_records), seed=9, rates=BUSY)
    start = one_step.clock()
    one_step.advance(start + timedelta(hours=36))
    for hours in (1.5, 5, 12, 20, 36):
        many_steps.advance(start + timedelta(hours=hours))
    assert one_step.events == many_steps.events and len(one_step.events) > 50
    rows = [
        (key, version.item) for key, version in one_step.sorted_at(one_step.now, "lastModified")
    ]
    other = [
        (key, version.item) for key, version in many_steps.sorted_at(many_steps.now, "lastModified")
    ]
    assert rows == other
    different_seed = HubStore(list(small_records), seed=10, rates=BUSY)
    different_seed.advance(start + timedelta(hours=36))
    assert different_seed.events != one_step.events


def test_a_pinned_listing_stays_consistent_while_the_data_changes_under_it(
    start_hub, small_records
):
    hub = start_hub(small_records, rates=BUSY, page_size=50, pinned_listings=True)
    api = HfApi(endpoint=hub.base_url, token=False)
    expected = [(m.id, m.sha) for m in api.list_models(expand=["sha"])]
    pages = iter(api.list_models(expand=["sha"]))
    seen = [(m.id, m.sha) for m in itertools.islice(pages, 120)]
    changed = admin(hub.base_url, "/admin/clock", {"advance_seconds": 3 * 86_400})["applied"]
    seen += [(m.id, m.sha) for m in pages]
    assert changed > 100
    assert seen == expected  # no model skipped or repeated; every page from the same state
    fresh = [(m.id, m.sha) for m in api.list_models(expand=["sha"])]
    assert fresh != expected


def test_by_default_a_listing_is_a_keyset_and_a_model_changed_meanwhile_moves_behind_it(
    start_hub, small_records
):
    """As on the real Hub: each page reads the state now, after the last key served."""
    hub = start_hub(small_records, rates=BUSY, page_size=50)
    api = HfApi(endpoint=hub.base_url, token=False)
    before = {m.id: m.sha for m in api.list_models(expand=["sha"])}
    pages = iter(api.list_models(expand=["sha", "lastModified"]))
    first = [next(pages) for _ in range(100)]  # two whole pages: the third is not asked yet
    start = hub.store.events.__len__()
    admin(hub.base_url, "/admin/clock", {"advance_seconds": 3 * 86_400})
    rest = list(pages)
    events = hub.store.events[start:]
    edited_later = {
        e["id"] for e in events if e["kind"] in ("edit", "license_edit", "base_model_edit")
    }
    listed = [m.id for m in first + rest]
    assert len(listed) == len(set(listed))  # nothing repeated
    # Every model edited after the first two pages were served and not yet reached moved ahead of
    # the cursor: that listing never returns it.
    reached = {m.id for m in first}
    moved = edited_later - reached
    assert moved and not moved & {m.id for m in rest}
    # Nothing untouched is skipped.
    touched = {e["id"] for e in events} | {e.get("old_id") for e in events}
    untouched = {repo for repo in before if repo not in touched}
    assert untouched <= set(listed)


def test_the_clock_never_goes_back(start_hub, small_records):
    hub = start_hub(small_records)
    state = admin(hub.base_url, "/admin/clock")
    earlier = hub_time(parse_hub_time(state["now"]) - timedelta(days=1))
    with pytest.raises(urllib.error.HTTPError) as raised:
        admin(hub.base_url, "/admin/clock", {"to": earlier})
    assert raised.value.code == 400


def test_the_cli_starts_at_the_given_clock_with_the_given_faults(tmp_path):
    port_file = tmp_path / "port"
    later = "2025-07-15T00:00:00Z"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "ingestion.localhub.server", "--synthetic", "300", "--seed", "2",
            "--port", "0", "--port-file", str(port_file), "--clock", later,
            "--fault", "burst:every=1000,length=1", "--fault-seed", "4", "--page-size", "100",
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text()):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        base_url = f"http://127.0.0.1:{port_file.read_text()}"
        state = admin(base_url, "/admin/clock")
        assert state["now"] == "2025-07-15T00:00:00.000Z" and state["events"] > 0
        faults = admin(base_url, "/admin/faults")
        assert faults["seed"] == 4 and faults["faults"][0].startswith("burst:every=1000")
        replaced = admin(base_url, "/admin/faults", {"faults": [], "seed": 1}, method="PUT")
        assert replaced["faults"] == []
        assert len(list(HfApi(endpoint=base_url, token=False).list_models())) == state["models"]
    finally:
        stop_process(process)


def test_the_cli_stops_cleanly_on_sigterm_even_when_started_with_it_ignored(synthetic_snapshot):
    # Background jobs of some shells start children with SIGTERM ignored; the Hub must still stop.
    inherited = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        process, _ = start_process(synthetic_snapshot, quiet=True)
    finally:
        signal.signal(signal.SIGTERM, inherited)
    stop_process(process, timeout=30)
    assert process.returncode == 0  # exited through its handler, not killed after the timeout
