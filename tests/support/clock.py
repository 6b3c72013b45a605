"""The tests' one fake clock: a callable the test moves by hand."""

from __future__ import annotations


class Clock:
    """Seconds since the epoch that move only when a test moves them (``clock.t += 10``)."""

    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        """Move the clock ``seconds`` ahead and return the new time."""
        self.t += seconds
        return self.t
