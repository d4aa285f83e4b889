"""Rows an incremental build changed: every dbt table compared before and after, row by row.

Usage: `python -m bench.rows_changed BEFORE.duckdb AFTER.duckdb` prints a JSON object
{"total": N, "tables": {"schema.table": N, ...}}, where N counts the rows present after and
not before plus those present before and not after (`except all`, so duplicates count).
Views are left out: they store no rows. A table missing on one side counts all its rows.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb

SCHEMAS = ("staging", "intermediate", "marts")


def tables(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    rows = con.execute(
        """
        select schema_name || '.' || table_name from duckdb_tables()
        where database_name = $catalog and schema_name in $schemas
        """,
        {"catalog": catalog, "schemas": list(SCHEMAS)},
    ).fetchall()
    return {name for (name,) in rows}


def rows_changed(before: Path, after: Path) -> dict:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{before}' as before_build (read_only)")
        con.execute(f"attach '{after}' as after_build (read_only)")
        old, new = tables(con, "before_build"), tables(con, "after_build")
        changed: dict[str, int] = {}
        for name in sorted(old | new):
            if name not in old or name not in new:
                side = "after_build" if name in new else "before_build"
                (count,) = con.execute(f"select count(*) from {side}.{name}").fetchone()
            else:
                (count,) = con.execute(
                    f"""
                    select
                        (select count(*) from (
                            from after_build.{name} except all from before_build.{name}))
                        + (select count(*) from (
                            from before_build.{name} except all from after_build.{name}))
                    """
                ).fetchone()
            changed[name] = count
        return {"total": sum(changed.values()), "tables": changed}
    finally:
        con.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    print(json.dumps(rows_changed(args.before, args.after)))


if __name__ == "__main__":
    main()
