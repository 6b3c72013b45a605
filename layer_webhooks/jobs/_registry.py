"""The handler registry: which function runs the jobs of each name, under which retry policy."""

from __future__ import annotations

from dataclasses import dataclass

from ._job import Handler
from ._policy import RetryPolicy


@dataclass(frozen=True, slots=True)
class Registration:
    """A handler and the retry policy of its jobs."""

    handler: Handler
    policy: RetryPolicy


class Registry:
    """Handlers by job name. A job whose name has none runs under :attr:`default_policy`."""

    def __init__(self) -> None:
        self._entries: dict[str, Registration] = {}
        #: The schedule of a job whose name has no handler (retried, then kept as dead).
        self.default_policy = RetryPolicy()

    def add(self, name: str, handler: Handler, policy: RetryPolicy) -> None:
        """Register ``handler`` for jobs named ``name`` (replacing any earlier one)."""
        self._entries[name] = Registration(handler, policy)

    def get(self, name: str) -> Registration | None:
        """The registration of ``name``, or None."""
        return self._entries.get(name)

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._entries)
