"""Durations as the Node module took them: milliseconds, or strings in the ``ms`` library's form."""

from __future__ import annotations

import math
import re
from datetime import timedelta

from ..errors import InvalidDuration

#: What :func:`parse_duration` accepts.
Duration = int | float | str | timedelta

# The grammar and unit names of the `ms` npm package (vercel/ms), which the Node module used.
_PATTERN = re.compile(
    r"^(?P<n>-?(?:\d+)?\.?\d+) *(?P<unit>milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m"
    r"|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)?$",
    re.IGNORECASE,
)
_SECONDS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "y": 31557600.0,  # 365.25 days, as `ms` counts a year
}
_UNIT_KEY = {
    "millisecond": "ms", "milliseconds": "ms", "msec": "ms", "msecs": "ms", "ms": "ms",
    "second": "s", "seconds": "s", "sec": "s", "secs": "s", "s": "s",
    "minute": "m", "minutes": "m", "min": "m", "mins": "m", "m": "m",
    "hour": "h", "hours": "h", "hr": "h", "hrs": "h", "h": "h",
    "day": "d", "days": "d", "d": "d",
    "week": "w", "weeks": "w", "w": "w",
    "year": "y", "years": "y", "yr": "y", "yrs": "y", "y": "y",
}  # fmt: skip


def parse_duration(value: Duration) -> float:
    """Return ``value`` as a number of seconds.

    A number is **milliseconds** (as in the Node module), a :class:`~datetime.timedelta` is taken
    as it is, and a string is parsed like the ``ms`` library: ``"10 minutes"``, ``"20sec"``,
    ``"1h"``, ``"1.5 days"``, ``"100ms"``; a bare numeric string is milliseconds too.

    >>> parse_duration("10 minutes")
    600.0
    >>> parse_duration(1500)
    1.5

    :raises InvalidDuration: for anything else, and for negative or non-finite values.
    """
    if isinstance(value, bool):
        raise InvalidDuration(value, "a boolean is not a duration")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)):
        seconds = value / 1000.0
    elif isinstance(value, str):
        match = _PATTERN.match(value.strip()) if len(value) <= 100 else None
        if match is None:
            raise InvalidDuration(value)
        unit = _UNIT_KEY[(match["unit"] or "ms").lower()]
        seconds = float(match["n"]) * _SECONDS[unit]
    else:
        raise InvalidDuration(value, f"unsupported type {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidDuration(value, "a duration must be finite and not negative")
    return float(seconds)
