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

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from json.encoder import encode_basestring
from typing import Any

from ..errors import InvalidJobData

#: orjson's ``loads`` when the ``speed`` extra is installed (None: the standard library alone).
#: Only for what it reads exactly as :mod:`json` does; see :func:`decode` and ``_payload``.
fast_loads: Callable[[bytes], Any] | None
try:
    from orjson import loads as fast_loads
except ImportError:  # pragma: no cover - the all env installs the speed extra, the py3xx envs do not
    fast_loads = None

# One encoder, built once: json.dumps with options builds a new one on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Each digit as 0 and each { as [: one count bounds a document's nesting, one search finds a
#: run of 19 digits (an integer that orjson may read as a float, where json reads an int).
MARKS = bytes.maketrans(b"0123456789{", b"0000000000[")
LONG_INT = b"0" * 19


def escape_surrogates(text: str) -> str:
    """JSON ``text`` with each lone surrogate code point written as its escape (``\\ud83d``).

    In JSON text a surrogate can stand only inside a string, where its escape reads back as
    the same code point (a high one followed by a low one: the character they pair into, as
    JSON defines it), so the result is the same JSON value, and valid UTF-8.

    >>> escape_surrogates('"cut ' + chr(0xD83D) + '"')
    '"cut \\\\ud83d"'
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")  # fails on a surrogate only; several times faster than searching
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return text


#: How a record starts when orjson reads all of it as json does (no integer of 19 digits or more:
#: see :data:`LONG_INT`), so that :func:`decode` need not look: a body orjson parsed at the
#: receiver, and fields taken from it. Any other record starts ``{"name":``.
SCREENED = '{"screened":1,'


@functools.lru_cache(maxsize=64)  # a few hook names and tuples of parts: each written once
def _around(name: str, parts: tuple[str, ...], screened: bool) -> tuple[str, str]:
    # What a BodyData record holds before its fields and between them and the body.
    head = escape_surrogates(f'{SCREENED if screened else "{"}"name":{encode_basestring(name)},"data":{{')
    return head, f'}},"parts":{_ENCODER.encode(parts)},"body":'


# The fields' names, each written once: a listen job has five (the bound is for other callers).
_NAMES: dict[str, str] = {}
_NAMES_KEPT = 64


class BodyData(Mapping[str, Any]):
    """Job data: ``fields``, then each of ``parts`` that the parsed ``payload`` has, taken from it.

    ``body`` is the payload's raw JSON text (strictly parsed: no ``NaN``; lone surrogates
    escaped, so valid UTF-8); the record holds it as it came, and :func:`decode` takes the
    parts back out of it. A field that is also a part the payload has is written once, as
    that part, after the other fields: in the record as in this mapping. ``screened``: orjson
    parsed ``body``, and every field comes from it or is a string (see :data:`SCREENED`).
    """

    __slots__ = ("_body", "_data", "_fields", "_parts", "_payload", "_screened")

    def __init__(
        self,
        fields: dict[str, Any],
        payload: Mapping[str, Any],
        body: str,
        parts: tuple[str, ...],
        screened: bool = False,
    ) -> None:
        self._fields = fields
        self._payload = payload
        self._body = body
        self._parts = parts
        self._screened = screened
        self._data: dict[str, Any] | None = None

    def _own_fields(self) -> dict[str, Any]:
        payload, parts = self._payload, self._parts
        return {key: value for key, value in self._fields.items() if key not in parts or key not in payload}

    def _dict(self) -> dict[str, Any]:
        if self._data is None:  # as decode() reads the record: the fields, then the parts
            data = self._own_fields()
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
        # One flat loop, no helper per field: this runs once per delivery.
        payload, parts, names = self._payload, self._parts, _NAMES
        pieces = []
        for key, value in self._fields.items():
            if key in parts and key in payload:
                continue  # written once, as that part
            written = names.get(key)
            if written is None:
                if type(key) is not str:  # the encoder's rules for other keys (or its error)
                    pieces = [_ENCODER.encode(self._own_fields())[1:-1]]
                    break
                written = encode_basestring(key)
                if len(names) < _NAMES_KEPT:
                    names[key] = written
            if type(value) is str:
                pieces.append(f"{written}:{encode_basestring(value)}")
            elif value is None:
                pieces.append(f"{written}:null")
            else:
                pieces.append(f"{written}:{_ENCODER.encode(value)}")
        data = ",".join(pieces)
        head, middle = _around(name, parts, self._screened)
        return f"{head}{data if data.isascii() else escape_surrogates(data)}{middle}{self._body}}}"


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
    fields = _load(record)
    data: dict[str, Any] = fields["data"]
    body = fields.get("body")
    if isinstance(body, dict):
        for part in fields.get("parts", ()):
            if part in body:
                data[part] = body[part]
    return fields["name"], data


def _load(record: str) -> Any:
    if fast_loads is not None:
        try:
            raw = record.encode("utf-8")
            if record.startswith(SCREENED) or LONG_INT not in raw.translate(MARKS):
                return fast_loads(raw)
        except ValueError:  # a lone surrogate, or what orjson refuses (its escape): json decides
            pass
    return json.loads(record)
