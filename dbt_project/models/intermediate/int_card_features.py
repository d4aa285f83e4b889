"""Features of every distinct model card text, computed once per content hash.

The paper's card features (its section 3.6) on the raw README, YAML header included:
length in characters, words as whitespace-separated tokens (exactly Python's str.split()),
and the auto-generated and template rules on the lower-cased text. Card texts never change
under their hash, so an incremental run only reads texts stored since.

Vectorized over each batch's UTF-8 bytes with numpy and pyarrow compute (a word starts at
each non-whitespace byte that follows whitespace or starts a text), on both cores. It gives
the numbers of the per-text Python it replaced (`bench/check_card_features.py`, tested).
"""

import itertools
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
# Python's whitespace (what str.split() splits on, every character whose str.isspace() is
# true), as UTF-8: the ASCII ones (\t to \r, the separators \x1c to \x1f and the space) are
# tested byte by byte, the others as byte sequences.
MULTIBYTE_WHITESPACE = [
    char.encode()
    for char in "\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
]
MULTIBYTE_LEADS = sorted({seq[0] for seq in MULTIBYTE_WHITESPACE})
# The markers are lower-case ASCII letters and spaces. A text holds one in Python's lower()
# exactly where its ASCII-lowered form holds it, a letter possibly replaced by the one
# non-ASCII character lower() turns into that letter alone (the Kelvin sign); characters
# lower() turns into several (İ into i and a combining dot) never complete a marker.
LOWERS_TO_LETTER = {"k": "\u212a"}
WORKERS = 2


def word_counts(texts: pa.Array) -> np.ndarray:
    """len(text.split()) of every text of a string array, from its UTF-8 bytes."""
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)[
        texts.offset : texts.offset + len(texts) + 1
    ]
    data = np.frombuffer(texts.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    offsets = (offsets - offsets[0]).astype(np.int64)
    # Bytes up to the space are whitespace but for the control characters outside \t-\r.
    space = data <= ord(" ")
    controls = np.flatnonzero(data < 0x1C)
    space[controls] = (data[controls] >= ord("\t")) & (data[controls] <= ord("\r"))
    leads = np.flatnonzero(data >= MULTIBYTE_LEADS[0])
    leads = leads[np.isin(data[leads], MULTIBYTE_LEADS)]
    for seq in MULTIBYTE_WHITESPACE:
        found = leads[leads + len(seq) <= len(data)]
        for position, byte in enumerate(seq):
            found = found[data[found + position] == byte]
        for position in range(len(seq)):
            space[found + position] = True
    # A word starts at a non-space byte after a space byte or at the start of a text (the
    # first byte of every text, position 0 included, is set from the text starts).
    starts = np.empty_like(space)
    np.greater(space[:-1], space[1:], out=starts[1:])
    text_starts = offsets[:-1][offsets[:-1] < len(data)]
    starts[text_starts] = ~space[text_starts]
    # Counted text by text: the positions of all word starts would take 8 bytes a word.
    bounds = offsets.tolist()
    count = np.count_nonzero
    return np.array([count(starts[a:b]) for a, b in itertools.pairwise(bounds)], np.int64)


def marker_pattern(markers: tuple[str, ...]) -> str:
    """An RE2 pattern finding any of `markers` in an ASCII-lowered text as str.lower() would."""
    return "|".join(
        "".join(
            f"[{char}{LOWERS_TO_LETTER[char]}]" if char in LOWERS_TO_LETTER else char
            for char in marker
        )
        for marker in markers
    )


AUTO_GENERATED_PATTERN = marker_pattern(AUTO_GENERATED_MARKERS)
TEMPLATE_PATTERN = marker_pattern(TEMPLATE_MARKERS)
ANY_MARKER_PATTERN = f"{AUTO_GENERATED_PATTERN}|{TEMPLATE_PATTERN}"


def marker_rules(lower: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(auto-generated, templated) of ASCII-lowered texts. One pass finds the texts holding any
    marker (about one in eight); only those are searched again, rule by rule."""
    holding = pc.match_substring_regex(lower, ANY_MARKER_PATTERN).fill_null(False)
    rows = np.flatnonzero(holding.to_numpy(zero_copy_only=False))
    candidates = lower.take(pa.array(rows))
    rules = []
    for pattern in (AUTO_GENERATED_PATTERN, TEMPLATE_PATTERN):
        matches = np.zeros(len(lower), dtype=np.bool_)
        found = pc.match_substring_regex(candidates, pattern).fill_null(False)
        matches[rows] = found.to_numpy(zero_copy_only=False)
        rules.append(matches)
    return rules[0], rules[1]


def card_features(texts: pa.Array) -> list[pa.Array]:
    """(has_card, characters, words, auto-generated, templated) of a batch of README texts;
    a text without words has no card (characters and words null, rules false)."""
    texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    texts = texts.cast(pa.string())
    words = word_counts(texts)
    has_words = words > 0
    has_card = pa.array(has_words)
    auto_generated, templated = marker_rules(pc.ascii_lower(texts))
    return [
        has_card,
        pc.if_else(has_card, pc.utf8_length(texts).cast(pa.int64()), None),
        pc.if_else(has_card, pa.array(words, pa.int64()), None),
        pa.array(auto_generated & has_words),
        pa.array(templated & has_words),
    ]


def features_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The features of one batch, holding nothing of it: a column of a batch DuckDB exported
    keeps the whole batch's memory alive, card texts included (at 3M models, keeping the
    hashes as they came held every README read, 11.6 GB)."""
    hashes = batch.column(0)
    copied = hashes.take(pa.array(np.arange(len(hashes))))
    return pa.record_batch([copied, *card_features(batch.column(1))], schema=SCHEMA)


def model(dbt, session):
    dbt.config(materialized="incremental", unique_key="content_hash")
    cards = dbt.source("hub", "hub_model_cards")
    if dbt.is_incremental:
        cards = cards.filter(f"content_hash not in (select content_hash from {dbt.this})")
        # Texts are stored in the order they are first seen. Bounding that time lets DuckDB
        # skip the text column of the older rows: without it, it decompressed every README to
        # find the few new ones (2.6 s at 3M models; 0.4 s with the bound).
        [(first_new,)] = cards.aggregate("min(first_seen_at)").fetchall()
        bound = "false" if first_new is None else f"first_seen_at >= '{first_new.isoformat()}'"
        cards = cards.filter(bound)
    # numpy and pyarrow release the GIL: batches are computed on both cores, at most one
    # batch ahead of each worker in memory.
    batches, pending = [], deque()
    with ThreadPoolExecutor(WORKERS) as pool:
        for batch in cards.select("content_hash, card_text").fetch_arrow_reader(BATCH_ROWS):
            if batch.num_rows:
                pending.append(pool.submit(features_batch, batch))
            if len(pending) > WORKERS:
                batches.append(pending.popleft().result())
        batches.extend(future.result() for future in pending)
    return pa.Table.from_batches(batches, schema=SCHEMA)
