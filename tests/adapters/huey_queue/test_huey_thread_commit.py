"""``HueyQueue.enqueue`` from many threads of one process (gunicorn ``gthread``): group commit.

Redis is real. A batch is made deterministic with Redis's own ``CLIENT PAUSE WRITE``: the first
caller's script call waits in Redis, the other callers queue behind it, then Redis resumes and
they are written together. A :class:`~support.lossy_proxy.LossyProxy` loses a batch's request.
"""

from __future__ import annotations

import functools
import hashlib
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

pytest.importorskip("huey")
pytest.importorskip("redis")

import redis
from huey import MemoryHuey, RedisHuey
from support.lossy_proxy import LossyProxy
from support.payloads import SECRET, load_fixture, signed

from layer_webhooks import Hook, Job, MemoryStore, QueueError, Receiver, Request, Response
from layer_webhooks.adapters.huey import HueyQueue
from layer_webhooks.adapters.huey._ledger_redis import source
from layer_webhooks.adapters.huey._thread_commit import ThreadCommitter
from layer_webhooks.jobs._ledger import NewJob

HOOK = Hook("Webhook Example", "/hook", ["message.sent"])
WAIT = 10.0  # every wait below is bounded by this


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def start(target: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def join(threads: Sequence[threading.Thread]) -> None:
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()


def make_queue(url: str) -> HueyQueue:
    pool = redis.ConnectionPool.from_url(url, socket_timeout=5)  # a client that does not retry
    queue = HueyQueue(RedisHuey(f"tc-{uuid.uuid4().hex[:8]}", connection_pool=pool, blocking=False))
    redis.Redis(connection_pool=pool).script_load(source("add"))  # no NOSCRIPT round trip
    return queue


@pytest.fixture
def admin(redis_server: Any) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.client_unpause()
    client.close()


def in_one_batch(
    queue: HueyQueue,
    admin: redis.Redis,
    first: Callable[[], Any],
    rest: Sequence[Callable[[], Any]],
    then: Callable[[], Any] = lambda: None,
) -> None:
    """Run ``first`` while Redis holds its write, queue ``rest`` behind it, ``then()``, let Redis go."""
    committer = queue._thread_committer
    before = committer.batches
    admin.client_pause(int(WAIT * 1000), all=False)  # writes only
    threads = [start(first)]
    until(lambda: committer.batches == before + 1, "the first write")
    threads += [start(call) for call in rest]
    until(lambda: committer.queued == len(rest), "the other callers to queue")
    then()
    admin.client_unpause()
    join(threads)


def test_concurrent_enqueue_calls_from_threads_share_one_write(redis_server: Any, admin: redis.Redis) -> None:
    queue = make_queue(redis_server.url)
    ids = [f"n{n}" for n in range(8)]
    calls = [functools.partial(queue.enqueue, "j", {"id": job_id}, job_id=job_id) for job_id in ids]
    admin.config_resetstat()
    in_one_batch(queue, admin, calls[0], calls[1:])
    assert queue._thread_committer.batches == 2  # the first job alone, then the seven queued meanwhile
    assert admin.info("commandstats")["cmdstat_evalsha"]["calls"] == 2  # one script call each
    assert sorted(job.id for job in queue.pending()) == ids
    assert len(queue.huey) == 8
    queue.close()


def test_a_lone_caller_writes_at_once_each_job_its_own_batch(redis_server: Any) -> None:
    queue = make_queue(redis_server.url)
    for n in range(5):
        queue.enqueue("j", {"n": n}, job_id=f"s{n}")
        assert queue._thread_committer.batches == n + 1 and queue._thread_committer.queued == 0
    queue.enqueue("j", {"n": 0}, job_id="s0")  # pending already: not queued twice
    assert len(queue.huey) == 5 and len(queue.pending()) == 5
    queue.close()


def delivery(n: int) -> Request:
    payload = load_fixture("message.sent")
    payload["event"]["id"] = f"evt-{uuid.uuid4().hex[:8]}-{n}"
    return signed(payload)


def test_a_failed_batch_fails_every_caller_in_it_and_marks_nothing_seen(redis_server: Any, admin: redis.Redis) -> None:
    with LossyProxy(redis_server.port) as proxy:
        queue = make_queue(proxy.url)
        receiver = Receiver(SECRET, [HOOK], queue, store=MemoryStore())
        requests = [delivery(n) for n in range(6)]
        answers: dict[int, Response | None] = {}

        def handle(n: int) -> Callable[[], None]:
            return lambda: answers.__setitem__(n, receiver.handle(requests[n]))

        add = hashlib.sha1(source("add").encode()).hexdigest().encode()

        def lose_the_next() -> None:  # once the first write has reached Redis (which holds it)
            until(lambda: proxy.passed(add) == 1, "the first write to reach Redis")
            proxy.lose_request(add)

        # The second batch's request never reaches Redis.
        in_one_batch(queue, admin, handle(0), [handle(n) for n in range(1, 6)], lose_the_next)

        assert queue._thread_committer.batches == 2 and len(proxy.lost) == 1  # one request for the five jobs
        statuses = {n: answer.status if answer else None for n, answer in answers.items()}
        assert statuses == {0: 200, 1: 503, 2: 503, 3: 503, 4: 503, 5: 503}
        assert len(queue.pending()) == 1
        for request in requests[1:]:  # Layer's retries: none was marked seen, each is queued now
            answer = receiver.handle(request)
            assert answer is not None and answer.status == 200
        assert len(queue.pending()) == 6 and len(queue.huey) == 6
        queue.close()


def test_an_interrupted_writer_fails_the_callers_it_wrote_for_and_lets_later_ones_through() -> None:
    started, release = threading.Event(), threading.Event()
    batches: list[list[str]] = []

    def add(jobs: Sequence[NewJob]) -> list[bool]:
        batches.append([job.id for job in jobs])
        if len(batches) == 1:
            started.set()
            assert release.wait(WAIT)
            raise KeyboardInterrupt  # the first writer is interrupted mid-write
        return [True] * len(jobs)

    committer = ThreadCommitter(add)
    outcomes: dict[str, object] = {}

    def submit(job_id: str) -> Callable[[], None]:
        def call() -> None:
            try:
                outcomes[job_id] = committer.submit(NewJob(job_id, "{}"))
            except BaseException as exc:
                outcomes[job_id] = type(exc).__name__

        return call

    threads = [start(submit("a"))]
    assert started.wait(WAIT)
    threads += [start(submit(job_id)) for job_id in ("b", "c")]
    until(lambda: committer.queued == 2, "b and c to queue")
    release.set()
    join(threads)
    assert outcomes == {"a": "KeyboardInterrupt", "b": True, "c": True}
    assert batches == [["a"], ["b", "c"]]
    with pytest.raises(QueueError, match="job d could not be queued"):
        ThreadCommitter(lambda jobs: []).submit(NewJob("d", "{}"))  # no answer for the job


def test_a_job_run_inline_may_queue_another_without_waiting_for_its_own_write() -> None:
    queue = HueyQueue(MemoryHuey(f"inline-{uuid.uuid4().hex[:8]}", immediate=True))
    seen: list[str] = []

    def first(job: Job) -> None:
        seen.append(job.id)
        queue.enqueue("second", {}, job_id="b")  # from inside the first one's write

    queue.process("first", first)
    queue.process("second", lambda job: seen.append(job.id))
    join([start(lambda: queue.enqueue("first", {}, job_id="a"))])
    assert seen == ["a", "b"]


def test_a_long_batch_and_a_repeated_id_in_one_script_call(redis_server: Any) -> None:
    queue = make_queue(redis_server.url)
    jobs = [queue.new_job("j", {}, job_id=f"l{n}") for n in range(5000)] + [queue.new_job("j", {}, job_id="l0")]
    added = queue.ledger.add(jobs)
    assert added == [True] * 5000 + [False]
    assert len(queue.huey) == 5000 and len(queue.pending()) == 5000
    assert queue.huey.dequeue().id == "l0"  # huey pops the first pushed first
    assert queue.ledger.add(jobs[1:3]) == [False, False]  # nothing to write: no command without values
    queue.close()


def test_a_write_from_inside_a_write_goes_straight_to_the_ledger_and_fails_alone() -> None:
    written: list[str] = []

    def add(jobs: Sequence[NewJob]) -> list[bool]:
        if jobs[0].id == "inner":
            raise OSError("disk full")
        with pytest.raises(QueueError, match="job inner could not be queued: OSError: disk full"):
            committer.submit(NewJob("inner", "{}"))  # as a job run inline would
        written.extend(job.id for job in jobs)
        return [True] * len(jobs)

    committer = ThreadCommitter(add)
    assert committer.submit(NewJob("outer", "{}")) is True
    assert written == ["outer"] and committer.batches == 1


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_a_caller_interrupted_while_it_waits_leaves_the_line() -> None:
    started, release = threading.Event(), threading.Event()
    batches: list[list[str]] = []

    def add(jobs: Sequence[NewJob]) -> list[bool]:
        batches.append([job.id for job in jobs])
        if jobs[0].id == "a":
            started.set()
            assert release.wait(WAIT)
        return [True] * len(jobs)

    class Interrupted(Exception):
        pass

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted

    committer = ThreadCommitter(add)
    writer = start(lambda: committer.submit(NewJob("a", "{}")))
    assert started.wait(WAIT)
    main = threading.get_ident()
    previous = signal.signal(signal.SIGUSR1, interrupt)
    try:

        def send() -> None:
            until(lambda: committer.queued == 1, "b to queue")
            signal.pthread_kill(main, signal.SIGUSR1)

        sender = start(send)
        with pytest.raises(Interrupted):
            committer.submit(NewJob("b", "{}"))  # waits behind a, on the main thread
        join([sender])
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert committer.queued == 0
    release.set()
    join([writer])
    assert committer.submit(NewJob("c", "{}")) is True  # nobody in line: written at once
    assert batches == [["a"], ["c"]]
