"""Payload text through orjson must equal the standard library's, byte for byte; so must
the values the importer reads through orjson.

Stored texts are compared for change detection and hashed into version keys, so a model
stored before the switch must not look changed after it.
"""

from __future__ import annotations

import json
import random
import struct

import pytest

from ingestion.importers import parse_json_line
from ingestion.records import canonical_json


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


def test_jsonl_lines_read_through_orjson_equal_the_standard_library():
    """The importer parses lines with orjson; every value and type must be json.loads'."""
    lines = [
        '{"model": {"id": "a/b", "safetensors": {"total": 18446744073709551615}}, "readme": "x"}',
        '{"model": {"downloads": 123456789012345678901234567890}}',
        '{"model": {"downloads": -9223372036854775809, "f": 1e-05, "g": 1.5e300}}',
        '{"readme": "broken \\ud800 surrogate", "model": {}}',
        '{"readme": "caf\u00e9 \U0001f600 \\u00e9", "model": {"a": [1, 2.0, -0.0, true, null]}}',
        '{"model": {"a": 1, "a": 2}}\r\n',
        '{"model": {"digits": "0123456789012345678901234"}}',
    ]
    for line in lines:
        parsed = parse_json_line(line.encode())
        assert repr(parsed) == repr(json.loads(line)), line
    # Not JSON, or no number a warehouse can hold: refused (the line is quarantined).
    for refused in ('{"model": {"lr": NaN}}', '{"model": {"big": 1e400}}', '{"n": -Infinity}'):
        with pytest.raises(ValueError, match="not JSON|out of range"):
            parse_json_line(refused.encode())
    with pytest.raises(UnicodeDecodeError):
        parse_json_line(b'{"model": {"id": "a/\xff"}}')
    for broken in ('{"model": ', "[1, 2,]", "not json"):
        with pytest.raises(json.JSONDecodeError) as ours:
            parse_json_line(broken.encode())
        with pytest.raises(json.JSONDecodeError) as stdlib:
            json.loads(broken)
        assert str(ours.value) == str(stdlib.value)  # the quarantine reason stays the same
