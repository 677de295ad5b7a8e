"""RFC 8785 canonical JSON: byte-identical to the server's (src/domain/canonical-json.ts)."""

from __future__ import annotations

import pytest

from aetheris_client import canonicalize, parse_json_bytes

# Computed with the TypeScript implementation (dist/src/domain/canonical-json.js).
TS_VECTOR_HEX = (
    "7b2261223a22c3a9e280a85c6e5c75303030315c225c5c222c2262223a5b312c322e352c31652b32312c31652d372c302c3132"
    "333435363738393031323334353638303030302c302e3030303030312c35652d3332342c312e37393736393331333438363233"
    "313537652b3330385d2c227a223a6e756c6c2c22c3a9223a312c22f09f9880223a322c22efbfbd223a337d"
)


def test_matches_the_typescript_canonicalizer_byte_for_byte() -> None:
    value = {
        "b": [1, 2.5, 1e21, 1e-7, -0.0, 123456789012345680000, 0.000001, 5e-324, 1.7976931348623157e308],
        "a": 'é\u2028\n\u0001"\\',
        "z": None,
        "é": 1,
        "\U0001f600": 2,  # sorts before U+FFFD by UTF-16 code units (not by code points)
        "\ufffd": 3,
    }
    assert canonicalize(value).encode("utf-8").hex() == TS_VECTOR_HEX


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (100.0, "100"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e-7, "1.5e-7"),
        (0.1 + 0.2, "0.30000000000000004"),
        (123e-20, "1.23e-18"),
        (2**53, "9007199254740992"),
        (2**60, "1152921504606847000"),  # as String(2 ** 60) in JavaScript
        (10**22, "1e+22"),
        (-(2**53) + 1, "-9007199254740991"),
    ],
)
def test_numbers_use_the_ecmascript_form(number: float, text: str) -> None:
    assert canonicalize(number) == text


def test_rejects_values_json_cannot_hold() -> None:
    for bad in (float("nan"), float("inf"), {1: "x"}, {"s": {1, 2}}, b"bytes", "\ud800"):
        with pytest.raises(TypeError):
            canonicalize(bad)


def test_nested_structures_and_tuples() -> None:
    assert canonicalize({"b": (1, [True, False]), "a": {"y": None, "x": "q"}}) == (
        '{"a":{"x":"q","y":null},"b":[1,[true,false]]}'
    )


def test_parse_json_bytes_treats_empty_as_null() -> None:
    assert parse_json_bytes(b"") is None
    assert parse_json_bytes(b'{"a":[1,2]}') == {"a": [1, 2]}
