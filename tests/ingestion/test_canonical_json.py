"""Payload text through orjson must equal the standard library's, byte for byte.

Stored texts are compared for change detection and hashed into version keys, so a model
stored before the switch must not look changed after it.
"""

from __future__ import annotations

import json
import random
import struct

from ingestion.warehouse import canonical_json


def stdlib_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def test_floats_of_every_magnitude_are_written_as_the_standard_library_writes_them():
    generator = random.Random(4)
    for _ in range(20_000):
        number = struct.unpack("d", struct.pack("Q", generator.getrandbits(64)))[0]
        if number != number or abs(number) == float("inf"):
            continue
        small = generator.random() * 10 ** generator.randint(-12, 3)
        payload = {"b": [number, small, round(small, 6)], "a": {"lr": 2e-05, "tag": "fine-tuned"}}
        assert canonical_json(payload) == stdlib_json(payload)


def test_what_orjson_refuses_or_orders_differently_still_matches():
    payloads = [
        {"downloads": 2**70},
        {"id": "broken \ud800 text"},
        {"é": 1, "z": 2, "Z": 3, "😀": 4, "\uffff": 5, "a": "<>&\u2028\x00"},
        {"cardData": {"learning_rate": 1e-05, "eps": 1e-08, "big": 1e16, "x": 0.0001}},
        {"text": "v2e-5 and 1e-5 inside a string"},
    ]
    for payload in payloads:
        assert canonical_json(payload) == stdlib_json(payload)
