"""Features of every distinct model card text, computed once per content hash.

The paper's card features (its section 3.6) on the raw README, YAML header included:
length in characters, words as whitespace-separated tokens (Python's str.split(), which
SQL regular expressions reproduce ten times slower), and the auto-generated rule. Card texts
never change under their hash, so an incremental run only reads texts stored since.
"""

import pyarrow as pa

AUTO_GENERATED_MARKERS = ("automatically generated", "generated automatically")
# Text left behind by the Hub's default model card template and the Trainer template.
TEMPLATE_MARKERS = (
    "more information needed",
    "this modelcard aims to be a base template",
    "provide a quick summary of what the model is",
)
BATCH_ROWS = 20_000
SCHEMA = pa.schema(
    [
        ("content_hash", pa.string()),
        ("has_card", pa.bool_()),
        ("card_length_chars", pa.int64()),
        ("card_length_words", pa.int64()),
        ("card_is_auto_generated", pa.bool_()),
        ("card_is_templated", pa.bool_()),
    ]
)


def card_features(text: str) -> tuple:
    """(has_card, characters, words, auto-generated, templated) of one README text."""
    words = len(text.split())
    if words == 0:
        return False, None, None, False, False
    lower = text.lower()
    return (
        True,
        len(text),
        words,
        any(marker in lower for marker in AUTO_GENERATED_MARKERS),
        any(marker in lower for marker in TEMPLATE_MARKERS),
    )


def model(dbt, session):
    dbt.config(materialized="incremental", unique_key="content_hash")
    cards = dbt.source("hub", "hub_model_cards")
    if dbt.is_incremental:
        cards = cards.filter(f"content_hash not in (select content_hash from {dbt.this})")
    batches = []
    for batch in cards.select("content_hash, card_text").fetch_arrow_reader(BATCH_ROWS):
        hashes = batch.column(0).to_pylist()
        rows = [card_features(text) for text in batch.column(1).to_pylist()]
        columns = [hashes, *(list(column) for column in zip(*rows, strict=True))] if rows else []
        if rows:
            batches.append(pa.record_batch(columns, schema=SCHEMA))
    return pa.Table.from_batches(batches, schema=SCHEMA)
