"""The job record: a job's name and data as JSON, the one form every ledger stores.

Data is checked here, at ``enqueue``, on every queue: what JSON cannot carry (a ``set``,
``bytes``, ``NaN``, an object) raises :class:`~layer_webhooks.InvalidJobData` before anything
is written, so that code tested on the memory queue behaves the same in production.

A job made from a delivery carries parts of the delivery's body (its ``message``,
``conversation``, ``config``): :class:`BodyData` lets its record reuse the body's raw JSON text,
already checked by the receiver's strict parse, instead of encoding those parts a second time.

A record is always valid UTF-8, whatever the strings hold: a lone surrogate (a cut emoji,
``"\\ud83d"``) is written as its JSON escape, which SQLite and Redis store as they store any
text, and which decodes back to the same string. So every queue hands a handler exactly the
data that was queued.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import InvalidJobData

# One encoder, built once: json.dumps with options builds a new one on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_SURROGATE = re.compile("[\ud800-\udfff]")


def escape_surrogates(text: str) -> str:
    """JSON ``text`` with each lone surrogate code point written as its escape (``\\ud83d``).

    In JSON text a surrogate can stand only inside a string, where its escape reads back as
    the same code point (a high one followed by a low one: the character they pair into, as
    JSON defines it), so the result is the same JSON value, and valid UTF-8.

    >>> escape_surrogates('"cut ' + chr(0xD83D) + '"')
    '"cut \\\\ud83d"'
    """
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class BodyData(Mapping[str, Any]):
    """Job data: ``fields``, then each of ``parts`` that the parsed ``payload`` has, taken from it.

    ``body`` is the payload's raw JSON text (strictly parsed: no ``NaN``); the record holds it
    as it came, and :func:`decode` takes the parts back out of it.
    """

    __slots__ = ("_body", "_data", "_fields", "_parts", "_payload")

    def __init__(self, fields: dict[str, Any], payload: Mapping[str, Any], body: str, parts: tuple[str, ...]) -> None:
        self._fields = fields
        self._payload = payload
        self._body = body
        self._parts = parts
        self._data: dict[str, Any] | None = None

    def _dict(self) -> dict[str, Any]:
        if self._data is None:
            data = dict(self._fields)
            data.update((part, self._payload[part]) for part in self._parts if part in self._payload)
            self._data = data
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def __repr__(self) -> str:
        return f"BodyData({self._dict()!r})"

    def record(self, name: str) -> str:
        """The record of a job named ``name`` with this data (see :func:`encode`)."""
        head = _ENCODER.encode({"name": name, "data": self._fields, "parts": self._parts})
        return escape_surrogates(f'{head[:-1]},"body":{self._body}}}')


def encode(name: str, data: Mapping[str, Any]) -> str:
    """The record of a job named ``name`` with ``data``.

    >>> encode("Webhook Example", {"n": 1})
    '{"name":"Webhook Example","data":{"n":1}}'

    :raises InvalidJobData: ``data`` is not a mapping of JSON-safe values.
    """
    if isinstance(data, BodyData):
        try:
            return data.record(name)
        except (TypeError, ValueError) as exc:
            raise InvalidJobData(f"data of job {name!r} is not JSON-safe: {exc}") from None
    if not isinstance(data, Mapping):
        raise InvalidJobData(f"data of job {name!r} must be a mapping, not {type(data).__name__}")
    try:
        return escape_surrogates(_ENCODER.encode({"name": name, "data": data if type(data) is dict else dict(data)}))
    except (TypeError, ValueError) as exc:
        raise InvalidJobData(f"data of job {name!r} is not JSON-safe: {exc}") from None


def decode(record: str) -> tuple[str, dict[str, Any]]:
    """The name and data of a record made by :func:`encode`.

    >>> decode('{"name":"n","data":{"a":1},"parts":["m"],"body":{"m":2,"x":3}}')
    ('n', {'a': 1, 'm': 2})
    """
    fields = json.loads(record)
    data: dict[str, Any] = fields["data"]
    body = fields.get("body")
    if isinstance(body, dict):
        data.update((part, body[part]) for part in fields.get("parts", ()) if part in body)
    return fields["name"], data
