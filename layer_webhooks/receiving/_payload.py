"""A delivery's body parsed as strict JSON (RFC 8259), into the object every view reads."""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidPayload


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# Strict JSON (RFC 8259): Python's NaN and Infinity are refused, as every job queue refuses them.
_DECODER = json.JSONDecoder(parse_constant=_not_json)


def load_payload(body: bytes | str) -> dict[str, Any]:
    """Parse ``body`` (bytes decoded as :func:`json.loads` does) into a JSON object, strictly:
    no ``NaN`` or ``Infinity``. :raises InvalidPayload: otherwise."""
    return load_payload_text(body)[0]


def load_payload_text(body: bytes | str) -> tuple[dict[str, Any], str]:
    """As :func:`load_payload`, with the JSON text it parsed (the body decoded)."""
    try:
        text = body if isinstance(body, str) else body.decode(json.detect_encoding(body), "surrogatepass")
        payload = _DECODER.decode(text)
    except (ValueError, RecursionError):
        raise InvalidPayload("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidPayload("body is not a JSON object")
    return payload, text
