"""The state-store port and the in-memory store."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

#: A JSON-safe value: what a store keeps.
JSONValue = Any


@runtime_checkable
class Store(Protocol):
    """Small shared state with expiry: de-duplication claims, receipts state.

    Values are JSON-safe; ``ttl`` is in seconds on the store's clock. Every method is atomic
    with respect to the others, across every process that shares the store.
    """

    def add_if_absent(self, key: str, value: JSONValue, ttl: float) -> bool:
        """Set ``key`` to ``value`` for ``ttl`` seconds only if it is absent (or expired).

        Return True when this call set it, False when it was already there.
        """
        ...

    def get(self, key: str) -> JSONValue | None:
        """The value of ``key``, or None when absent or expired."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; removing an absent key is not an error."""
        ...


class MemoryStore:
    """A :class:`Store` in this process's memory: thread-safe, expiring, lost with the process.

    De-duplication through it covers one process only; share a ``RedisStore`` between
    processes. Expired keys are swept as new ones arrive, so memory stays bounded by what
    is live.
    """

    def __init__(self, *, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._data: dict[str, tuple[JSONValue, float]] = {}
        self._expiry: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def _sweep(self, now: float) -> None:
        expiry, data = self._expiry, self._data
        while expiry and expiry[0][0] <= now:
            deadline, key = heapq.heappop(expiry)
            item = data.get(key)
            if item is not None and item[1] == deadline:
                del data[key]

    def add_if_absent(self, key: str, value: JSONValue, ttl: float) -> bool:
        """See :meth:`Store.add_if_absent`."""
        now = self._now()
        deadline = now + ttl
        with self._lock:
            item = self._data.get(key)
            if item is not None and item[1] > now:
                return False
            self._data[key] = (value, deadline)
            heapq.heappush(self._expiry, (deadline, key))
            if self._expiry[0][0] <= now:
                self._sweep(now)
            return True

    def get(self, key: str) -> JSONValue | None:
        """See :meth:`Store.get`."""
        item = self._data.get(key)
        if item is None or item[1] <= self._now():
            return None
        return item[0]

    def delete(self, key: str) -> None:
        """See :meth:`Store.delete`."""
        with self._lock:
            self._data.pop(key, None)

    async def add_if_absent_async(self, key: str, value: JSONValue, ttl: float) -> bool:
        """As :meth:`add_if_absent`; never waits on I/O."""
        return self.add_if_absent(key, value, ttl)

    async def delete_async(self, key: str) -> None:
        """As :meth:`delete`; never waits on I/O."""
        self.delete(key)

    def __len__(self) -> int:
        now = self._now()
        with self._lock:
            self._sweep(now)
            return sum(1 for _, deadline in self._data.values() if deadline > now)
