"""When the REST client tries a request again, and after how long: pure, no clock read.

Layer documents no rate limit (layer-protocol.md §4): 429 and the 5xx that say "try later"
are retried with exponential backoff, ``Retry-After`` honoured, within a number of attempts and
a total time. A create is retried only on the answers that say it was not processed.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import timezone

__all__ = ["CREATE_RETRY_STATUSES", "RETRY_STATUSES", "RetryRule", "backoff_delay", "next_wait", "retry_after"]

#: The statuses a request is retried on.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: A ``POST /webhooks`` answered with these was not processed: safe to send again. Anything else
#: (a 500, a timeout, a dropped connection) may have created the webhook.
CREATE_RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryRule:
    """How one request is retried: at most ``attempts`` tries, none starting later than
    ``max_retry_seconds`` after the first, waiting ``backoff * 2**(n - 1)`` seconds after the
    n-th failure unless ``Retry-After`` says otherwise; retried on the ``statuses`` and, if
    ``connection_errors``, when Layer could not be reached."""

    attempts: int = 4
    max_retry_seconds: float = 30.0
    backoff: float = 0.5
    statuses: frozenset[int] = RETRY_STATUSES
    connection_errors: bool = True


def backoff_delay(backoff: float, attempt: int) -> float:
    """Seconds to wait after failed ``attempt`` (1-based): ``backoff``, doubled each time.

    >>> [backoff_delay(0.5, n) for n in (1, 2, 3)]
    [0.5, 1.0, 2.0]
    """
    return backoff * 2.0 ** (attempt - 1)


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds, or an HTTP date measured from
    ``now`` (seconds since the epoch); None when absent or unreadable.

    >>> retry_after("120", now=0.0), retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=20.0)
    (120.0, 40.0)

    A date in the past is 0: try now.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


def next_wait(
    rule: RetryRule, attempt: int, elapsed: float, status: int | None, retry_after: float | None = None
) -> float | None:
    """Seconds to wait before trying again after failed ``attempt`` (1-based), or None to give up.

    ``status`` is the error answer's, None when Layer could not be reached; ``retry_after`` the
    seconds its ``Retry-After`` asked for (see :func:`retry_after`); ``elapsed`` the seconds
    since the first attempt began. A wait that would start the next try later than
    ``rule.max_retry_seconds`` after the first gives up instead.

    >>> rule = RetryRule(attempts=3)
    >>> next_wait(rule, 1, 0.1, 503), next_wait(rule, 2, 0.7, None), next_wait(rule, 3, 2.0, 503)
    (0.5, 1.0, None)
    >>> next_wait(rule, 1, 0.1, 404), next_wait(rule, 1, 0.1, 429, retry_after=31.0)
    (None, None)
    """
    if status is None:
        if not rule.connection_errors:
            return None
        wait = backoff_delay(rule.backoff, attempt)
    elif status not in rule.statuses:
        return None
    else:
        wait = backoff_delay(rule.backoff, attempt) if retry_after is None else retry_after
    if attempt >= rule.attempts or elapsed + wait > rule.max_retry_seconds:
        return None
    return wait
