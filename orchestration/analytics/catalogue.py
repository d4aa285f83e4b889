"""Descriptions of the Python-written `analytics.*` tables, stored as database comments.

dbt writes comments for what it builds (persist_docs); these tables are written by Dagster
assets, so `comment_analytics_table` writes theirs where each table is written.
"""

from __future__ import annotations

import duckdb

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "similarity_by_configuration": (
        "Mean similarity of sampled relatives within each of the paper's local family "
        "configurations (duo, trio_1, ...; level 'configuration'), with a 95% bootstrap "
        "interval; level 'pooled' pools the pairs by relationship (secondary, not the paper's).",
        {
            "level": "configuration (the paper's comparison, within one sampled structure) or "
            "pooled (pairs of every configuration by relationship; secondary)",
            "configuration": "The sampled family configuration (the paper's sample helpers).",
            "config_index": "Index of the configuration within its sampler.",
            "relationship": "Role of the pair in the configuration (siblings, parent-child, ...).",
            "generations_apart": "Generations between the two models, when one value.",
            "text": "The DNA text compared: metadata_paper (the paper's fullJson, modelId "
            "included), metadata_noleak (ours, without the ids that leak kinship) or card.",
            "metric": "Similarity: levenshtein, bow (bag-of-words cosine) or tfidf.",
            "n_pairs": "Pairs sampled and scored.",
            "mean": "Mean similarity of the pairs.",
            "ci_low": "Lower end of the 95% bootstrap interval of the mean.",
            "ci_high": "Upper end of the 95% bootstrap interval of the mean.",
            "graph_relations": "Relations whose edges formed the forest sampled, comma-separated.",
            "edge_rule": "Which edges formed the forest: paper (base_model tags, parent in the "
            "snapshot) or ours (tags and cardData).",
            "n_samples": "Pairs asked of each sampler.",
            "seed": "Random seed of the sampling.",
            "resamples": "Bootstrap resamples behind the interval.",
        },
    ),
    "trait_mutation_rates": (
        "Mean Jaccard distance of each trait along edges of each relation type (edges where "
        "both sides carry the trait), plus 'all' (the paper's mutation rates).",
        {
            "trait": "licenses, languages, pipeline_tag or library_name.",
            "relation": "Relation of the edges (untyped for none; all pools them).",
            "edges_total": "Edges of that relation.",
            "edges_counted": "Edges where parent and child both carry the trait.",
            "mutation_rate": "Mean Jaccard distance over the counted edges.",
        },
    ),
    "trait_transitions": (
        "Directed transition counts between values of each trait along edges of the "
        "relations in use (additions and removals, as the paper counts them).",
        {
            "trait": "licenses, languages, pipeline_tag or library_name.",
            "from_value": "Parent's value (null for a value the child adds).",
            "to_value": "Child's value (null for a value the child drops).",
            "n_added": "Edges where the child adds to_value.",
            "n_removed": "Edges where the child drops from_value.",
            "n_transitions": "n_added + n_removed.",
        },
    ),
    "trait_orderings": (
        "Exact maximum-weight linear ordering of each trait's top values (the paper's "
        "orderings), with the share of compatible edges and of mutations accounted for.",
        {
            "trait": "licenses, languages, pipeline_tag or library_name.",
            "position": "Position of the value in the ordering (0 = first).",
            "value": "The trait value.",
            "n_models": "Models carrying the value.",
            "top_n": "Number of values ordered.",
            "oriented_edges": "Edges between two ordered values.",
            "compatible_edges": "Edges going forward in the ordering.",
            "compatible_share": "compatible_edges / oriented_edges.",
            "mutations_total": "Trait mutations along the edges.",
            "mutations_accounted": "Mutations between ordered values.",
            "accounted_share": "mutations_accounted / mutations_total.",
            "traffic": "Total weight of the transitions between ordered values.",
            "total_n": "Values of the trait before taking the top ones.",
            "graph_relations": "Relations whose edges were used, comma-separated.",
        },
    ),
}


def comment_analytics_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Write the table and column comments of `analytics.<name>`; an undocumented table or
    column is an error, so a new column cannot reach analysts without a description."""
    description, columns = TABLES[name]
    con.execute(f"comment on table analytics.{name} is {_literal(description)}")
    stored = [
        column
        for (column,) in con.execute(
            "select column_name from duckdb_columns() "
            "where schema_name = 'analytics' and table_name = $name",
            {"name": name},
        ).fetchall()
    ]
    missing = [column for column in stored if column not in columns]
    if missing:
        raise ValueError(f"analytics.{name}: no description for {missing}")
    for column in stored:
        con.execute(f'comment on column analytics.{name}."{column}" is {_literal(columns[column])}')


def _literal(text: str) -> str:
    # COMMENT ON takes no parameters; the texts are this module's constants.
    return "'" + text.replace("'", "''") + "'"
