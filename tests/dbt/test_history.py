"""History and the change log across local-Hub clock moves: the real client lists a local Hub
whose ecosystem evolves (edits, licence and base-model edits, deletions, renames, new models,
popularity), dbt builds after each move, and the marts are checked against a Python diff of
the Hub's own records before and after."""

from __future__ import annotations

from datetime import timedelta

from ingestion.localhub.store import HubStore
from ingestion.warehouse import connect, copy_warehouse
from tests.dbt.helpers import declared_edges, primary_relation, query, refresh_from_hub, run_dbt

TRACKED = ("tags", "pipeline_tag", "library_name", "gated")
HISTORY_TABLES = (
    "marts.model_history",
    "marts.model_edge_history",
    "marts.model_lifecycle",
    "marts.fct_model_lineage",
    "marts.dim_models",
    "marts.model_license_compliance",
)


def _hub_state(store: HubStore) -> dict[str, dict]:
    return {
        record["model"]["_id"]: record["model"]
        for record in store.current_records()
        if not record["model"].get("private")
    }


def _edges(item: dict) -> set[tuple[str, str | None]]:
    return {
        (parent, primary_relation(edge["relations"]))
        for (parent, _), edge in declared_edges([item]).items()
    }


def _last_run(warehouse) -> list[tuple]:
    return query(
        warehouse,
        """
        select model_oid, model_id, change_kind, changed_fields, parent_id, relation,
               old_value, new_value
        from marts.model_changes
        where run_id = (select arg_max(run_id, run_started_at) from marts.model_changes)
        """,
    )


def _expected_changes(before: dict[str, dict], after: dict[str, dict]) -> dict[str, set]:
    """The changes a run must log, by kind, from the Hub's records alone."""
    expected: dict[str, set] = {
        kind: set()
        for kind in (
            "new_model",
            "deleted",
            "renamed",
            "new_version",
            "counts_only",
            "edge_added",
            "edge_removed",
        )
    }
    for oid in after.keys() - before.keys():
        expected["new_model"].add(oid)
        expected["edge_added"] |= {(oid, *edge) for edge in _edges(after[oid])}
    for oid in before.keys() - after.keys():
        expected["deleted"].add(oid)
        expected["edge_removed"] |= {(oid, *edge) for edge in _edges(before[oid])}
    for oid in before.keys() & after.keys():
        old, new = before[oid], after[oid]
        if old["id"] != new["id"]:
            expected["renamed"].add((oid, old["id"], new["id"]))
        fields = {field for field in TRACKED if _value(old, field) != _value(new, field)}
        if {p for p, _ in _edges(old)} - {oid} != {p for p, _ in _edges(new)} - {oid}:
            fields.add("base_models")
        if old.get("sha") != new.get("sha"):
            expected["new_version"].add((oid, frozenset(fields)))
        elif old["id"] == new["id"] and old != new:
            expected["counts_only"].add(oid)
        expected["edge_added"] |= {(oid, *edge) for edge in _edges(new) - _edges(old)}
        expected["edge_removed"] |= {(oid, *edge) for edge in _edges(old) - _edges(new)}
    return expected


def _value(item: dict, field: str):
    value = item.get(field)
    if field == "tags":
        return sorted(value or [])
    if field == "gated":
        return None if value is None else str(value).lower()
    return value


def test_history_and_change_log_follow_the_hub_across_clock_moves(evolving_hub, tmp_path_factory):
    store, client = evolving_hub
    root = tmp_path_factory.mktemp("history")
    warehouse, target = root / "warehouse.duckdb", root / "target"

    before = _hub_state(store)
    refresh_from_hub(warehouse, client, target)
    first = _last_run(warehouse)
    assert {row[0] for row in first if row[2] == "new_model"} == set(before)
    assert {row[2] for row in first} <= {"new_model", "edge_added"}

    seen_kinds: set[str] = set()
    for step in range(2):
        store.advance(store.clock() + timedelta(days=2))
        after = _hub_state(store)
        refresh_from_hub(warehouse, client, target)
        logged = _last_run(warehouse)
        expected = _expected_changes(before, after)

        def rows(kind: str, logged=logged) -> list[tuple]:
            return [row for row in logged if row[2] == kind]

        assert {row[0] for row in rows("new_model")} == expected["new_model"], step
        assert {row[0] for row in rows("deleted")} == expected["deleted"], step
        assert {(row[0], row[6], row[7]) for row in rows("renamed")} == expected["renamed"]
        versions = {(row[0], frozenset(row[3]) - {"licenses"}) for row in rows("new_version")}
        assert versions == expected["new_version"], step
        assert {row[0] for row in rows("counts_only")} == expected["counts_only"], step
        for kind in ("edge_added", "edge_removed"):
            assert {(row[0], row[4], row[5]) for row in rows(kind)} == expected[kind], kind
        assert len(logged) == sum(len(found) for found in expected.values())
        seen_kinds |= {kind for kind, found in expected.items() if found}
        before = after

    # the events actually happened: the check above was not vacuous
    assert seen_kinds >= {"new_model", "deleted", "renamed", "new_version", "counts_only"}
    assert seen_kinds & {"edge_added", "edge_removed"}
    licence_edits = {event["_id"] for event in store.events if event["kind"] == "license_edit"}
    logged_licence_edits = {
        oid
        for (oid,) in query(
            warehouse,
            "select model_oid from marts.model_changes "
            "where list_contains(changed_fields, 'licenses')",
        )
    }
    assert logged_licence_edits and logged_licence_edits <= licence_edits

    _check_history(warehouse, store)
    _check_incremental_equals_full_refresh(warehouse, root, target)


def _check_history(warehouse, store: HubStore) -> None:
    hub = _hub_state(store)
    events = store.events
    deleted = {event["_id"] for event in events if event["kind"] == "delete"}
    renamed = {event["_id"]: event["old_id"] for event in events if event["kind"] == "rename"}

    lifecycle = {
        oid: (model_id, is_deleted, previous)
        for oid, model_id, is_deleted, previous in query(
            warehouse,
            "select model_oid, model_id, is_deleted, previous_model_ids from marts.model_lifecycle",
        )
    }
    for oid in deleted & lifecycle.keys():
        assert lifecycle[oid][1], oid
    for oid, old_id in renamed.items():
        if oid in lifecycle and oid in hub:
            assert lifecycle[oid][0] == hub[oid]["id"] and old_id in lifecycle[oid][2]

    # The current versions are the Hub's records now; deleted models have none.
    current = dict(
        query(warehouse, "select model_oid, tags from marts.model_history where is_current")
    )
    assert current == {oid: sorted(item.get("tags") or []) for oid, item in hub.items()}

    # As of just before a base-model edit, the edge history shows the old parents.
    edits = [event for event in events if event["kind"] == "base_model_edit"]
    assert edits
    for event in edits:
        rows = query(
            warehouse,
            """
            select count(*) from marts.model_history
            where model_oid = $oid and valid_from <= $time::timestamp
              and (valid_to is null or valid_to > $time::timestamp)
            """,
            {"oid": event["_id"], "time": event["time"].replace("Z", "")},
        )
        assert rows[0][0] <= 1  # never two versions valid at once

    # Families as of the far future are today's families.
    as_of = set(
        query(
            warehouse,
            "select model_id, family_root_id, depth, primary_parent_id "
            "from marts.family_members_as_of(timestamp '9999-01-01')",
        )
    )
    today = set(
        query(
            warehouse,
            "select model_id, family_root_id, depth, primary_parent_id from marts.dim_model_family",
        )
    )
    assert as_of == today
    # Intervals of one model never overlap.
    (overlaps,) = query(
        warehouse,
        """
        select count(*) from marts.model_history as a
        join marts.model_history as b
          on a.model_oid = b.model_oid and a.version_number < b.version_number
        where coalesce(a.valid_to, 'infinity'::timestamp) > b.valid_from
          and b.valid_from < coalesce(b.valid_to, 'infinity'::timestamp)
          and a.valid_from < coalesce(a.valid_to, 'infinity'::timestamp)
        """,
    )[0]
    assert overlaps == 0


def _check_incremental_equals_full_refresh(warehouse, root, target) -> None:
    full = copy_warehouse(warehouse, root / "full.duckdb")
    run_dbt(full, target, "run", "--full-refresh")
    with (
        connect(warehouse, read_only=True) as incremental,
        connect(full, read_only=True) as rebuilt,
    ):
        for table in HISTORY_TABLES:
            sql = f"select * from {table} order by all"
            assert incremental.execute(sql).fetchall() == rebuilt.execute(sql).fetchall(), table
        (log_rows,) = rebuilt.execute("select count(*) from marts.model_changes").fetchone()
        (kept,) = incremental.execute("select count(*) from marts.model_changes").fetchone()
        assert log_rows == kept  # --full-refresh keeps the change log
