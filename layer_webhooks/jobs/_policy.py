"""The retry policy and the one decision every queue takes after a failed run: retry or bury."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigurationError

#: Attempts and backoff base of the Node module's Kue jobs.
DEFAULT_ATTEMPTS = 10
DEFAULT_BACKOFF = 10.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A job runs at most ``attempts`` times in all, waiting ``backoff * 2 ** (attempt - 1)``
    seconds after the failed run number ``attempt``: exponential, as Kue's was, but doubling
    from ``backoff`` itself where Kue started at half of it (docs/jobs.md says why).

    >>> RetryPolicy(attempts=3, backoff=0.5).delay(2)
    1.0

    :raises ConfigurationError: ``attempts`` is not an int >= 1, or ``backoff`` not a finite
        number >= 0.
    """

    attempts: int = DEFAULT_ATTEMPTS
    backoff: float = DEFAULT_BACKOFF

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int) or self.attempts < 1:
            raise ConfigurationError(
                f"attempts={self.attempts!r}: expected an int >= 1 (the number of runs in all, first included)"
            )
        backoff = self.backoff
        if (
            isinstance(backoff, bool)
            or not isinstance(backoff, (int, float))
            or not math.isfinite(backoff)
            or backoff < 0
        ):
            raise ConfigurationError(f"backoff={backoff!r}: expected a finite number of seconds >= 0")
        object.__setattr__(self, "backoff", float(backoff))

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the failed run number ``attempt``."""
        return float(self.backoff * 2 ** (attempt - 1))


@dataclass(frozen=True, slots=True)
class Retry:
    """Run the job again as ``attempt``, ``after`` seconds from now."""

    attempt: int
    after: float


@dataclass(frozen=True, slots=True)
class Bury:
    """Keep the job as a dead letter with ``error`` (the ``repr`` of what its last run raised)."""

    error: str


#: What :func:`outcome` decides.
Outcome = Retry | Bury


def outcome(policy: RetryPolicy, attempt: int, error: BaseException) -> Outcome:
    """What to do with a job whose run number ``attempt`` raised ``error``: pure, for every queue.

    >>> outcome(RetryPolicy(attempts=2, backoff=10), 1, RuntimeError("x"))
    Retry(attempt=2, after=10.0)
    >>> outcome(RetryPolicy(attempts=2, backoff=10), 2, RuntimeError("x"))
    Bury(error="RuntimeError('x')")
    """
    if attempt >= policy.attempts:
        return Bury(repr(error))
    return Retry(attempt + 1, policy.delay(attempt))
