"""The paper's released CSV: its format, and one command from such a file to the report.

The file is generated here in exactly the published format (paper-notes sections 1.3, 5.4)
from a synthetic ecosystem; `orchestration.reproduce_paper` imports it, runs dbt, the analytics
and the report through Dagster, and the report sits beside the warehouse.
"""

from __future__ import annotations

import ast
import csv

import dagster as dg
import pytest
from pipeline_support import read

from ingestion.localhub.synthetic import generate, write_jsonl
from ingestion.paper_csv import (
    PAPER_CSV_COLUMNS,
    NotPaperCsv,
    check_paper_csv,
    main,
    write_paper_csv,
)
from orchestration.reproduce_paper import reproduce

# Python-repr list columns: tags, and those derived from them (regions ... languages).
LIST_COLUMNS = (
    "tags",
    *PAPER_CSV_COLUMNS[PAPER_CSV_COLUMNS.index("regions") : PAPER_CSV_COLUMNS.index("modelCard")],
)


def tag_edges(records) -> set[tuple[str, str]]:
    ids = {r["model"]["id"] for r in records}
    edges = set()
    for record in records:
        for tag in record["model"].get("tags") or []:
            if tag.startswith("base_model:"):
                parent = tag.split(":")[-1] if tag.count(":") > 1 else tag.split(":", 1)[1]
                if parent in ids:
                    edges.add((parent, record["model"]["id"]))
    return edges


def test_a_written_file_has_the_papers_columns_and_python_repr_lists(tmp_path):
    records = list(generate(200, seed=5, messes=False))
    path = tmp_path / "ai_ecosystem_withmodelcards.csv"
    assert write_paper_csv(records, path) == 200
    with open(path, encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert tuple(rows[0]) == PAPER_CSV_COLUMNS
    by_id = {row["model_id"]: row for row in rows}
    for record in records:
        row = by_id[record["model"]["id"]]
        for column in LIST_COLUMNS:
            assert isinstance(ast.literal_eval(row[column]), list), column
        tags = record["model"]["tags"]
        assert ast.literal_eval(row["tags"]) == tags
        typed = [t.split(":")[-1] for t in tags if t.startswith("base_model:finetune:")]
        assert ast.literal_eval(row["finetune_parent"]) == typed
        assert ast.literal_eval(row["licenses"]) == [
            t.removeprefix("license:") for t in tags if t.startswith("license:")
        ]
        assert (row["modelCard"] == "") == (record.get("readme") is None)
    languages = {name for row in rows for name in ast.literal_eval(row["languages"])}
    assert "English" in languages and "en" not in languages


def test_a_file_without_the_papers_columns_is_refused_before_any_import(tmp_path):
    wrong = tmp_path / "models.csv"
    wrong.write_text("id,downloads\norg/a,3\n", encoding="utf-8")
    with pytest.raises(NotPaperCsv, match="modelCard"):
        check_paper_csv(wrong)
    assert main(["--check", str(wrong)]) == 1


def test_the_command_line_writes_the_papers_format_from_a_snapshot(tmp_path):
    snapshot = tmp_path / "hub.jsonl.gz"
    write_jsonl(generate(50, seed=2, messes=False), snapshot)
    out = tmp_path / "paper.csv"
    assert main([str(snapshot), str(out)]) == 0
    assert check_paper_csv(out) == list(PAPER_CSV_COLUMNS)
    assert main(["--check", str(out)]) == 0


@pytest.mark.slow
def test_one_command_reproduces_the_report_from_the_papers_csv(tmp_path):
    records = list(generate(600, seed=9, messes=False))
    csv_path = tmp_path / "ai_ecosystem_withmodelcards.csv"
    write_paper_csv(records, csv_path)
    warehouse = tmp_path / "paper" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    result, report_path = reproduce(
        csv_path, warehouse, dg.DagsterInstance.ephemeral(), n_samples=200, resamples=200
    )
    assert result.success
    assert report_path == warehouse.parent / "reports" / "report.md"
    report = report_path.read_text()
    assert "ai_ecosystem_withmodelcards.csv` (600 rows, 0 quarantined)" in report
    models = next(line for line in report.splitlines() if line.startswith("| Models (nodes)"))
    assert "| 1,860,411 " in models and "| 600 " in models
    counts = read(warehouse, "select * from marts.lineage_edge_counts").set_index(
        ["edge_rule", "relation"]
    )
    assert counts.loc[("paper", "all"), "n_edges"] == len(tag_edges(records))
    similarity = read(
        warehouse,
        "select distinct configuration from analytics.similarity_by_configuration "
        "where level = 'configuration' and n_pairs > 0",
    )
    assert {"rando", "duo", "trio_1"} <= set(similarity["configuration"])
