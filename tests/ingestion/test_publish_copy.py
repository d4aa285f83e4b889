"""The published copy always equals the warehouse's marts and analytics: rows, comments and
macros; a reader keeps its build; a failed publish leaves the previous copy and nothing else."""

from __future__ import annotations

import duckdb
import pytest

from ingestion.publish import open_published, publish, published_build, published_path


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return sorted(con.execute(f"select * from {table}").fetchall())


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create schema analytics")
    con.execute(
        "create table marts.models as select range as id, 'm' || range as name from range(1000)"
    )
    con.execute(
        "create table marts.edges as select range as child, range + 1 as parent from range(500)"
    )
    con.execute("create table analytics.rates as select 'license' as trait, 0.25 as rate")
    con.execute("comment on table marts.models is 'one row per model'")
    con.execute("comment on column marts.models.name is 'the repo id'")
    con.execute(
        "create macro marts.models_below(n) as table select * from marts.models where id < n"
    )
    yield path, con
    con.close()


def published_rows(path, table: str) -> list[tuple]:
    with open_published(published_path(path)) as reader:
        return rows(reader, table)


def test_the_copy_holds_the_rows_comments_and_macros(warehouse):
    path, con = warehouse
    first = publish(con, published_path(path), "run-1")
    assert (first.tables, first.rows) == (3, 1501)
    assert published_build(published_path(path)) == first.build
    assert published_rows(path, "marts.models") == rows(con, "marts.models")
    with open_published(published_path(path)) as reader:
        assert reader.execute(
            "select comment from duckdb_tables() where table_name = 'models'"
        ).fetchone() == ("one row per model",)
        assert reader.execute(
            "select comment from duckdb_columns() where column_name = 'name'"
        ).fetchone() == ("the repo id",)
        assert reader.execute("select count(*) from marts.models_below(10)").fetchone() == (10,)


def test_changed_added_and_dropped_tables_reach_the_copy(warehouse):
    path, con = warehouse
    publish(con, published_path(path), "run-1")
    con.execute("update marts.models set name = 'renamed' where id = 7")  # same count, new rows
    con.execute("create table marts.families as select 1 as family_id")
    con.execute("drop table marts.edges")
    con.execute("alter table analytics.rates add column n integer default 3")  # new column
    con.execute("comment on table marts.models is 'one row per model, renamed'")
    con.execute("drop macro table marts.models_below")

    second = publish(con, published_path(path), "run-2")

    assert second.tables == 3  # models, families, rates; edges dropped
    assert published_rows(path, "marts.models") == rows(con, "marts.models")
    assert published_rows(path, "analytics.rates") == [("license", 0.25, 3)]
    with open_published(published_path(path)) as reader:
        tables = {
            name for (name,) in reader.execute("select table_name from duckdb_tables()").fetchall()
        }
        assert tables == {"models", "families", "rates"}
        assert reader.execute(
            "select comment from duckdb_tables() where table_name = 'models'"
        ).fetchone() == ("one row per model, renamed",)
        macros = reader.execute(
            "select count(*) from duckdb_functions() where function_name = 'models_below'"
        ).fetchone()
        assert macros == (0,)


def test_a_reader_of_the_previous_build_keeps_it_and_old_builds_are_pruned(warehouse):
    path, con = warehouse
    publish(con, published_path(path), "run-1")
    with open_published(published_path(path)) as reader:
        for run in range(2, 6):
            con.execute(f"insert into marts.edges values ({run * 1000}, 0)")
            publish(con, published_path(path), f"run-{run}")
        assert reader.execute("select count(*) from marts.edges").fetchone() == (500,)
    builds = sorted(
        published_path(path).with_name(published_path(path).name + ".builds").glob("*.duckdb")
    )
    assert len(builds) == 3
    assert published_rows(path, "marts.edges") == rows(con, "marts.edges")


def test_a_failed_publish_leaves_the_previous_copy_and_no_partial_build(warehouse, monkeypatch):
    path, con = warehouse
    first = publish(con, published_path(path), "run-1")
    con.execute("insert into marts.edges values (9999, 0)")

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("ingestion.publish._copy_macros", fail)  # after the tables are in
    with pytest.raises(RuntimeError, match="disk full"):
        publish(con, published_path(path), "run-2")
    assert published_build(published_path(path)) == first.build
    builds = list(first.build.parent.glob("*.duckdb"))
    assert builds == [first.build]
    assert len(published_rows(path, "marts.edges")) == 500


def test_a_copy_is_updated_row_by_row_and_written_whole_again_every_n_publishes(
    warehouse, monkeypatch
):
    path, con = warehouse
    monkeypatch.setattr("ingestion.publish.WHOLE_WRITE_EVERY", 2)
    results = []
    for run in range(4):
        con.execute("update marts.models set name = name || '+' where id = $id", {"id": run})
        results.append(publish(con, published_path(path), f"run-{run}"))
        assert published_rows(path, "marts.models") == rows(con, "marts.models")
    assert [result.whole for result in results] == [True, False, False, True]
    # one changed row: deleted and inserted again, nothing else touched
    assert [result.rows_changed for result in results[1:3]] == [2, 2]
