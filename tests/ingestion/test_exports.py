"""Parquet exports from a published build file: every mart, rewritten only when its rows
changed, never half a file, and no file left for a mart that is gone."""

from __future__ import annotations

import os
import time

import duckdb

from ingestion.exports import export_differences, export_marts


def make_build(path, tables: dict[str, str]) -> None:
    """A published build file whose `marts` holds `tables` (name -> select)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists analytics")
        con.execute("create or replace table analytics.not_exported as select 1 as x")
        for name, select in tables.items():
            con.execute(f"create or replace table marts.{name} as {select}")
    finally:
        con.close()


def written_times(folder) -> dict[str, int]:
    return {file.stem: file.stat().st_mtime_ns for file in folder.glob("*.parquet")}


def test_only_changed_marts_are_written_again(tmp_path):
    folder = tmp_path / "exports"
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    tables = {
        "dim_models": "select i as model_id, i * 2 as likes from range(1000) t(i)",
        "family_stats": "select i % 7 as family, count(*) as n from range(1000) t(i) group by 1",
        "old_mart": "select 'a' as name",
    }
    make_build(first, tables)
    result = export_marts(first, folder)
    assert sorted(result.written) == sorted(tables) and result.unchanged == []
    assert export_differences(first, folder) == {}
    before = written_times(folder)

    # The next build: one row of dim_models changed, family_stats the same, old_mart gone,
    # a new mart; a foreign file in the folder is not ours to remove.
    changed = dict(tables, dim_models=tables["dim_models"].replace("i * 2", "i * 2 + (i = 5)::int"))
    del changed["old_mart"]
    changed["new_mart"] = "select 1 as x"
    make_build(second, changed)
    (folder / "notes.parquet").write_bytes(b"not a parquet file")
    (folder / "family_stats.parquet").unlink()  # a missing file is written again
    # a killed export's partial file: removed once it is old
    abandoned = folder / ".dim_models.0123.parquet.partial"
    abandoned.write_bytes(b"half")
    os.utime(abandoned, (time.time() - 7200, time.time() - 7200))
    result = export_marts(second, folder)

    assert sorted(result.written) == ["dim_models", "family_stats", "new_mart"]
    assert result.removed == ["old_mart"]
    assert (folder / "notes.parquet").exists()
    (folder / "notes.parquet").unlink()
    assert export_differences(second, folder) == {}
    assert not list(folder.glob(".*"))  # no partial file left behind

    # Nothing changed: nothing is written; a damaged file is written again.
    (folder / "new_mart.parquet").write_bytes(b"damaged")
    after = written_times(folder)
    result = export_marts(second, folder)
    assert result.written == ["new_mart"]
    assert sorted(result.unchanged) == ["dim_models", "family_stats"]
    assert {m: t for m, t in written_times(folder).items() if m != "new_mart"} == {
        m: t for m, t in after.items() if m != "new_mart"
    }
    assert before["dim_models"] != after["dim_models"]
    assert export_differences(second, folder) == {}


def test_a_reader_of_the_old_file_keeps_it_whole(tmp_path):
    """The new file is renamed over the old one: an open reader keeps reading the old one."""
    folder = tmp_path / "exports"
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    make_build(first, {"dim_models": "select i as model_id from range(100000) t(i)"})
    make_build(second, {"dim_models": "select i as model_id from range(50) t(i)"})
    export_marts(first, folder)
    file = folder / "dim_models.parquet"
    with open(file, "rb") as reader:
        export_marts(second, folder)
        old = reader.read()
    copy = tmp_path / "old.parquet"
    copy.write_bytes(old)
    with duckdb.connect() as con:
        assert con.execute(
            "select count(*) from read_parquet($f)", {"f": str(copy)}
        ).fetchone() == (100000,)
        assert con.execute(
            "select count(*) from read_parquet($f)", {"f": str(file)}
        ).fetchone() == (50,)
