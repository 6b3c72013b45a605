"""A delivery's body parsed as strict JSON (RFC 8259), into the object every view reads.

Strict in what every queue and store can carry: ``NaN``, ``Infinity``, numbers too large
for a float (``1e400``, which Python would read as infinity) and nesting deeper than
:data:`MAX_DEPTH` are refused, so that an accepted event never fails at the queue. Lone
surrogates (``"\\ud83d"``, a cut emoji; or the raw bytes of one) are valid JSON grammar and are
kept: raw ones are read as the escapes they stand for, so that the payload parsed here is the
one every queue hands its handler (see :mod:`layer_webhooks.jobs._codec`). Duplicate keys are
read as Python reads them, the last one winning, here and in every queue alike.

With the ``speed`` extra (orjson) installed, bodies orjson reads exactly as this module does are
parsed by orjson; every other body (a lone surrogate, a BOM, an integer beyond 64 bits, any
error) by the standard library, so that the answer is the same with or without it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from ..errors import InvalidPayload
from ..jobs import _codec
from ..jobs._codec import LONG_INT, MARKS, escape_surrogates


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite(number: str) -> float:
    value = float(number)
    if math.isinf(value):
        raise ValueError("number out of range")
    return value


# Strict JSON (RFC 8259): Python's NaN and Infinity are refused, as every job queue refuses them.
_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)

#: How deep arrays and objects may nest. Layer's payloads nest about ten levels; Python's json
#: recurses per level, so a document nearly as deep as the interpreter's recursion limit could
#: be read here and fail later, in a consumer with a deeper stack. A fixed bound refuses it here.
MAX_DEPTH = 100
_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{\]}]')


def _too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") <= MAX_DEPTH:  # almost every body: no scan
        return False
    depth = 0
    for token in _NESTING.finditer(text):  # strings are matched whole, so their brackets do not count
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def load_payload(body: bytes | str) -> dict[str, Any]:
    """Parse ``body`` (bytes decoded as :func:`json.loads` does) into a JSON object, strictly:
    no ``NaN``, ``Infinity`` or out-of-range number. :raises InvalidPayload: otherwise."""
    return load_payload_text(body)[0]


def _load_fast(body: bytes, loads: Callable[[bytes], Any]) -> tuple[dict[str, Any], str] | None:
    # None: let the standard library decide (and answer). orjson refuses NaN, Infinity, 1e400,
    # lone surrogates (raw or escaped), a BOM and every encoding but UTF-8; it reads duplicate
    # keys as json does. What it reads otherwise: integers past 64 bits (as floats) and nesting
    # up to 1024, both screened out here first.
    marks = body.translate(MARKS)
    if marks.count(b"[") > MAX_DEPTH or LONG_INT in marks:
        return None
    try:
        payload = loads(body)
        text = body.decode("utf-8")  # valid UTF-8 once orjson has read it: no surrogate to escape
    except ValueError:  # orjson.JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    return (payload, text) if type(payload) is dict else None


def _decoded(body: bytes) -> str:
    # As json.loads decodes bytes, raw surrogates escaped. Most bodies are UTF-8 that a strict
    # decode takes at once (no surrogate in it, so nothing to escape).
    if body[:1] == b"{" and body[1:2] != b"\x00":  # what json.detect_encoding says of it, sooner
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return escape_surrogates(body.decode("utf-8", "surrogatepass"))
    return escape_surrogates(body.decode(json.detect_encoding(body), "surrogatepass"))


def load_payload_text(body: bytes | str) -> tuple[dict[str, Any], str]:
    """As :func:`load_payload`, with the JSON text it parsed (the body decoded, raw surrogates
    escaped: valid UTF-8)."""
    payload, text, _ = load_payload_screened(body)
    return payload, text


def load_payload_screened(body: bytes | str) -> tuple[dict[str, Any], str, bool]:
    """As :func:`load_payload_text`, and whether orjson parsed it: then it holds no integer that
    orjson reads otherwise than json (:data:`~layer_webhooks.jobs._codec.SCREENED`)."""
    loads = _codec.fast_loads
    if loads is not None and type(body) is bytes:
        fast = _load_fast(body, loads)
        if fast is not None:
            return (*fast, True)
    try:
        text = escape_surrogates(body) if isinstance(body, str) else _decoded(body)
    except ValueError:
        raise InvalidPayload("body is not valid JSON") from None
    if _too_deep(text):
        raise InvalidPayload(f"body nests arrays or objects deeper than {MAX_DEPTH} levels")
    try:
        payload = _DECODER.decode(text)
    except (ValueError, RecursionError):
        raise InvalidPayload("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidPayload("body is not a JSON object")
    return payload, text, False
