"""The dbt marts on real DuckDB files: built from generated and hand-made Hub payloads,
checked against an independent Python reading of the definitions, and incremental runs
checked against full refreshes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from bench.check_card_features import differences
from ingestion.config import PROJECT_ROOT
from ingestion.importers import import_snapshot
from ingestion.localhub.server import read_snapshot
from ingestion.warehouse import connect, copy_warehouse, ensure_raw_schema
from tests.dbt.helpers import (
    DBT_PROJECT,
    card_features,
    check_lineage_mart,
    declared_edges,
    families,
    load_models,
    mart_tables,
    primary_relation,
    query,
    run_dbt,
)

COMPARED_SCHEMAS = ("intermediate", "marts")
# Incremental bookkeeping: what each model absorbed, and which rows its last build changed.
BOOKKEEPING = (
    "intermediate.dbt_watermarks",
    "intermediate.dbt_changed_keys",
    "intermediate.dbt_incremental_builds",
    "intermediate.dbt_publish_log",
    "intermediate.dbt_logged_models",
    "intermediate.dbt_change_feed",
    "intermediate.dbt_input_fingerprints",
)


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory):
    """dbt artefacts for this module, away from the project's own target/."""
    return tmp_path_factory.mktemp("dbt_target")


@pytest.fixture(scope="module")
def synthetic_warehouse(tmp_path_factory, synthetic_snapshot, dbt_target):
    """The session's synthetic ecosystem imported into raw and built once with `dbt build`."""
    path = tmp_path_factory.mktemp("synthetic") / "warehouse.duckdb"
    with connect(path) as con:
        ensure_raw_schema(con)
        import_snapshot(con, synthetic_snapshot)
    run_dbt(path, dbt_target, "build")
    return path


def test_edges_match_the_tags_and_card_headers(synthetic_warehouse, synthetic_snapshot):
    payloads = [record["model"] for record in read_snapshot(synthetic_snapshot)]
    models = {payload["id"] for payload in payloads}
    truth = declared_edges(payloads)
    rows = query(
        synthetic_warehouse,
        "select parent_id, child_id, relation, relation_tags, edge_sources, parent_in_hub "
        "from marts.fct_model_edges",
    )
    stored = {
        (p, c): (r, set(tags), set(sources), in_hub) for p, c, r, tags, sources, in_hub in rows
    }
    assert set(stored) == set(truth)
    for key, edge in truth.items():
        assert stored[key] == (
            primary_relation(edge["relations"]),
            edge["relations"],
            edge["sources"],
            key[0] in models,
        ), key
    assert {r for r, *_ in stored.values()} >= {"finetune", "adapter", "quantized", "merge"}


def test_lineage_mart_matches_an_independent_walk(synthetic_warehouse, synthetic_snapshot):
    payloads = [record["model"] for record in read_snapshot(synthetic_snapshot)]
    pairs = check_lineage_mart(synthetic_warehouse, declared_edges(payloads))
    assert max(pairs.values()) >= 2


def test_families_follow_the_primary_parent_rule(synthetic_warehouse, synthetic_snapshot):
    payloads = [record["model"] for record in read_snapshot(synthetic_snapshot)]
    expected = families({payload["id"] for payload in payloads}, declared_edges(payloads))
    rows = query(
        synthetic_warehouse,
        "select model_id, family_root_id, depth, primary_parent_id, is_in_cycle "
        "from marts.dim_model_family",
    )
    stored = {m: {"root": r, "depth": d, "parent": p, "in_cycle": c} for m, r, d, p, c in rows}
    assert stored == expected
    assert max(row["depth"] for row in expected.values()) >= 2

    sizes = dict(
        query(synthetic_warehouse, "select family_root_id, n_models from marts.family_stats")
    )
    counted: dict[str, int] = {}
    for row in expected.values():
        counted[row["root"]] = counted.get(row["root"], 0) + 1
    assert sizes == counted


def test_card_features_match_the_papers_rules(synthetic_warehouse, synthetic_snapshot):
    readmes = {r["model"]["id"]: r["readme"] for r in read_snapshot(synthetic_snapshot)}
    rows = query(
        synthetic_warehouse,
        "select model_id, has_card, card_length_chars, card_length_words, card_is_auto_generated "
        "from marts.dim_models",
    )
    assert {model_id: tuple(rest) for model_id, *rest in rows} == {
        model_id: card_features(text) for model_id, text in readmes.items()
    }
    assert any(auto for *_, auto in rows) and not all(has for _, has, *_ in rows)


def test_card_features_equal_the_previous_per_text_python(synthetic_warehouse):
    with connect(synthetic_warehouse, read_only=True) as con:
        compared, found = differences(con)
    assert compared > 100 and found == []


def _payloads(warehouse):
    return {
        model_id: json.loads(payload)
        for model_id, payload in query(
            warehouse, "select model_id, payload from raw.hub_models where deleted_at is null"
        )
    }


def _with_lineage(payload: dict, parents: list[tuple[str, str | None]]) -> dict:
    """The payload with its lineage replaced by `parents` [(parent id, relation or None)]."""
    changed = dict(payload)
    tags = [tag for tag in payload["tags"] if not tag.startswith("base_model:")]
    for parent, relation in parents:
        tags.append(f"base_model:{parent}")
        if relation:
            tags.append(f"base_model:{relation}:{parent}")
    changed["tags"] = tags
    if payload.get("cardData"):
        changed["cardData"] = {
            key: value for key, value in payload["cardData"].items() if key != "base_model"
        }
    return changed


def _apply_delta(warehouse) -> dict[str, str]:
    """Touch a handful of models in every way the Hub can; returns the ones touched by role."""
    payloads = _payloads(warehouse)
    family = query(
        warehouse,
        """
        select f.model_id, f.family_root_id, f.depth, f.primary_parent_id,
               (select count(*) from marts.dim_model_family as c
                where c.primary_parent_id = f.model_id)
        from marts.dim_model_family f order by f.model_id
        """,
    )
    with_children = [m for m, _, depth, _, n in family if n >= 2 and depth >= 1]
    roots_with_children = [m for m, _, depth, _, n in family if n >= 2 and depth == 0]
    lonely_roots = [m for m, _, depth, _, n in family if n == 0 and depth == 0]
    roles = {
        "popular_root": roots_with_children[0],
        "detached": with_children[0],
        "reparented": with_children[1],
        "new_parent": roots_with_children[1],
        "renamed": roots_with_children[2],
        "deleted": with_children[2],
        "cycle_a": lonely_roots[0],
        "cycle_b": lonely_roots[1],
        "self_loop": lonely_roots[2],
    }
    # a parent of a child with several parents changes its licence, languages and card: the
    # edge-level drift marts rewrite every edge of that child, not only the parent's edge
    (roles["shared_parent"],) = query(
        warehouse,
        """
        select min(parent_id) from marts.fct_model_edges
        where parent_in_hub and not is_self_loop and parent_id not in $taken
          and child_id in (
              select child_id from marts.fct_model_edges where parent_in_hub and not is_self_loop
              group by child_id having count(*) >= 2
          )
        """,
        {"taken": list(roles.values())},
    )[0]
    shared = dict(payloads[roles["shared_parent"]])
    shared["tags"] = [tag for tag in shared.get("tags") or [] if not tag.startswith("license:")] + [
        "license:cc-by-nc-4.0",
        "fr",
    ]
    root = dict(payloads[roles["popular_root"]], likes=payloads[roles["popular_root"]]["likes"] + 5)
    renamed = dict(payloads[roles["renamed"]])
    renamed["id"] = renamed["modelId"] = roles["renamed"] + "-v2"
    new_child = dict(payloads[roles["cycle_a"]], _id="f" * 24, sha="e" * 40)
    new_child["id"] = new_child["modelId"] = "newcomer/child-of-" + roles["reparented"]
    new_child = _with_lineage(new_child, [(roles["reparented"], "adapter")])
    changed = [
        root,
        _with_lineage(payloads[roles["detached"]], []),
        _with_lineage(payloads[roles["reparented"]], [(roles["new_parent"], "finetune")]),
        renamed,
        _with_lineage(payloads[roles["cycle_a"]], [(roles["cycle_b"], "finetune")]),
        _with_lineage(payloads[roles["cycle_b"]], [(roles["cycle_a"], "quantized")]),
        _with_lineage(payloads[roles["self_loop"]], [(roles["self_loop"], None)]),
        new_child,
        shared,
    ]
    cards = {roles["popular_root"]: "# A new card\n\nNew words.", roles["shared_parent"]: "Short."}
    load_models(warehouse, changed, cards=cards)
    with connect(warehouse) as con:
        con.execute(
            "update raw.hub_models set deleted_at = now()::timestamp where model_id = $id",
            {"id": roles["deleted"]},
        )
    return roles


TYPED_LINEAGE_TAG = re.compile(r"^base_model:(finetune|adapter|quantized|merge):")


def _top_values_from_raw(warehouse) -> list[tuple]:
    """The summary figure's top 10 per panel, counted in Python from the raw payloads."""
    languages = dict(
        query(warehouse, "select language_code, language_name from marts.iso_639_1_languages")
    )
    payloads = _payloads(warehouse).items()
    counts: dict[str, dict] = {}

    def count(panel: str, value, n: int = 1) -> None:
        counts.setdefault(panel, {})
        counts[panel][value] = counts[panel].get(value, 0) + n

    with_language = 0
    for model_id, payload in payloads:
        tags = set(payload.get("tags") or [])
        for prefix, panel in (
            ("license:", "licenses"),
            ("dataset:", "datasets"),
            ("arxiv:", "arxiv_ids"),
        ):
            for value in {tag.split(":", 1)[1] for tag in tags if tag.startswith(prefix)}:
                count(panel, value)
        names = {languages[tag] for tag in tags if tag in languages}
        with_language += bool(names)
        for name in names:
            count("languages", name)
        parents = {
            tag[len("base_model:") :].strip(" ")
            for tag in tags
            if tag.startswith("base_model:") and not TYPED_LINEAGE_TAG.match(tag)
        } - {""}
        if len(parents) == 1:
            count("parents_by_children", parents.pop())
        for field, panel in (("pipeline_tag", "tasks"), ("library_name", "libraries")):
            if payload.get(field) is not None:
                count(panel, payload[field])
        if payload.get("downloads") is not None:
            count("most_downloaded", model_id, int(payload["downloads"]))
    denominators = {
        "licenses": len(payloads),
        "tasks": sum(n for n in counts.get("tasks", {}).values()),
        "libraries": sum(n for n in counts.get("libraries", {}).values()),
        "languages": with_language,
    }
    rows = []
    for panel, values in counts.items():
        ranked = sorted(values.items(), key=lambda item: (-item[1], item[0]))[:10]
        for rank, (value, n) in enumerate(ranked, start=1):
            rows.append((panel, rank, value, n, denominators.get(panel)))
    return sorted(rows)


def _differences(left, right) -> dict[str, int]:
    """Rows in one warehouse's dbt tables and not the other's, per table."""
    con = duckdb.connect()
    try:
        con.execute("attach $path as l (read_only)", {"path": str(left)})
        con.execute("attach $path as r (read_only)", {"path": str(right)})
        con.execute("use l")
        # Bookkeeping records when and how each model was built; the change log records
        # what each run saw, and a full refresh keeps it.
        tables = [
            t
            for t in mart_tables(con, COMPARED_SCHEMAS)
            if t not in BOOKKEEPING + ("marts.model_changes",)
        ]
        differences = {}
        for table in tables:
            (count,) = con.execute(
                f"""
                select count(*) from (
                    (select * from l.{table} except all select * from r.{table})
                    union all
                    (select * from r.{table} except all select * from l.{table})
                )
                """
            ).fetchone()
            differences[table] = count
        return differences
    finally:
        con.close()


def test_incremental_build_equals_full_refresh(synthetic_warehouse, tmp_path, dbt_target):
    incremental = copy_warehouse(synthetic_warehouse, tmp_path / "incremental.duckdb")
    roles = _apply_delta(incremental)
    full = copy_warehouse(incremental, tmp_path / "full.duckdb")

    run_dbt(incremental, dbt_target, "build")
    run_dbt(full, dbt_target, "run", "--full-refresh")

    differences = _differences(incremental, full)
    assert "marts.dim_model_family" in differences and "marts.family_stats" in differences
    assert differences == dict.fromkeys(differences, 0)
    # The summary figure, built from tag values parsed once per model, equals its counts
    # straight from the raw tags after the delta.
    top_values = query(
        incremental, "select panel, rank, value, n, denominator from marts.ecosystem_top_values"
    )
    assert sorted(top_values) == _top_values_from_raw(incremental)

    family = {
        m: (root, depth, parent, in_cycle)
        for m, root, depth, parent, in_cycle in query(
            incremental,
            "select model_id, family_root_id, depth, primary_parent_id, is_in_cycle "
            "from marts.dim_model_family",
        )
    }
    a, b = sorted([roles["cycle_a"], roles["cycle_b"]])
    assert family[a] == (a, 0, None, True) and family[b] == (a, 1, a, True)
    assert family[roles["detached"]][:3] == (roles["detached"], 0, None)
    assert family[roles["reparented"]][2] == roles["new_parent"]
    assert roles["deleted"] not in family and roles["renamed"] not in family
    assert family[roles["renamed"] + "-v2"][1] == 0
    (has_self_loop,) = query(
        incremental,
        "select has_self_loop from marts.dim_model_family where model_id = $id",
        {"id": roles["self_loop"]},
    )[0]
    assert has_self_loop


def test_marts_that_missed_builds_catch_up(synthetic_warehouse, tmp_path, dbt_target):
    """The change-feed consumers (dim_models, model_license_compliance, the drift and the
    family marts) catch up with what their producers changed in builds they missed, and with
    a changed licence seed: afterwards the warehouse equals a full refresh."""
    warehouse = copy_warehouse(synthetic_warehouse, tmp_path / "missed.duckdb")
    _apply_delta(warehouse)
    producers = (
        "run",
        "--select",
        *("+int_model_tree_counts", "+fct_model_edges", "+int_family_members"),
    )
    run_dbt(warehouse, dbt_target, *producers)
    # A second producers-only build finds nothing new: its own changed keys are empty now.
    run_dbt(warehouse, dbt_target, *producers)
    assert query(
        warehouse,
        "select count(*) from intermediate.dbt_changed_keys "
        "where model_name in ('fct_model_edges', 'fct_model_lineage', 'int_model_tree_counts', "
        "'int_family_members')",
    ) == [(0,)]
    waiting = dict(
        query(
            warehouse,
            "select consumer_name, count(*) from intermediate.dbt_change_feed group by 1",
        )
    )
    assert set(waiting) == {
        "dim_models",
        "model_license_compliance",
        "family_stats",
        "family_growth_monthly",
        "family_license_compliance",
        "license_drift",
        "language_drift",
        "card_drift",
        "trait_mutations",
    }
    full = copy_warehouse(warehouse, tmp_path / "missed-full.duckdb")

    run_dbt(warehouse, dbt_target, "run")
    run_dbt(full, dbt_target, "run", "--full-refresh")

    differences = _differences(warehouse, full)
    assert {"marts.license_drift", "marts.dim_models", "marts.family_stats"} <= set(differences)
    assert differences == dict.fromkeys(differences, 0)
    assert query(warehouse, "select count(*) from intermediate.dbt_change_feed") == [(0,)]

    # A new release relaxes a licence rule and moves a licence to another category (seeds are
    # loaded by `dbt build`, not `dbt run`).
    with connect(warehouse) as con:
        con.execute(
            "update marts.license_violation_rules set is_violation = false "
            "where parent_category = 'commercial' and child_category = 'permissive'"
        )
        con.execute(
            "update marts.license_categories set license_category = 'copyleft' "
            "where license = 'apache-2.0'"
        )
    licence_marts = ("dim_models", "model_license_compliance", "license_drift")
    violations = "select count(*) filter (where is_violation) from marts.license_drift"
    (violations_before,) = query(warehouse, violations)[0]
    recategorised = (
        "select count(*) from marts.dim_models "
        "where primary_license = 'apache-2.0' and license_category = 'copyleft'"
    )
    assert query(warehouse, recategorised) == [(0,)]
    full = copy_warehouse(warehouse, tmp_path / "seed-full.duckdb")
    run_dbt(warehouse, dbt_target, "run", "--select", *licence_marts)
    run_dbt(full, dbt_target, "run", "--full-refresh", "--select", *licence_marts)
    differences = _differences(warehouse, full)
    assert differences == dict.fromkeys(differences, 0)
    assert query(warehouse, violations)[0][0] != violations_before
    assert query(warehouse, recategorised)[0][0] > 0


def test_incremental_build_recomputes_only_what_the_delta_touches(
    synthetic_warehouse, tmp_path, dbt_target
):
    """Blank a column no change detection reads; after an incremental run, only the rows
    that were recomputed have it back."""
    warehouse = copy_warehouse(synthetic_warehouse, tmp_path / "marked.duckdb")
    edges_before = query(warehouse, "select parent_id, child_id from marts.fct_model_edges")
    roles = _apply_delta(warehouse)
    changed = set(_payloads(warehouse)) - set(_payloads(synthetic_warehouse))
    changed |= {
        roles[r]
        for r in ("popular_root", "detached", "reparented", "cycle_a", "cycle_b", "shared_parent")
    }
    changed.add(roles["self_loop"])
    touched_parents = changed | {roles["renamed"], roles["deleted"]}
    with connect(warehouse) as con:
        con.execute("update marts.dim_model_family set is_merge_root = null")
        con.execute("update marts.fct_model_edges set created_days_change = -1e9")
        con.execute("update marts.family_stats set has_cycle = null")
        (n_models,) = con.execute("select count(*) from marts.dim_model_family").fetchone()
        (n_edges,) = con.execute("select count(*) from marts.fct_model_edges").fetchone()
    run_dbt(warehouse, dbt_target, "run", "--select", "+family_stats")

    recomputed_models = {
        model_id
        for (model_id,) in query(
            warehouse, "select model_id from marts.dim_model_family where is_merge_root is not null"
        )
    }
    recomputed_children = {
        child_id
        for (child_id,) in query(
            warehouse,
            "select distinct child_id from marts.fct_model_edges "
            "where created_days_change is distinct from -1e9",
        )
    }
    children_after = {c for (c,) in query(warehouse, "select child_id from marts.fct_model_edges")}
    expected_children = changed | {c for p, c in edges_before if p in touched_parents}
    (families_recomputed,) = query(
        warehouse, "select count(*) from marts.family_stats where has_cycle is not null"
    )[0]
    touched = {roles[r] for r in ("detached", "reparented", "cycle_a", "cycle_b", "self_loop")}
    assert touched <= recomputed_models
    assert 0 < len(recomputed_models) < n_models / 4
    assert recomputed_children == expected_children & children_after
    assert 0 < len(recomputed_children) < n_edges / 2
    assert 0 < families_recomputed < 50


def _failed_tests(warehouse, target, *args: str, project: Path = DBT_PROJECT) -> set[str]:
    """Names of the data tests that failed in a dbt invocation expected to fail."""
    with pytest.raises(AssertionError) as failed:
        run_dbt(warehouse, target, *args, project=project)
    return set(re.findall(r"Failure in test (\S+)", str(failed.value)))


def test_incremental_build_tests_only_the_rows_it_changed(
    synthetic_warehouse, tmp_path, dbt_target
):
    """An incremental build tests the rows it changed: a bad row it did not change is not
    rescanned (a whole-table `dbt test` and the full refresh catch it), and a changed row
    that duplicates an unchanged one is caught, its key counted across the whole table.
    The staging views' own uniqueness tests are left out: they read whole raw tables."""
    warehouse = copy_warehouse(synthetic_warehouse, tmp_path / "tested.duckdb")
    ids = [m for (m,) in query(warehouse, "select model_id from marts.dim_models order by 1")]
    duplicate = """
        insert into raw.hub_models
        select $oid, model_id, sha, last_modified, created_at, payload, first_seen_at,
               {changed_at}, observed_at, null, version_key, payload_hash
        from raw.hub_models where model_id = $id
    """
    with connect(warehouse) as con:
        con.execute(
            "update marts.dim_models set is_gated = null where model_id = $id", {"id": ids[0]}
        )
        # Stored without moving the change clock: no incremental build reads it.
        con.execute(
            duplicate.format(changed_at="changed_at"), {"oid": "old-duplicate", "id": ids[1]}
        )
        # A bad row in the change log from an earlier run: a build tests its own run's rows.
        con.execute(
            "insert into marts.model_changes "
            "select * replace ('bogus' as change_kind) from marts.model_changes limit 1"
        )
    build = ("build", "--exclude", "stg_hub__models", "source:hub")
    assert "ERROR=0" in run_dbt(warehouse, dbt_target, *build)
    assert _failed_tests(warehouse, dbt_target, "test", "--select", "dim_models") == {
        "not_null_dim_models_is_gated"
    }
    failed_on_the_log = _failed_tests(warehouse, dbt_target, "test", "--select", "model_changes")
    assert [name.split("_change_kind")[0] for name in failed_on_the_log] == [
        "accepted_values_model_changes"
    ]

    with connect(warehouse) as con:
        con.execute(
            duplicate.format(changed_at="now()::timestamp"), {"oid": "new-duplicate", "id": ids[2]}
        )
    assert "unique_int_model_traits_model_id" in _failed_tests(warehouse, dbt_target, *build)
    assert query(
        warehouse,
        "select count(*) from intermediate.dbt_changed_keys where model_name = 'int_model_traits'",
    ) == [(1,)]

    failed = _failed_tests(warehouse, dbt_target, *build, "--full-refresh")
    assert "unique_int_model_traits_model_id" in failed
    (duplicated,) = query(
        warehouse,
        "select list(model_id order by model_id) from (select model_id from "
        "intermediate.int_model_traits group by 1 having count(*) > 1)",
    )[0]
    assert duplicated == sorted([ids[1], ids[2]])


PROBED_COLUMN = """      - name: model_id
        data_type: varchar
        description: The repo id (`author/name`).
        data_tests: [unique, not_null]
"""


def test_one_row_tests_of_an_incremental_build_read_the_rows_it_wrote(
    synthetic_warehouse, tmp_path
):
    """A one-row test in an incremental build reads the copy of the rows the build wrote
    (dbt_changed_rows): a row breaking it fails the build when the build rewrote that row,
    and is left to the whole-table tests when it did not."""
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs"))
    warehouse = copy_warehouse(synthetic_warehouse, tmp_path / "probed.duckdb")
    probed, other = (
        m for (m,) in query(warehouse, "select model_id from marts.dim_models order by 1 limit 2")
    )
    models_yml = project / "models" / "marts" / "models" / "_models__models.yml"
    text = models_yml.read_text()
    assert PROBED_COLUMN in text
    probed_column = PROBED_COLUMN.replace(
        "data_tests: [unique, not_null]\n",
        "data_tests:\n"
        "          - unique\n"
        "          - not_null\n"
        "          - expression_is_true:\n"
        "              arguments:\n"
        f"                expression: \"model_id <> '{probed}'\"\n",
    )
    models_yml.write_text(text.replace(PROBED_COLUMN, probed_column, 1))
    target = tmp_path / "target"
    build = ("build", "--exclude", "stg_hub__models", "source:hub")

    def touch(model_id: str) -> None:
        with connect(warehouse) as con:
            con.execute(
                "update raw.hub_models set changed_at = now()::timestamp where model_id = $id",
                {"id": model_id},
            )

    touch(other)
    assert "ERROR=0" in run_dbt(warehouse, target, *build, project=project)
    results = json.loads((target / "run_results.json").read_text())["results"]
    [probe_test] = [r for r in results if f"model_id <> '{probed}'" in (r["compiled_code"] or "")]
    assert 'from dbt_changed_rows."dim_models"' in probe_test["compiled_code"]
    touch(probed)
    failed = _failed_tests(warehouse, target, *build, project=project)
    assert failed == {probe_test["unique_id"].split(".")[2]}
    assert query(
        warehouse,
        "select count(*) from duckdb_tables() where schema_name = 'dbt_changed_rows'",
    ) == [(0,)]


HAND_MADE = [
    # (id, tags beyond the lineage, lineage [(parent, relation)], cardData)
    ("lab/base", ["license:llama3", "en", "fr", "de"], [], {"license": "llama3"}),
    ("lab/other-base", ["license:apache-2.0"], [], None),
    ("a/ft", ["license:apache-2.0", "en"], [("lab/base", "finetune")], None),
    ("a/ft-q", [], [("a/ft", "quantized"), ("a/ft", "finetune")], None),
    ("b/two-parents", [], [("lab/other-base", "finetune"), ("a/ft", "adapter")], None),
    ("c/merge", [], [("a/ft", "merge"), ("lab/other-base", "merge")], None),
    ("d/self", [], [("d/self", None)], None),
    ("e/orphan", [], [("gone/model", "finetune")], None),
    ("f/loop-1", [], [("f/loop-2", "finetune")], None),
    ("f/loop-2", [], [("f/loop-3", "finetune")], None),
    ("f/loop-3", [], [("f/loop-1", "finetune")], None),
    ("f/below-loop", [], [("f/loop-3", "finetune")], None),
    ("g/card-only", [], [], {"base_model": ["lab/base", 7, {"odd": True}, None]}),
    ("g/card-odd", [], [], {"base_model": {"id": "lab/base"}, "license": ["MIT", 3]}),
]
CHAIN_LENGTH = 40


def _hand_made_payloads() -> list[dict]:
    rows = list(HAND_MADE)
    parent = "lab/base"
    for index in range(CHAIN_LENGTH):
        child = f"chain/m{index:03d}"
        rows.append((child, [], [(parent, "finetune")], None))
        parent = child
    payloads = []
    for index, (model_id, tags, lineage, card_data) in enumerate(rows):
        payload = {
            "_id": f"{index:024x}",
            "id": model_id,
            "modelId": model_id,
            "author": model_id.split("/")[0],
            "sha": f"{index:040x}",
            "createdAt": f"2024-{1 + index % 12:02d}-01T00:00:00.000Z",
            "lastModified": "2025-01-01T00:00:00.000Z",
            "likes": index,
            "downloads": 10 * index,
            "tags": list(tags),
            "cardData": card_data,
        }
        payloads.append(_with_lineage(payload, lineage) | {"cardData": card_data})
    return payloads


def test_hand_made_lineage_edge_cases(tmp_path, dbt_target):
    warehouse = tmp_path / "hand_made.duckdb"
    load_models(warehouse, _hand_made_payloads())
    run_dbt(warehouse, dbt_target, "build")

    rows = query(
        warehouse,
        """
        select model_id, family_root_id, depth, primary_parent_id, primary_relation, n_parents,
               is_merge_child, is_merge_root, has_missing_parent, has_self_loop, is_in_cycle,
               cycle_broken_parent_id
        from marts.dim_model_family
        """,
    )
    family = {row[0]: row[1:] for row in rows}
    assert family["a/ft"] == (
        "lab/base",
        1,
        "lab/base",
        "finetune",
        1,
        False,
        False,
        False,
        False,
        False,
        None,
    )
    assert family["a/ft-q"][:4] == ("lab/base", 2, "a/ft", "quantized")
    assert family["b/two-parents"][:5] == ("lab/base", 2, "a/ft", "adapter", 2)
    assert family["c/merge"] == ("c/merge", 0, None, None, 2, True, True, False, False, False, None)
    assert family["d/self"] == ("d/self", 0, None, None, 0, False, False, False, True, False, None)
    assert family["e/orphan"][:3] == ("e/orphan", 0, None) and family["e/orphan"][7]
    assert family["f/loop-1"] == (
        "f/loop-1",
        0,
        None,
        None,
        1,
        False,
        False,
        False,
        False,
        True,
        "f/loop-2",
    )
    assert family["f/loop-3"][:3] == ("f/loop-1", 1, "f/loop-1")
    assert family["f/loop-2"][:3] == ("f/loop-1", 2, "f/loop-3")
    assert family["f/below-loop"][:3] == ("f/loop-1", 2, "f/loop-3")
    assert not family["f/below-loop"][9]
    assert family["g/card-only"][:3] == ("lab/base", 1, "lab/base")
    assert family["g/card-odd"][:3] == ("g/card-odd", 0, None)
    assert family[f"chain/m{CHAIN_LENGTH - 1:03d}"][:2] == ("lab/base", CHAIN_LENGTH)

    (sources,) = query(
        warehouse,
        "select edge_sources from marts.fct_model_edges "
        "where parent_id = 'lab/base' and child_id = 'g/card-only'",
    )[0]
    assert sources == ["card_data"]
    (licenses,) = query(
        warehouse, "select licenses from marts.dim_models where model_id = 'g/card-odd'"
    )[0]
    assert licenses == ["mit"]
    drift = query(
        warehouse,
        "select parent_license_category, child_license_category, is_violation "
        "from marts.license_drift where parent_id = 'lab/base' and child_id = 'a/ft'",
    )
    assert drift == [("commercial", "permissive", True)]
    (languages,) = query(
        warehouse,
        "select parent_n_languages, child_n_languages, is_multilingual_to_english_only "
        "from marts.language_drift where parent_id = 'lab/base' and child_id = 'a/ft'",
    )
    assert languages == (3, 1, True)
    (stats,) = query(
        warehouse,
        "select n_models, max_depth, n_leaves from marts.family_stats "
        "where family_root_id = 'lab/base'",
    )
    assert stats == (5 + CHAIN_LENGTH, CHAIN_LENGTH, 4)


@pytest.mark.slow
def test_dbt_docs_generate(synthetic_warehouse, dbt_target):
    run_dbt(synthetic_warehouse, dbt_target, "docs", "generate")
    catalog = json.loads((dbt_target / "catalog.json").read_text())
    manifest = json.loads((dbt_target / "manifest.json").read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        assert node["description"], node["name"]
        documented = {name for name, column in node["columns"].items() if column["description"]}
        built = {c.lower() for c in catalog["nodes"][node["unique_id"]]["columns"]}
        assert built <= documented, (node["name"], built - documented)


def analyst_queries() -> list[str]:
    """Every SQL statement of the ```sql blocks in docs/analysts.md."""
    text = (PROJECT_ROOT / "docs" / "analysts.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.DOTALL)
    statements = [statement.strip() for block in blocks for statement in block.split(";")]
    return [statement for statement in statements if statement]


def test_every_query_in_the_analyst_guide_runs(synthetic_warehouse):
    queries = analyst_queries()
    assert len(queries) >= 25
    with connect(synthetic_warehouse, read_only=True) as con:
        for sql in queries:
            try:
                con.execute(sql).fetchall()
            except duckdb.Error as error:
                raise AssertionError(f"{error}\n{sql}") from error


def test_the_catalogue_describes_every_table_and_column(synthetic_warehouse):
    with connect(synthetic_warehouse, read_only=True) as con:
        undocumented = con.execute(
            """
            select schema_name || '.' || table_name, null from duckdb_tables()
            where schema_name in ('raw', 'staging', 'intermediate', 'marts')
              and coalesce(comment, '') = ''
            union all
            select schema_name || '.' || view_name, null from duckdb_views()
            where schema_name in ('staging', 'intermediate', 'marts')
              and coalesce(comment, '') = ''
            union all
            select schema_name || '.' || table_name, column_name from duckdb_columns()
            where schema_name in ('raw', 'staging', 'intermediate', 'marts')
              and coalesce(comment, '') = ''
            """
        ).fetchall()
        leftovers = con.execute(
            "select table_name from duckdb_tables() where table_name like '%dbt_tmp%'"
        ).fetchall()
        wide = con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where schema_name = 'marts' and data_type in ('HUGEINT', 'UHUGEINT')"
        ).fetchall()
        bookkeeping = con.execute(
            "select table_name, column_name from duckdb_columns() where schema_name = 'marts' "
            "and column_name in ('family_fingerprint', 'child_changed_at', 'source_changed_at')"
        ).fetchall()
    assert undocumented == []
    assert leftovers == [] and wide == [] and bookkeeping == []
