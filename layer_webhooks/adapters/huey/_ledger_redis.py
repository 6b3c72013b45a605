"""The job ledger (see ``_huey_ledger``) in RedisHuey's Redis: one Lua script per step.

Every script takes the same keys, all beside huey's own: the jobs' records, attempts,
messages and owners (hashes), the waiting and running deadlines (sorted sets), the dead
records and their failure info (hashes), and huey's queue list, into which messages are
pushed the way ``RedisStorage.enqueue`` does (``LPUSH``; huey pops with ``BRPOP``). Times are
the Redis server's (``TIME``), so that consumers on other machines agree on every lease.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import redis
import redis.asyncio
from huey.storage import RedisPriorityQueue, RedisStorage

from ...errors import ConfigurationError
from ._commit import AsyncWriter
from ._ledger_sql import Dead, NewJob, Pending

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""
_FORGET = """
for i = 1, 4 do redis.call('HDEL', KEYS[i], ARGV[1]) end
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
"""
_HELD = "if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end\n"

# KEYS: 1 record, 2 attempt, 3 message, 4 owner, 5 waiting, 6 running, 7 dead, 8 failure, 9 huey's queue.
_ADD = (  # ARGV: lease, then id, record, message, delay per job; returns "1" (added) or "0" per job
    _NOW
    + """
local added = {}
for i = 2, #ARGV, 4 do
  local id = ARGV[i]
  if redis.call('HSETNX', KEYS[1], id, ARGV[i + 1]) == 1 then
    redis.call('HSET', KEYS[2], id, 1)
    redis.call('HSET', KEYS[3], id, ARGV[i + 2])
    redis.call('ZADD', KEYS[5], now + tonumber(ARGV[i + 3]) + tonumber(ARGV[1]), id)
    redis.call('LPUSH', KEYS[9], ARGV[i + 2])
    added[#added + 1] = '1'
  else
    added[#added + 1] = '0'
  end
end
return table.concat(added)
"""
)
_CLAIM = (  # ARGV: id, attempt, token, lease
    _NOW
    + """
local record = redis.call('HGET', KEYS[1], ARGV[1])
if not record or redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return false end
local holder = redis.call('HGET', KEYS[4], ARGV[1])
if holder and holder ~= ARGV[3] and tonumber(redis.call('ZSCORE', KEYS[6], ARGV[1]) or '0') > now then
  return false
end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[6], now + tonumber(ARGV[4]), ARGV[1])
return record
"""
)
_RENEW = (  # ARGV: lease, then id, token pairs
    _NOW
    + """
local lost = {}
for i = 2, #ARGV, 2 do
  if redis.call('HGET', KEYS[4], ARGV[i]) == ARGV[i + 1] then
    redis.call('ZADD', KEYS[6], now + tonumber(ARGV[1]), ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
"""
)
_FINISH = _FORGET + "return 1\n"  # ARGV: id
_RETRY = (  # ARGV: id, token, attempt, message, delay, lease
    _NOW
    + _HELD
    + """
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[5]) + tonumber(ARGV[6]), ARGV[1])
redis.call('LPUSH', KEYS[9], ARGV[4])
return 1
"""
)
_BURY = (  # ARGV: id, token, failure info
    _HELD
    + """
redis.call('HSET', KEYS[7], ARGV[1], redis.call('HGET', KEYS[1], ARGV[1]))
redis.call('HSET', KEYS[8], ARGV[1], ARGV[3])
"""
    + _FORGET
    + "return 1\n"
)
# A requeued job goes to the right end, which BRPOP takes next: it is overdue.
_REQUEUE = """
local function requeue(id, lease)
  local message = redis.call('HGET', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  redis.call('ZREM', KEYS[6], id)
  if not message then redis.call('ZREM', KEYS[5], id) return false end
  redis.call('ZADD', KEYS[5], now + lease, id)
  redis.call('RPUSH', KEYS[9], message)
  return true
end
"""
_RELEASE = (  # ARGV: id, token, lease
    _NOW
    + _REQUEUE
    + _HELD
    + """
requeue(ARGV[1], tonumber(ARGV[3]))
return 1
"""
)
_REAP = (  # ARGV: limit, lease; returns id, 1 (lease ran out) or 0 (message presumed lost), ...
    _NOW
    + _REQUEUE
    + """
local out = {}
local idle = redis.call('LLEN', KEYS[9]) == 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now, 'LIMIT', 0, ARGV[1])) do
  if requeue(id, tonumber(ARGV[2])) then out[#out + 1] = id; out[#out + 1] = 1 end
end
if idle then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, ARGV[1])) do
    if requeue(id, tonumber(ARGV[2])) then out[#out + 1] = id; out[#out + 1] = 0 end
  end
end
return out
"""
)
_REPLAY = (  # ARGV: id, message, lease
    _NOW
    + """
local record = redis.call('HGET', KEYS[7], ARGV[1])
if not record then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], record)
redis.call('HSET', KEYS[2], ARGV[1], 1)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[3]), ARGV[1])
redis.call('LPUSH', KEYS[9], ARGV[2])
redis.call('HDEL', KEYS[7], ARGV[1])
redis.call('HDEL', KEYS[8], ARGV[1])
return 1
"""
)


def add_args(lease: float, jobs: Sequence[NewJob]) -> list[Any]:
    """The arguments of the add script for ``jobs``."""
    args: list[Any] = [lease]
    for job in jobs:
        args += (job.id, job.record, job.message, job.delay)
    return args


def added_flags(reply: bytes) -> list[bool]:
    """The add script's answer: one flag per job."""
    return [flag == 49 for flag in reply]  # b"1"


# What an asyncio connection can take from a sync pool's settings; the rest is redis-py's own.
_ASYNC_SETTINGS = {"host", "port", "db", "username", "password", "client_name", "path", "credential_provider"}
_ASYNC_SETTINGS |= {"socket_timeout", "socket_connect_timeout", "socket_keepalive", "socket_keepalive_options"}


def _async_client(pool: redis.ConnectionPool) -> redis.asyncio.Redis:
    settings = pool.connection_kwargs
    options = {k: v for k, v in settings.items() if k in _ASYNC_SETTINGS or k.startswith("ssl_")}
    connection_class: type[redis.asyncio.connection.AbstractConnection] = redis.asyncio.Connection
    if issubclass(pool.connection_class, redis.UnixDomainSocketConnection):
        connection_class = redis.asyncio.UnixDomainSocketConnection
    elif issubclass(pool.connection_class, redis.SSLConnection):
        connection_class = redis.asyncio.SSLConnection
    async_pool = redis.asyncio.ConnectionPool(connection_class=connection_class, **options)
    return redis.asyncio.Redis(connection_pool=async_pool)


class _AsyncWriter:
    def __init__(self, client: redis.asyncio.Redis, keys: list[str], lease: float) -> None:
        self._client = client
        self._script = client.register_script(_ADD)
        self._keys = keys
        self._lease = lease

    async def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        return added_flags(await self._script(self._keys, add_args(self._lease, jobs)))

    async def aclose(self) -> None:
        await self._client.aclose(close_connection_pool=True)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisLedger:
    """The ledger in the Redis behind ``storage`` (a huey ``RedisStorage``), on its client."""

    def __init__(self, storage: RedisStorage, lease: float) -> None:
        if isinstance(storage, RedisPriorityQueue):
            raise ConfigurationError("HueyQueue needs RedisHuey (a list queue), not a priority Redis storage")
        self._conn = conn = storage.conn
        self._lease = lease
        prefix = f"huey.layer_webhooks.{storage.name}."
        names = ("record", "attempt", "message", "owner", "waiting", "running", "dead", "failure")
        self._keys = [prefix + name for name in names] + [storage.queue_key]
        self._add = conn.register_script(_ADD)
        self._claim = conn.register_script(_CLAIM)
        self._renew = conn.register_script(_RENEW)
        self._finish = conn.register_script(_FINISH)
        self._retry = conn.register_script(_RETRY)
        self._bury = conn.register_script(_BURY)
        self._release = conn.register_script(_RELEASE)
        self._reap = conn.register_script(_REAP)
        self._replay = conn.register_script(_REPLAY)

    def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        """See :meth:`Ledger.add`: one script call, one round trip, for the whole batch."""
        return added_flags(self._add(self._keys, add_args(self._lease, jobs)))

    def open_async(self) -> AsyncWriter:
        """See :meth:`Ledger.open_async`: a ``redis.asyncio`` client like huey's own, for this loop."""
        return _AsyncWriter(_async_client(self._conn.connection_pool), self._keys, self._lease)

    def claim(self, job_id: str, attempt: int, token: str) -> str | None:
        """See :meth:`Ledger.claim`."""
        record = self._claim(self._keys, [job_id, attempt, token, self._lease])
        return None if record is None else _text(record)

    def renew(self, held: Sequence[tuple[str, str]]) -> list[str]:
        """See :meth:`Ledger.renew`."""
        args: list[Any] = [self._lease]
        for pair in held:
            args += pair
        return [_text(job_id) for job_id in self._renew(self._keys, args)]

    def finish(self, job_id: str) -> None:
        """See :meth:`Ledger.finish`."""
        self._finish(self._keys, [job_id])

    def retry(self, job_id: str, token: str, attempt: int, message: bytes, delay: float) -> bool:
        """See :meth:`Ledger.retry`."""
        return bool(self._retry(self._keys, [job_id, token, attempt, message, delay, self._lease]))

    def bury(self, job_id: str, token: str, attempt: int, error: str) -> bool:
        """See :meth:`Ledger.bury`."""
        return bool(self._bury(self._keys, [job_id, token, json.dumps([attempt, error, time.time()])]))

    def release(self, job_id: str, token: str) -> bool:
        """See :meth:`Ledger.release`."""
        return bool(self._release(self._keys, [job_id, token, self._lease]))

    def reap(self, limit: int) -> list[tuple[str, bool]]:
        """See :meth:`Ledger.reap`."""
        out = self._reap(self._keys, [limit, self._lease])
        return [(_text(job_id), bool(expired)) for job_id, expired in zip(out[::2], out[1::2], strict=True)]

    def pending(self) -> list[Pending]:
        """See :meth:`Ledger.pending`."""
        with self._conn.pipeline(transaction=True) as pipe:
            records, attempts = pipe.hgetall(self._keys[0]).hgetall(self._keys[1]).execute()
        return [(_text(k), _text(v), int(attempts.get(k, 1))) for k, v in records.items()]

    def dead(self) -> list[Dead]:
        """See :meth:`Ledger.dead`."""
        with self._conn.pipeline(transaction=True) as pipe:
            records, failures = pipe.hgetall(self._keys[6]).hgetall(self._keys[7]).execute()
        dead = []
        for key, record in records.items():
            attempt, error, failed_at = json.loads(failures.get(key, b'[0, "", 0]'))
            dead.append((_text(key), _text(record), int(attempt), str(error), float(failed_at)))
        return sorted(dead, key=lambda item: item[4])

    def replay(self, job_id: str, message: bytes) -> int:
        """See :meth:`Ledger.replay`."""
        return int(self._replay(self._keys, [job_id, message, self._lease]))

    def discard(self, job_id: str) -> bool:
        """See :meth:`Ledger.discard`."""
        with self._conn.pipeline(transaction=True) as pipe:
            removed, _ = pipe.hdel(self._keys[6], job_id).hdel(self._keys[7], job_id).execute()
        return bool(removed)
