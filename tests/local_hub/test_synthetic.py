"""The synthetic ecosystem: deterministic, streamed, calibrated to the paper, and messy."""

from __future__ import annotations

import hashlib
import itertools
import re
import statistics
import tracemalloc
from collections import Counter, defaultdict

import pytest
import yaml
from rapidfuzz.distance import Levenshtein

from ingestion.localhub.synthetic import (
    RESTRICTIVE_LICENSES,
    SNAPSHOT_TIME,
    generate,
    parse_hub_time,
    write_jsonl,
)

N = 30_000
PAPER_MODELS = 1_860_411
PAPER_EDGES = {"finetune": 189_391, "adapter": 241_417, "quantized": 101_921, "merge": 40_300}
TYPED = re.compile(r"^base_model:(finetune|adapter|quantized|merge):([\w.-]+/[\w.-]+)$")
LINEAGE = re.compile(r"^base_model:((finetune|adapter|quantized|merge):)?[\w.-]+/[\w.-]+$")


@pytest.fixture(scope="module")
def ecosystem() -> list[dict]:
    return list(generate(N, seed=21))


@pytest.fixture(scope="module")
def edges(ecosystem) -> list[tuple[dict, dict, str]]:
    """(parent record, child record, relation) for typed edges whose parent is listed."""
    by_id = {r["model"]["id"]: r for r in ecosystem}
    found = []
    for record in ecosystem:
        for tag in record["model"]["tags"]:
            match = TYPED.match(tag)
            if match and match.group(2) in by_id and match.group(2) != record["model"]["id"]:
                found.append((by_id[match.group(2)], record, match.group(1)))
    return found


def licenses(record) -> set[str]:
    return {t[8:] for t in record["model"]["tags"] if t.startswith("license:") and len(t) > 8}


def languages(record) -> list[str]:
    return (record["model"]["cardData"] or {}).get("language") or []


def test_the_same_seed_gives_the_same_bytes_and_another_seed_differs(tmp_path):
    first, second = tmp_path / "a" / "hub.jsonl.gz", tmp_path / "b" / "hub.jsonl.gz"
    write_jsonl(generate(2500, seed=3), first)
    write_jsonl(generate(2500, seed=3), second)
    assert (
        hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    )
    assert [r["model"]["id"] for r in itertools.islice(generate(100, seed=3), 100)] != [
        r["model"]["id"] for r in itertools.islice(generate(100, seed=4), 100)
    ]


def test_generation_streams_with_bounded_memory():
    first = next(iter(generate(5_000_000, seed=1)))  # nothing is precomputed per model
    assert first["model"]["id"]
    tracemalloc.start()
    try:
        count = sum(1 for _ in generate(1500, seed=1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 1500
    assert peak < 4_500_000  # the records alone are ~7.5 MB: they are not kept


def test_items_have_the_hubs_shape(ecosystem):
    keys = {
        "_id", "id", "modelId", "author", "sha", "createdAt", "lastModified", "private", "gated",
        "disabled", "downloads", "likes", "trendingScore", "library_name", "pipeline_tag", "tags",
        "cardData", "config", "safetensors", "siblings", "usedStorage",
    }  # fmt: skip
    ids = Counter(r["model"]["id"] for r in ecosystem)
    assert ids.most_common(1)[0][1] == 1
    for record in ecosystem[:: N // 500]:
        model = record["model"]
        assert set(model) == keys
        assert re.fullmatch(r"[0-9a-f]{24}", model["_id"]) and re.fullmatch(
            r"[0-9a-f]{40}", model["sha"]
        )
        created, modified = (
            parse_hub_time(model["createdAt"]),
            parse_hub_time(model["lastModified"]),
        )
        assert created <= modified <= SNAPSHOT_TIME
        assert model["gated"] in (False, "auto", "manual")


def test_carddata_is_the_parsed_readme_header(ecosystem):
    for record in ecosystem[:4000]:
        readme, card = record["readme"], record["model"]["cardData"]
        if readme is None or not readme.startswith("---\n"):
            assert card is None
            continue
        header = readme[4 : readme.index("\n---\n", 3)]
        assert yaml.safe_load(header) == card


def test_relation_mix_matches_the_paper(edges):
    counted = Counter(relation for _, _, relation in edges)
    for relation, paper in PAPER_EDGES.items():
        scaled = counted[relation] * PAPER_MODELS / N
        assert 0.75 * paper < scaled < 1.3 * paper, (relation, scaled)


def test_family_sizes_are_heavy_tailed_and_trees_have_depth(ecosystem, edges):
    parent_of = {}
    for parent, child, relation in edges:
        if relation != "merge":
            parent_of.setdefault(child["model"]["id"], parent["model"]["id"])
    sizes, depths = Counter(), Counter()
    for record in ecosystem:
        node, depth, seen = record["model"]["id"], 0, set()
        while node in parent_of and node not in seen:
            seen.add(node)
            node, depth = parent_of[node], depth + 1
        sizes[node] += 1
        depths[depth] += 1
    families = sorted((s for s in sizes.values() if s > 1), reverse=True)
    assert 0.004 < families[0] / N < 0.05  # the paper's largest: 33k of 1.86M (1.8%)
    assert families[0] > 30 * statistics.median(families)
    assert depths[1] > depths[2] > depths[3] > 0


def test_shares_of_licenses_languages_tasks_libraries_and_cards(ecosystem):
    count = Counter()
    english = 0
    for record in ecosystem:
        model = record["model"]
        count.update(f"license:{name}" for name in licenses(record))
        langs = [t for t in model["tags"] if len(t) == 2 and t not in ("t5", "tf")]
        if langs:
            count["languages"] += 1
            english += "en" in langs
        count[f"task:{model['pipeline_tag']}"] += 1
        count[f"library:{model['library_name']}"] += 1
        count["card"] += record["readme"] is not None
    share = {key: value / N for key, value in count.items()}
    assert 0.13 < share["license:apache-2.0"] < 0.22 and 0.04 < share["license:mit"] < 0.09
    assert share["license:apache-2.0"] > share["license:mit"] > share["license:llama2"]
    assert 0.10 < share["languages"] < 0.18 and english / count["languages"] > 0.78
    tasks = {k: v for k, v in count.items() if k.startswith("task:") and k != "task:None"}
    assert max(tasks, key=tasks.get) == "task:text-generation"
    libraries = {k: v for k, v in count.items() if k.startswith("library:") and k != "library:None"}
    assert sorted(libraries, key=libraries.get)[-2:] == ["library:peft", "library:transformers"]
    assert 0.62 < share["card"] < 0.72  # the paper: 67.04% of models have a card


def test_siblings_resemble_each_other_more_than_their_parent(edges):
    children = defaultdict(list)
    for parent, child, relation in edges:
        if relation == "finetune" and parent["readme"] and child["readme"]:
            children[parent["model"]["id"]].append((parent, child))

    def similarity(a, b):
        return Levenshtein.normalized_similarity(a["readme"][:512], b["readme"][:512])

    sibling, parent_child = [], []
    for pairs in children.values():
        for (parent, first), (_, second) in itertools.pairwise(pairs):
            sibling.append(similarity(first, second))
            parent_child.append(similarity(parent, first))
    assert len(sibling) > 200
    assert statistics.mean(sibling) > statistics.mean(parent_child) + 0.1


def test_traits_drift_the_papers_way_down_the_tree(edges):
    restrictive_to_permissive = permissive_to_restrictive = 0
    parent_langs, child_langs, parent_len, child_len = [], [], [], []
    finetune_langs = []
    parent_auto = child_auto = 0
    for parent, child, relation in edges:
        before, after = licenses(parent), licenses(child)
        if before & RESTRICTIVE_LICENSES and after & {"apache-2.0", "mit"}:
            restrictive_to_permissive += 1
        if before & {"apache-2.0", "mit"} and after & RESTRICTIVE_LICENSES:
            permissive_to_restrictive += 1
        if languages(parent) and languages(child):
            parent_langs.append(len(languages(parent)))
            child_langs.append(len(languages(child)))
            if relation == "finetune":
                finetune_langs.append((len(languages(parent)), len(languages(child))))
        if parent["readme"] and child["readme"]:
            parent_len.append(len(parent["readme"]))
            child_len.append(len(child["readme"]))
            parent_auto += "generated automatically" in parent["readme"]
            child_auto += "generated automatically" in child["readme"]
    assert restrictive_to_permissive > 5 * max(1, permissive_to_restrictive)
    assert statistics.mean(child_langs) < 0.7 * statistics.mean(parent_langs)
    before, after = zip(*finetune_langs, strict=True)  # the paper: 12.3 -> 1.5 on finetunes
    assert statistics.mean(after) < 0.5 * statistics.mean(before)
    assert statistics.mean(child_len) < 0.7 * statistics.mean(parent_len)
    assert child_auto > 3 * parent_auto


def test_the_hubs_messes_are_there_and_can_be_left_out(ecosystem):
    ids = {r["model"]["id"] for r in ecosystem}
    found = Counter()
    parents_of = {}
    for record in ecosystem:
        model = record["model"]
        tags = [t for t in model["tags"] if t.startswith("base_model:")]
        if any(not LINEAGE.match(t) for t in tags) or "license:" in model["tags"]:
            found["malformed"] += 1
        typed = {m.group(2) for t in tags if (m := TYPED.match(t))}
        parents_of[model["id"]] = typed
        untyped = {t.split(":", 1)[1] for t in tags if t.count(":") == 1}
        found["self"] += model["id"] in typed
        found["missing"] += any(p not in ids for p in typed)
        found["untyped_only"] += bool(untyped - typed - {""})
        relations = {t.split(":")[1] for t in tags if TYPED.match(t)}
        found["multi_not_merge"] += len(typed) > 1 and "merge" not in relations
        card_base = (model["cardData"] or {}).get("base_model")
        found[f"card:{type(card_base).__name__}"] += 1
        if isinstance(card_base, list) and len(card_base) != len(set(map(str, card_base))):
            found["duplicated"] += 1
    found["cycles"] = sum(
        child in parents_of.get(parent, ()) and parent != child
        for child, parents in parents_of.items()
        for parent in parents
    )
    for mess in ("malformed", "self", "missing", "untyped_only", "multi_not_merge", "duplicated"):
        assert found[mess] > 0, mess
    assert found["cycles"] >= 2
    assert found["card:str"] and found["card:list"]
    assert found["card:dict"] + found["card:int"] + found["card:bool"] > 0

    clean = list(generate(8000, seed=21, messes=False))
    clean_ids = {r["model"]["id"] for r in clean}
    for record in clean:
        tags = [t for t in record["model"]["tags"] if t.startswith("base_model:")]
        assert all(LINEAGE.match(t) for t in tags)
        assert all(t.split(":")[-1] in clean_ids for t in tags)
        assert record["model"]["id"] not in {t.split(":")[-1] for t in tags}
