"""The state-store ports: small shared state with expiry, and its async twin.

The receivers keep their de-duplication claims here. Every store of this library
(:class:`~layer_webhooks.MemoryStore`, ``SqliteStore``, ``RedisStore``) also implements the
receipts state port, :class:`~layer_webhooks.receipts.ReceiptsStore`, so that one store serves both.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

#: A JSON-safe value: what a store keeps.
JSONValue = Any


@runtime_checkable
class Store(Protocol):
    """Small shared state with expiry: keys to JSON-safe values, each living ``ttl`` seconds.

    ``ttl`` is in seconds on the store's clock. Every method is atomic with respect to the
    others, across every process that shares the store; a store that cannot be reached raises
    :class:`~layer_webhooks.StoreError` (the receiver answers 503).
    """

    def add_if_absent(self, key: str, value: JSONValue, ttl: float) -> bool:
        """Set ``key`` to ``value`` for ``ttl`` seconds, only if it is absent or expired.

        Return True when this call set it, False when a live value was there (left as it
        was, expiry included). Of concurrent calls for one absent key, exactly one returns True.
        """
        ...

    def get(self, key: str) -> JSONValue | None:
        """The live value of ``key`` (equal to the value stored, as JSON would give it back);
        None when it is absent or expired. Never changes the state."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` (live or expired); removing an absent key is not an error."""
        ...


@runtime_checkable
class AsyncStore(Store, Protocol):
    """A :class:`Store` that an event loop can write to without blocking.

    :meth:`~layer_webhooks.Receiver.handle_async` awaits these twins when its queue is an
    :class:`~layer_webhooks.AsyncQueue` too; otherwise it runs the blocking calls in a thread.
    """

    async def add_if_absent_async(self, key: str, value: JSONValue, ttl: float) -> bool:
        """As :meth:`Store.add_if_absent`, awaiting the write instead of blocking the loop."""
        ...

    async def get_async(self, key: str) -> JSONValue | None:
        """As :meth:`Store.get`, awaiting the read instead of blocking the loop."""
        ...

    async def delete_async(self, key: str) -> None:
        """As :meth:`Store.delete`, awaiting the write instead of blocking the loop."""
        ...
