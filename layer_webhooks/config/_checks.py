"""Checks of what users write, shared by every part: the name they probably meant, and a port.

Pure: values in, an answer or a :class:`~layer_webhooks.ConfigurationError` out.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ..errors import ConfigurationTypeError

__all__ = ["QUEUE_EXAMPLE", "STORE_EXAMPLE", "expect_port", "folded", "suggest"]

#: What an error about a ``queue=`` or ``store=`` argument offers in its place.
QUEUE_EXAMPLE = "HueyQueue(RedisHuey('my-app', url='redis://...')) or MemoryQueue()"
STORE_EXAMPLE = "RedisStore(redis.Redis(...)), SqliteStore('state.db') or MemoryStore()"

# Below this similarity (difflib's ratio) a name is not offered as "did you mean".
_CUTOFF = 0.75


def folded(name: str) -> str:
    """``name`` without case and with its runs of spaces made one: how two names are "the same
    but for case"."""
    return " ".join(name.split()).casefold()


def suggest(name: str, choices: Iterable[str]) -> str | None:
    """The choice ``name`` most likely meant: one equal to it but for case and spaces, else the
    closest by :mod:`difflib`; None when none is close (or ``name`` is a choice itself).

    >>> suggest("Message.Sent", ["message.sent", "message.read"]), suggest("message.snt", ["message.sent"])
    ('message.sent', 'message.sent')
    """
    options = [choice for choice in dict.fromkeys(choices) if choice != name]
    same = [choice for choice in options if folded(choice) == folded(name)]
    if same:
        return same[0]
    close = difflib.get_close_matches(name, options, n=1, cutoff=_CUTOFF)
    if not close:
        by_case = {folded(choice): choice for choice in options}
        close = [by_case[match] for match in difflib.get_close_matches(folded(name), by_case, n=1, cutoff=_CUTOFF)]
    return close[0] if close else None


def _members(port: type) -> list[str]:
    # The methods a Protocol declares, its bases' included (Protocol itself and object excluded).
    names = {
        name
        for cls in port.__mro__
        if getattr(cls, "_is_protocol", False) and cls.__module__ != "typing"
        for name in vars(cls)
        if not name.startswith("_")
    }
    return sorted(names)


def expect_port(field: str, value: object, port: type, example: str) -> None:
    """Check that ``value``, given as ``field``, implements ``port`` (a runtime-checkable
    Protocol), naming an implementation in ``example`` and any method it lacks.

    >>> from layer_webhooks import Queue
    >>> expect_port("queue", "redis://localhost", Queue, "HueyQueue(RedisHuey(...))")
    Traceback (most recent call last):
    ...
    layer_webhooks.errors.ConfigurationTypeError: queue: expected a Queue such as HueyQueue(RedisHuey(...)), got str

    :raises ConfigurationTypeError: when it does not.
    """
    if isinstance(value, port):
        return
    lacking = [name for name in _members(port) if not callable(getattr(value, name, None))]
    fix = ""
    if value is not None and not isinstance(value, (str, bytes, int, float)) and lacking:
        fix = f"{type(value).__name__} has no {', '.join(f'{name}()' for name in lacking)}"
    raise ConfigurationTypeError(field, f"a {port.__name__} such as {example}", value, fix)
