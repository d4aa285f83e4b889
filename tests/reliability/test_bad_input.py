"""A corpus of hostile records (all made here) through the whole pipeline: the local Hub's
listing, cards and sweep for what a Hub can serve, the snapshot importer for what only a file
can hold, then dbt. Every record is either stored as it came, with a sensible meaning in the
marts, or quarantined with a reason naming the field; nothing crashes, nothing is dropped."""

from __future__ import annotations

import copy
import json
import subprocess
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from ingestion.config import Settings
from ingestion.hub_client import HubClient
from ingestion.importers import import_snapshot
from ingestion.ingest import ingest_models
from ingestion.localhub.server import serve_store
from ingestion.localhub.store import HubStore
from ingestion.localhub.synthetic import generate, parse_hub_time
from tests.ingestion.ingestion_helpers import open_warehouse

from .conftest import current_scale
from .support import assert_matches_hub, child_env, hub_truth, run_pipeline

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
TEN_MB_CARD = "---\nlicense: mit\n---\n" + ("A long card line for the large-card case.\n" * 260_000)
CHAIN_LENGTH = 1000
FAMILY_SIZE = 100_000
NOT_UTF8_CARD = "# card\nbytes that are not UTF-8: \udcff\ud800\n"  # lone surrogates in JSON


class Corpus:
    """Records derived from clean synthetic ones; every case remembers its expected fate."""

    def __init__(self, seed: int):
        self.base = list(generate(40, seed=seed, messes=False))
        self.records: list[dict] = [copy.deepcopy(r) for r in self.base[:20]]
        self.fate: dict[str, str] = {}  # case -> "stored" | "quarantined: <field>"
        self.ids: dict[str, str] = {}  # case -> repo id
        self._n = 0

    def add(self, case: str, fate: str, readme: str | None = "# card\n", **fields) -> dict:
        self._n += 1
        model = copy.deepcopy(self.base[20 + self._n % 20]["model"])
        model["_id"] = f"bad{self._n:021d}"
        model["id"] = model["modelId"] = f"corpus/{case}"
        model["tags"] = ["region:us"]
        model["cardData"] = None
        model.update(fields)
        model["modelId"] = model["id"]
        self.records.append({"model": model, "readme": readme})
        self.fate[case] = fate
        self.ids[case] = model["id"]
        return model


def served_corpus() -> Corpus:
    corpus = Corpus(seed=5)
    add = corpus.add
    add("tags-not-a-list", "quarantined: tags", tags="base_model:finetune:org/x")
    add("tags-with-non-strings", "quarantined: tags", tags=["region:us", 3, None])
    add("tags-empty", "stored", tags=[])
    add(
        "tags-malformed-lineage",
        "stored",
        tags=["base_model:", "base_model:finetune:", "base_model::", "base_model:merge: "],
    )
    add("id-empty", "quarantined: id", id="")
    add("id-blank", "quarantined: id", id="   ")
    add("id-unicode", "stored", id="组织/模型-ü-😀-ﬁ")
    add("id-with-spaces", "stored", id="some user/my model v2")
    add("id-very-long", "stored", id="long/" + "x" * 3000)
    add("last-modified-missing", "stored", lastModified=None)
    add("last-modified-future", "stored", lastModified="2999-01-01T00:00:00.000Z")
    add("card-10mb", "stored", readme=TEN_MB_CARD)  # its card: too_large (over the 5 MiB cap)
    add("card-data-list", "quarantined: cardData", cardData=["base_model", "org/x"])
    add("card-data-string", "quarantined: cardData", cardData="base_model: org/x")
    add("base-model-number", "stored", cardData={"base_model": 12345})
    add("base-model-mapping", "stored", cardData={"base_model": {"name": "corpus/tags-empty"}})
    add(
        "base-model-nested-list",
        "stored",
        cardData={"base_model": [["corpus/tags-empty"], "corpus/id-with-spaces", 7]},
    )
    add("self-loop", "stored", tags=["base_model:finetune:corpus/self-loop"])
    add("cycle-a", "stored", tags=["base_model:finetune:corpus/cycle-b"])
    add("cycle-b", "stored", tags=["base_model:adapter:corpus/cycle-a"])
    add("sql-in-strings", "stored", tags=["'); drop table raw.hub_models; --"])
    # A second `_id` under a listed repo id, sorted right next to it: the same page.
    original = corpus.records[3]["model"]
    twin = add("id-twice-in-a-page", "twin", id=original["id"], createdAt="2001-01-01T00:00:00Z")
    twin["lastModified"] = original["lastModified"]
    return corpus


def file_corpus(tmp_path: Path, family_size: int = 0) -> tuple[Path, dict[str, str], int]:
    """A snapshot file with what no Hub listing can carry; returns it, the expected fates of
    its odd lines, and how many lines it has."""
    clean = list(generate(6, seed=8, messes=False))
    lines = [
        "this line is not JSON",
        json.dumps({"model": [1, 2, 3], "readme": None}),
        json.dumps({"model": {"id": 123, "_id": "num00000000000000000001"}, "readme": None}),
        json.dumps({"model": {"_id": "noid0000000000000000001"}, "readme": None}),
        json.dumps(_tiny("corpus/last-modified-junk", [], 77, last_modified="yesterday")),
    ]
    fates = {
        "line-not-json": "quarantined: not a fixture record",
        "model-not-an-object": "quarantined: not a JSON object",
        "id-a-number": "quarantined: id",
        "id-missing": "quarantined: id",
        "last-modified-junk": "quarantined: lastModified",
    }
    twice = clean[0]
    lines += [json.dumps(twice), json.dumps(twice)]  # the same record twice in one batch
    bad_utf8 = copy.deepcopy(clean[1])
    bad_utf8["readme"] = NOT_UTF8_CARD
    lines.append(json.dumps(bad_utf8))
    lines += [json.dumps(record) for record in clean[2:]]
    for generation in range(CHAIN_LENGTH):
        parent = [f"base_model:finetune:chain/gen-{generation - 1:04d}"] if generation else []
        lines.append(json.dumps(_tiny(f"chain/gen-{generation:04d}", parent, generation)))
    for child in range(family_size):
        tags = ["base_model:quantized:family/parent"]
        lines.append(json.dumps(_tiny(f"family/child-{child:06d}", tags, 2000 + child)))
    if family_size:
        lines.append(json.dumps(_tiny("family/parent", [], 1999)))
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, fates, len(lines)


def _tiny(
    model_id: str, tags: list[str], number: int, last_modified: str = "2024-01-01T00:00:00.000Z"
) -> dict:
    return {
        "model": {
            "_id": f"f{number:023d}",
            "id": model_id,
            "sha": f"{number:040x}",
            "lastModified": last_modified,
            "createdAt": "2024-01-01T00:00:00.000Z",
            "tags": tags,
        },
        "readme": None,
    }


def serve_corpus(corpus: Corpus):
    """The local Hub serving the corpus; its clock starts at the clean records' newest time,
    not at the far-future `lastModified` of one case."""
    newest = max(r["model"]["lastModified"] for r in corpus.base)
    store = HubStore(corpus.records, snapshot_time=parse_hub_time(newest))
    return serve_store(store)


def dbt_build(warehouse: Path) -> None:
    result = subprocess.run(
        ["dbt", "build", "--resource-type", "seed", "--resource-type", "model"]
        + ["--profiles-dir", ".", "--target-path", str(warehouse.parent / "target")]
        + ["--vars", Settings.from_env().with_warehouse(warehouse).dbt_vars()],
        cwd=DBT_PROJECT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-5000:]


def quarantined(con, source_prefix: str) -> dict[str | None, str]:
    rows = con.execute(
        "select record_key, reason, payload from raw.quarantine where starts_with(source, $p)",
        {"p": source_prefix},
    ).fetchall()
    return {key: reason for key, reason, _ in rows}, rows


@pytest.fixture(scope="module")
def corpus_warehouse(tmp_path_factory) -> dict:
    """The corpus through the Hub pipeline and the importer into one warehouse, then dbt."""
    folder = tmp_path_factory.mktemp("bad_input")
    corpus = served_corpus()
    warehouse = folder / "warehouse.duckdb"
    server = serve_corpus(corpus)
    try:
        with open_warehouse(warehouse) as con:
            run_pipeline(con, HubClient(server.base_url), page_size=7)
            truth = hub_truth(server)
            served = served_outcome(con, truth)
    finally:
        server.shutdown()
        server.server_close()
    path, file_fates, file_lines = file_corpus(folder)
    with open_warehouse(warehouse) as con:
        imported = import_snapshot(con, path)
    dbt_build(warehouse)
    return {
        "warehouse": warehouse,
        "corpus": corpus,
        "truth": truth,
        "served": served,
        "file_fates": file_fates,
        "file_lines": file_lines,
        "imported": imported,
    }


def served_outcome(con, truth: dict) -> dict:
    """What the Hub pipeline stored and quarantined, and the stored part compared with the Hub."""
    reasons, kept = quarantined(con, "hub:")
    stored = dict(con.execute("select model_id, model_oid from raw.hub_models").fetchall())
    stored_truth = {oid: r for oid, r in truth.items() if oid in set(stored.values())}
    compared = assert_matches_hub(con, stored_truth)
    return {"reasons": reasons, "kept": kept, "stored": stored, "rows": compared.rows}


def test_every_served_record_is_stored_as_listed_or_quarantined_with_a_reason(
    corpus_warehouse, record
):
    corpus, truth, served = (corpus_warehouse[key] for key in ("corpus", "truth", "served"))
    stored, reasons, kept = served["stored"], served["reasons"], served["kept"]
    for case, fate in corpus.fate.items():
        model_id = corpus.ids[case]
        if fate == "twin":  # the newer `_id` stays, the other is quarantined
            assert stored[model_id] == corpus.records[3]["model"]["_id"]
            assert "listed twice in one page" in reasons[model_id]
        elif fate == "stored":
            assert model_id in stored, f"{case}: not stored"
        else:
            field = fate.split(": ")[1]
            assert model_id not in stored, f"{case}: stored although bad"
            assert field in reasons.get(model_id, ""), f"{case}: reason {reasons.get(model_id)}"
    # Nothing dropped: every served record is stored or quarantined, exactly once.
    assert len(corpus.records) == len(stored) + len(kept)
    assert len(truth) == len(corpus.records)
    record(
        "bad input served by the Hub",
        records=len(corpus.records),
        stored=len(stored),
        quarantined=len(kept),
        rows=served["rows"],
    )


def test_every_file_record_is_stored_or_quarantined_with_a_reason(corpus_warehouse, record):
    fates, imported = corpus_warehouse["file_fates"], corpus_warehouse["imported"]
    with duckdb.connect(str(corpus_warehouse["warehouse"]), read_only=True) as con:
        _, kept = quarantined(con, "import:")
        (chain,) = con.execute(
            "select count(*) from raw.hub_models where starts_with(model_id, 'chain/')"
        ).fetchone()
        card = con.execute(
            """
            select c.card_text, c.n_bytes from raw.hub_model_cards as c
            where contains(c.card_text, 'bytes that are not UTF-8')
            """
        ).fetchall()
    reasons = " | ".join(reason for _, reason, _ in kept)
    for case, fate in fates.items():
        assert fate.split(": ")[1] in reasons, f"{case}: no quarantine row saying {fate}"
    assert len(kept) == len(fates)
    # The duplicate line is one model; every other line is one stored model.
    assert imported.rows == corpus_warehouse["file_lines"]
    assert imported.added == imported.rows - len(fates) - 1
    assert chain == CHAIN_LENGTH
    # A card that is not UTF-8 is kept: undecodable bytes read as U+FFFD, the size (and the
    # content hash) are those of the original bytes.
    original = NOT_UTF8_CARD.encode("utf-8", errors="surrogatepass")
    assert card == [(original.decode("utf-8", errors="replace"), len(original))]
    record(
        "bad input from a snapshot file",
        lines=imported.rows,
        stored=imported.added,
        quarantined=len(kept),
    )


def test_odd_records_have_a_sensible_meaning_in_the_marts(corpus_warehouse, record):
    corpus = corpus_warehouse["corpus"]
    ids = corpus.ids
    with duckdb.connect(str(corpus_warehouse["warehouse"]), read_only=True) as con:
        staged = {
            model_id
            for (model_id,) in con.execute(
                "select model_id from staging.stg_hub__models"
            ).fetchall()
        }
        edges = con.execute(
            "select parent_id, child_id, is_self_loop from marts.fct_model_edges"
        ).fetchall()
        family = {
            row[0]: row[1:]
            for row in con.execute(
                "select model_id, family_root_id, depth, is_in_cycle, has_self_loop "
                "from marts.dim_model_family"
            ).fetchall()
        }
        (duplicated,) = con.execute(
            "select count(*) - count(distinct model_id) from staging.stg_hub__models"
        ).fetchone()
    assert duplicated == 0  # one current model per repo id, as the marts assume
    for case in ("id-unicode", "id-with-spaces", "id-very-long", "sql-in-strings"):
        assert ids[case] in staged, case  # odd ids round-trip exactly
    children = {}
    for parent, child, self_loop in edges:
        assert parent.strip(), f"an edge from an empty parent id to {child}"
        children.setdefault(child, set()).add((parent, self_loop))
    # `base_model::` names the repo ":", which no Hub holds: at most a dangling edge.
    with duckdb.connect(str(corpus_warehouse["warehouse"]), read_only=True) as con:
        dangling = con.execute(
            "select bool_and(not parent_in_hub) from marts.fct_model_edges where child_id = $id",
            {"id": ids["tags-malformed-lineage"]},
        ).fetchone()[0]
    assert dangling in (None, True)
    assert children[ids["self-loop"]] == {(ids["self-loop"], True)}
    assert family[ids["self-loop"]] == (ids["self-loop"], 0, False, True)
    assert {family[ids["cycle-a"]][2], family[ids["cycle-b"]][2]} == {True}
    assert sorted(family[ids[c]][1] for c in ("cycle-a", "cycle-b")) == [0, 1]
    for case in ("base-model-number", "base-model-mapping"):
        assert ids[case] not in children, case  # not a repo id: no edge
    # Only the string element of a nested list names a parent.
    assert children[ids["base-model-nested-list"]] == {("corpus/id-with-spaces", False)}
    last = f"chain/gen-{CHAIN_LENGTH - 1:04d}"
    assert family[last][:2] == ("chain/gen-0000", CHAIN_LENGTH - 1)
    record("bad input in the marts", edges=len(edges), family_rows=len(family))


def test_a_future_last_modified_does_not_blind_the_next_delta(tmp_path, warehouse, record):
    server = serve_corpus(served_corpus())
    try:
        with open_warehouse(warehouse) as con:
            client = HubClient(server.base_url)
            ingest_models(con, client, page_size=3)
            store = server.store
            events = store.advance(store.clock() + timedelta(days=30))
            run_pipeline(con, client, page_size=3)  # edits span many 3-model pages
            truth = hub_truth(server)
            stored = {m for (m,) in con.execute("select model_oid from raw.hub_models").fetchall()}
            compared = assert_matches_hub(
                con,
                {oid: r for oid, r in truth.items() if oid in stored},
                exact_payloads=False,
            )
    finally:
        server.shutdown()
        server.server_close()
    assert events > 0
    record("future lastModified then a delta", hub_events=events, rows=compared.rows)


@pytest.mark.slow
@pytest.mark.skipif(not current_scale().full, reason="HUBGENOME_RELIABILITY=full only")
def test_a_family_of_100000_children(tmp_path, record):
    warehouse = tmp_path / "warehouse.duckdb"
    path, _, lines = file_corpus(tmp_path, family_size=FAMILY_SIZE)
    with open_warehouse(warehouse) as con:
        imported = import_snapshot(con, path)
    dbt_build(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (children, depths) = con.execute(
            """
            select count(*), list(distinct depth)
            from marts.dim_model_family where family_root_id = 'family/parent'
            """
        ).fetchone()
        (edges,) = con.execute(
            "select count(*) from marts.fct_model_edges where parent_id = 'family/parent'"
        ).fetchone()
    assert edges == FAMILY_SIZE
    assert children == FAMILY_SIZE + 1 and sorted(depths) == [0, 1]
    record("100,000 children of one parent", lines=lines, stored=imported.added, edges=edges)
