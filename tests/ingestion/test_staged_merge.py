"""Staged pages merged into `raw`: what one merge makes of a model seen several times."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ingestion.raw_writes import merge_staged, stage_models, write_models
from ingestion.records import model_table
from ingestion.warehouse import connect, ensure_raw_schema, transaction

T0 = datetime(2026, 1, 1)


def model(oid: str, sha: str, model_id: str | None = None, likes: int = 0) -> dict:
    return {"_id": oid, "id": model_id or f"org/{oid}", "sha": sha, "likes": likes}


@pytest.fixture
def con(tmp_path):
    with connect(tmp_path / "w.duckdb") as con:
        ensure_raw_schema(con)
        yield con


def current(con, oid: str) -> tuple:
    return con.execute(
        "select model_id, sha, first_seen_at, changed_at, observed_at, deleted_at "
        "from raw.hub_models where model_oid = $oid",
        {"oid": oid},
    ).fetchone()


def versions(con, oid: str) -> list[tuple]:
    return con.execute(
        "select version_key, observed_at from raw.hub_model_versions where model_oid = $oid "
        "order by observed_at",
        {"oid": oid},
    ).fetchall()


def test_the_last_staged_row_wins_and_every_version_and_name_is_kept(con):
    with transaction(con):
        stage_models(con, model_table([model("a", "s1"), model("b", "s1")]), T0)
        stage_models(con, model_table([model("a", "s2", "org/renamed")]), T0 + timedelta(hours=1))
        stage_models(con, model_table([model("a", "s1", "org/renamed")]), T0 + timedelta(hours=2))
        counts = merge_staged(con)
    assert (counts.added, counts.changed) == (2, 0)
    model_id, sha, first_seen, changed, observed, deleted = current(con, "a")
    assert (model_id, sha, deleted) == ("org/renamed", "s1", None)
    assert first_seen == T0
    assert changed == T0 + timedelta(hours=2)  # the payload it ends with was first seen then
    assert observed == T0 + timedelta(hours=2)
    # s1 came back: stored once, at its first observation
    assert versions(con, "a") == [("s1", T0), ("s2", T0 + timedelta(hours=1))]
    names = con.execute(
        "select model_id from raw.hub_model_names where model_oid = 'a' order by 1"
    ).fetchall()
    assert names == [("org/a",), ("org/renamed",)]
    (staged,) = con.execute("select count(*) from raw.hub_models_staged").fetchone()
    assert staged == 0


def test_a_merge_against_stored_rows_counts_changes_and_keeps_first_seen(con):
    with transaction(con):
        write_models(con, [model("a", "s1"), model("b", "s1"), model("c", "s1")], T0)
        con.execute("update raw.hub_models set deleted_at = $t where model_oid = 'c'", {"t": T0})
    later = T0 + timedelta(days=1)
    with transaction(con):
        counts = write_models(
            con,
            [model("a", "s1"), model("b", "s1", likes=5), model("c", "s1"), model("d", "s1")],
            later,
        )
    assert (counts.added, counts.changed) == (1, 2)  # d new; b's payload, c back from deletion
    unchanged, popular, restored = current(con, "a"), current(con, "b"), current(con, "c")
    assert unchanged[2:] == (T0, T0, later, None)  # only observed_at moves
    assert popular[2:] == (T0, later, later, None)
    assert restored[2:] == (T0, later, later, None)
    assert versions(con, "b") == [("s1", T0)]  # same sha: no new version
    (rows,) = con.execute("select count(*) from raw.hub_models").fetchone()
    assert rows == 4


def test_a_rolled_back_merge_leaves_the_staged_rows_for_the_next_one(con):
    with transaction(con):
        stage_models(con, model_table([model("a", "s1")]), T0)
    with pytest.raises(RuntimeError), transaction(con):
        merge_staged(con)
        raise RuntimeError("crash before commit")
    (stored,) = con.execute("select count(*) from raw.hub_models").fetchone()
    assert stored == 0
    with transaction(con):
        assert merge_staged(con).added == 1
    assert current(con, "a")[:2] == ("org/a", "s1")
