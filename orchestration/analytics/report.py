"""The reproduction report: Markdown plus PNG figures, from the marts and the analytics tables.

Everything drawn here is read from the warehouse; paper numbers come only from
`paper_reference` and are shown as reference values next to ours. Set logic lives in the
marts (`drift_by_relation`, `lineage_edge_counts`, `ecosystem_top_values`,
`models_created_monthly`, `children_with_children`); this module reads, lays out and draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Arc  # noqa: E402

from orchestration.analytics.drift import oriented_graph  # noqa: E402
from orchestration.analytics.paper_reference import (  # noqa: E402
    PAPER_CHILDREN_WITH_CHILDREN,
    PAPER_NUMBERS,
    PAPER_ORDERINGS,
    PAPER_SIMILARITY,
    PAPER_TOP_VALUES,
)
from orchestration.analytics.similarity import POOLED, TEXT_LABELS, TEXTS  # noqa: E402

RELATIONSHIP_ORDER = (
    "random",
    "parent-child",
    "siblings",
    "grandparent-grandchild",
    "aunt/uncle-nephew",
    "cousins",
    "three generations apart",
)
CONFIGURATION_ORDER = (
    "rando",
    "duo",
    "trio_1",
    "trio_2",
    "quad_0",
    "quad_1",
    "quad_2",
    "quad_3",
    "cousins",
)
METRICS = ("tfidf", "bow", "levenshtein")
# Sibling role vs parent-child role inside the configurations that have both (section 3.2).
SIBLING_CONTRASTS = {"trio_1": (2, 1), "quad_0": (2, 1), "quad_1": (4, 2), "quad_2": (5, 4)}
GENERATION_COLOURS = {0: "tab:green", 1: "tab:blue", 2: "tab:orange", 3: "tab:red"}
# Colours by restrictiveness rank of the category (seed license_category_ranks), last = grey.
CATEGORY_PALETTE = ("tab:red", "tab:orange", "tab:blue", "tab:green", "tab:purple", "tab:brown")
PANELS = (
    ("licenses", "Licenses"),
    ("tasks", "Tasks"),
    ("languages", "Languages"),
    ("libraries", "Libraries"),
    ("parents_by_children", "Parent models (children)"),
    ("datasets", "Datasets"),
    ("arxiv_ids", "arXiv papers (ids)"),
    ("most_downloaded", "Most downloaded"),
)
ORDERED_TRAITS = ("licenses", "languages", "pipeline_tag", "library_name")


@dataclass
class Report:
    markdown: str
    path: Path
    figures: dict[str, Path] = field(default_factory=dict)
    headlines: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class Provenance:
    """Which warehouse and which build the report was made from."""

    warehouse: str
    build: str
    data_caveat: str = ""


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pd.DataFrame:
    return con.execute(sql, params or {}).df()


class LicenseColours:
    """Licence -> category -> colour, from the seeds `license_categories` and `..._ranks`."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        ranks = con.execute(
            "select license_category from marts.license_category_ranks "
            "order by restrictiveness_rank"
        ).fetchall()
        self.categories = [category for (category,) in ranks]
        self.fallback = self.categories[-1] if self.categories else "other"
        self.colour = {
            category: CATEGORY_PALETTE[i] if category != self.fallback else "tab:gray"
            for i, category in enumerate(self.categories)
        }
        self.category_of = dict(
            con.execute("select license, license_category from marts.license_categories").fetchall()
        )

    def category(self, licence: str | None) -> str:
        return self.category_of.get(licence, self.fallback)

    def of(self, licence: str | None) -> str:
        return self.colour.get(self.category(licence), "tab:gray")

    def legend(self, axis, title: str = "license category") -> None:
        for category in self.categories:
            axis.scatter([], [], color=self.colour[category], label=category)
        axis.legend(fontsize=7, loc="lower left", title=title, title_fontsize=7)


def _save(figure, out_dir: Path, name: str) -> Path:
    path = out_dir / f"{name}.png"
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_families_over_time(con, out_dir: Path, top: int = 10) -> Path:
    sizes = _df(
        con,
        """
        with top as (
            select family_root_id, count(*) as size from marts.dim_model_family
            group by 1 order by size desc, family_root_id limit $top
        )
        select f.family_root_id, t.size, date_trunc('month', m.created_at) as month,
               count(*) as born
        from marts.dim_model_family as f
        join top as t using (family_root_id)
        join marts.dim_models as m using (model_id)
        where m.created_at is not null
        group by all order by t.size desc, month
        """,
        {"top": top},
    )
    figure, axis = plt.subplots(figsize=(9, 5))
    for root, group in sizes.groupby("family_root_id", sort=False):
        axis.step(group["month"], group["born"].cumsum(), where="post", label=root)
    axis.set(title="Size of the largest families over time", xlabel="month", ylabel="models")
    if not sizes.empty:
        axis.legend(fontsize=7, loc="upper left")
    return _save(figure, out_dir, "families_over_time")


def configuration_rows(similarity: pd.DataFrame) -> pd.DataFrame:
    """The per-configuration rows in the paper's order: configuration, then role."""
    rows = similarity[similarity["level"] == "configuration"].copy()
    order = {name: i for i, name in enumerate(CONFIGURATION_ORDER)}
    rows["_order"] = rows["configuration"].map(order).fillna(len(order))
    return rows.sort_values(["_order", "config_index"]).drop(columns="_order")


def _errorbars(axis, x, data: pd.DataFrame, **style) -> None:
    y = data["mean"].to_numpy(dtype=float)
    errors = np.vstack(
        [y - data["ci_low"].to_numpy(dtype=float), data["ci_high"].to_numpy(dtype=float) - y]
    )
    axis.errorbar(x, y, yerr=np.clip(np.nan_to_num(errors), 0, None), capsize=3, **style)


def plot_similarity_by_configuration(similarity: pd.DataFrame, out_dir: Path) -> Path:
    """The paper's figure: one panel per text and metric, roles grouped by configuration."""
    rows = configuration_rows(similarity)
    roles = rows[["configuration", "config_index"]].drop_duplicates().reset_index(drop=True)
    x_of, x, previous = {}, 0.0, None
    for configuration, index in roles.itertuples(index=False):
        x += 1.0 if configuration == previous else 1.8
        x_of[(configuration, index)] = x
        previous = configuration
    figure, axes = plt.subplots(len(TEXTS), len(METRICS), figsize=(17, 12), sharey=True)
    for row, text in enumerate(TEXTS):
        for col, metric in enumerate(METRICS):
            axis = axes[row][col]
            data = rows[(rows["text"] == text) & (rows["metric"] == metric)]
            for generations, group in data.groupby(data["generations_apart"].fillna(-1), sort=True):
                xs = [
                    x_of[key]
                    for key in zip(group["configuration"], group["config_index"], strict=True)
                ]
                _errorbars(
                    axis,
                    xs,
                    group,
                    fmt="o",
                    color=GENERATION_COLOURS.get(int(generations), "black"),
                    label="random pair"
                    if generations < 0
                    else f"{int(generations)} generation(s) apart",
                )
            paper = [
                (x_of[key], PAPER_SIMILARITY.get((*key, text, metric)))
                for key in zip(data["configuration"], data["config_index"], strict=True)
            ]
            paper = [(px, py) for px, py in paper if py is not None]
            if paper:
                axis.scatter(
                    *zip(*paper, strict=True), marker="_", s=120, color="black", label="paper"
                )
            starts = {}
            for (configuration, _), position in x_of.items():
                starts.setdefault(configuration, []).append(position)
            axis.set_xticks(
                [np.mean(p) for p in starts.values()], list(starts), rotation=40, fontsize=7
            )
            axis.set_title(f"{text} / {metric}", fontsize=9)
            axis.set_ylim(0, 1.05)
    handles, labels = axes[0][0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    figure.legend(unique.values(), unique.keys(), loc="lower center", ncol=6, fontsize=8)
    figure.suptitle(
        "Similarity within each local family configuration (mean, 95% bootstrap interval; "
        "colour: generations apart; black dash: the paper's value)"
    )
    figure.tight_layout(rect=(0, 0.04, 1, 0.97))
    return _save(figure, out_dir, "similarity_by_configuration")


def plot_similarity_pooled(similarity: pd.DataFrame, out_dir: Path) -> Path:
    """Secondary view: every configuration's pairs pooled by relationship (not the paper's)."""
    pooled = similarity[similarity["level"] == POOLED]
    figure, axes = plt.subplots(len(TEXTS), len(METRICS), figsize=(13, 10), sharey=True)
    for row, text in enumerate(TEXTS):
        for col, metric in enumerate(METRICS):
            axis = axes[row][col]
            data = pooled[(pooled["text"] == text) & (pooled["metric"] == metric)]
            data = data.set_index("relationship").reindex(
                [r for r in RELATIONSHIP_ORDER if r in set(data["relationship"])]
            )
            _errorbars(axis, range(len(data)), data, fmt="o")
            axis.set_xticks(range(len(data)), data.index, rotation=40, ha="right", fontsize=7)
            axis.set_title(f"{text} / {metric}", fontsize=9)
            axis.set_ylim(0, 1.05)
    figure.suptitle(
        "SECONDARY VIEW, not the paper's: all configurations pooled by relationship "
        "(chains exist only below depth 1, so pooled pairs do not compare like with like)"
    )
    return _save(figure, out_dir, "similarity_pooled_by_relationship")


def _interval(row) -> str:
    if row is None or pd.isna(row["mean"]):
        return "n/a"
    return f"{row['mean']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def configuration_table(similarity: pd.DataFrame, text: str) -> pd.DataFrame:
    """One row per configuration role: ours (mean [95% CI]) and the paper's, every metric."""
    rows = configuration_rows(similarity)
    rows = rows[rows["text"] == text]
    table = []
    for (configuration, index), group in rows.groupby(
        ["configuration", "config_index"], sort=False
    ):
        by_metric = {m: r for m, r in zip(group["metric"], group.to_dict("records"), strict=True)}
        first = group.iloc[0]
        line = {
            "configuration": configuration,
            "role": int(index),
            "relationship": first["relationship"],
            "pairs": int(max(r["n_pairs"] for r in by_metric.values())),
        }
        for metric in METRICS:
            line[f"{metric} (ours)"] = _interval(by_metric.get(metric))
            line[f"{metric} (paper)"] = _format(
                PAPER_SIMILARITY.get((configuration, int(index), text, metric))
            )
        table.append(line)
    return pd.DataFrame(table)


def sibling_contrasts(similarity: pd.DataFrame) -> pd.DataFrame:
    """Within each configuration with siblings: siblings minus parent-child, per text (TF-IDF)."""
    rows = similarity[(similarity["level"] == "configuration") & (similarity["metric"] == "tfidf")]
    keyed = rows.set_index(["configuration", "config_index", "text"])
    table = []
    for configuration, (siblings, parent_child) in SIBLING_CONTRASTS.items():
        for text in TEXTS:
            try:
                sib = keyed.loc[(configuration, siblings, text)]
                pc = keyed.loc[(configuration, parent_child, text)]
            except KeyError:
                continue
            table.append(
                {
                    "configuration": configuration,
                    "text": text,
                    "siblings": sib["mean"],
                    "parent-child": pc["mean"],
                    "siblings above": bool(sib["mean"] > pc["mean"]),
                    "intervals apart": bool(sib["ci_low"] > pc["ci_high"]),
                    "paper: siblings above": _paper_siblings_above(
                        configuration, siblings, parent_child, text
                    ),
                }
            )
    return pd.DataFrame(table)


def _paper_siblings_above(configuration, siblings, parent_child, text) -> str:
    sib = PAPER_SIMILARITY.get((configuration, siblings, text, "tfidf"))
    pc = PAPER_SIMILARITY.get((configuration, parent_child, text, "tfidf"))
    return "n/a" if sib is None or pc is None else ("yes" if sib > pc else "no")


def plot_ecosystem_summary(top: pd.DataFrame, out_dir: Path) -> Path:
    """The paper's summary figure: top 10 of each panel, as a share where it has a denominator."""
    figure, axes = plt.subplots(2, 4, figsize=(20, 9))
    for axis, (panel, title) in zip(axes.ravel(), PANELS, strict=True):
        data = top[top["panel"] == panel].sort_values("rank", ascending=False)
        shares = data["share"].notna().all() and len(data)
        values = data["share"] * 100 if shares else data["n"]
        axis.barh(data["value"].astype(str), values.astype(float), color="tab:blue")
        axis.tick_params(axis="y", labelsize=7)
        denominator = (
            f"% of {int(data['denominator'].iloc[0]):,} models" if shares else "models (count)"
        )
        if panel == "most_downloaded":
            denominator = "downloads (30 days)"
        axis.set_title(f"{title}\n({denominator})", fontsize=9)
    figure.suptitle("The ecosystem in top-10 panels (the paper's summary figure)")
    return _save(figure, out_dir, "ecosystem_summary")


def summary_tables(top: pd.DataFrame) -> list[str]:
    """Per panel: our top 10 beside the paper's, with what each counts."""
    sections = []
    for panel, title in PANELS:
        ours = top[top["panel"] == panel].sort_values("rank")
        paper = PAPER_TOP_VALUES.get(panel, [])
        lines = []
        for rank in range(1, 11):
            row = ours[ours["rank"] == rank]
            mine = row.iloc[0] if len(row) else None
            theirs = paper[rank - 1] if rank <= len(paper) else (None, None, None)
            lines.append(
                {
                    "rank": rank,
                    "ours": mine["value"] if mine is not None else "",
                    "n": _format(mine["n"]) if mine is not None else "",
                    "%": _percent(mine["share"]) if mine is not None else "",
                    "paper": theirs[0] or "",
                    "paper n": _format(theirs[1]) if theirs[1] is not None else "",
                    "paper %": f"{theirs[2]:.2f}" if theirs[2] is not None else "",
                }
            )
        counted = ours["counted_as"].iloc[0] if len(ours) else ""
        denominator = ours["denominator"].dropna()
        note = f"{counted}" + (
            f"; denominator {int(denominator.iloc[0]):,}" if len(denominator) else ""
        )
        sections += [f"**{title}** ({note})", _table(pd.DataFrame(lines))]
    return sections


def _percent(value) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * float(value):.2f}"


def plot_created_histogram(monthly: pd.DataFrame, out_dir: Path) -> Path:
    figure, axis = plt.subplots(figsize=(10, 4))
    axis.bar(pd.to_datetime(monthly["created_month"]), monthly["n_models"], width=25)
    axis.set(title="Models by createdAt month", xlabel="month", ylabel="models created")
    return _save(figure, out_dir, "created_at_histogram")


def plot_trait_graph(
    orderings: pd.DataFrame,
    transitions: pd.DataFrame,
    trait: str,
    out_dir: Path,
    licences: LicenseColours,
) -> Path:
    """Arc diagram of the oriented transition graph in its optimal order (forward arcs above)."""
    order = orderings[orderings["trait"] == trait].sort_values("position")["value"].tolist()
    rows = transitions[transitions["trait"] == trait]
    counts = {
        (a, b): int(n)
        for a, b, n in zip(rows["from_value"], rows["to_value"], rows["n_transitions"], strict=True)
    }
    oriented, _ = oriented_graph(counts, order)
    figure, axis = plt.subplots(figsize=(12, 5))
    heaviest = max(oriented.values(), default=1)
    position = {v: i for i, v in enumerate(order)}
    for (a, b), traffic in oriented.items():
        x1, x2 = position[a], position[b]
        forward = x1 < x2
        axis.add_patch(
            Arc(
                ((x1 + x2) / 2, 0),
                abs(x2 - x1),
                abs(x2 - x1) * 0.8,
                theta1=0 if forward else 180,
                theta2=180 if forward else 360,
                color="tab:blue" if forward else "tab:red",
                linewidth=0.5 + 6 * traffic / heaviest,
                alpha=0.6,
            )
        )
    colours = [licences.of(v) if trait == "licenses" else "k" for v in order]
    axis.scatter(range(len(order)), np.zeros(len(order)), c=colours, zorder=3, s=40)
    if trait == "licenses":
        licences.legend(axis)
    axis.set_xticks(range(len(order)), order, rotation=60, ha="right", fontsize=8)
    axis.set_yticks([])
    span = max(len(order), 2) * 0.45
    axis.set(xlim=(-1, max(len(order), 1)), ylim=(-span, span))
    axis.set_title(
        f"{trait}: oriented transitions in the optimal order "
        "(blue: downstream, red: against the order; width: net traffic)"
    )
    return _save(figure, out_dir, f"{trait}_transition_graph")


def plot_edge_drift(drift: pd.DataFrame, out_dir: Path) -> Path:
    data = drift.set_index("relation")
    figure, axes = plt.subplots(1, 3, figsize=(14, 4.5))
    x = np.arange(len(data))
    pairs = (
        ("mean_parent_card_chars", "mean_child_card_chars", "Card length (chars, both have one)"),
        ("share_parent_auto_generated", "share_child_auto_generated", "Auto-generated card share"),
        ("mean_parent_languages", "mean_child_languages", "Languages (both report >= 1)"),
    )
    for axis, (parent, child, title) in zip(axes, pairs, strict=True):
        axis.bar(x - 0.2, data[parent].astype(float), 0.4, label="parent")
        axis.bar(x + 0.2, data[child].astype(float), 0.4, label="child")
        axis.set_xticks(x, data.index, rotation=30)
        axis.set_title(title, fontsize=10)
        axis.legend(fontsize=8)
    return _save(figure, out_dir, "parent_vs_child_by_relation")


def example_families(con, n: int = 3, max_size: int = 40) -> pd.DataFrame:
    """Members of the n largest families of at most max_size models that span 3+ generations."""
    return _df(
        con,
        """
        with families as (
            select family_root_id, count(*) as size, max(depth) as generations
            from marts.dim_model_family group by 1
            having count(*) between 4 and $max_size and max(depth) >= 2
            order by size desc, family_root_id limit $n
        )
        select f.family_root_id, f.model_id, f.primary_parent_id, f.depth,
               m.licenses[1] as license
        from marts.dim_model_family as f
        join families using (family_root_id)
        join marts.dim_models as m using (model_id)
        order by f.family_root_id, f.depth, f.model_id
        """,
        {"n": n, "max_size": max_size},
    )


def _tree_layout(members: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Leaves spread left to right in depth-first order; parents centred over their children."""
    children: dict[str, list[str]] = {}
    ids = set(members["model_id"])
    roots = []
    for model_id, parent in zip(members["model_id"], members["primary_parent_id"], strict=True):
        if parent in ids and parent != model_id:
            children.setdefault(parent, []).append(model_id)
        else:
            roots.append(model_id)
    layout: dict[str, tuple[float, float]] = {}
    next_leaf = [0.0]

    def place(node: str, depth: int) -> float:
        kids = [k for k in children.get(node, []) if k not in layout]
        layout[node] = (0.0, -depth)
        if not kids:
            x = next_leaf[0]
            next_leaf[0] += 1
        else:
            x = float(np.mean([place(k, depth + 1) for k in kids]))
        layout[node] = (x, -depth)
        return x

    for root in roots:
        place(root, 0)
    return layout


def plot_family_trees(families: pd.DataFrame, out_dir: Path, licences: LicenseColours) -> Path:
    groups = list(families.groupby("family_root_id", sort=False))
    figure, axes = plt.subplots(1, max(len(groups), 1), figsize=(6 * max(len(groups), 1), 5))
    axes = np.atleast_1d(axes)
    for axis, (root, members) in zip(axes, groups, strict=False):
        layout = _tree_layout(members)
        for child, parent in zip(members["model_id"], members["primary_parent_id"], strict=True):
            if parent in layout and child in layout:
                (x1, y1), (x2, y2) = layout[parent], layout[child]
                axis.plot([x1, x2], [y1, y2], color="0.6", linewidth=0.8, zorder=1)
        for model_id, licence in zip(members["model_id"], members["license"], strict=True):
            x, y = layout[model_id]
            axis.scatter(x, y, color=licences.of(licence), s=50, zorder=2)
        axis.set_title(f"{root} ({len(members)} models)", fontsize=9)
        axis.axis("off")
    licences.legend(axes[0], title="license category")
    figure.suptitle("Example family trees (primary parent edges; colour: license category)")
    return _save(figure, out_dir, "family_trees")


def _pick(frame: pd.DataFrame, column: str, **where) -> float | None:
    rows = frame
    for key, value in where.items():
        rows = rows[rows[key] == value]
    if rows.empty or pd.isna(rows[column].iloc[0]):
        return None
    return float(rows[column].iloc[0])


def our_numbers(con, similarity, mutation, orderings, transitions, drift) -> dict[str, object]:
    """Our value for every key of PAPER_NUMBERS (None where the data has none).

    Edge counts use the paper's rule (`marts.lineage_edge_counts`, edge_rule = 'paper').
    """
    edges = dict(
        con.execute(
            "select relation, n_edges from marts.lineage_edge_counts where edge_rule = 'paper'"
        ).fetchall()
    )
    models, card_share, card_eligible = con.execute(
        """
        select count(*), avg(coalesce(has_card, false)::int),
               count(*) filter (where card_length_chars >= 512
                                  and not coalesce(card_is_auto_generated, false))
        from marts.dim_models
        """
    ).fetchall()[0]
    sim = similarity[similarity["level"] == "configuration"]

    def similarity_of(text, metric, configuration, index):
        return _pick(
            sim, "mean", text=text, metric=metric, configuration=configuration, config_index=index
        )

    def ordering_stat(trait, column):
        return _pick(orderings, column, trait=trait, position=0)

    languages = orderings[orderings["trait"] == "languages"].sort_values("position")
    license_rows = orderings[orderings["trait"] == "licenses"]["value"].tolist()
    license_counts = transitions[transitions["trait"] == "licenses"]
    oriented, _ = oriented_graph(
        {
            (a, b): int(n)
            for a, b, n in zip(
                license_counts["from_value"],
                license_counts["to_value"],
                license_counts["n_transitions"],
                strict=True,
            )
        },
        license_rows,
    )
    heaviest = max(oriented.items(), key=lambda item: (item[1], item[0]), default=None)
    overall = drift[drift["relation"] == "all"]
    mutation_finetune = mutation[mutation["relation"] == "finetune"]
    meta = "metadata_paper"
    return {
        "models": models,
        "edges": edges.get("all", 0),
        "edges_finetune": edges.get("finetune", 0),
        "edges_adapter": edges.get("adapter", 0),
        "edges_quantized": edges.get("quantized", 0),
        "card_share": card_share,
        "nodes_card_eligible": card_eligible,
        "sim_meta_tfidf_random": similarity_of(meta, "tfidf", "rando", 1),
        "sim_meta_tfidf_duo": similarity_of(meta, "tfidf", "duo", 1),
        "sim_meta_tfidf_trio1_pc": similarity_of(meta, "tfidf", "trio_1", 1),
        "sim_meta_tfidf_trio1_sib": similarity_of(meta, "tfidf", "trio_1", 2),
        "sim_meta_lev_trio1_sib": similarity_of(meta, "levenshtein", "trio_1", 2),
        "sim_card_tfidf_random": similarity_of("card", "tfidf", "rando", 1),
        "sim_card_tfidf_duo": similarity_of("card", "tfidf", "duo", 1),
        "sim_card_tfidf_trio1_sib": similarity_of("card", "tfidf", "trio_1", 2),
        "mutation_languages": _pick(mutation_finetune, "mutation_rate", trait="languages"),
        "mutation_licenses": _pick(mutation_finetune, "mutation_rate", trait="licenses"),
        "mutation_tasks": _pick(mutation_finetune, "mutation_rate", trait="pipeline_tag"),
        "licenses_compatible": ordering_stat("licenses", "compatible_share"),
        "licenses_accounted": ordering_stat("licenses", "accounted_share"),
        "languages_compatible": ordering_stat("languages", "compatible_share"),
        "languages_accounted": ordering_stat("languages", "accounted_share"),
        "languages_sink": languages["value"].iloc[-1] if len(languages) else None,
        "tasks_accounted": ordering_stat("pipeline_tag", "accounted_share"),
        "libraries_accounted": ordering_stat("library_name", "accounted_share"),
        "top_license_flow": f"{heaviest[0][0]} -> {heaviest[0][1]}" if heaviest else None,
        "card_len_parent": _pick(overall, "mean_parent_card_chars"),
        "card_len_child": _pick(overall, "mean_child_card_chars"),
        "auto_delta": (
            _pick(overall, "share_child_auto_generated")
            - _pick(overall, "share_parent_auto_generated")
            if not overall.empty
            else None
        ),
        "langs_parent": _pick(overall, "mean_parent_languages"),
        "langs_child": _pick(overall, "mean_child_languages"),
    }


def _format(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, str):
        return value
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if float(value).is_integer() and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:,.1f}"


def headline_table(ours: dict[str, object], data_caveat: str) -> pd.DataFrame:
    rows = []
    for number in PAPER_NUMBERS:
        caveats = "; ".join(c for c in (number.caveat, data_caveat) if c)
        rows.append(
            {
                "quantity": number.label,
                "paper (reference)": _format(number.value),
                "ours": _format(ours.get(number.key)),
                "paper-notes": f"§{number.source}",
                "caveat": caveats,
            }
        )
    return pd.DataFrame(rows)


def _table(frame: pd.DataFrame) -> str:
    return frame.to_markdown(index=False, floatfmt=".3f") if not frame.empty else "(no rows)"


def children_with_children_table(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["paper"] = [_format(PAPER_CHILDREN_WITH_CHILDREN.get(r)) for r in frame["relation"]]
    return frame.sort_values("n_children", ascending=False)


def ordering_lines(orderings: pd.DataFrame, language_names: dict[str, str]) -> list[str]:
    lines = []
    for trait in ORDERED_TRAITS:
        group = orderings[orderings["trait"] == trait].sort_values("position")
        if group.empty:
            continue
        values = group["value"].tolist()
        if trait == "languages":
            values = [f"{v} ({language_names[v]})" if v in language_names else v for v in values]
        lines += [
            f"- **{trait}** (ours): {' → '.join(values)} "
            f"(compatible {_format(group['compatible_share'].iloc[0])}, "
            f"mutations accounted {_format(group['accounted_share'].iloc[0])})",
            f"  - paper (§4.6): {PAPER_ORDERINGS[trait].replace(', ', ' → ')}",
        ]
    return lines


def build_report(con: duckdb.DuckDBPyConnection, out_dir: Path, source: Provenance) -> Report:
    """Read the analytics tables and marts, draw every figure, write `report.md`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    similarity = _df(con, "select * from analytics.similarity_by_configuration")
    mutation = _df(con, "select * from analytics.trait_mutation_rates")
    transitions = _df(con, "select * from analytics.trait_transitions")
    orderings = _df(con, "select * from analytics.trait_orderings")
    drift = _df(con, "select * from marts.drift_by_relation order by n_edges desc")
    edge_counts = _df(
        con, "select * from marts.lineage_edge_counts order by edge_rule desc, n_edges desc"
    )
    top_values = _df(con, "select * from marts.ecosystem_top_values")
    monthly = _df(con, "select * from marts.models_created_monthly order by created_month")
    children = _df(con, "select * from marts.children_with_children")
    language_names = dict(
        con.execute("select language_code, language_name from marts.iso_639_1_languages").fetchall()
    )
    licences = LicenseColours(con)
    families = example_families(con)
    figures = {
        "similarity_by_configuration": plot_similarity_by_configuration(similarity, out_dir),
        "similarity_pooled_by_relationship": plot_similarity_pooled(similarity, out_dir),
        "ecosystem_summary": plot_ecosystem_summary(top_values, out_dir),
        "created_at_histogram": plot_created_histogram(monthly, out_dir),
        "families_over_time": plot_families_over_time(con, out_dir),
        **{
            f"{trait}_transition_graph": plot_trait_graph(
                orderings, transitions, trait, out_dir, licences
            )
            for trait in ORDERED_TRAITS
        },
        "parent_vs_child_by_relation": plot_edge_drift(drift, out_dir),
        "family_trees": plot_family_trees(families, out_dir, licences),
    }
    headlines = headline_table(
        our_numbers(con, similarity, mutation, orderings, transitions, drift), source.data_caveat
    )
    pooled = similarity[(similarity["level"] == POOLED) & (similarity["metric"] == "tfidf")][
        ["text", "relationship", "n_pairs", "mean", "ci_low", "ci_high"]
    ]
    run = similarity.iloc[0] if len(similarity) else None
    sections = [
        "# Anatomy of the ecosystem: reproduction report",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.\n\n"
        f"- Warehouse: `{source.warehouse}`\n- Build: {source.build}\n"
        f"- Data: {source.data_caveat or 'n/a'}",
        "## Headline numbers, paper vs ours",
        "Paper values are reference values from `paper-notes.md` section 4 (kept in "
        "`orchestration/analytics/paper_reference.py`), not results of this run. Edge counts "
        "use the paper's rule: an edge is declared by a `base_model:` tag (typed or untyped) "
        "and its parent is a model of the snapshot (`marts.fct_model_edges.in_paper_graph`).",
        _table(headlines),
        "## Lineage edges by rule and evidence",
        "`paper`: tags only, parent in the snapshot, relation from typed tags (self-loops kept, "
        "as the paper does). `ours`: tags and `cardData.base_model`, parent in the Hub, "
        "self-loops out; the drift, mutation and ordering analyses use these. "
        "Query: `select * from marts.lineage_edge_counts`, or "
        "`select evidence, in_paper_graph, count(*) from marts.fct_model_edges group by all`.",
        _table(edge_counts),
        "## Similarity within each local family configuration",
        (
            f"Graph: {run['graph_relations']} edges by the {run['edge_rule']} rule; "
            f"{run['n_samples']} structures per configuration, drawn with the paper's weights; "
            f"seed {run['seed']}; {run['resamples']} bootstrap resamples. The random baseline "
            "draws two distinct models uniformly from every model of the warehouse."
            if run is not None
            else "No similarity rows."
        ),
        "Texts: "
        + "; ".join(f"`{text}` = {label}" for text, label in TEXT_LABELS.items())
        + ". The paper's text repeats the child's id and names its parent, which inflates "
        "parent-child similarity; the leakage-free text removes both.",
        "![similarity by configuration](similarity_by_configuration.png)",
        "### Siblings vs parent-child inside each configuration (TF-IDF)",
        _table(sibling_contrasts(similarity)),
        *[
            part
            for text in TEXTS
            for part in (
                f"### `{text}`: every role, mean [95% CI]",
                _table(configuration_table(similarity, text)),
            )
        ],
        "### Secondary view (not the paper's): pairs pooled by relationship",
        "Pooling mixes roles of different configurations: most pooled parent-child pairs come "
        "from chains, which exist only below depth 1. Use the per-configuration view above.",
        "![pooled](similarity_pooled_by_relationship.png)",
        _table(pooled),
        "## The ecosystem in top-10 panels (the paper's summary figure)",
        "The paper's arXiv panel counts arXiv *categories*; the warehouse has no id → category "
        "map, so ours counts the linked arXiv ids (paper values shown are categories).",
        "![summary](ecosystem_summary.png)",
        *summary_tables(top_values),
        "## Models by creation month",
        "![createdAt](created_at_histogram.png)",
        "## Children that have children, per edge type (no-merges graph, paper's rule)",
        _table(children_with_children_table(children)),
        "## Largest families over time",
        "![families](families_over_time.png)",
        "## Mutation rates (mean Jaccard distance, edges where both sides have the trait)",
        _table(mutation),
        "## Directed drift: optimal orderings of the top values",
        "\n".join(ordering_lines(orderings, language_names)) or "(no orderings)",
        *[f"![{trait}]({trait}_transition_graph.png)" for trait in ORDERED_TRAITS],
        "## Parent vs child by relation (`marts.drift_by_relation`)",
        _table(drift),
        "![drift](parent_vs_child_by_relation.png)",
        "## Example family trees",
        "![trees](family_trees.png)",
    ]
    markdown = "\n\n".join(sections) + "\n"
    path = out_dir / "report.md"
    path.write_text(markdown, encoding="utf-8")
    return Report(markdown=markdown, path=path, figures=figures, headlines=headlines)
