"""Bootstrap `raw` from a published snapshot file, streaming, without the Hub API.

Three formats, each read in bounded batches (memory does not grow with the file):
- the paper's released CSV (`modelbiome/ai_ecosystem_withmodelcards`): one row per model,
  list columns as Python-repr strings, the README in `modelCard`; it has no `_id`, `sha` or
  `lastModified`, so models are keyed `id:<repo id>` until the Hub shows their `_id`;
- the `{"model": item, "readme": text}` JSONL(.gz) of `../shared/hub_fixtures/`;
- a hub-stats `models.parquet` (raw Hub fields; camelCase or snake_case names, nested
  fields as structs or JSON strings).
Records keep the fields a delta listing asks for (`_id`, `id` and `EXPAND_FIELDS`), so a model
the Hub lists again unchanged is not a new version, and go through the same checks,
quarantine and upserts as listed ones; a README in the file counts as the version's card.
Afterwards the `models` watermark is the newest
`lastModified` imported, so the next delta continues from the snapshot (a snapshot without
`lastModified` leaves it empty, and the next delta lists everything).

Run: `hubgenome import FILE [--format csv|jsonl|parquet] [--warehouse PATH]` (or its alias
`python -m ingestion.importers FILE ...`).
"""

from __future__ import annotations

import ast
import gzip
import json
import logging
import math
import os
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import duckdb
import orjson

from ingestion.cards import CardFetch, write_card_fetches
from ingestion.hub_client import EXPAND_FIELDS
from ingestion.progress import Progress
from ingestion.raw_writes import (
    WriteCounts,
    has_placeholders,
    merge_staged,
    write_page,
    write_quarantine,
)
from ingestion.records import model_oid, model_table, split_records
from ingestion.stream_state import MODELS_STREAM, newest_last_modified, read_state, save_state
from ingestion.warehouse import transaction, utc_now

log = logging.getLogger(__name__)

BATCH_SIZE = 2000
NO_README = object()  # the format carries no README at all (not even "none")


@dataclass
class Row:
    """One record read from a file: the model payload (or the raw text that failed to parse)."""

    payload: object
    readme: object = NO_README  # str, None (the model has no card) or NO_README
    card_error: str | None = None


@dataclass
class ImportResult:
    source: str
    rows: int
    added: int
    changed: int
    quarantined: int
    cards: int
    watermark: datetime | None
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


class Unparseable:
    """A line or row that could not be turned into a payload."""

    def __init__(self, text: str, reason: str):
        self.text = text
        self.reason = reason


# Bytes -> b"0" for digits, b" " for the rest: a line where 19 digits follow each other.
_DIGITS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_NUMBER = b"0" * 19


class CorruptInputError(ValueError):
    """The file itself is broken (truncated or corrupt compression): names where."""


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"not JSON: {name}")


def parse_json_line(line: bytes) -> object:
    """`json.loads` of one UTF-8 line, through orjson (twice as fast) when it reads the same.

    orjson reads integers beyond 64 bits as floats and rejects NaN, Infinity, numbers out of
    range and lone surrogates: a line with 19 digits in a row, or one orjson refuses, takes
    the standard library's path (its errors are the ones reported). Bytes that are not
    UTF-8, `1e400`, NaN and Infinity raise `ValueError`.
    """
    if _LONG_NUMBER not in line.translate(_DIGITS):
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            pass
    return json.loads(line.decode("utf-8"), parse_float=_finite_float, parse_constant=_no_constant)


def _is_gzip(path: Path) -> bool:
    return path.suffix == ".gz"


def read_fixture_jsonl(file: BinaryIO, path: Path) -> Iterator[Row]:
    with gzip.open(file) if _is_gzip(path) else nullcontext(file) as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                record = parse_json_line(line)
                yield Row(record["model"], record.get("readme"))
            except (ValueError, KeyError, TypeError, RecursionError) as error:
                text = line.decode("utf-8", "backslashreplace").rstrip("\r\n")
                reason = f"not a fixture record: {type(error).__name__}: {str(error)[:200]}"
                yield Row(Unparseable(text, reason))


PAPER_COUNTS = ("likes", "downloads")


def _int_or_none(text: str) -> int | None:
    return int(float(text)) if text not in ("", "nan", "None") else None


def paper_payload(row: dict[str, str]) -> dict:
    """A Hub-shaped payload from one row of the paper's CSV (values arrive as strings)."""
    tags = ast.literal_eval(row["tags"]) if row.get("tags") else []
    if not isinstance(tags, list):
        raise ValueError("tags is not a list literal")
    payload = {"id": row["model_id"], "tags": tags}
    for name in PAPER_COUNTS:
        payload[name] = _int_or_none(row.get(name, ""))
    if row.get("private", "") != "":
        payload["private"] = row["private"].strip().lower() == "true"
    for name in ("pipeline_tag", "library_name", "createdAt"):
        value = row.get(name, "")
        payload[name] = value if value not in ("", "nan") else None
    return payload


def read_paper_csv(file: BinaryIO, path: Path, batch_size: int = BATCH_SIZE) -> Iterator[Row]:
    import pandas as pd

    chunks = pd.read_csv(
        file,
        dtype=str,
        keep_default_na=False,
        chunksize=batch_size,
        encoding="utf-8",
        compression="gzip" if _is_gzip(path) else None,
    )
    for chunk in chunks:
        for row in chunk.to_dict("records"):
            try:
                payload = paper_payload(row)
            except (ValueError, SyntaxError, KeyError, MemoryError) as error:
                text = json.dumps(row, ensure_ascii=False)
                yield Row(Unparseable(text, f"paper CSV row: {type(error).__name__}: {error}"))
                continue
            card = row.get("modelCard", "")
            problem = row.get("exception_raised", "")
            if card:
                yield Row(payload, card)
            elif problem and problem not in ("nan", "None", "False"):
                yield Row(payload, NO_README, card_error=f"paper crawl: {problem[:300]}")
            else:
                yield Row(payload, None)


SNAKE_TO_HUB = {
    "model_id": "id",
    "created_at": "createdAt",
    "last_modified": "lastModified",
    "card_data": "cardData",
    "trending_score": "trendingScore",
    "transformers_info": "transformersInfo",
    "used_storage": "usedStorage",
    "widget_data": "widgetData",
    "model_index": "model-index",
    "mask_token": "mask_token",
}
NESTED_FIELDS = ("cardData", "config", "safetensors", "gguf", "transformersInfo", "siblings")


def _hub_value(name: str, value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    if name in NESTED_FIELDS and isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def hub_stats_payload(row: dict) -> dict:
    """A Hub-shaped payload from one hub-stats parquet row."""
    payload = {}
    for name, value in row.items():
        hub_name = SNAKE_TO_HUB.get(name, name)
        payload[hub_name] = _hub_value(hub_name, value)
    return payload


def read_hub_stats_parquet(
    file: BinaryIO, path: Path, batch_size: int = BATCH_SIZE
) -> Iterator[Row]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(file).iter_batches(batch_size=batch_size):
        for row in batch.to_pylist():
            yield Row(hub_stats_payload(row))


READERS = {"jsonl": read_fixture_jsonl, "csv": read_paper_csv, "parquet": read_hub_stats_parquet}


def detect_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".json.gz")):
        return "jsonl"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    raise ValueError(f"cannot tell the format of {path}; pass --format")


def import_snapshot(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    file_format: str | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    logger: logging.Logger = log,
) -> ImportResult:
    """Stream a snapshot file into `raw`, one transaction per batch."""
    file_format = file_format or detect_format(path)
    source = f"import:{file_format}:{path.name}"
    reader = READERS[file_format]
    with open(path, "rb") as file:
        # CSV and parquet are read in chunks of the batch size, JSONL line by line.
        rows = reader(file, path) if file_format == "jsonl" else reader(file, path, batch_size)
        rows = _naming_breaks(rows, path, file)
        return import_rows(
            con, rows, source, batch_size, logger, fraction_done=_share_done(file, file_format)
        )


def _naming_breaks(rows: Iterable[Row], path: Path, file: BinaryIO) -> Iterator[Row]:
    """The rows; a file that breaks off (truncated, corrupt compression) raises
    `CorruptInputError` naming the file and where it broke. The batches before stay."""
    read = 0
    try:
        for row in rows:
            read += 1
            yield row
    except (EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError) as error:
        size = os.fstat(file.fileno()).st_size
        raise CorruptInputError(
            f"{path} breaks off after record {read:,} (near byte {file.tell():,} of "
            f"{size:,}): {type(error).__name__}: {error}; the records before it are imported"
        ) from error


def _share_done(file: BinaryIO, file_format: str) -> Callable[[int], float | None]:
    """rows imported -> the share of the file done, for the ETA in the progress lines.

    Text formats: the bytes read so far (compressed bytes for .gz). Parquet is read by row
    group with seeks, so there it is the rows against the row count in its footer.
    """
    if file_format == "parquet":
        import pyarrow.parquet as pq

        total = pq.ParquetFile(file).metadata.num_rows
        return lambda rows: rows / total if total else None
    size = os.fstat(file.fileno()).st_size
    return lambda rows: file.tell() / size if size else None


def import_rows(
    con: duckdb.DuckDBPyConnection,
    rows: Iterable[Row],
    source: str,
    batch_size: int = BATCH_SIZE,
    logger: logging.Logger = log,
    fraction_done: Callable[[int], float | None] = lambda rows: None,
) -> ImportResult:
    adopt = has_placeholders(con)
    totals = WriteCounts()
    progress = Progress(logger, source)
    iterator = iter(rows)
    try:
        cards, count = _import_batches(
            con, iterator, source, batch_size, adopt, totals, progress, fraction_done
        )
    except Exception:
        # A file that breaks off: what its batches staged is visible at once.
        with transaction(con):
            merge_staged(con, adopt)
        raise
    with transaction(con):
        totals.add(merge_staged(con, adopt))
    progress.finish()
    watermark = _continue_deltas_from_here(con)
    return ImportResult(
        source=source,
        rows=count,
        added=totals.added,
        changed=totals.changed,
        quarantined=totals.quarantined,
        cards=cards,
        watermark=watermark,
        seconds=progress.elapsed,
    )


def _import_batches(
    con: duckdb.DuckDBPyConnection,
    iterator: Iterator[Row],
    source: str,
    batch_size: int,
    adopt: bool,
    totals: WriteCounts,
    progress: Progress,
    fraction_done: Callable[[int], float | None],
) -> tuple[int, int]:
    """Stage the rows batch by batch, one transaction each; returns (cards, rows)."""
    cards = count = 0
    while batch := list(islice(iterator, batch_size)):
        now = utc_now()
        parsed = [
            Row(as_listed(row.payload), row.readme, row.card_error)
            for row in batch
            if not isinstance(row.payload, Unparseable)
        ]
        good, rejects = split_records([row.payload for row in parsed])
        rejects += [
            (None, row.payload.reason, row.payload.text)
            for row in batch
            if isinstance(row.payload, Unparseable)
        ]
        valid = {id(payload) for payload in good}
        table = model_table(good)
        # The page's models are staged, not merged: each README goes with the version staged.
        version_keys = dict(
            zip(
                table.column("model_oid").to_pylist(),
                table.column("version_key").to_pylist(),
                strict=True,
            )
        )
        fetches = [
            _card_outcome(row, version_keys)
            for row in parsed
            if id(row.payload) in valid and _has_card(row)
        ]
        with transaction(con):
            totals.add(write_page(con, table, now, adopt))
            totals.quarantined += write_quarantine(con, source, rejects, now)
            if fetches:
                write_card_fetches(con, fetches, now, in_transaction=True)
        cards += len(fetches)
        count += len(batch)
        progress.update(len(batch), fraction_done(count))
    return cards, count


LISTED_FIELDS = ("_id", "id", *EXPAND_FIELDS)


def as_listed(payload: object) -> object:
    """Keep the fields a delta listing returns, so a re-listed model compares equal."""
    if not isinstance(payload, dict):
        return payload
    return {name: payload[name] for name in LISTED_FIELDS if name in payload}


def _has_card(row: Row) -> bool:
    return row.readme is not NO_README or row.card_error is not None


def _card_outcome(row: Row, version_keys: dict[str, str]) -> CardFetch:
    """The README of the version its page stages (`version_keys`: model oid -> key)."""
    oid = model_oid(row.payload)
    key = version_keys[oid]
    if row.card_error is not None:
        return CardFetch(oid, key, "failed", error=row.card_error)
    if row.readme is None:
        return CardFetch(oid, key, "missing")
    # surrogatepass: a README with bytes that are not UTF-8 arrives as lone surrogates
    return CardFetch(oid, key, "ok", text=row.readme.encode("utf-8", errors="surrogatepass"))


def _continue_deltas_from_here(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """Move the delta watermark to the newest imported model (never backwards)."""
    state = read_state(con, MODELS_STREAM)
    if state.cursor is not None:
        return state.watermark  # a listing is in progress: it sets the watermark when done
    newest = newest_last_modified(con)
    if newest is not None and (state.watermark is None or newest > state.watermark):
        state.watermark = newest
        save_state(con, state)
    return state.watermark


if __name__ == "__main__":
    # The alias becomes `python -m ingestion import ...` in place (same process).
    os.execv(sys.executable, [sys.executable, "-m", "ingestion", "import", *sys.argv[1:]])
