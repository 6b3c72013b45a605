"""The job record: a job's name and data as JSON, the one form every ledger stores.

Data is checked here, at ``enqueue``, on every queue: what JSON cannot carry (a ``set``,
``bytes``, ``NaN``, a non-string key) raises :class:`~layer_webhooks.InvalidJobData` before
anything is written, so that code tested on the memory queue behaves the same in production.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidJobData


def encode(name: str, data: Mapping[str, Any]) -> str:
    """The record of a job named ``name`` with ``data``.

    >>> encode("Webhook Example", {"n": 1})
    '{"name":"Webhook Example","data":{"n":1}}'

    :raises InvalidJobData: ``data`` is not a mapping of JSON-safe values.
    """
    if not isinstance(data, Mapping):
        raise InvalidJobData(f"data of job {name!r} must be a mapping, not {type(data).__name__}")
    try:
        return json.dumps(
            {"name": name, "data": dict(data)}, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
    except (TypeError, ValueError) as exc:
        raise InvalidJobData(f"data of job {name!r} is not JSON-safe: {exc}") from None


def decode(record: str) -> tuple[str, dict[str, Any]]:
    """The name and data of a record made by :func:`encode`."""
    fields = json.loads(record)
    return fields["name"], fields["data"]
