"""RFC 8785 (JSON Canonicalization Scheme), as the server stores and hashes JSON.

Tool arguments are digested in this form (`args_digest`), and results/outputs are sent in it,
so a Python worker and the TypeScript SDK compute the same bytes for the same value.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence, Union

JsonValue = Union[None, bool, int, float, str, Sequence["JsonValue"], Mapping[str, "JsonValue"]]
"""A JSON value as Python holds it (lists/tuples, dicts with string keys)."""

_MAX_SAFE_INTEGER = 2**53


def canonicalize(value: Any) -> str:
    """Serialises `value` canonically: keys sorted by UTF-16 code units, ECMAScript number form,
    no whitespace. Raises `TypeError` for values JSON cannot represent (sets, bytes, NaN...)."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def canonical_json_bytes(value: Any) -> bytes:
    """The UTF-8 bytes of :func:`canonicalize`."""
    return canonicalize(value).encode("utf-8")


def parse_json_bytes(data: bytes) -> Any:
    """Parses JSON bytes from the server; empty bytes mean JSON `null` (as on the wire)."""
    if len(data) == 0:
        return None
    return json.loads(data.decode("utf-8"))


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(_integer(value))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, Mapping):
        items: list[tuple[str, Any]] = []
        for key, member in value.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {type(key).__name__}")
            items.append((key, member))
        items.sort(key=lambda item: item[0].encode("utf-16-be", "surrogatepass"))
        out.append("{")
        for index, (key, member) in enumerate(items):
            if index:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _write(member, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, member in enumerate(value):
            if index:
                out.append(",")
            _write(member, out)
        out.append("]")
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")


def _string(text: str) -> str:
    # Escapes exactly what ECMAScript's JSON.stringify escapes: quote, backslash, C0 controls
    # (\b \t \n \f \r by name, others as lowercase \u00xx); everything else verbatim.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise TypeError(f"JSON strings must be valid Unicode (lone surrogate?): {error}") from None
    return json.dumps(text, ensure_ascii=False)


def _integer(value: int) -> str:
    if -_MAX_SAFE_INTEGER < value < _MAX_SAFE_INTEGER:
        return str(value)
    try:
        # JSON numbers are IEEE doubles (RFC 8785 §3.2.2.3): larger integers lose precision.
        return _number(float(value))
    except OverflowError:
        raise TypeError(f"integer {value} does not fit a JSON number (IEEE double)") from None


def _number(value: float) -> str:
    """ECMAScript Number::toString for a finite double (shortest round-trip digits)."""
    if not math.isfinite(value):
        raise TypeError(f"JSON numbers must be finite, got {value!r}")
    if value == 0:
        return "0"  # also -0
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    integer_part, _, fraction = mantissa.partition(".")
    digits = integer_part + fraction
    # value = 0.digits × 10^n
    n = len(integer_part) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + text
