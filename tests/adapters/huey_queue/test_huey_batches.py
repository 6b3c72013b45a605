"""A consumer thread that has run the job huey gave it takes the jobs waiting after it in batches.

On a real Redis, driven in this process as huey's consumer drives a worker thread (see
test_huey_drain.py); the real consumers are in test_huey_consumers.py and the benchmark's drain.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

pytest.importorskip("huey")
pytest.importorskip("redis")

from huey import RedisHuey
from huey.signals import SIGNAL_INTERRUPTED
from support.hueys import close, drain
from support.lossy_proxy import LossyProxy

from layer_webhooks import ConfigurationError, Job
from layer_webhooks.adapters.huey import HueyQueue
from layer_webhooks.adapters.huey._heartbeat import worker_name
from layer_webhooks.adapters.huey._ledger_redis import source


class Clock:
    """A clock that stands still unless a test's handlers move it on, as their runs take time."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The batches' clock: runs take no time (each batch as large as ``batch``) unless moved on."""
    from layer_webhooks.adapters.huey import _batches

    made = Clock()
    monkeypatch.setattr(_batches, "time", made)
    monkeypatch.setattr("layer_webhooks.adapters.huey.time", made)
    return made


def a_queue(url: str, **options: Any) -> HueyQueue:
    return HueyQueue(RedisHuey(f"t{uuid.uuid4().hex[:12]}", url=url, blocking=False), **options)


@pytest.fixture
def queue(request: pytest.FixtureRequest) -> Iterator[HueyQueue]:
    made = a_queue(request.getfixturevalue("redis_server").url)
    yield made
    close(made)


def in_a_consumer_thread(queue: HueyQueue, work: Callable[[], Any]) -> list[BaseException]:
    """``work()`` in a new thread that defers its finishes, as a consumer's worker thread does;
    what it raised."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            queue.defer_finishes(worker_name())
            work()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return errors


def script_calls(queue: HueyQueue) -> int:
    stats = queue.huey.storage.conn.info("commandstats")["cmdstat_evalsha"]
    return int(stats["calls"] - stats["failed_calls"])  # less the NOSCRIPT of a script's first call


def ids(queue: HueyQueue) -> list[str]:
    return [job.id for job in queue.pending()]


def recorded(queue: HueyQueue, job_ids: Iterable[str]) -> list[str]:
    """Enqueue ``job_ids`` as jobs "j", whose handler records each id it runs: the record."""
    runs: list[str] = []
    queue.process("j", lambda job: runs.append(job.id))
    for job_id in job_ids:
        queue.enqueue("j", {}, job_id=job_id)
    return runs


def test_a_draining_thread_runs_forty_jobs_in_order_with_a_handful_of_script_calls(queue: HueyQueue) -> None:
    runs: list[str] = []
    queue.process("j", lambda job: runs.append(job.id))
    for n in range(40):
        queue.enqueue("j", {"n": n}, job_id=f"j{n}")
    queue.huey.storage.conn.config_resetstat()
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey)) == []
    assert runs == [f"j{n}" for n in range(40)]
    # One claim (huey's task), then takes of up to 16 carrying the finishes before them, and the
    # last job's finish: at one call per job it would be 41.
    assert script_calls(queue) <= 8
    assert queue.pending() == [] and len(queue.huey) == 0


def test_one_job_at_a_time_with_batch_1(request: pytest.FixtureRequest) -> None:
    queue = a_queue(request.getfixturevalue("redis_server").url, batch=1)
    try:
        queue.process("j", lambda job: None)
        for n in range(5):
            queue.enqueue("j", {}, job_id=f"j{n}")
        queue.huey.storage.conn.config_resetstat()
        assert in_a_consumer_thread(queue, lambda: drain(queue.huey, limit=1)) == []
        assert ids(queue) == [f"j{n}" for n in range(5)]  # j0 ran, its finish waits; none taken
        assert len(queue.huey) == 4 and script_calls(queue) == 1
        queue.finish_deferred(worker_name())
    finally:
        close(queue)


@pytest.mark.parametrize("batch", [0, -1, 2.5, "16", True])
def test_a_batch_that_cannot_work_is_refused_naming_the_field(batch: Any, request: pytest.FixtureRequest) -> None:
    huey = RedisHuey(f"t{uuid.uuid4().hex[:12]}", url=request.getfixturevalue("redis_server").url)
    with pytest.raises(ConfigurationError, match=r"batch=.*an int >= 1"):
        HueyQueue(huey, batch=batch)


def test_another_task_in_the_queue_ends_a_take_and_huey_runs_it_next(queue: HueyQueue) -> None:
    runs: list[str] = []
    queue.process("j", lambda job: runs.append(job.id))
    other = queue.huey.task(name="other")(lambda: runs.append("other"))
    queue.enqueue("j", {}, job_id="a")
    queue.enqueue("j", {}, job_id="b")
    other()
    queue.enqueue("j", {}, job_id="c")
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey, limit=1)) == []  # one huey task
    assert runs == ["a", "b"] and [task.name for task in queue.huey.pending()] == ["other", "run_job"]
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey)) == []
    assert runs == ["a", "b", "other", "c"]
    assert queue.pending() == [] and len(queue.huey) == 0


def test_a_run_whose_message_huey_pickled_itself_runs_once_through_huey(queue: HueyQueue) -> None:
    long_id = "x" * 5000  # past the template's longest id: huey pickles this message
    runs = recorded(queue, ("a", long_id, "c"))
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey)) == []
    assert runs == ["a", long_id, "c"] and queue.pending() == []


def test_the_lua_reading_of_a_message_agrees_with_the_template(queue: HueyQueue) -> None:
    # Non-ASCII and long (BINUNICODE) ids, and an attempt over 255 (BININT2).
    runs: list[tuple[str, int]] = []
    queue.process("j", lambda job: runs.append((job.id, job.attempt)))
    wide, long_id = "\u00e9\u6f22\U0001f600" * 20, "L" * 300
    for job_id in ("first", wide, long_id, "late"):
        queue.enqueue("j", {}, job_id=job_id)
    storage, keys = queue.huey.storage, f"huey.layer_webhooks.{queue.huey.name}."
    storage.conn.hset(keys + "attempt", "late", 300)  # "late" waits for its 300th run, not its first
    storage.conn.lrem(storage.queue_key, 1, queue._message("late", 1, 0.0))
    storage.conn.lpush(storage.queue_key, queue._message("late", 300, 0.0))
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey, limit=1)) == []
    assert runs == [("first", 1), (wide, 1), (long_id, 1), ("late", 300)]
    assert queue.pending() == [] and len(queue.huey) == 0


def test_a_duplicate_message_in_a_take_is_dropped_and_its_job_runs_once(queue: HueyQueue) -> None:
    runs = recorded(queue, "abc")
    storage = queue.huey.storage
    storage.conn.lpush(storage.queue_key, queue._message("b", 1, 0.0))  # b twice, after c
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey)) == []
    assert runs == ["a", "b", "c"] and queue.pending() == [] and len(queue.huey) == 0


def test_a_stale_message_of_a_job_this_worker_holds_leaves_it_in_doubt_until_a_heartbeat(queue: HueyQueue) -> None:
    runs = recorded(queue, "ab")
    storage = queue.huey.storage
    message_b = queue._message("b", 1, 0.0)
    ledger = queue.ledger
    assert ledger.claim("b", 1, worker_name()) is not None  # held by this worker: a lost reply
    storage.conn.lrem(storage.queue_key, 1, message_b)
    storage.conn.lpush(storage.queue_key, message_b)
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey)) == []
    assert runs == ["a"] and ids(queue) == ["b"]  # refused: b is held by this (live) worker
    queue.finish_deferred(worker_name())
    assert queue.settle(worker_name()) == ["b"]  # handed back: it runs
    drain(queue.huey)
    assert runs == ["a", "b"] and queue.pending() == []


def test_an_interruption_hands_back_the_running_job_and_those_taken_after_it(queue: HueyQueue) -> None:
    runs: list[str] = []

    def handler(job: Job) -> None:
        runs.append(job.id)
        if job.id == "c" and runs.count("c") == 1:
            raise KeyboardInterrupt

    queue.process("j", handler)
    for job_id in "abcde":
        queue.enqueue("j", {}, job_id=job_id)
    # huey's execute catches the KeyboardInterrupt (and sends its interrupted signal)
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey, limit=1)) == []
    queue.finish_deferred(worker_name())
    assert ids(queue) == ["c", "d", "e"] and len(queue.huey) == 3  # waiting again, first in line
    drain(queue.huey)
    assert runs[:3] == ["a", "b", "c"] and sorted(runs[3:]) == ["c", "d", "e"] and queue.pending() == []


def test_huey_s_interrupted_signal_hands_back_a_batch_s_jobs_not_its_first(queue: HueyQueue) -> None:
    runs: list[str] = []
    waiting: list[list[str]] = []

    def handler(job: Job) -> None:
        runs.append(job.id)
        if job.id == "c":  # as huey's consumer does at a hard stop, for the tasks in flight
            (task,) = list(queue.huey._tasks_in_flight)
            queue.huey._emit(SIGNAL_INTERRUPTED, task)
            waiting.append(sorted(task.args[0] for task in queue.huey.pending()))

    queue.process("j", handler)
    for job_id in "abcd":
        queue.enqueue("j", {}, job_id=job_id)
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey, limit=1)) == []
    assert waiting == [["c", "d"]]  # a ran (its finish waited): not handed back


def sha(script: str) -> bytes:
    return hashlib.sha1(source(script).encode()).hexdigest().encode()


@pytest.mark.parametrize("retrying", [True, False], ids=["retrying client", "plain client"])
def test_a_take_whose_reply_is_lost_has_its_jobs_run_once(request: pytest.FixtureRequest, retrying: bool) -> None:
    import redis

    with LossyProxy(request.getfixturevalue("redis_server").port) as proxy:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # the same construction as test_huey_faults.py's
        retry = {"retry": Retry(NoBackoff(), 2), "retry_on_error": [redis.ConnectionError]} if retrying else {}
        pool = redis.ConnectionPool.from_url(proxy.url, socket_timeout=2, **retry)
        queue = HueyQueue(RedisHuey(f"t{uuid.uuid4().hex[:12]}", connection_pool=pool, blocking=False))
        try:
            for script in ("claim", "take", "finish", "release", "release_held", "beat", "reap"):
                redis.Redis(connection_pool=pool).script_load(source(script))
            runs = recorded(queue, "abc")
            proxy.lose_reply_to(sha("take"))
            assert in_a_consumer_thread(queue, lambda: drain(queue.huey, limit=1)) == []
            assert proxy.lost
            if retrying:  # the same take again: its token gets the runs it claimed, not more
                assert runs == ["a", "b", "c"] and queue.pending() == []
                return
            assert runs == ["a"] and ids(queue) == ["b", "c"] and len(queue.huey) == 0  # taken, never run
            queue._beat()  # the heartbeat: a's finish (sent with the take) settled; b and c handed back
            assert len(queue.huey) == 2
            drain(queue.huey)
            assert runs[0] == "a" and sorted(runs[1:]) == ["b", "c"] and queue.pending() == []
        finally:
            close(queue)


def test_a_forgotten_worker_s_takes_are_forgotten(queue: HueyQueue) -> None:
    queue.process("j", lambda job: None)
    for job_id in "abc":
        queue.enqueue("j", {}, job_id=job_id)
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey)) == []
    conn, took = queue.huey.storage.conn, f"huey.layer_webhooks.{queue.huey.name}.took"
    assert conn.hkeys(took) == [worker_name().encode()]
    conn.zadd(f"huey.layer_webhooks.{queue.huey.name}.workers", {worker_name(): 0})  # silent since 1970
    queue.ledger.reap(10)
    assert conn.hkeys(took) == []


@pytest.mark.parametrize(("seconds", "left"), [(0.0001, [3, 0, 0, 0]), (0.03, [3, 2, 1, 0])])
def test_a_batch_holds_about_twenty_milliseconds_of_work(
    queue: HueyQueue, clock: Clock, seconds: float, left: list[int]
) -> None:
    seen: list[int] = []

    def handler(job: Job) -> None:
        seen.append(len(queue.huey))  # messages still in huey's queue when this job runs
        clock.now += seconds

    queue.process("j", handler)
    for job_id in "abcd":
        queue.enqueue("j", {}, job_id=job_id)
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey, limit=1)) == []
    # Fast jobs: b, c and d taken at once. Jobs of 30 ms (over the 20 ms a batch holds): one a take.
    assert seen == left and queue.pending() == []


def test_on_sqlite_each_huey_task_runs_one_job(tmp_path: Any) -> None:
    from huey import SqliteHuey

    queue = HueyQueue(SqliteHuey(f"t{uuid.uuid4().hex[:12]}", filename=str(tmp_path / "huey.db")))
    runs = recorded(queue, "abc")
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey, limit=1)) == []
    assert runs == ["a"] and len(queue.huey) == 2  # no take: huey's queue is SQLite's
    assert in_a_consumer_thread(queue, lambda: drain(queue.huey)) == []
    queue.finish_deferred(worker_name())
    assert runs == ["a", "b", "c"] and queue.pending() == []
    close(queue)
