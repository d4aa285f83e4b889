"""The paper's released CSV (`modelbiome/ai_ecosystem_withmodelcards`): checked and written.

The importer (`ingestion.importers`, format `csv`) already turns each row of that file into a
Hub-shaped payload and its README into the version's card; this module adds what is needed to
reproduce the paper from it:
- `check_paper_csv(path)`: the header is the paper's (paper-notes section 1.3), so a wrong
  file fails before a long import;
- `paper_row(record)` / `write_paper_csv(records, path)`: a file in exactly that format from
  Hub records (`{"model": item, "readme": text}`), as the authors' `get_expanded_dataset`
  derives its columns from the tags: list columns as Python-repr strings, languages as the
  English names of two-letter ISO 639-1 tags, parents by kind of `base_model:` tag. Tests
  generate the paper's format with it; operators can turn a snapshot into it.

Run: `python -m ingestion.paper_csv SNAPSHOT.jsonl[.gz] OUT.csv` writes a paper-format CSV;
`python -m ingestion.paper_csv --check FILE.csv` checks a header.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from ingestion.config import PROJECT_ROOT

PAPER_CSV_COLUMNS = (
    "model_id",
    "likes",
    "trendingScore",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
    "regions",
    "licenses",
    "arxiv_papers",
    "datasets",
    "parent_model",
    "finetune_parent",
    "quantized_parent",
    "adapter_parent",
    "merge_parent",
    "languages",
    "modelCard",
    "ratelimit_retries",
    "exception_raised",
)
# What the importer reads; the other columns are derived from `tags`.
REQUIRED_COLUMNS = ("model_id", "tags", "modelCard")
LANGUAGE_SEED = PROJECT_ROOT / "dbt_project" / "seeds" / "iso_639_1_languages.csv"
MISSING_CARD = (
    "Model is missing in the final dataset after card scraping procedure. This may mean the "
    "model card is missing in our data but possibly exists."
)
PARENT_KINDS = ("finetune", "quantized", "adapter", "merge")


class NotPaperCsv(ValueError):
    """The file's header is not the paper's CSV header."""


def check_paper_csv(path: Path) -> list[str]:
    """The header of `path` (CSV or .csv.gz); NotPaperCsv when it lacks the paper's columns."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as file:
        header = next(csv.reader(file), [])
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise NotPaperCsv(
            f"{path} is not the paper's CSV: no column {', '.join(missing)} "
            f"(expected {', '.join(PAPER_CSV_COLUMNS)})"
        )
    return header


def _language_names() -> dict[str, str]:
    with open(LANGUAGE_SEED, encoding="utf-8", newline="") as file:
        return {row["language_code"]: row["language_name"] for row in csv.DictReader(file)}


def _with_prefix(tags: list[str], prefix: str) -> list[str]:
    return [tag[len(prefix) :] for tag in tags if tag.startswith(prefix)]


def _text(value) -> str:
    return "" if value is None else str(value)


def paper_row(record: dict, language_names: dict[str, str]) -> dict[str, str]:
    """One row of the paper's CSV from a Hub record, columns derived as the authors did."""
    item = record["model"]
    tags = list(item.get("tags") or [])
    readme = record.get("readme")
    row = {
        "model_id": item["id"],
        "likes": _text(item.get("likes")),
        "trendingScore": _text(item.get("trendingScore")),
        "private": _text(item.get("private")),
        "downloads": _text(item.get("downloads")),
        "tags": repr(tags),
        "pipeline_tag": _text(item.get("pipeline_tag")),
        "library_name": _text(item.get("library_name")),
        "createdAt": _text(item.get("createdAt")),
        "regions": repr(_with_prefix(tags, "region:")),
        "licenses": repr(_with_prefix(tags, "license:")),
        "arxiv_papers": repr([tag for tag in tags if tag.startswith("arxiv:")]),
        "datasets": repr([tag for tag in tags if tag.startswith("dataset:")]),
        "parent_model": repr(
            [t.split(":", 1)[1] for t in tags if t.startswith("base_model:") and t.count(":") == 1]
        ),
        **{
            f"{kind}_parent": repr(_with_prefix(tags, f"base_model:{kind}:"))
            for kind in PARENT_KINDS
        },
        "languages": repr([language_names[t] for t in tags if len(t) == 2 and t in language_names]),
        "modelCard": readme if readme is not None else "",
        "ratelimit_retries": "0",
        "exception_raised": "" if readme is not None else MISSING_CARD,
    }
    return row


def write_paper_csv(records: Iterable[dict], path: Path) -> int:
    """Write `records` as the paper's CSV (pandas-style quoting); returns the rows written."""
    names = _language_names()
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=PAPER_CSV_COLUMNS)
        writer.writeheader()
        for record in records:
            writer.writerow(paper_row(record, names))
            count += 1
    return count


def read_snapshot_records(path: Path) -> Iterator[dict]:
    """`{"model", "readme"}` records from a JSONL(.gz) snapshot, streamed."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a JSONL(.gz) snapshot, or the CSV to check")
    parser.add_argument("out", type=Path, nargs="?", help="the paper-format CSV to write")
    parser.add_argument("--check", action="store_true", help="only check the header of SOURCE")
    args = parser.parse_args(argv)
    if args.check:
        try:
            header = check_paper_csv(args.source)
        except NotPaperCsv as error:
            print(error, file=sys.stderr)
            return 1
        print(f"{args.source}: the paper's CSV ({len(header)} columns)")
        return 0
    if args.out is None:
        parser.error("OUT is required unless --check is given")
    rows = write_paper_csv(read_snapshot_records(args.source), args.out)
    print(f"wrote {rows:,} rows in the paper's format to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
