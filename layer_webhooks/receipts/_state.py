"""The receipts state port: a :class:`~layer_webhooks.Store` that also merges recipient statuses
and indexes messages by their place in a conversation.

A record is one message's state for one receipts hook, at :func:`~._rules.state_key`. A
position index is one conversation's, for one hook, at :func:`~._rules.positions_key`: v2+
receipts (``Receipt.created``) name a range of message positions, not a message, so the
handlers find the messages they cover through it. Every store of this library implements this
port (:class:`~layer_webhooks.MemoryStore`, ``SqliteStore``, ``RedisStore``); the receipts
handlers read and write nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from ..store._port import JSONValue, Store


@runtime_checkable
class ReceiptsStore(Store, Protocol):
    """A :class:`~layer_webhooks.Store` with receipts records (per-user statuses that only rise)
    and position indexes.

    :meth:`get` of a record's key returns ``{"message": <message or None>, "statuses": {user:
    status}}``, the statuses among ``sent`` < ``delivered`` < ``read``
    (Layer's ``STATUS_RANK``); :meth:`delete` removes the record. A position index is read and
    written only through :meth:`add_position` and :meth:`add_range` (:meth:`get` of its key is
    None); each of its entries lives its own ``ttl`` and the index goes with its last entry, so
    that nothing outlives the messages it tracks. A store may hold records, indexes and plain
    values side by side, under different keys.
    """

    def merge_statuses(
        self, key: str, statuses: Mapping[str, str], ttl: float, *, message: JSONValue | None = None
    ) -> None:
        """Merge per-user ``statuses`` into the record at ``key``, monotonically, in one atomic step.

        Each user keeps the further of its stored and its given status; unknown statuses are
        ignored. An absent (or expired) record is created with ``message`` None, to live ``ttl``
        seconds; an existing one keeps its expiry, unless ``message`` is given: then the message
        is stored in the record and the expiry set to ``ttl`` from now. Concurrent merges into
        one record lose no user's status.
        """
        ...

    def add_position(self, key: str, position: int, member: str, ttl: float) -> dict[str, str]:
        """Index ``member`` (a message id) at ``position`` in the index ``key`` for ``ttl``
        seconds, and return what the live ranges of :meth:`add_range` covering ``position``
        say: ``{user: status}``, the furthest status of each user (``{}`` when none covers it).

        Adding a member again moves it and restarts its expiry. One atomic step with respect
        to :meth:`add_range` on the same index: of a range and a member added concurrently,
        either the range is returned here or the member by :meth:`add_range`, or both.
        """
        ...

    def add_range(self, key: str, first: int, last: int, statuses: Mapping[str, str], ttl: float) -> list[str]:
        """Remember for ``ttl`` seconds that ``statuses`` (``{user: status}``; unknown statuses
        ignored) hold at every position from ``first`` to ``last`` (both included) in the index
        ``key``, and return the live members indexed at those positions, by position.

        Remembering the same range, user and status again restarts its expiry. The range is
        kept so that a member added later at a position in it learns the statuses from
        :meth:`add_position` (a receipt can arrive before its message). One atomic step.
        """
        ...
