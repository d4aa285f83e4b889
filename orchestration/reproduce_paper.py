"""One command from the paper's released CSV to the report: import, build, analyse, report.

`python -m orchestration.reproduce_paper ai_ecosystem_withmodelcards.csv --warehouse W.duckdb`
checks the file's header (`ingestion.paper_csv`), imports it into the warehouse with the
snapshot importer (`ingestion.importers`, format `csv`), then runs dbt, the analytics and the
report in one Dagster run. The report lands in `reports/` beside the warehouse, every number
of the paper beside ours. Run it on an empty warehouse: a warehouse that already holds other
models would mix them in.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import dagster as dg

from ingestion.config import settings
from ingestion.importers import import_snapshot
from ingestion.paper_csv import NotPaperCsv, check_paper_csv
from ingestion.warehouse import connect_writer
from orchestration.defs.analytics.assets import (
    report_dir,
    reproduction_report,
    similarity_by_configuration,
    trait_mutation_rates,
    trait_orderings,
    trait_transitions,
)
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.transform.assets import hubgenome_dbt_models
from orchestration.defs.transform.project import dbt_resource

BUILD_AND_REPORT = [
    hubgenome_dbt_models,
    similarity_by_configuration,
    trait_mutation_rates,
    trait_transitions,
    trait_orderings,
    reproduction_report,
]


def analytics_run_config(
    relations=("finetune",),
    n_samples: int = 1000,
    resamples: int = 2000,
    fit_sample: int = 20_000,
    data_caveat: str = "",
) -> dg.RunConfig:
    """Run config of the analytics and the report: one graph for similarity and drift."""
    drift_config = {"config": {"relations": list(relations)}}
    return dg.RunConfig(
        ops={
            "analytics__similarity_by_configuration": {
                "config": {
                    "relations": list(relations),
                    "n_samples": n_samples,
                    "resamples": resamples,
                    "fit_sample": fit_sample,
                }
            },
            "analytics__trait_transitions": drift_config,
            "analytics__trait_orderings": drift_config,
            "analytics__reproduction_report": {"config": {"data_caveat": data_caveat}},
        }
    )


log = logging.getLogger(__name__)


def reproduce(
    csv_path: Path,
    warehouse: Path,
    instance: dg.DagsterInstance,
    n_samples: int = 1000,
    resamples: int = 2000,
) -> tuple[dg.ExecuteInProcessResult, Path]:
    """Import the paper's CSV into `warehouse`, build and report; returns the run and report."""
    check_paper_csv(csv_path)

    def waiting(lock_path: Path) -> None:
        log.info(f"waiting for the warehouse writer lock {lock_path}")

    with connect_writer(warehouse, on_wait=waiting) as con:
        imported = import_snapshot(con, csv_path, "csv")
    caveat = (
        f"the paper's released CSV `{csv_path.name}` ({imported.rows:,} rows, "
        f"{imported.quarantined:,} quarantined)"
    )
    result = dg.materialize(
        BUILD_AND_REPORT,
        resources={
            "warehouse": WarehouseResource(path=str(warehouse)),
            "dbt": dbt_resource(),
        },
        run_config=analytics_run_config(
            n_samples=n_samples, resamples=resamples, data_caveat=caveat
        ),
        instance=instance,
    )
    return result, report_dir(warehouse) / "report.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="ai_ecosystem_withmodelcards.csv (or .csv.gz)")
    parser.add_argument("--warehouse", type=Path, default=None, help="default: the configured one")
    parser.add_argument("--n-samples", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    config = settings()
    warehouse = (args.warehouse or config.warehouse).resolve()
    config.dagster_home.mkdir(parents=True, exist_ok=True)
    try:
        # On the instance in DAGSTER_HOME, so the UI shows the run.
        with dg.DagsterInstance.from_config(str(config.dagster_home)) as instance:
            result, report = reproduce(
                args.csv, warehouse, instance, args.n_samples, args.resamples
            )
    except NotPaperCsv as error:
        print(error, file=sys.stderr)
        return 2
    print(f"{'done' if result.success else 'FAILED'}: {report}")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
