"""HueyQueue when a consumer's ledger call gets no clear answer: a reply lost after Redis applied
the write, or a request that never reached it. No job may stay held by a live consumer that
does not run it (no lease would ever free it): the next heartbeat hands it back.

Redis is real; a :class:`~support.lossy_proxy.LossyProxy` between the consumer and Redis loses
the chosen reply or request. Both Redis clients of docs/huey.md are tried: one that retries a
command after a lost reply (``redis.Redis.from_url``'s pool) and one that does not.
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("huey")
pytest.importorskip("redis")

import redis
from huey import RedisHuey
from redis.backoff import NoBackoff
from redis.retry import Retry
from support.clock import Clock
from support.lossy_proxy import LossyProxy

from layer_webhooks import Job
from layer_webhooks.adapters.huey import HueyQueue
from layer_webhooks.adapters.huey._heartbeat import worker_name
from layer_webhooks.adapters.huey._ledger_redis import source

FAR_FUTURE = datetime.datetime(2100, 1, 1)


def sha(script: str) -> bytes:
    return hashlib.sha1(source(script).encode()).hexdigest().encode()


class Consumer:
    """A HueyQueue whose Redis traffic goes through ``proxy``, run in this thread as a consumer."""

    def __init__(self, proxy: LossyProxy, retrying: bool) -> None:
        # redis-py 8's clients retry only when told to (Redis.from_url's pool does not).
        retry = {"retry": Retry(NoBackoff(), 2), "retry_on_error": [redis.ConnectionError]} if retrying else {}
        pool = redis.ConnectionPool.from_url(proxy.url, socket_timeout=2, **retry)
        self.pool = pool
        self.clock = Clock()
        self.huey = RedisHuey(f"lost-{uuid.uuid4().hex[:8]}", connection_pool=pool, blocking=False)
        self.queue = HueyQueue(self.huey, lease=30.0, now=self.clock)
        for script in ("claim", "finish", "retry", "release"):  # loaded: no NOSCRIPT round trip
            redis.Redis(connection_pool=pool).script_load(source(script))
        self.runs: list[Job] = []

    def drain(self, limit: int = 20) -> None:
        for _ in range(limit):
            task = self.huey.dequeue()
            if task is None:
                due = self.huey.read_schedule(FAR_FUTURE)
                if not due:
                    return
                for item in due:
                    self.huey.enqueue(item)
                continue
            self.huey.execute(task, timestamp=FAR_FUTURE)

    def beat_and_drain(self, rounds: int = 4) -> None:
        """Heartbeats a lease apart (the lost-message path needs one), each followed by a drain."""
        for _ in range(rounds):
            self.clock.advance(31)
            self.queue._beat()
            self.drain()

    def close(self) -> None:
        self.queue.close()
        self.pool.disconnect()


@pytest.fixture(params=[True, False], ids=["retrying client", "plain client"])
def consumer(request: pytest.FixtureRequest, redis_server: Any) -> Iterator[tuple[Consumer, LossyProxy]]:
    with LossyProxy(redis_server.port) as proxy:
        made = Consumer(proxy, request.param)
        yield made, proxy
        made.close()


def test_a_claim_whose_reply_is_lost_is_handed_back_and_runs(consumer: tuple[Consumer, LossyProxy]) -> None:
    made, proxy = consumer
    made.queue.process("j", made.runs.append)
    made.queue.enqueue("j", {"n": 1}, job_id="a")
    proxy.lose_reply_to(sha("claim"))
    made.drain()
    assert proxy.lost and made.runs == []  # the claim was applied, the handler never ran
    made.beat_and_drain()
    assert [job.id for job in made.runs] == ["a"]
    assert made.queue.pending() == []


def test_a_finish_that_never_reached_redis_does_not_leave_the_job_held(
    consumer: tuple[Consumer, LossyProxy],
) -> None:
    made, proxy = consumer
    made.queue.process("j", made.runs.append)
    made.queue.enqueue("j", {}, job_id="b")
    proxy.lose_request(sha("finish"))
    made.drain()
    made.beat_and_drain()
    assert made.queue.pending() == []  # finished, at the first try or after running again
    assert [job.id for job in made.runs] in (["b"], ["b", "b"])


def test_a_retry_that_never_reached_redis_runs_the_job_again(consumer: tuple[Consumer, LossyProxy]) -> None:
    made, proxy = consumer

    def fails_once(job: Job) -> None:
        made.runs.append(job)
        if len(made.runs) == 1:
            raise RuntimeError("a planned failure")

    made.queue.process("j", fails_once, attempts=3, backoff=0)
    made.queue.enqueue("j", {}, job_id="c")
    proxy.lose_request(sha("retry"))
    made.drain()
    made.beat_and_drain()
    assert len(made.runs) >= 2 and made.queue.pending() == [] and made.queue.dead_letters() == []


def test_a_hand_back_that_fails_is_done_by_a_later_heartbeat(consumer: tuple[Consumer, LossyProxy]) -> None:
    made, proxy = consumer
    made.queue.enqueue("j", {}, job_id="d")
    assert made.queue.ledger.claim("d", 1, worker_name()) is not None  # running here, then interrupted
    proxy.lose_request(sha("release"))
    made.queue.hand_back("d", worker_name())
    made.queue.process("j", made.runs.append)
    made.beat_and_drain()
    assert [job.id for job in made.runs] == ["d"]
