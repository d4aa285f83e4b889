"""What publishing costs on a built warehouse: a first publish, then one after each delta's
incremental build, beside that build (the goal: at most 10% of it).

Usage: `python -m bench.publish_cost WAREHOUSE [--fractions 0.0001 0.01] [--verify]` on a
warehouse `bench.run` built (`bench/results/<N>/imported.duckdb`); prints a Markdown table.
`--verify` compares each published build with the warehouse, row by row (not timed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.run import apply_delta, dbt_build, publish, steps_table
from ingestion.publish import differences, published_build, published_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.0001, 0.01])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--verify", action="store_true")
    args = parser.parse_args(argv)

    def verify() -> None:
        if args.verify:
            build = published_build(published_path(args.warehouse))
            print(
                f"{build.name}: differences from the warehouse {differences(args.warehouse, build)}"
            )

    build = dbt_build("incremental dbt build, nothing changed", args.warehouse)
    first = publish("publish after a build that changed nothing", args.warehouse, build)
    steps = [build, first]
    verify()
    for fraction in args.fractions:
        steps.append(apply_delta(args.warehouse, fraction, seed=args.seed))
        build = dbt_build(f"incremental dbt build after the {fraction:.2%} delta", args.warehouse)
        steps += [build, publish(f"publish after the {fraction:.2%} delta", args.warehouse, build)]
        verify()
    print("\n".join(steps_table(steps)))


if __name__ == "__main__":
    main()
