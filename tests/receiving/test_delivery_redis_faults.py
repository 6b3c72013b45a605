"""The delivery guarantee on a real Redis: lost replies and a Redis killed mid-flight.

``RedisStore`` and ``HueyQueue`` (RedisHuey) share one redis-server, as docs/huey.md advises.
A :class:`~support.lossy_proxy.LossyProxy` in front of it loses the reply to one chosen write
(the write is applied); a SIGKILLed server is restarted on its append-only file. Deliveries
are retried as Layer retries them (every non-2xx); an acknowledged event must have its job.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("redis")
pytest.importorskip("huey")

import redis
import redis.asyncio
from huey import RedisHuey
from support.lossy_proxy import LossyProxy
from support.payloads import SECRET, load_fixture, signed
from support.redis_server import RedisServer

from layer_webhooks import Hook, Receiver, Request
from layer_webhooks.adapters.huey import HueyQueue
from layer_webhooks.adapters.redis import RedisStore

pytestmark = pytest.mark.slow

HOOK = Hook("Webhook Example", "/hook")


def event(n: int | str) -> Request:
    payload = load_fixture("message.sent")
    payload["event"]["id"] = f"event-{n}"
    return signed(payload)


class Parts:
    """A queue on ``queue_url`` (HueyQueue) and a store prefix on ``store_url`` (RedisStore)."""

    def __init__(self, store_url: str, queue_url: str) -> None:
        self.store_url = store_url
        self.prefix = f"faults:{uuid.uuid4().hex[:8]}:"
        self.queue_client = redis.Redis.from_url(queue_url, socket_timeout=2)
        self.huey = RedisHuey(f"faults-{uuid.uuid4().hex[:8]}", connection_pool=self.queue_client.connection_pool)
        self.queue = HueyQueue(self.huey)
        self.drivers: list[Driver] = []

    def pending(self) -> list[str]:
        return sorted(job.id for job in self.queue.pending())

    def close(self) -> None:
        for driver in self.drivers:
            driver.close()
        self.queue.close()
        self.queue_client.close()


class Driver:
    """Delivers requests to a receiver of its own on ``parts`` (a store client of its own; with
    ``use_async``, an event loop of its own and :meth:`Receiver.handle_async`)."""

    def __init__(self, parts: Parts, use_async: bool) -> None:
        parts.drivers.append(self)
        self.client = redis.Redis.from_url(parts.store_url, socket_timeout=2)
        self.loop = asyncio.new_event_loop() if use_async else None
        self.async_client = redis.asyncio.Redis.from_url(parts.store_url, socket_timeout=2) if use_async else None
        store = RedisStore(self.client, prefix=parts.prefix, async_client=self.async_client)
        self.receiver = Receiver(SECRET, [HOOK], parts.queue, store=store)

    def __call__(self, request: Request) -> int:
        if self.loop is None:
            response = self.receiver.handle(request)
        else:
            response = self.loop.run_until_complete(self.receiver.handle_async(request))
        assert response is not None
        return response.status

    def close(self) -> None:
        self.client.close()
        loop = self.loop
        if loop is not None and not loop.is_closed():
            if self.async_client is not None:
                loop.run_until_complete(self.async_client.aclose())
            tasks = asyncio.all_tasks(loop)
            for task in tasks:  # the group-commit writer: it closes its own connection
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()


@pytest.fixture
def redis_alone(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path) as server:
        yield server


def as_layer(handle: Callable[[Request], int], request: Request, attempts: int = 6) -> list[int]:
    statuses: list[int] = []
    for _ in range(attempts):
        statuses.append(handle(request))
        if statuses[-1] == 200:
            break
    return statuses


DRIVERS = pytest.mark.parametrize("use_async", [False, True], ids=["handle", "handle_async"])

# RESP of the commands: a claim is SET (NX PX); a job is written by EVALSHA of add.lua.
SET = b"$3\r\nSET\r\n"
SCRIPT = b"EVALSHA"


@DRIVERS
def test_a_claim_whose_reply_is_lost_leaves_the_event_queued(redis_alone: RedisServer, use_async: bool) -> None:
    with LossyProxy(redis_alone.port) as proxy:
        parts = Parts(proxy.url, redis_alone.url)
        try:
            proxy.lose_reply_to(SET)
            deliver = Driver(parts, use_async)
            statuses = as_layer(deliver, event(1))
            assert proxy.lost, "the claim never went through the proxy"
            assert statuses[-1] == 200, statuses
            assert parts.pending() == ["Webhook Example:event-1"]
            assert as_layer(deliver, event(1)) == [200]  # a redelivery is a duplicate
            assert parts.pending() == ["Webhook Example:event-1"]
        finally:
            parts.close()


@DRIVERS
def test_a_job_whose_reply_is_lost_is_queued_once(redis_alone: RedisServer, use_async: bool) -> None:
    with LossyProxy(redis_alone.port) as proxy:
        parts = Parts(redis_alone.url, proxy.url)
        try:
            proxy.lose_reply_to(SCRIPT)
            statuses = as_layer(Driver(parts, use_async), event(2))
            assert proxy.lost and statuses[-1] == 200, statuses
            assert parts.pending() == ["Webhook Example:event-2"]
        finally:
            parts.close()


def kill_and_restart(server: RedisServer, down: float) -> None:
    process = server.process
    assert process is not None
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    server.process = None
    time.sleep(down)
    server.start()


@DRIVERS
def test_redis_killed_mid_flight_loses_no_acknowledged_event(redis_alone: RedisServer, use_async: bool) -> None:
    parts = Parts(redis_alone.url, redis_alone.url)
    acknowledged: set[str] = set()
    gave_up: list[str] = []
    lock = threading.Lock()
    count, threads = 240, 6

    def deliver(indices: range) -> None:
        handle = drivers[indices.start]
        for n in indices:
            request = event(n)
            for _ in range(40):  # Layer's retries, without their waits
                try:
                    status = handle(request)
                except Exception:  # a 500 would be an exception escaping: never seen here
                    status = 500
                if status == 200:
                    with lock:
                        acknowledged.add(f"Webhook Example:event-{n}")
                    break
                time.sleep(0.05)
            else:
                gave_up.append(str(n))

    drivers = [Driver(parts, use_async) for _ in range(threads)]
    try:
        workers = [
            threading.Thread(target=deliver, args=(range(i, count, threads),), daemon=True) for i in range(threads)
        ]
        for worker in workers:
            worker.start()
        for _ in range(2):
            time.sleep(0.3)
            kill_and_restart(redis_alone, 0.2)
        for worker in workers:
            worker.join(60)
        assert not any(worker.is_alive() for worker in workers)
        assert gave_up == []
        assert len(acknowledged) == count
        assert set(parts.pending()) >= acknowledged
    finally:
        parts.close()
