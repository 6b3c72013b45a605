"""The handler registry: which function runs the jobs of each name, under which retry policy."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..config._checks import suggest
from ..errors import ConfigurationError, ConfigurationTypeError, NoHandlerRegistered
from ._job import Handler
from ._policy import RetryPolicy

log = logging.getLogger("layer_webhooks.queue")


@dataclass(frozen=True, slots=True)
class Registration:
    """A handler and the retry policy of its jobs."""

    handler: Handler
    policy: RetryPolicy


def _function(handler: Handler) -> object:
    # A bound method is "the same handler" as another bound to the same function: what a
    # receiver built twice (services.receipts called again) registers.
    return getattr(handler, "__func__", handler)


def describe(handler: Handler) -> str:
    """The handler as a reader finds it: ``module.qualname`` (its ``repr`` for other callables)."""
    function = _function(handler)
    name = getattr(function, "__qualname__", None)
    return f"{getattr(function, '__module__', '?')}.{name}" if name else repr(handler)


class Registry:
    """Handlers by job name. A job whose name has none runs under :attr:`default_policy`.

    One name has one handler: registering a second one raises (it would silently take the
    first one's jobs). Registering the same function again (a module imported twice, a
    receiver built again) replaces the registration.
    """

    def __init__(self) -> None:
        self._entries: dict[str, Registration] = {}
        #: The schedule of a job whose name has no handler (retried, then kept as dead).
        self.default_policy = RetryPolicy()

    def add(self, name: str, handler: Handler, policy: RetryPolicy) -> None:
        """Register ``handler`` for jobs named ``name``.

        :raises ConfigurationTypeError: ``name`` is not a string or ``handler`` not callable.
        :raises ConfigurationError: ``name`` is empty, or another handler has it already.
        """
        if not isinstance(name, str):
            raise ConfigurationTypeError("name", "a job name (a hook's name) as a string", name)
        if not name:
            raise ConfigurationError("name: a job name must be a non-empty string")
        if not callable(handler):
            raise ConfigurationTypeError("handler", "a function (job) -> None", handler)
        known = self._entries.get(name)
        if known is not None and _function(known.handler) is not _function(handler):
            raise ConfigurationError(
                f"name: jobs named {name!r} have a handler already ({describe(known.handler)}); "
                f"one name has one handler: call both functions from one, or give {describe(handler)} "
                "a hook of its own"
            )
        if known is not None:
            log.debug("handler of jobs named %r registered again", name)
        self._entries[name] = Registration(handler, policy)

    def get(self, name: str) -> Registration | None:
        """The registration of ``name``, or None."""
        return self._entries.get(name)

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._entries)

    def missing(self, name: str) -> NoHandlerRegistered:
        """The error of a job named ``name`` that has no handler, with the registered name it
        most likely meant (a typo, another case)."""
        return NoHandlerRegistered(name, suggest(name, self._entries))
