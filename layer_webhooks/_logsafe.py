"""What a log line or an error message may say about an exception: its kind and its reason, never data.

An exception's ``repr`` (and often its ``str``) can carry the data it was about: a
``UnicodeEncodeError`` holds the whole string it failed on (a message's text, a job's record),
a ``KeyError`` the key, a handler's own error whatever its author put in it. The library's
lines name the exception's type and a short reason instead.
"""

from __future__ import annotations

import traceback

# Enough for "Error 111 connecting to 127.0.0.1:6379. Connection refused." and its kin.
_REASON_CHARS = 160


def describe(exc: BaseException) -> str:
    """``exc`` for a log line or a message: ``Type: reason``, the reason cut short.

    >>> describe(UnicodeEncodeError("utf-8", "secret text \\ud83d", 12, 13, "surrogates not allowed"))
    'UnicodeEncodeError: surrogates not allowed (utf-8, position 12)'
    >>> describe(ConnectionError("Connection closed by server."))
    'ConnectionError: Connection closed by server.'
    """
    name = type(exc).__name__
    if isinstance(exc, (UnicodeEncodeError, UnicodeDecodeError, UnicodeTranslateError)):
        # Their args hold the whole text being coded: keep only why and where.
        encoding = getattr(exc, "encoding", "")
        return f"{name}: {exc.reason} ({encoding + ', ' if encoding else ''}position {exc.start})"
    try:
        reason = str(exc)
    except Exception:  # a broken __str__ must not break the log line about it
        reason = ""
    reason = " ".join(reason.split())  # one line: no injected newlines
    if len(reason) > _REASON_CHARS:
        reason = reason[: _REASON_CHARS - 3] + "..."
    return f"{name}: {reason}" if reason else name


def where(exc: BaseException) -> str:
    """Where ``exc`` was raised, ``file:line in function`` of its innermost frame ("" if unknown).

    A handler's exception is logged with this and :func:`describe`'s type, not its message:
    the message is the handler author's and may quote the data (the dead letter keeps it).
    """
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ is not None else []
    if not frames:
        return ""
    frame = frames[-1]
    return f"{frame.filename}:{frame.lineno} in {frame.name}"


def clip(value: object, limit: int = 80) -> str:
    """``repr(value)`` for a log line, cut to ``limit`` characters: a sender's header or id is
    unchecked (any length, newlines, surrogates); its ``repr`` is one safe line.

    >>> clip("message.sent")
    "'message.sent'"
    >>> clip("x" * 100, limit=12)
    "'xxxxxxxx..."
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
