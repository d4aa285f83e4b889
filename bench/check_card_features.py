"""Check `intermediate.int_card_features` against the per-text Python it replaced.

Usage: `python -m bench.check_card_features <warehouse.duckdb>`: recomputes every card's
features with `previous_card_features` (the model's code before it was vectorized) and
prints the rows that differ; exits 1 if any does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

AUTO_GENERATED_MARKERS = ("automatically generated", "generated automatically")
TEMPLATE_MARKERS = (
    "more information needed",
    "this modelcard aims to be a base template",
    "provide a quick summary of what the model is",
)


def previous_card_features(text: str) -> tuple:
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


def differences(con: duckdb.DuckDBPyConnection) -> tuple[int, list[tuple]]:
    """(cards compared, [(content_hash, stored, previous)] for every card that differs)."""
    stored = {
        row[0]: tuple(row[1:])
        for row in con.execute(
            "select content_hash, has_card, card_length_chars, card_length_words, "
            "card_is_auto_generated, card_is_templated from intermediate.int_card_features"
        ).fetchall()
    }
    found = []
    compared = 0
    cursor = con.execute("select content_hash, card_text from raw.hub_model_cards")
    while rows := cursor.fetchmany(10_000):
        for content_hash, text in rows:
            compared += 1
            previous = previous_card_features(text)
            if stored.get(content_hash) != previous:
                found.append((content_hash, stored.get(content_hash), previous))
    if len(stored) != compared:
        found.append(("<row count>", len(stored), compared))
    return compared, found


def main() -> int:
    with duckdb.connect(str(Path(sys.argv[1])), read_only=True) as con:
        compared, found = differences(con)
    print(f"{compared:,} cards compared, {len(found):,} differ")
    for row in found[:20]:
        print(row)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
