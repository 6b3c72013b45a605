"""The asyncio side of ``RedisLedger``: ``add.lua`` from an event loop, on a connection like huey's own.

Like the sync ledger's scripts, the writer calls ``EVALSHA`` with the sha, key count and keys
built once (redis-py's ``Script`` wrapper costs a few microseconds a call), and loads the script
only when Redis answers ``NOSCRIPT`` (restarted or flushed). Each event loop's writer sends one
batch at a time, so it holds one connection of its own rather than a client and its pool
(whose bookkeeping costs about a third of a round trip's CPU). As that pool does, a connection
Redis closed while idle is opened again before a command; redis-py's connection closes itself
on any error but a reply from Redis, and the next batch connects again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis
import redis.asyncio

from ...jobs._ledger import NewJob

# What an asyncio connection can take from a sync pool's settings; the rest is redis-py's own.
_ASYNC_SETTINGS = {"host", "port", "db", "username", "password", "client_name", "path", "credential_provider"}
_ASYNC_SETTINGS |= {"socket_timeout", "socket_connect_timeout", "socket_keepalive", "socket_keepalive_options"}


def async_connection(pool: redis.ConnectionPool) -> redis.asyncio.connection.AbstractConnection:
    """A ``redis.asyncio`` connection (not yet open) to the server of the sync ``pool``, with its settings."""
    settings = pool.connection_kwargs
    options = {k: v for k, v in settings.items() if k in _ASYNC_SETTINGS or k.startswith("ssl_")}
    connection_class: type[redis.asyncio.connection.AbstractConnection] = redis.asyncio.Connection
    if issubclass(pool.connection_class, redis.UnixDomainSocketConnection):
        connection_class = redis.asyncio.UnixDomainSocketConnection
    elif issubclass(pool.connection_class, redis.SSLConnection):
        connection_class = redis.asyncio.SSLConnection
    return connection_class(**options)


class AsyncAdder:
    """Batches of new jobs written by ``add.lua`` (``head``: its sha, key count and keys; ``lua``: its source).

    ``add_args(jobs)`` gives the script's arguments for a batch (see ``RedisLedger.add_args``).
    """

    def __init__(
        self,
        connection: redis.asyncio.connection.AbstractConnection,
        head: Sequence[Any],
        lua: str,
        add_args: Callable[[Sequence[NewJob]], list[Any]],
    ) -> None:
        self._connection, self._head, self._lua, self._add_args = connection, tuple(head), lua, add_args

    async def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        """As ``RedisLedger.add``: one script call, one round trip, for the whole batch."""
        args = self._add_args(jobs)
        try:
            flags = await self._call("EVALSHA", *self._head, *args)
        except redis.exceptions.NoScriptError:  # a Redis restarted or flushed: load, then run
            await self._call("SCRIPT", "LOAD", self._lua)
            flags = await self._call("EVALSHA", *self._head, *args)
        return [flag == ord("1") for flag in flags]

    async def _call(self, *command: Any) -> Any:
        connection = self._connection
        try:
            stale = connection.is_connected and await connection.can_read()  # EOF or a stray reply
        except (redis.exceptions.ConnectionError, OSError):
            stale = True
        if stale:
            await connection.disconnect()
        await connection.send_command(*command)  # connects first when closed
        return await connection.read_response()

    async def aclose(self) -> None:
        """Close the connection."""
        await self._connection.disconnect()
