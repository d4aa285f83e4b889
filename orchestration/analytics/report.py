"""The reproduction report: Markdown plus PNG figures, from the marts and the analytics tables.

Everything drawn here is read from the warehouse; paper numbers come only from
`paper_reference.PAPER_NUMBERS` and are shown as reference values next to ours.
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
from orchestration.analytics.paper_reference import PAPER_NUMBERS  # noqa: E402

RELATIONSHIP_ORDER = (
    "random",
    "parent-child",
    "siblings",
    "grandparent-grandchild",
    "aunt/uncle-nephew",
    "cousins",
    "three generations apart",
)
LICENSE_COLOURS = {
    "permissive": ("mit", "apache-2.0", "unlicense", "cc0-1.0", "cc", "artistic-2.0", "afl-3.0"),
    "copyleft": ("cc-by-4.0", "cc-by-sa-4.0", "gpl-3.0", "gpl-2.0"),
    "commercial": ("gemma", "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3"),
    "use-restrictions": (
        "openrail++",
        "openrail",
        "creativeml-openrail-m",
        "bigscience-bloom-rail-1.0",
        "cc-by-nc-4.0",
        "cc-by-nc-sa-4.0",
        "cc-by-nc-nd-4.0",
    ),
}
CATEGORY_COLOUR = {
    "permissive": "tab:green",
    "copyleft": "tab:blue",
    "commercial": "tab:red",
    "use-restrictions": "tab:orange",
    "other": "tab:gray",
}
EDGE_FILTER = "e.parent_in_hub and not e.is_self_loop"


def license_category(value: str | None) -> str:
    """The paper's hand-coded legend categories (paper-notes 3.5)."""
    for category, values in LICENSE_COLOURS.items():
        if value in values:
            return category
    return "other"


@dataclass
class Report:
    markdown: str
    path: Path
    figures: dict[str, Path] = field(default_factory=dict)
    headlines: pd.DataFrame = field(default_factory=pd.DataFrame)


def _df(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pd.DataFrame:
    return con.execute(sql, params or {}).df()


def edge_drift(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per relation (and 'all'): card length, auto-generated share, languages, parent vs child."""
    return _df(
        con,
        f"""
        with pairs as (
            select coalesce(e.relation, 'untyped') as relation,
                   coalesce(p.has_card, false) as p_card, p.card_length_chars as p_len,
                   coalesce(p.card_is_auto_generated, false)::int as p_auto,
                   coalesce(len(p.languages), 0) as p_langs,
                   coalesce(c.has_card, false) as c_card, c.card_length_chars as c_len,
                   coalesce(c.card_is_auto_generated, false)::int as c_auto,
                   coalesce(len(c.languages), 0) as c_langs
            from marts.fct_model_edges as e
            join marts.dim_models as p on p.model_id = e.parent_id
            join marts.dim_models as c on c.model_id = e.child_id
            where {EDGE_FILTER}
        )
        select coalesce(relation, 'all') as relation,
               count(*) as edges,
               count(*) filter (where p_card and c_card) as edges_both_cards,
               avg(p_len) filter (where p_card and c_card) as parent_card_chars,
               avg(c_len) filter (where p_card and c_card) as child_card_chars,
               avg(p_auto) as parent_auto_share,
               avg(c_auto) as child_auto_share,
               count(*) filter (where p_langs > 0 and c_langs > 0) as edges_both_languages,
               avg(p_langs) filter (where p_langs > 0 and c_langs > 0) as parent_languages,
               avg(c_langs) filter (where p_langs > 0 and c_langs > 0) as child_languages
        from pairs
        group by grouping sets ((relation), ())
        order by edges desc
        """,
    )


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


def plot_similarity(similarity: pd.DataFrame, out_dir: Path) -> Path:
    pooled = similarity[similarity["level"] == "relationship"]
    texts = ("metadata", "metadata_noleak", "card")
    metrics = ("tfidf", "bow", "levenshtein")
    figure, axes = plt.subplots(len(texts), len(metrics), figsize=(13, 10), sharey=True)
    for row, text in enumerate(texts):
        for col, metric in enumerate(metrics):
            axis = axes[row][col]
            data = pooled[(pooled["text"] == text) & (pooled["metric"] == metric)]
            data = data.set_index("relationship").reindex(
                [r for r in RELATIONSHIP_ORDER if r in set(data["relationship"])]
            )
            y = data["mean"].to_numpy(dtype=float)
            errors = np.vstack(
                [
                    y - data["ci_low"].to_numpy(dtype=float),
                    data["ci_high"].to_numpy(dtype=float) - y,
                ]
            )
            axis.errorbar(
                range(len(y)), y, yerr=np.clip(np.nan_to_num(errors), 0, None), fmt="o", capsize=4
            )
            axis.set_xticks(range(len(y)), data.index, rotation=40, ha="right", fontsize=7)
            axis.set_title(f"{text} / {metric}", fontsize=9)
            axis.set_ylim(0, 1.05)
    figure.suptitle("Similarity by relationship (mean, 95% bootstrap interval)")
    return _save(figure, out_dir, "similarity_by_relationship")


def plot_trait_graph(orderings: pd.DataFrame, transitions: pd.DataFrame, trait: str, out_dir):
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
    colours = [CATEGORY_COLOUR[license_category(v)] if trait == "licenses" else "k" for v in order]
    axis.scatter(range(len(order)), np.zeros(len(order)), c=colours, zorder=3, s=40)
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
        ("parent_card_chars", "child_card_chars", "Card length (chars, both have a card)"),
        ("parent_auto_share", "child_auto_share", "Auto-generated card share"),
        ("parent_languages", "child_languages", "Languages per model (both report >= 1)"),
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


def plot_family_trees(families: pd.DataFrame, out_dir: Path) -> Path:
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
            axis.scatter(x, y, color=CATEGORY_COLOUR[license_category(licence)], s=50, zorder=2)
        axis.set_title(f"{root} ({len(members)} models)", fontsize=9)
        axis.axis("off")
    for category, colour in CATEGORY_COLOUR.items():
        axes[0].scatter([], [], color=colour, label=category)
    axes[0].legend(fontsize=7, loc="lower left", title="license")
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
    """Our value for every key of PAPER_NUMBERS (None where the data has none)."""
    edges = dict(
        con.execute(
            f"select coalesce(relation, 'untyped'), count(*) from marts.fct_model_edges as e "
            f"where {EDGE_FILTER} group by 1"
        ).fetchall()
    )
    models, card_share = con.execute(
        "select count(*), avg(coalesce(has_card, false)::int) from marts.dim_models"
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
    return {
        "models": models,
        "edges": sum(edges.values()),
        "edges_finetune": edges.get("finetune", 0),
        "edges_adapter": edges.get("adapter", 0),
        "edges_quantized": edges.get("quantized", 0),
        "card_share": card_share,
        "sim_meta_tfidf_random": similarity_of("metadata", "tfidf", "rando", 1),
        "sim_meta_tfidf_duo": similarity_of("metadata", "tfidf", "duo", 1),
        "sim_meta_tfidf_trio1_pc": similarity_of("metadata", "tfidf", "trio_1", 1),
        "sim_meta_tfidf_trio1_sib": similarity_of("metadata", "tfidf", "trio_1", 2),
        "sim_meta_lev_trio1_sib": similarity_of("metadata", "levenshtein", "trio_1", 2),
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
        "card_len_parent": _pick(overall, "parent_card_chars"),
        "card_len_child": _pick(overall, "child_card_chars"),
        "auto_delta": (
            _pick(overall, "child_auto_share") - _pick(overall, "parent_auto_share")
            if not overall.empty
            else None
        ),
        "langs_parent": _pick(overall, "parent_languages"),
        "langs_child": _pick(overall, "child_languages"),
    }


def _format(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, str):
        return value
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


def build_report(con: duckdb.DuckDBPyConnection, out_dir: Path, data_caveat: str) -> Report:
    """Read the analytics tables and marts, draw every figure, write `report.md`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    similarity = _df(con, "select * from analytics.similarity_by_relationship")
    mutation = _df(con, "select * from analytics.trait_mutation_rates")
    transitions = _df(con, "select * from analytics.trait_transitions")
    orderings = _df(con, "select * from analytics.trait_orderings")
    drift = edge_drift(con)
    families = example_families(con)
    figures = {
        "families_over_time": plot_families_over_time(con, out_dir),
        "similarity_by_relationship": plot_similarity(similarity, out_dir),
        "license_transition_graph": plot_trait_graph(orderings, transitions, "licenses", out_dir),
        "language_transition_graph": plot_trait_graph(orderings, transitions, "languages", out_dir),
        "parent_vs_child_by_relation": plot_edge_drift(drift, out_dir),
        "family_trees": plot_family_trees(families, out_dir),
    }
    headlines = headline_table(
        our_numbers(con, similarity, mutation, orderings, transitions, drift), data_caveat
    )
    pooled = similarity[
        (similarity["level"] == "relationship")
        & (similarity["metric"].isin(["tfidf", "jaccard_licenses"]))
    ][["text", "metric", "relationship", "n_pairs", "mean", "ci_low", "ci_high"]]
    ordering_lines = [
        f"- **{trait}**: {' → '.join(group.sort_values('position')['value'])} "
        f"(compatible {_format(group['compatible_share'].iloc[0])}, "
        f"mutations accounted {_format(group['accounted_share'].iloc[0])})"
        for trait, group in orderings.groupby("trait", sort=True)
    ]
    run = similarity.iloc[0] if len(similarity) else None
    sections = [
        "# Anatomy of the ecosystem: reproduction report",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from the warehouse marts. "
        f"Data: {data_caveat}.",
        "## Headline numbers, paper vs ours",
        "Paper values are reference values from `paper-notes.md` section 4 (kept in "
        "`orchestration/analytics/paper_reference.py`), not results of this run.",
        _table(headlines),
        "## Similarity by relationship",
        (
            f"Graph: {run['graph_relations']}; {run['n_samples']} structures per configuration; "
            f"seed {run['seed']}; {run['resamples']} bootstrap resamples."
            if run is not None
            else "No similarity rows."
        ),
        "![similarity](similarity_by_relationship.png)",
        _table(pooled),
        "## Mutation rates (mean Jaccard distance, edges where both sides have the trait)",
        _table(mutation),
        "## Directed drift: optimal orderings of the top values",
        "\n".join(ordering_lines) or "(no orderings)",
        "![licenses](licenses_transition_graph.png)",
        "![languages](languages_transition_graph.png)",
        "## Parent vs child by relation",
        _table(drift),
        "![drift](parent_vs_child_by_relation.png)",
        "## Largest families over time",
        "![families](families_over_time.png)",
        "## Example family trees",
        "![trees](family_trees.png)",
    ]
    markdown = "\n\n".join(sections) + "\n"
    path = out_dir / "report.md"
    path.write_text(markdown, encoding="utf-8")
    return Report(markdown=markdown, path=path, figures=figures, headlines=headlines)
