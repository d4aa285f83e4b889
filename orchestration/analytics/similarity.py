"""Genetic similarity of relatives: the paper's metrics on three "DNA" texts, plus trait Jaccard.

Metrics (paper-notes 3.1): normalised Levenshtein similarity, bag-of-words and TF-IDF cosine
(512 features, 1-2-grams, lowercase, no stop words), Jaccard over trait sets. DNA texts:
- `metadata_paper`: the paper's text, Python `str()` of the list endpoint's default item
  (`fullJson`): its fields in its order, `modelId` (= the repo id) included;
- `metadata_noleak`: ours, the same without the model's own ids (`_id`, `id`, `modelId`) and
  its `base_model:` tags, which name the parent and so inflate parent-child similarity;
- `card`: the first 512 characters of the README; only cards of at least 512 characters that
  are not auto-generated.

The statistic is the paper's: per local family configuration and per role in it (section
3.2), the mean and a 95% bootstrap interval. Pooling the roles of all configurations by
relationship is kept as a secondary, labelled view (`level = 'pooled'`): chains exist only
below depth 1, so pooled parent-child pairs do not compare like with like.

Vectorisers are fitted once per text over the models of the graph in use. At Hub scale that
corpus is bounded: a deterministic hash sample of at most `fit_sample` models, chosen in SQL.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.preprocessing import normalize

from ingestion.hub_client import DEFAULT_LIST_FIELDS
from orchestration.analytics.relatives import build_forest, sample_pairs, scalar

CARD_DNA_CHARS = 512
MAX_FEATURES = 512
NGRAM_RANGE = (1, 2)
# The paper's metadata text is the list endpoint's default item (`fullJson`): the same fields.
PAPER_METADATA_FIELDS = DEFAULT_LIST_FIELDS
OWN_ID_FIELDS = ("_id", "id", "modelId")
TEXTS = ("metadata_paper", "metadata_noleak", "card")
TEXT_LABELS = {
    "metadata_paper": "metadata, the paper's text (fullJson: ids, modelId and base_model tags)",
    "metadata_noleak": "metadata, leakage-free (ours: no own ids, no base_model tags)",
    "card": "model card, first 512 characters",
}
POOLED = "pooled"
TEXT_METRICS = ("tfidf", "bow", "levenshtein")
TRAIT_SETS = ("licenses", "languages", "datasets", "tags")


@dataclass(frozen=True)
class SimilarityParams:
    """Sample sizes and seeds: everything that decides the result besides the data."""

    relations: tuple[str, ...] = ("finetune",)
    edge_rule: str = "paper"
    n_samples: int = 1000
    seed: int = 0
    resamples: int = 2_000
    fit_sample: int = 20_000


def levenshtein_similarity(a: str, b: str) -> float:
    """1 - lev(a, b) / max(len(a), len(b)); 1 for two empty strings."""
    return float(Levenshtein.normalized_similarity(a, b))


def jaccard_similarity(a, b) -> float:
    """|A & B| / |A | B| over the sets of values; NaN unless both sides have the trait."""
    first, second = _as_set(a), _as_set(b)
    if not first or not second:
        return float("nan")
    return len(first & second) / len(first | second)


def _as_set(values) -> set:
    if values is None or (isinstance(values, float) and np.isnan(values)):
        return set()
    return set(values)


def metadata_text(payload: dict | str, leak_free: bool = False) -> str:
    """The metadata DNA: `str()` of the list endpoint's default item, in its field order.

    Listings with `expand` and imported snapshots do not store `modelId`; the Hub always sets
    it to the repo id, so the paper's text gets it back. Fields the payload lacks (e.g.
    `trendingScore`) stay out.
    """
    item = json.loads(payload) if isinstance(payload, str) else payload
    if "modelId" not in item and "id" in item:
        item = {**item, "modelId": item["id"]}
    fields = {key: item[key] for key in PAPER_METADATA_FIELDS if key in item}
    if leak_free:
        for key in OWN_ID_FIELDS:
            fields.pop(key, None)
        tags = fields.get("tags") or []
        fields["tags"] = [tag for tag in tags if not tag.startswith("base_model:")]
    return str(fields)


def card_dna(card: str | None, auto_generated: bool | None) -> str | None:
    """The first 512 characters of an eligible card, else None."""
    if card is None or len(card) < CARD_DNA_CHARS or auto_generated:
        return None
    return card[:CARD_DNA_CHARS]


@dataclass(frozen=True)
class TextVectorizer:
    """Bag-of-words counts over the paper's 512 features and the TF-IDF weights of the same
    counts: what `CountVectorizer` and `TfidfVectorizer` give, with one tokenisation, not two."""

    counts: CountVectorizer
    idf: TfidfTransformer

    @property
    def vocabulary(self) -> dict[str, int]:
        return self.counts.vocabulary_


def fit_vectorizers(corpus: list[str]) -> TextVectorizer:
    """The vocabulary (the 512 most frequent 1-2-grams, lowercased) and IDF of one corpus."""
    counts = CountVectorizer(
        max_features=MAX_FEATURES, lowercase=True, ngram_range=NGRAM_RANGE, dtype=np.float64
    )
    return TextVectorizer(counts, TfidfTransformer().fit(counts.fit_transform(corpus)))


def paired_cosines(
    vectorizer: TextVectorizer, first: list[str], second: list[str]
) -> dict[str, np.ndarray]:
    """Bag-of-words and TF-IDF cosine of each (first[i], second[i]); 0 when a text has no
    known term.

    Each distinct text is tokenised once: relatives repeat across sampled pairs.
    """
    row_of = {text: row for row, text in enumerate(dict.fromkeys([*first, *second]))}
    counts = vectorizer.counts.transform(list(row_of))
    rows_a = [row_of[text] for text in first]
    rows_b = [row_of[text] for text in second]
    cosines = {}
    for metric, matrix in (("bow", counts), ("tfidf", vectorizer.idf.transform(counts))):
        vectors = normalize(matrix)
        products = vectors[rows_a].multiply(vectors[rows_b]).sum(axis=1)
        cosines[metric] = np.clip(np.asarray(products).ravel(), 0.0, 1.0)
    return cosines


def bootstrap_mean_ci(
    values: np.ndarray, resamples: int, seed: int, level: float = 0.95, chunk: int = 500
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and percentile bootstrap CI of every column of `values` (n pairs x m metrics).

    Pairs are resampled as a whole; NaN marks a pair where a metric is undefined (e.g. an
    ineligible card), so each resample's mean is taken over its defined pairs.
    Returns (n_defined, mean, ci_low, ci_high).
    """
    values = np.asarray(values, dtype=float)
    n, m = values.shape
    defined = ~np.isnan(values)
    filled = np.where(defined, values, 0.0)
    counts = defined.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = filled.sum(axis=0) / counts
    if n == 0:
        empty = np.full(m, np.nan)
        return counts, empty, empty, empty
    rng = np.random.default_rng(seed)
    boot = np.empty((resamples, m))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        picks = rng.integers(0, n, size=(size, n))
        flat = (np.arange(size)[:, None] * n + picks).ravel()
        weights = np.bincount(flat, minlength=size * n).reshape(size, n).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            boot[start : start + size] = (weights @ filled) / (weights @ defined)
    tail = (1 - level) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a metric with no defined pair
        low = np.nanpercentile(boot, tail, axis=0) if resamples else means
        high = np.nanpercentile(boot, 100 - tail, axis=0) if resamples else means
    return counts, means, low, high


def _has_relation(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        scalar(
            con,
            "select count(*) from duckdb_tables() where schema_name = $s and table_name = $n",
            {"s": schema, "n": name},
        )
        + scalar(
            con,
            "select count(*) from duckdb_views() where schema_name = $s and view_name = $n",
            {"s": schema, "n": name},
        )
    )


def _wanted_cards(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """The card text of each model in `similarity_wanted`, read on its own: inside a wider
    join DuckDB did not always narrow the view's own joins by the ids, and read every card."""
    if not _has_relation(con, "staging", "stg_hub__model_cards"):
        return {}
    return dict(
        con.execute(
            """
            select c.model_id, c.card_text
            from similarity_wanted as w
            join staging.stg_hub__model_cards as c on c.model_id = w.model_id
            """
        ).fetchall()
    )


def load_texts(
    con: duckdb.DuckDBPyConnection, model_ids: list[str], fit_sample: int, seed: int
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The traits and DNA texts of the sampled models (indexed by model_id), and the texts each
    vectoriser is fitted on.

    Fit corpora are a deterministic hash sample of at most `fit_sample` models in use (for
    cards, of the models with an eligible card, as `dim_models` says; a few more are drawn, for
    cards fetched again since the build). Both sets are read together: each read of the
    payloads and cards scans them whole at Hub scale.

    The wanted ids go to a temp table first, so that DuckDB knows their count. As a CTE inside
    one wide join, on some warehouses it guessed millions and built its hash table over every
    stored card (6 GB and a spill at 3M models; 14 s against 2 s).
    """
    ids = pd.DataFrame({"model_id": sorted(set(model_ids))})
    con.register("profile_ids", ids)
    try:
        con.execute(
            """
            create or replace temp table similarity_wanted as
            with metadata_fit as (
                select model_id, hash(model_id, $seed) as metadata_draw
                from marts.dim_models
                order by metadata_draw
                limit $n
            ),
            card_fit as (
                select model_id, hash(model_id, $seed) as card_draw
                from marts.dim_models
                where card_length_chars >= $chars and not coalesce(card_is_auto_generated, false)
                order by card_draw
                limit $n + $n // 20 + 100
            ),
            wanted as (
                select model_id from profile_ids
                union select model_id from metadata_fit
                union select model_id from card_fit
            )
            select w.model_id, p.model_id is not null as is_sampled,
                   f.metadata_draw, g.card_draw
            from wanted as w
            left join profile_ids as p on p.model_id = w.model_id
            left join metadata_fit as f on f.model_id = w.model_id
            left join card_fit as g on g.model_id = w.model_id
            """,
            {"seed": seed, "n": fit_sample, "chars": CARD_DNA_CHARS},
        )
    finally:
        con.unregister("profile_ids")
    try:
        frame = con.execute(
            """
            select m.model_id, w.is_sampled, w.metadata_draw, w.card_draw,
                   s.payload::varchar as payload,
                   list_filter(s.tags, lambda t: not starts_with(t, 'base_model:')) as tags,
                   m.licenses, m.languages, m.datasets, m.card_is_auto_generated
            from similarity_wanted as w
            join marts.dim_models as m on m.model_id = w.model_id
            join staging.stg_hub__models as s on s.model_id = m.model_id
            """
        ).df()
        card_of = _wanted_cards(con)
        frame["card_text"] = [card_of.get(model_id) for model_id in frame["model_id"]]
    finally:
        con.execute("drop table if exists similarity_wanted")
    frame = _with_dna(frame)
    # Ties broken by id: DuckDB's 64-bit hash does collide (seen at 3M synthetic models).
    metadata = frame.dropna(subset=["metadata_draw"]).sort_values(["metadata_draw", "model_id"])
    cards = frame.dropna(subset=["card_draw"]).sort_values(["card_draw", "model_id"])
    corpora = {
        "metadata_paper": metadata["metadata_paper"].tolist(),
        "metadata_noleak": metadata["metadata_noleak"].tolist(),
        "card": cards["card"].dropna().head(fit_sample).tolist(),
    }
    profiles = frame[frame["is_sampled"]].drop(columns=["is_sampled", "metadata_draw", "card_draw"])
    return profiles.set_index("model_id"), corpora


def _with_dna(frame: pd.DataFrame) -> pd.DataFrame:
    frame["metadata_paper"] = [metadata_text(p) for p in frame["payload"]]
    frame["metadata_noleak"] = [metadata_text(p, leak_free=True) for p in frame["payload"]]
    frame["card"] = [
        card_dna(card, auto)
        for card, auto in zip(frame["card_text"], frame["card_is_auto_generated"], strict=True)
    ]
    return frame


def score_pairs(
    pairs: pd.DataFrame, profiles: pd.DataFrame, vectorizers: dict[str, TextVectorizer]
) -> pd.DataFrame:
    """One column per (text, metric): the similarity of each pair, NaN where undefined."""
    known = pairs["a_id"].isin(profiles.index) & pairs["b_id"].isin(profiles.index)
    pairs = pairs[known].reset_index(drop=True)
    scores = pairs.copy()
    a = profiles.loc[pairs["a_id"]].reset_index(drop=True)
    b = profiles.loc[pairs["b_id"]].reset_index(drop=True)
    for text in TEXTS:
        both = (a[text].notna() & b[text].notna()).to_numpy()
        first = a.loc[both, text].tolist()
        second = b.loc[both, text].tolist()
        columns = {
            "levenshtein": [
                levenshtein_similarity(x, y) for x, y in zip(first, second, strict=True)
            ]
        }
        if text in vectorizers and first:
            columns.update(paired_cosines(vectorizers[text], first, second))
        for metric in TEXT_METRICS:
            column = np.full(len(pairs), np.nan)
            if metric in columns and both.any():
                column[both] = columns[metric]
            scores[f"{text}:{metric}"] = column
    for trait in TRAIT_SETS:
        scores[f"traits:jaccard_{trait}"] = [
            jaccard_similarity(x, y) for x, y in zip(a[trait], b[trait], strict=True)
        ]
    return scores


def metric_columns(scores: pd.DataFrame) -> list[str]:
    return [c for c in scores.columns if ":" in c]


def summarise(scores: pd.DataFrame, params: SimilarityParams) -> pd.DataFrame:
    """Mean and 95% bootstrap CI per configuration and role; pooled by relationship apart."""
    columns = metric_columns(scores)
    rows = []
    groups = [
        ("configuration", key, group)
        for key, group in scores.groupby(
            ["configuration", "config_index", "relationship"], sort=True
        )
    ] + [
        (POOLED, (POOLED, 0, relationship), group)
        for relationship, group in scores.groupby("relationship", sort=True)
    ]
    for number, (level, (configuration, index, relationship), group) in enumerate(groups):
        generations = group["generations_apart"].dropna().unique()
        counts, means, low, high = bootstrap_mean_ci(
            group[columns].to_numpy(), params.resamples, seed=params.seed * 7919 + number
        )
        for column, count, mean, lo, hi in zip(columns, counts, means, low, high, strict=True):
            text, metric = column.split(":")
            rows.append(
                {
                    "level": level,
                    "configuration": configuration,
                    "config_index": int(index),
                    "relationship": relationship,
                    "generations_apart": int(generations[0]) if len(generations) == 1 else None,
                    "text": text,
                    "metric": metric,
                    "n_pairs": int(count),
                    "mean": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
    result = pd.DataFrame(rows)
    result["graph_relations"] = ",".join(params.relations)
    result["edge_rule"] = params.edge_rule
    result["n_samples"] = params.n_samples
    result["seed"] = params.seed
    result["resamples"] = params.resamples
    return result


def similarity_by_configuration(
    con: duckdb.DuckDBPyConnection, params: SimilarityParams
) -> tuple[pd.DataFrame, dict]:
    """Sample relatives, score them, summarise; returns the table and run facts."""
    forest = build_forest(con, list(params.relations), params.edge_rule)
    pairs = sample_pairs(con, params.n_samples, params.seed)
    profiles, corpora = load_texts(
        con, pd.concat([pairs["a_id"], pairs["b_id"]]).tolist(), params.fit_sample, params.seed
    )
    vectorizers = {text: fit_vectorizers(corpus) for text, corpus in corpora.items() if corpus}
    scores = score_pairs(pairs, profiles, vectorizers)
    facts = {
        **{f"forest_{k}": v for k, v in forest.items()},
        "pairs": len(pairs),
        **{f"fit_corpus_{text}": len(corpus) for text, corpus in corpora.items()},
    }
    return summarise(scores, params), facts
