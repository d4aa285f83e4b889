"""`HfApi.list_models` against the local Hub: every listing parameter, pages and visibility."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import BadRequestError, HfHubHTTPError

from ingestion.localhub.server import DEFAULT_LIST_FIELDS, FULL_EXTRA_FIELDS
from ingestion.localhub.store import sort_value
from tests.local_hub.conftest import FULL_TOKEN, public

SORTS = {
    "last_modified": "lastModified",
    "created_at": "createdAt",
    "downloads": "downloads",
    "likes": "likes",
    "trending_score": "trendingScore",
}


@pytest.fixture(autouse=True)
def no_ambient_token(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)


def get(url: str, headers: dict | None = None):
    """Raw GET: (status, headers, parsed JSON body)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


def expected_order(records: list[dict], field: str) -> list[str]:
    models = [r["model"] for r in public(records)]
    models.sort(key=lambda m: (sort_value(m, field), m.get("_id") or f"id:{m['id']}"), reverse=True)
    return [m["id"] for m in models]


def test_the_default_listing_pages_through_every_public_model_with_the_hubs_default_fields(
    hub, api, hub_records
):
    listed = list(api.list_models())
    assert [m.id for m in listed] == expected_order(hub_records, "lastModified")
    assert hub.stats.requests["list"] == math.ceil(len(public(hub_records)) / 250)

    status, _, page = get(f"{hub.base_url}/api/models?limit=3")
    source = {r["model"]["id"]: r["model"] for r in hub_records}
    assert status == 200 and len(page) == 3
    for item in page:
        assert set(item) == set(DEFAULT_LIST_FIELDS)
        assert item == {k: source[item["id"]][k] for k in DEFAULT_LIST_FIELDS}


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_is_descending_and_total(api, hub_records, sort):
    listed = [m.id for m in api.list_models(sort=sort)]
    assert listed == expected_order(hub_records, SORTS[sort])


def test_search_author_and_pipeline_tag_narrow_the_listing(api, hub_records):
    models = [r["model"] for r in public(hub_records)]
    by_search = {m.id for m in api.list_models(search="LoRA")}
    assert by_search == {m["id"] for m in models if "lora" in m["id"].lower()}
    assert by_search

    author = models[0]["author"]
    assert {m.id for m in api.list_models(author=author)} == {
        m["id"] for m in models if m["id"].split("/")[0] == author
    }
    assert {m.id for m in api.list_models(pipeline_tag="text-generation")} == {
        m["id"] for m in models if m["pipeline_tag"] == "text-generation"
    }


def test_filter_values_are_anded_tags(api, hub_records):
    models = [r["model"] for r in public(hub_records)]
    lineage = next(t for m in models for t in m["tags"] if t.startswith("base_model:finetune:"))
    for filters in (["license:mit"], [lineage], ["license:apache-2.0", "transformers"]):
        expected = {m["id"] for m in models if set(filters) <= set(m["tags"])}
        assert {m.id for m in api.list_models(filter=filters)} == expected
        assert expected
    assert list(api.list_models(filter=["license:mit", "license:apache-2.0"])) == []


def test_limit_is_the_page_size_and_the_server_caps_it_at_1000(start_hub, hub_records):
    server = start_hub(hub_records)
    api = HfApi(endpoint=server.base_url, token=False)
    assert len(list(api.list_models(limit=7))) == 7
    assert server.stats.requests["list"] == 1

    status, headers, page = get(f"{server.base_url}/api/models?limit=5000")
    assert status == 200 and len(page) == 1000
    assert 'rel="next"' in headers["Link"]


def test_the_next_page_link_is_a_cursor_url_that_keeps_the_query(hub):
    status, headers, first = get(f"{hub.base_url}/api/models?limit=2&sort=likes&filter=region:us")
    assert status == 200
    link = headers["Link"]
    assert link.startswith(f"<{hub.base_url}/api/models?") and link.endswith('>; rel="next"')
    next_url = link[1 : link.index(">")]
    assert "cursor=" in next_url and "sort=likes" in next_url and "filter=region%3Aus" in next_url
    _, _, second = get(next_url)
    assert len(second) == 2 and {m["id"] for m in first}.isdisjoint(m["id"] for m in second)


def test_full_carddata_and_config_add_their_fields(api, hub_records):
    source = {r["model"]["id"]: r["model"] for r in hub_records}
    full = next(iter(api.list_models(full=True, sort="likes")))
    assert full.sha == source[full.id]["sha"] and full.siblings is not None
    assert full.last_modified is not None and full.card_data is None

    with_card = [m for m in api.list_models(cardData=True) if m.card_data is not None]
    assert with_card
    for info in with_card[:50]:
        assert info.card_data.to_dict() == _card_dict(source[info.id]["cardData"])
    configs = {m.id: m.config for m in api.list_models(fetch_config=True)}
    assert configs == {k: v for k, v in ((i, source[i].get("config")) for i in configs)}
    assert any(configs.values())


def _card_dict(card_data: dict) -> dict:
    from huggingface_hub import ModelCardData

    return ModelCardData(**card_data, ignore_metadata_errors=True).to_dict()


def test_expand_returns_only_the_requested_fields_plus_ids(hub):
    status, _, page = get(f"{hub.base_url}/api/models?expand=sha&expand=downloads&limit=20")
    assert status == 200
    for item in page:
        assert set(item) == {"_id", "id", "sha", "downloads"}
    status, _, page = get(f"{hub.base_url}/api/models?full=true&limit=5")
    assert set(page[0]) == set(DEFAULT_LIST_FIELDS) | set(FULL_EXTRA_FIELDS)


def test_expand_through_the_client_and_an_unknown_expand_value_is_a_bad_request(api, hub_records):
    listed = list(api.list_models(expand=["likes", "tags"], limit=10))
    assert all(m.likes is not None and m.tags and m.sha is None for m in listed)
    with pytest.raises(BadRequestError):
        list(api.list_models(expand=["notAField"]))


def test_private_models_are_listed_only_for_a_token_that_may_read_them(hub, hub_records):
    private = {r["model"]["id"] for r in hub_records if r["model"].get("private")}
    anonymous = {m.id for m in HfApi(endpoint=hub.base_url, token=False).list_models()}
    insider = {m.id for m in HfApi(endpoint=hub.base_url, token=FULL_TOKEN).list_models()}
    assert private and anonymous.isdisjoint(private)
    assert insider == anonymous | private


def test_a_token_the_hub_does_not_know_is_rejected(hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token_at_all_00000000")
    with pytest.raises(HfHubHTTPError) as raised:
        list(HfApi(endpoint=hub.base_url).list_models(limit=1))
    assert raised.value.response.status_code == 401
    assert "Invalid credentials" in raised.value.response.headers["X-Error-Message"]
