"""Each similarity metric and the bootstrap on inputs whose answer is known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from orchestration.analytics.similarity import (
    bootstrap_mean_ci,
    card_dna,
    fit_vectorizers,
    jaccard_similarity,
    levenshtein_similarity,
    metadata_text,
    paired_cosines,
)


def test_levenshtein_similarity_is_one_minus_distance_over_the_longer_length():
    assert levenshtein_similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)
    assert levenshtein_similarity("", "") == 1.0
    assert levenshtein_similarity("abc", "") == 0.0
    assert levenshtein_similarity("same", "same") == 1.0


def test_jaccard_similarity_over_sets_and_undefined_when_a_side_lacks_the_trait():
    assert jaccard_similarity(["a", "b"], ["b", "c"]) == pytest.approx(1 / 3)
    assert jaccard_similarity(["a", "a"], ["a"]) == 1.0
    assert math.isnan(jaccard_similarity([], ["a"]))
    assert math.isnan(jaccard_similarity(None, None))


def test_bag_of_words_and_tfidf_cosine_with_unigrams_and_bigrams():
    vectorizer = fit_vectorizers(["alpha beta", "alpha gamma"])
    # Vocabulary: alpha, beta, gamma, "alpha beta", "alpha gamma"; only "alpha" is shared.
    cosines = paired_cosines(vectorizer, ["alpha beta", "alpha beta"], ["alpha gamma", "x"])
    assert cosines["bow"][0] == pytest.approx(1 / 3)
    assert cosines["bow"][1] == 0.0  # no known term on one side
    assert cosines["tfidf"][1] == 0.0
    same = paired_cosines(vectorizer, ["alpha beta"], ["alpha beta"])
    assert same["tfidf"][0] == pytest.approx(1.0)
    # TF-IDF down-weights "alpha", which every document has, so the pair scores below BoW.
    assert 0 < cosines["tfidf"][0] < 1 / 3


def test_one_tokenisation_gives_what_the_two_sklearn_vectorizers_give():
    corpus = [f"model {i} fine-tuned from base {i % 7} on data {i % 3}" for i in range(300)]
    first, second = corpus[:150], corpus[150:]
    cosines = paired_cosines(fit_vectorizers(corpus), first, second)
    settings = {"max_features": 512, "lowercase": True, "ngram_range": (1, 2)}
    for name, reference in (("bow", CountVectorizer), ("tfidf", TfidfVectorizer)):
        fitted = reference(**settings).fit(corpus)
        a = normalize(fitted.transform(first))
        b = normalize(fitted.transform(second))
        expected = np.clip(np.asarray(a.multiply(b).sum(axis=1)).ravel(), 0.0, 1.0)
        np.testing.assert_allclose(cosines[name], expected, rtol=0, atol=1e-12)


def test_vectorizers_keep_the_papers_512_features():
    corpus = [" ".join(f"w{i}x{j}" for j in range(40)) for i in range(40)]
    vectorizer = fit_vectorizers(corpus)
    assert len(vectorizer.vocabulary) == 512
    assert vectorizer.counts.ngram_range == (1, 2)


def test_metadata_dna_is_the_papers_item_and_the_leak_free_variant_drops_ids_and_lineage():
    payload = {
        "id": "org/child",
        "_id": "abc123",
        "modelId": "org/child",
        "likes": 3,
        "tags": ["transformers", "base_model:org/parent", "base_model:finetune:org/parent"],
        "cardData": {"license": "mit"},  # not a field of the paper's list item
    }
    text = metadata_text(payload)
    assert text.startswith("{'_id': 'abc123', 'id': 'org/child', 'likes': 3")
    assert "cardData" not in text and "base_model:org/parent" in text
    clean = metadata_text(payload, leak_free=True)
    assert "org/child" not in clean and "org/parent" not in clean and "abc123" not in clean
    assert clean == "{'likes': 3, 'tags': ['transformers']}"


def test_card_dna_is_the_first_512_characters_of_an_eligible_card():
    long_card = "x" * 511 + "yz"
    assert card_dna(long_card, auto_generated=False) == "x" * 511 + "y"
    assert card_dna("x" * 511, auto_generated=False) is None
    assert card_dna(long_card, auto_generated=True) is None
    assert card_dna(None, auto_generated=False) is None


def test_bootstrap_interval_of_a_constant_is_the_constant_and_nan_pairs_are_skipped():
    values = np.array([[0.5, np.nan], [0.5, 1.0], [0.5, 0.0], [0.5, np.nan]])
    counts, means, low, high = bootstrap_mean_ci(values, resamples=500, seed=1)
    assert counts.tolist() == [4, 2]
    assert means[0] == low[0] == high[0] == 0.5
    assert means[1] == 0.5 and 0.0 <= low[1] <= 0.5 <= high[1] <= 1.0


def test_bootstrap_interval_matches_the_normal_approximation_and_is_seeded():
    rng = np.random.default_rng(3)
    values = rng.normal(0.6, 0.1, size=(2000, 1))
    _, mean, low, high = bootstrap_mean_ci(values, resamples=2000, seed=7)
    half_width = 1.96 * values.std() / np.sqrt(len(values))
    assert mean[0] == pytest.approx(values.mean())
    assert (high[0] - low[0]) / 2 == pytest.approx(half_width, rel=0.1)
    assert low[0] < mean[0] < high[0]
    again = bootstrap_mean_ci(values, resamples=2000, seed=7)
    assert again[2][0] == low[0] and again[3][0] == high[0]
    other = bootstrap_mean_ci(values, resamples=2000, seed=8)
    assert other[2][0] != low[0]


def test_the_papers_metadata_text_gets_back_model_id_which_listings_with_expand_lack():
    listed = {"_id": "abc", "id": "org/child", "author": "org", "likes": 1, "tags": ["mit"]}
    text = metadata_text(listed)
    # The list endpoint's order: _id, id, likes, ..., tags, ..., modelId (= the repo id).
    assert (
        text
        == "{'_id': 'abc', 'id': 'org/child', 'likes': 1, 'tags': ['mit'], 'modelId': 'org/child'}"
    )
    assert "modelId" not in metadata_text(listed, leak_free=True)
