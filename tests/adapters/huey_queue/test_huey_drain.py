"""A consumer thread's finish rides on its next claim: one ledger call per job while it drains.

These queues take one job at a time (``batch=1``); test_huey_batches.py takes batches.

Driven in this process as huey's consumer drives a worker thread (``huey.dequeue()`` then
``huey.execute``), in a thread of its own that defers its finishes as ``HueyQueue``'s startup
hook makes each consumer thread do; the real consumers are in test_huey_consumers.py.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("huey")

from huey import RedisHuey
from support.huey_app import build
from support.huey_app_runner import Consumers, steps
from support.hueys import close, drain, fresh_huey
from support.lossy_proxy import LossyProxy

from layer_webhooks import Job
from layer_webhooks.adapters.huey import HueyQueue
from layer_webhooks.adapters.huey._heartbeat import worker_name
from layer_webhooks.adapters.huey._ledger_redis import source


@pytest.fixture(params=["memory", "sqlite", "redis"])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HueyQueue]:
    made = HueyQueue(fresh_huey(request.param, request, tmp_path), batch=1)
    yield made
    close(made)


def in_a_consumer_thread(queue: HueyQueue, work: Callable[[], Any]) -> None:
    """``work()`` in a new thread that defers its finishes (as a consumer's worker thread does)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            queue.defer_finishes(worker_name())
            work()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive() and errors == []


@pytest.fixture
def on_redis(request: pytest.FixtureRequest) -> Iterator[HueyQueue]:
    pytest.importorskip("redis")
    server = request.getfixturevalue("redis_server")
    made = HueyQueue(RedisHuey(f"t{uuid.uuid4().hex[:12]}", url=server.url, blocking=False), batch=1)
    yield made
    close(made)


def test_a_draining_consumer_thread_makes_one_script_call_per_job(on_redis: HueyQueue) -> None:
    queue = on_redis
    runs: list[str] = []
    queue.process("j", lambda job: runs.append(job.id))
    for n in range(20):
        queue.enqueue("j", {"n": n}, job_id=f"j{n}")
    conn = queue.huey.storage.conn
    conn.config_resetstat()
    in_a_consumer_thread(queue, lambda: drain(queue.huey))
    stats = conn.info("commandstats")["cmdstat_evalsha"]
    calls = stats["calls"] - stats["failed_calls"]  # less the NOSCRIPT of a script's first call
    assert runs == [f"j{n}" for n in range(20)]
    # The claims, each carrying the finish before it, and the last job's finish: huey's queue
    # was empty when it was claimed, so it did not wait (two calls per job before).
    assert calls == 21
    assert queue.pending() == []


def test_a_finish_waits_only_while_more_jobs_wait_and_an_idle_look_sends_it(on_redis: HueyQueue) -> None:
    queue = on_redis
    queue.process("j", lambda job: None)
    queue.enqueue("j", {}, job_id="a")
    in_a_consumer_thread(queue, lambda: drain(queue.huey))
    assert queue.pending() == []  # nothing else waited: finished at once
    queue.enqueue("j", {}, job_id="b")
    queue.enqueue("j", {}, job_id="c")
    in_a_consumer_thread(queue, lambda: drain(queue.huey, limit=1))
    assert [job.id for job in queue.pending()] == ["b", "c"]  # b's finish waits for a next claim
    queue.finish_deferred(worker_name(), idle=True)  # the first idle look only marks it
    assert [job.id for job in queue.pending()] == ["b", "c"]
    queue.finish_deferred(worker_name(), idle=True)
    assert [job.id for job in queue.pending()] == ["c"]


def test_a_heartbeat_finishes_what_waits_and_hands_back_none_of_it(on_redis: HueyQueue) -> None:
    queue = on_redis
    runs: list[Job] = []
    queue.process("j", runs.append)
    queue.enqueue("j", {}, job_id="a")
    [message] = queue.huey.pending()
    queue.enqueue("j", {}, job_id="b")
    in_a_consumer_thread(queue, lambda: drain(queue.huey, limit=1))
    assert [job.id for job in queue.pending()] == ["a", "b"]  # a's finish waits for a next claim
    storage = queue.huey.storage
    storage.conn.rpush(storage.queue_key, queue.huey.serialize_task(message))  # a duplicate of a, next
    drain(queue.huey, limit=1)  # in a thread that finishes at once: refused, a is held by this worker
    assert [job.id for job in runs] == ["a"]
    assert queue.settle(worker_name()) == []  # finished first, so not handed back to run again
    drain(queue.huey)
    assert [job.id for job in runs] == ["a", "b"] and queue.pending() == []


def test_a_failing_run_is_retried_at_once_while_the_finishes_before_it_ride_on(queue: HueyQueue) -> None:
    runs: list[Job] = []

    def fails_first(job: Job) -> None:
        runs.append(job)
        if job.id == "b" and job.attempt == 1:
            raise RuntimeError("a planned failure")

    queue.process("j", fails_first, attempts=2, backoff=0)
    for job_id in "abc":
        queue.enqueue("j", {}, job_id=job_id)
    in_a_consumer_thread(queue, lambda: drain(queue.huey))
    assert [(job.id, job.attempt) for job in runs] == [("a", 1), ("b", 1), ("c", 1), ("b", 2)]
    queue.finish_deferred(worker_name())
    assert queue.pending() == [] and queue.dead_letters() == []


def test_the_startup_hook_makes_a_worker_thread_defer_and_an_idle_look_finishes_its_last_job(
    on_redis: HueyQueue,
) -> None:
    queue = on_redis
    queue.process("j", lambda job: None)
    queue.enqueue("j", {}, job_id="b")
    queue.enqueue("j", {}, job_id="c")

    def worker() -> None:
        for hook in queue.huey._startup.values():  # as huey's Worker.initialize calls them
            hook()
        queue.defer_finishes(worker_name())  # a second call changes nothing
        drain(queue.huey, limit=1)  # b runs; c waits, so b's finish waits for a next claim

    in_a_consumer_thread(queue, worker)
    deadline = time.monotonic() + 5
    while [job.id for job in queue.pending()] != ["c"]:  # the idle looks (every 0.05 s) finish b
        assert time.monotonic() < deadline, queue.pending()
        time.sleep(0.01)


@pytest.fixture
def lossy(request: pytest.FixtureRequest) -> Iterator[tuple[HueyQueue, LossyProxy]]:
    """A queue on Redis through a proxy that can lose a request or a reply; a client that does not retry."""
    pytest.importorskip("redis")
    import redis

    with LossyProxy(request.getfixturevalue("redis_server").port) as proxy:
        pool = redis.ConnectionPool.from_url(proxy.url, socket_timeout=2)
        made = HueyQueue(RedisHuey(f"t{uuid.uuid4().hex[:12]}", connection_pool=pool, blocking=False), batch=1)
        for script in ("claim", "finish", "release"):  # loaded: no NOSCRIPT round trip to lose
            redis.Redis(connection_pool=pool).script_load(source(script))
        yield made, proxy
        close(made)


def sha(script: str) -> bytes:
    return hashlib.sha1(source(script).encode()).hexdigest().encode()


def test_a_waiting_finish_that_never_reached_redis_has_its_job_run_again(lossy: tuple[HueyQueue, LossyProxy]) -> None:
    queue, proxy = lossy
    runs: list[str] = []
    queue.process("j", lambda job: runs.append(job.id))
    queue.enqueue("j", {}, job_id="b")
    queue.enqueue("j", {}, job_id="c")
    in_a_consumer_thread(queue, lambda: drain(queue.huey, limit=1))  # b's finish waits
    proxy.lose_request(sha("finish"))
    queue.finish_deferred(worker_name())  # raised: b is in doubt, held by this live worker
    assert [job.id for job in queue.pending()] == ["b", "c"]
    assert queue.settle(worker_name()) == ["b"]  # handed back: at least once
    drain(queue.huey)
    assert runs == ["b", "b", "c"] and queue.pending() == []


def test_a_claim_carrying_a_finish_whose_reply_is_lost_leaves_both_in_doubt(
    lossy: tuple[HueyQueue, LossyProxy],
) -> None:
    queue, proxy = lossy
    runs: list[str] = []
    queue.process("j", lambda job: runs.append(job.id))
    for job_id in "bcd":
        queue.enqueue("j", {}, job_id=job_id)

    def two_runs() -> None:
        drain(queue.huey, limit=1)  # b runs; its finish waits
        proxy.lose_reply_to(sha("claim"))
        drain(queue.huey, limit=1)  # c's claim, carrying b's finish: applied, its reply lost

    in_a_consumer_thread(queue, two_runs)
    assert proxy.lost and runs == ["b"]
    assert queue.settle(worker_name()) == ["c"]  # b was finished; c, claimed and never run, handed back
    drain(queue.huey)
    assert runs == ["b", "c", "d"] and queue.pending() == []


@pytest.mark.slow
def test_an_idle_consumer_finishes_its_last_job_within_a_tenth_of_a_second(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    pytest.importorskip("redis")
    url, name = request.getfixturevalue("redis_server").url, f"t{uuid.uuid4().hex[:10]}"
    _, queue = build("redis", url, name, 30.0)
    consumers = Consumers(tmp_path, "redis", url, name, 30.0)
    try:
        consumers.start()
        for job_id in ("first", "last"):
            queue.enqueue("job", {}, job_id=job_id)
        notes = consumers.ended("first", "last")
        ended = max(note["t"] for job_id in ("first", "last") for note in steps(notes, "end", job_id))
        deadline = time.monotonic() + 10
        while queue.pending():
            assert time.monotonic() < deadline, queue.pending()
            time.sleep(0.005)
        assert time.time() - ended < 0.5  # two idle looks (0.1 s), and the polling of this test
    finally:
        consumers.stop_all()
        close(queue)
