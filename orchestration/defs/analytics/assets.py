"""The paper's genetic analyses as Dagster assets: thin wrappers around `orchestration/analytics`.

Each asset reads the dbt marts it declares as deps and writes one `analytics.<name>` table
(the report asset writes `report.md` and its figures beside the warehouse, in `reports/`).
Their automation condition comes from the analytics layer (`defs/automation.py`): they
refresh only when an upstream mart changed.
"""

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from orchestration.analytics import drift, report, similarity
from orchestration.analytics.catalogue import comment_analytics_table
from orchestration.analytics.relatives import scalar
from orchestration.defs.resources import WarehouseResource

FCT_MODEL_EDGES = dg.AssetKey(["marts", "fct_model_edges"])
DIM_MODELS = dg.AssetKey(["marts", "dim_models"])
DIM_MODEL_FAMILY = dg.AssetKey(["marts", "dim_model_family"])
TRAIT_MUTATIONS = dg.AssetKey(["marts", "trait_mutations"])
STG_MODELS = dg.AssetKey(["staging", "stg_hub__models"])
STG_MODEL_CARDS = dg.AssetKey(["staging", "stg_hub__model_cards"])
REPORT_MARTS = [
    dg.AssetKey(["marts", name])
    for name in (
        "drift_by_relation",
        "lineage_edge_counts",
        "ecosystem_top_values",
        "models_created_monthly",
        "children_with_children",
        "license_categories",
        "license_category_ranks",
        "iso_639_1_languages",
    )
]

SIMILARITY = dg.AssetKey(["analytics", "similarity_by_configuration"])
MUTATION_RATES = dg.AssetKey(["analytics", "trait_mutation_rates"])
TRANSITIONS = dg.AssetKey(["analytics", "trait_transitions"])
ORDERINGS = dg.AssetKey(["analytics", "trait_orderings"])
REPORT = dg.AssetKey(["analytics", "reproduction_report"])

COMMON = {"group_name": "analytics", "pool": "duckdb", "kinds": {"duckdb", "python"}}


class SimilarityConfig(dg.Config):
    """Sampling of relatives; the paper's final runs used 500 (metadata) / 1000 (cards).

    `edge_rule`: `paper` (base_model tags only) or `ours` (tags and cardData).
    """

    relations: list[str] = ["finetune"]
    edge_rule: str = "paper"
    n_samples: int = 1000
    seed: int = 0
    resamples: int = 2_000
    fit_sample: int = 20_000


class DriftConfig(dg.Config):
    """The graph whose transitions are ordered, and how many top values each trait keeps."""

    relations: list[str] = ["finetune"]
    top_licenses: int = 20
    top_languages: int = 20
    top_tasks: int = 10
    top_libraries: int = 10


class ReportConfig(dg.Config):
    """`out_dir`: where the report goes; empty means `reports/` beside the warehouse file, a
    relative path is taken from the warehouse's folder."""

    out_dir: str = ""
    data_caveat: str = ""


def report_dir(warehouse: str | Path, out_dir: str = "") -> Path:
    """The report's folder: beside the warehouse it describes, unless configured."""
    base = Path(warehouse).resolve().parent
    return base / (out_dir or "reports")


def write_table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    """Replace `analytics.<name>` with the frame (registered, never formatted into SQL), with
    its table and column comments."""
    con.execute("create schema if not exists analytics")
    con.register("analytics_frame", frame)
    try:
        con.execute(f"create or replace table analytics.{name} as select * from analytics_frame")
    finally:
        con.unregister("analytics_frame")
    comment_analytics_table(con, name)


def _unit_interval_check(name: str, values: pd.Series) -> dg.AssetCheckResult:
    defined = values.dropna().astype(float)
    outside = int((~defined.between(-1e-9, 1 + 1e-9)).sum())
    return dg.AssetCheckResult(
        check_name=name, passed=outside == 0, metadata={"values": len(defined), "outside": outside}
    )


@dg.asset(
    key=SIMILARITY,
    deps=[FCT_MODEL_EDGES, DIM_MODELS, DIM_MODEL_FAMILY, STG_MODELS, STG_MODEL_CARDS],
    description="Mean similarity of the relatives in each local family configuration of the "
    "paper (duo, trio_1, trio_2, quad_0..quad_3; per role), with 95% bootstrap intervals, on the "
    "paper's metadata text, the leakage-free metadata text and the card; trait Jaccard. Pooled "
    "by relationship as a secondary view (level = 'pooled').",
    check_specs=[
        dg.AssetCheckSpec("similarities_within_unit_interval", asset=SIMILARITY),
        dg.AssetCheckSpec("intervals_hold_their_means", asset=SIMILARITY),
    ],
    code_version="1",
    **COMMON,
)
def similarity_by_configuration(config: SimilarityConfig, warehouse: WarehouseResource):
    params = similarity.SimilarityParams(
        relations=tuple(config.relations),
        edge_rule=config.edge_rule,
        n_samples=config.n_samples,
        seed=config.seed,
        resamples=config.resamples,
        fit_sample=config.fit_sample,
    )
    with warehouse.connect() as con:
        table, facts = similarity.similarity_by_configuration(con, params)
        write_table(con, SIMILARITY.path[-1], table)
    defined = table.dropna(subset=["mean", "ci_low", "ci_high"])
    inverted = int(
        (
            (defined["ci_low"] > defined["mean"] + 1e-9)
            | (defined["mean"] > defined["ci_high"] + 1e-9)
        ).sum()
    )
    headline = table[
        (table["level"] == "configuration")
        & (table["configuration"].isin(["rando", "duo", "trio_1", "quad_0"]))
        & (table["metric"] == "tfidf")
    ][["configuration", "relationship", "text", "n_pairs", "mean", "ci_low", "ci_high"]]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            **facts,
            "tfidf_by_configuration": dg.MetadataValue.md(
                headline.to_markdown(index=False, floatfmt=".3f")
            ),
        },
        check_results=[
            _unit_interval_check(
                "similarities_within_unit_interval",
                pd.concat([table["mean"], table["ci_low"], table["ci_high"]]),
            ),
            dg.AssetCheckResult(
                check_name="intervals_hold_their_means",
                passed=inverted == 0,
                metadata={"inverted": inverted},
            ),
        ],
    )


@dg.asset(
    key=MUTATION_RATES,
    deps=[TRAIT_MUTATIONS],
    description="Mean Jaccard distance of each trait along edges of each relation type "
    "(edges where both sides have the trait), plus 'all'.",
    check_specs=[dg.AssetCheckSpec("rates_within_unit_interval", asset=MUTATION_RATES)],
    code_version="1",
    **COMMON,
)
def trait_mutation_rates(warehouse: WarehouseResource):
    with warehouse.connect() as con:
        table = drift.trait_mutation_rates(con)
        write_table(con, MUTATION_RATES.path[-1], table)
    pooled = table[table["relation"] == "all"].set_index("trait")["mutation_rate"]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            **{f"rate_{trait}": float(rate) for trait, rate in pooled.dropna().items()},
        },
        check_results=[_unit_interval_check("rates_within_unit_interval", table["mutation_rate"])],
    )


@dg.asset(
    key=TRANSITIONS,
    deps=[TRAIT_MUTATIONS],
    description="Directed transition counts between values of each trait along edges of the "
    "relations in use (additions and removals, as the paper counts them).",
    code_version="1",
    **COMMON,
)
def trait_transitions(config: DriftConfig, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        table = drift.trait_transitions(con, config.relations)
        write_table(con, TRANSITIONS.path[-1], table)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "transitions": int(table["n_transitions"].sum()) if len(table) else 0,
        }
    )


@dg.asset(
    key=ORDERINGS,
    deps=[TRAIT_MUTATIONS, DIM_MODELS],
    description="Exact maximum-weight linear ordering of each trait's top values (ILP), with "
    "the share of compatible oriented edges and of mutations accounted for.",
    check_specs=[dg.AssetCheckSpec("orderings_are_permutations", asset=ORDERINGS)],
    code_version="1",
    **COMMON,
)
def trait_orderings(config: DriftConfig, warehouse: WarehouseResource):
    top_n = {
        "licenses": config.top_licenses,
        "languages": config.top_languages,
        "pipeline_tag": config.top_tasks,
        "library_name": config.top_libraries,
    }
    with warehouse.connect() as con:
        table, orderings = drift.trait_orderings(con, config.relations, top_n)
        write_table(con, ORDERINGS.path[-1], table)
    broken = [
        o.trait
        for o in orderings
        if len(set(o.order)) != len(o.order) or len(o.order) > top_n[o.trait]
    ]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            **{f"order_{o.trait}": " > ".join(o.order) for o in orderings},
            **{
                f"accounted_{o.trait}": o.mutations_accounted / o.mutations_total
                for o in orderings
                if o.mutations_total
            },
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="orderings_are_permutations",
                passed=not broken,
                metadata={"broken": ", ".join(broken)},
            )
        ],
    )


@dg.asset(
    key=REPORT,
    deps=[
        SIMILARITY,
        MUTATION_RATES,
        TRANSITIONS,
        ORDERINGS,
        TRAIT_MUTATIONS,
        FCT_MODEL_EDGES,
        DIM_MODELS,
        DIM_MODEL_FAMILY,
        *REPORT_MARTS,
    ],
    description="`report.md` and its PNG figures, in `reports/` beside the warehouse: the "
    "paper's figures and numbers beside ours (similarity per family configuration, edges by "
    "the paper's rule, the summary panels, drift and orderings, family trees), naming the "
    "warehouse and the runs that built it.",
    code_version="2",
    **COMMON,
)
def reproduction_report(
    context: dg.AssetExecutionContext, config: ReportConfig, warehouse: WarehouseResource
):
    out_dir = report_dir(warehouse.path, config.out_dir)
    with warehouse.connect(read_only=True) as con:
        models = scalar(con, "select count(*) from marts.dim_models")
        caveat = config.data_caveat or f"this warehouse holds {models:,} models"
        source = report.Provenance(
            warehouse=str(Path(warehouse.path).resolve()),
            build=build_description(context),
            data_caveat=caveat,
        )
        built = report.build_report(con, out_dir, source)
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.md(built.markdown),
            "report_path": dg.MetadataValue.path(str(built.path)),
            "warehouse": dg.MetadataValue.path(source.warehouse),
            **{name: dg.MetadataValue.path(str(path)) for name, path in built.figures.items()},
        }
    )


def build_description(context: dg.AssetExecutionContext) -> str:
    """This Dagster run, and the runs that last materialized the marts and the similarity."""
    parts = [f"report by Dagster run `{context.run_id}`"]
    for label, key in (("marts (dbt build)", FCT_MODEL_EDGES), ("similarity", SIMILARITY)):
        event = context.instance.get_latest_materialization_event(key)
        if event is not None:
            parts.append(f"{label} by Dagster run `{event.run_id}`")
    return "; ".join(parts)
