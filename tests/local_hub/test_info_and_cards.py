"""`HfApi.model_info`, `ModelCard.load` and `hf_hub_download` against the local Hub."""

from __future__ import annotations

import hashlib
import urllib.request

import pytest
from huggingface_hub import HfApi, ModelCard, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from ingestion.localhub.synthetic import parse_hub_time
from tests.local_hub.conftest import FULL_TOKEN, NO_ACCESS_TOKEN, card_endpoint


@pytest.fixture(autouse=True)
def no_ambient_token(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)


@pytest.fixture
def cards(monkeypatch, hub, tmp_path):
    with card_endpoint(monkeypatch, hub.base_url, tmp_path / "cache"):
        yield hub


def first(records, predicate):
    return next(r for r in records if predicate(r))


def test_model_info_returns_the_whole_item(api, hub_records):
    for record in hub_records[:40]:
        item = record["model"]
        if item.get("private"):
            continue
        info = api.model_info(item["id"])
        assert (info.id, info.sha, info.author) == (item["id"], item["sha"], item["author"])
        assert info._id == item["_id"]
        assert info.tags == item["tags"]
        assert info.created_at == parse_hub_time(item["createdAt"])
        assert info.last_modified == parse_hub_time(item["lastModified"])
        assert (info.downloads, info.likes, info.gated) == (
            item["downloads"],
            item["likes"],
            item["gated"],
        )
        assert (info.library_name, info.pipeline_tag) == (
            item["library_name"],
            item["pipeline_tag"],
        )
        assert info.config == item["config"]
        assert [s.rfilename for s in info.siblings] == [s["rfilename"] for s in item["siblings"]]
        if item["safetensors"]:
            assert info.safetensors.total == item["safetensors"]["total"]


def test_model_info_expand_and_revision_main(api, hub_records):
    item = hub_records[0]["model"]
    info = api.model_info(item["id"], expand=["downloads", "tags"])
    assert (info.downloads, info.tags, info.sha) == (item["downloads"], item["tags"], None)
    assert api.model_info(item["id"], revision="main").sha == item["sha"]
    assert api.model_info(item["id"], revision=item["sha"]).sha == item["sha"]
    with pytest.raises(RevisionNotFoundError):
        api.model_info(item["id"], revision="0" * 40)


def test_a_missing_repo_is_a_404_with_the_hubs_error_code(api):
    with pytest.raises(RepositoryNotFoundError) as raised:
        api.model_info("nobody/does-not-exist")
    assert raised.value.response.status_code == 404
    assert raised.value.response.headers["X-Error-Code"] == "RepoNotFound"


def test_a_private_repo_is_401_anonymous_404_without_grant_and_readable_with_one(hub, hub_records):
    private = first(hub_records, lambda r: r["model"].get("private"))["model"]["id"]
    for token, status in ((False, 401), (NO_ACCESS_TOKEN, 404)):
        with pytest.raises(RepositoryNotFoundError) as raised:
            HfApi(endpoint=hub.base_url, token=token).model_info(private)
        assert raised.value.response.status_code == status
    assert HfApi(endpoint=hub.base_url, token=FULL_TOKEN).model_info(private).id == private


def test_model_cards_load_byte_for_byte(cards, hub_records):
    with_readme = [
        r for r in hub_records if r["readme"] is not None and not r["model"].get("private")
    ]
    for record in with_readme[:60]:
        repo_id = record["model"]["id"]
        with open(hf_hub_download(repo_id, "README.md"), encoding="utf-8") as downloaded:
            assert downloaded.read() == record["readme"]
        card, expected = ModelCard.load(repo_id), ModelCard(record["readme"])
        assert (card.text, card.data.to_dict()) == (expected.text, expected.data.to_dict())


def test_a_model_without_a_readme_raises_entry_not_found(cards, hub_records):
    bare = first(hub_records, lambda r: r["readme"] is None and not r["model"].get("private"))
    with pytest.raises(EntryNotFoundError) as raised:
        ModelCard.load(bare["model"]["id"])
    assert raised.value.response.headers["X-Error-Code"] == "EntryNotFound"
    assert raised.value.response.headers["X-Repo-Commit"] == bare["model"]["sha"]


def test_the_readme_head_carries_the_headers_hf_hub_download_needs(hub, hub_records):
    record = first(hub_records, lambda r: r["readme"] and not r["model"].get("private"))
    url = f"{hub.base_url}/{record['model']['id']}/resolve/main/README.md"
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD")) as response:
        body = record["readme"].encode()
        assert response.status == 200
        assert response.headers["X-Repo-Commit"] == record["model"]["sha"]
        blob = hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()
        assert response.headers["ETag"] == f'"{blob}"'
        assert int(response.headers["Content-Length"]) == len(body)
        assert response.read() == b""


def test_gated_repos_show_their_card_but_gate_their_files(cards, hub_records, monkeypatch):
    gated = first(
        hub_records,
        lambda r: r["model"]["gated"] and r["model"]["config"] and r["readme"] is not None,
    )["model"]["id"]
    assert ModelCard.load(gated).content  # the card of a gated repo is public, as on the Hub
    for token, status in ((None, 401), (NO_ACCESS_TOKEN, 403)):
        with pytest.raises(GatedRepoError) as raised:
            hf_hub_download(gated, "config.json", token=token or False)
        assert raised.value.response.status_code == status
    monkeypatch.setenv("HF_TOKEN", FULL_TOKEN)  # HF_TOKEN is sent as the Hub expects it
    assert hf_hub_download(gated, "config.json").endswith("config.json")


def test_a_private_card_needs_a_token_and_hf_token_is_accepted(cards, hub_records, monkeypatch):
    record = first(hub_records, lambda r: r["model"].get("private") and r["readme"])
    with pytest.raises(RepositoryNotFoundError) as raised:
        ModelCard.load(record["model"]["id"])
    assert raised.value.response.status_code == 401
    monkeypatch.setenv("HF_TOKEN", FULL_TOKEN)
    assert ModelCard.load(record["model"]["id"]).content == record["readme"]
    assert HfApi(endpoint=cards.base_url).whoami()["name"] == "local-hub-user"
