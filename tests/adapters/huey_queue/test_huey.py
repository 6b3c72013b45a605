"""HueyQueue in this process, on MemoryHuey, SqliteHuey and a real Redis.

Jobs are driven the way huey's own tests drive tasks: ``huey.dequeue()`` then
``huey.execute(task, timestamp=task.eta)``, so that retries and delays need no sleeping.
Consumers in their own processes are in test_huey_consumers.py.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("huey")

from huey import FileHuey, Huey, MemoryHuey, PriorityRedisHuey, RedisHuey, SqliteHuey
from huey.signals import SIGNAL_INTERRUPTED
from support.clock import Clock
from support.hueys import fresh_huey
from support.payloads import SECRET, load_fixture, signed
from support.redis_server import free_port

from layer_webhooks import (
    ConfigurationError,
    Hook,
    InvalidJobData,
    Job,
    Queue,
    QueueError,
    WebhooksServices,
)
from layer_webhooks.adapters.huey import HueyQueue
from layer_webhooks.adapters.huey._heartbeat import Heartbeat, worker_name
from layer_webhooks.jobs._memory_ledger import MemoryLedger

MakeQueue = Callable[..., HueyQueue]
FAR_FUTURE = datetime.datetime(2100, 1, 1)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def make_queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeQueue]:
    made: list[HueyQueue] = []

    def make(**options: Any) -> HueyQueue:
        queue = HueyQueue(fresh_huey(request.param, request, tmp_path), **options)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.close()


def drain(huey: Huey, *, limit: int = 50) -> int:
    """Run every queued task now, and every scheduled one at its eta; return how many ran."""
    ran = 0
    for _ in range(limit):
        task = huey.dequeue()
        if task is None:
            scheduled = sorted(huey.read_schedule(FAR_FUTURE), key=lambda t: t.eta)
            if not scheduled:
                break
            task = scheduled[0]
            for later in scheduled[1:]:
                huey.add_schedule(later)
        huey.execute(task, timestamp=task.eta)
        ran += 1
    return ran


def test_is_a_queue() -> None:
    assert isinstance(HueyQueue(MemoryHuey("q")), Queue)


def test_a_job_runs_once_with_its_name_data_and_id(make_queue: MakeQueue) -> None:
    queue = make_queue()
    seen: list[Job] = []
    queue.process("Webhook Example", seen.append)
    queue.enqueue("Webhook Example", {"type": "message.sent", "n": [1, 2.5, None, "é"]}, job_id="hook:evt-1")
    assert [job.id for job in queue.pending()] == ["hook:evt-1"]
    drain(queue.huey)
    assert seen == [Job("Webhook Example", {"type": "message.sent", "n": [1, 2.5, None, "é"]}, "hook:evt-1", 1)]
    assert queue.pending() == []


def test_an_id_still_pending_is_not_queued_twice(make_queue: MakeQueue) -> None:
    queue = make_queue()
    seen: list[Job] = []
    queue.process("j", seen.append)
    queue.enqueue("j", {"n": 1}, job_id="same")
    queue.enqueue("j", {"n": 2}, job_id="same")
    asyncio.run(queue.enqueue_async("j", {"n": 3}, job_id="same"))
    drain(queue.huey)
    assert [job.data for job in seen] == [{"n": 1}]
    queue.enqueue("j", {"n": 4}, job_id="same")  # finished: a new job may take the id
    drain(queue.huey)
    assert [job.data for job in seen] == [{"n": 1}, {"n": 4}]


@pytest.mark.parametrize("data", [{"s": {1, 2}}, {"b": b"bytes"}, {"x": math.nan}, {"o": object()}, {1j: 1}])
def test_data_that_is_not_json_safe_is_refused_and_nothing_is_written(make_queue: MakeQueue, data: Any) -> None:
    queue = make_queue()
    with pytest.raises(InvalidJobData) as info:
        queue.enqueue("j", data)
    assert isinstance(info.value, TypeError)
    with pytest.raises(InvalidJobData):
        asyncio.run(queue.enqueue_async("j", data))
    assert queue.pending() == []
    assert len(queue.huey) == 0


def test_a_failing_job_backs_off_exponentially_then_becomes_a_dead_letter(make_queue: MakeQueue) -> None:
    queue = make_queue()
    runs: list[tuple[int, datetime.datetime | None]] = []

    def fail(job: Job) -> None:
        runs.append((job.attempt, None))
        raise ValueError(f"no luck at {job.attempt}")

    queue.process("j", fail, attempts=3, backoff=10.0)
    queue.enqueue("j", {"n": 1}, job_id="doomed")
    huey = queue.huey
    waits = []
    for _ in range(3):
        task = huey.dequeue()
        assert task is not None
        if task.eta is not None:
            waits.append((task.eta - datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)).total_seconds())
        huey.execute(task, timestamp=task.eta)
    assert [attempt for attempt, _ in runs] == [1, 2, 3]
    # Waits of 10 s then 20 s (backoff * 2 ** (attempt - 1)), measured a moment later.
    assert 8.5 < waits[0] <= 10.0
    assert 18.5 < waits[1] <= 20.0
    assert huey.dequeue() is None
    assert queue.pending() == []
    [dead] = queue.dead_letters()
    assert dead.job == Job("j", {"n": 1}, "doomed", 3)
    assert dead.error == "ValueError('no luck at 3')"


def test_a_dead_letter_can_be_replayed_and_discarded(make_queue: MakeQueue) -> None:
    queue = make_queue()
    fixed = False
    done: list[Job] = []

    def flaky(job: Job) -> None:
        if not fixed:
            raise RuntimeError("not yet")
        done.append(job)

    queue.process("j", flaky, attempts=1)
    queue.enqueue("j", {"n": 1}, job_id="a")
    queue.enqueue("j", {"n": 2}, job_id="b")
    drain(queue.huey)
    assert sorted(d.job.id for d in queue.dead_letters()) == ["a", "b"]
    fixed = True
    assert queue.replay("a") is True
    assert queue.replay("a") is False  # no longer dead
    assert queue.replay("nope") is False
    drain(queue.huey)
    assert done == [Job("j", {"n": 1}, "a", 1)]
    assert queue.discard("b") is True
    assert queue.discard("b") is False
    assert queue.dead_letters() == []


def test_a_job_nobody_handles_is_retried_then_kept_as_a_dead_letter(make_queue: MakeQueue) -> None:
    queue = make_queue()
    queue.enqueue("unknown", {"n": 1}, job_id="u")
    assert drain(queue.huey) == 10  # the default: 10 attempts
    [dead] = queue.dead_letters()
    assert dead.job.attempt == 10
    assert "no handler registered for jobs named 'unknown'" in dead.error


def test_a_stale_or_duplicate_message_does_not_run_the_job_again(make_queue: MakeQueue) -> None:
    queue = make_queue()
    runs: list[int] = []

    def fail_once(job: Job) -> None:
        runs.append(job.attempt)
        if job.attempt == 1:
            raise RuntimeError("once")

    queue.process("j", fail_once, attempts=3, backoff=0)
    queue.enqueue("j", {}, job_id="d")
    huey = queue.huey
    first = huey.dequeue()
    huey.execute(first)  # attempt 1 fails; attempt 2 is queued
    huey.execute(first)  # a duplicate of attempt 1's message: stale
    drain(huey)
    huey.execute(first)  # and once the job is done
    assert runs == [1, 2]


def test_a_handler_interrupted_by_the_consumer_hands_its_job_back(make_queue: MakeQueue) -> None:
    queue = make_queue()
    runs: list[int] = []

    def interrupted_once(job: Job) -> None:
        runs.append(job.attempt)
        if len(runs) == 1:
            raise KeyboardInterrupt  # what huey's process workers raise on shutdown

    queue.process("j", interrupted_once)
    queue.enqueue("j", {}, job_id="i")
    drain(queue.huey)
    assert runs == [1, 1]  # same attempt: an interruption is not a failure
    assert queue.pending() == []
    assert queue.dead_letters() == []


def test_delayed_jobs_wait_in_hueys_schedule(make_queue: MakeQueue) -> None:
    queue = make_queue()
    seen: list[Job] = []
    queue.process("j", seen.append)
    queue.enqueue("j", {}, job_id="later", delay=3600)
    huey = queue.huey
    task = huey.dequeue()
    huey.execute(task)  # not due: huey moves it to its schedule
    assert seen == []
    assert [t.id for t in huey.scheduled()] == ["later"]
    assert 3590 < (task.eta - datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)).total_seconds() <= 3600
    drain(huey)
    assert [job.id for job in seen] == ["later"]


def test_concurrent_enqueue_async_calls_share_writes(make_queue: MakeQueue) -> None:
    queue = make_queue()

    async def burst() -> None:
        await asyncio.gather(*(queue.enqueue_async("j", {"n": n}, job_id=f"n{n}") for n in range(300)))

    asyncio.run(burst())
    assert sorted(job.id for job in queue.pending()) == sorted(f"n{n}" for n in range(300))
    assert len(queue.huey) == 300
    assert queue._committer.batches < 300  # group commit: several jobs per write


def test_memory_huey_in_immediate_mode_runs_jobs_inline() -> None:
    huey = MemoryHuey("imm", immediate=True)
    queue = HueyQueue(huey)
    seen: list[Job] = []
    queue.process("j", seen.append)
    queue.enqueue("j", {"n": 1}, job_id="now")
    assert seen == [Job("j", {"n": 1}, "now", 1)]


def test_services_process_and_the_receiver_use_the_huey_queue() -> None:
    services = WebhooksServices(queue=HueyQueue(MemoryHuey("svc", immediate=True)))
    receiver = services.listen(SECRET, [Hook("Webhook Example", "/hook", ["message.sent"])])
    seen: list[Job] = []

    @services.process("Webhook Example", backoff=1.0)
    def on_message(job: Job) -> None:
        seen.append(job)

    payload = load_fixture("message.sent")
    response = receiver.handle(signed(payload))
    assert response is not None and response.status == 200
    [job] = seen
    assert job.name == "Webhook Example"
    assert job.data["message"] == payload["message"]
    assert job.id == f"Webhook Example:{payload['event']['id']}"


def test_one_queue_per_huey_and_only_supported_storages(tmp_path: Path) -> None:
    huey = MemoryHuey("one")
    HueyQueue(huey)
    with pytest.raises(ConfigurationError, match="already has a HueyQueue"):
        HueyQueue(huey)
    with pytest.raises(ConfigurationError, match="FileStorage"):
        HueyQueue(FileHuey("f", path=str(tmp_path / "files")))
    with pytest.raises(ConfigurationError, match="lease"):
        HueyQueue(MemoryHuey("z"), lease=0)
    pytest.importorskip("redis")
    with pytest.raises(ConfigurationError, match="priority"):
        HueyQueue(PriorityRedisHuey("p"))


def test_storage_errors_become_queue_errors() -> None:
    pytest.importorskip("redis")
    huey = RedisHuey("down", url=f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    queue = HueyQueue(huey)
    with pytest.raises(QueueError):
        queue.enqueue("j", {})
    with pytest.raises(QueueError):
        asyncio.run(queue.enqueue_async("j", {}))
    queue.close()


def test_group_commit_fails_the_waiting_jobs_rather_than_leaving_them_hanging() -> None:
    from layer_webhooks.adapters.huey._commit import LoopCommitter
    from layer_webhooks.jobs._ledger import NewJob

    events: list[str] = []

    class ShortWriter:
        async def add(self, jobs: Any) -> list[bool]:
            return [True] * (len(jobs) - 1)  # one answer short

        async def aclose(self) -> None:
            events.append("closed")

    def open_writer() -> ShortWriter:
        events.append("open")
        if events.count("open") == 1:
            raise OSError("no connection")
        return ShortWriter()

    committer = LoopCommitter(open_writer)
    job = NewJob("a", "{}", 0.0)

    async def main() -> None:
        with pytest.raises(QueueError, match="no connection"):
            await committer.submit(job)
        with pytest.raises(QueueError, match="0 answers for 1 jobs"):
            await committer.submit(job)

    asyncio.run(main())
    assert events == ["open", "open", "closed"]  # the writer is closed with its loop


def test_the_heartbeat_requeues_the_jobs_of_a_consumer_process_gone_silent(
    make_queue: MakeQueue, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    queue = make_queue(now=clock, lease=30.0)
    seen: list[Job] = []
    queue.process("j", seen.append)
    queue.enqueue("j", {}, job_id="a")
    message = queue.huey.dequeue()
    assert queue.ledger.claim("a", 1, "host/1/dead") is not None  # its consumer then died
    queue.huey.execute(message)  # a duplicate taken meanwhile: the job runs under a live worker
    clock.advance(29)
    queue._beat()
    assert seen == []
    clock.advance(2)
    with caplog.at_level(logging.WARNING, "layer_webhooks.huey"):
        queue._beat()
    assert "job a requeued: its consumer process went silent" in caplog.text
    drain(queue.huey)
    assert [job.id for job in seen] == ["a"]


def test_the_heartbeat_keeps_this_processs_jobs_its_own(make_queue: MakeQueue) -> None:
    clock = Clock()
    queue = make_queue(now=clock, lease=30.0)
    queue.enqueue("j", {}, job_id="a")
    assert queue.ledger.claim("a", 1, worker_name()) is not None
    for _ in range(3):
        clock.advance(20)
        queue._beat()
    assert queue.ledger.claim("a", 1, "another/2/worker") is None
    assert queue.ledger.release("a", worker_name())


def test_the_heartbeat_thread_runs_once_per_process_until_stopped(caplog: pytest.LogCaptureFixture) -> None:
    beats: list[float] = []
    enough = threading.Event()

    def beat() -> None:
        beats.append(time.monotonic())
        if len(beats) == 2:
            raise OSError("storage down")  # logged; the thread goes on
        if len(beats) == 4:
            enough.set()

    heartbeat = Heartbeat(beat, 0.01)
    with caplog.at_level(logging.ERROR, "layer_webhooks.huey"):
        heartbeat.start()
        heartbeat.start()  # running already: not a second thread
        assert enough.wait(5)
        heartbeat.stop()
    assert "heartbeat failed" in caplog.text
    assert [t.name for t in threading.enumerate()].count("layer-webhooks-heartbeat") <= 1
    count = len(beats)
    time.sleep(0.05)
    assert len(beats) <= count + 1  # stopped (one beat may have been under way)


def test_a_worker_name_per_process_shared_by_its_threads() -> None:
    names: set[str] = set()
    threads = [threading.Thread(target=lambda: names.add(worker_name())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    [name] = names
    host, pid, random = name.split("/")
    assert (host, int(pid)) == (socket.gethostname(), os.getpid()) and len(random) == 8


def test_a_task_interrupted_at_shutdown_hands_its_job_back(make_queue: MakeQueue) -> None:
    queue = make_queue()
    seen: list[Job] = []
    queue.process("j", seen.append)
    queue.enqueue("j", {}, job_id="a")
    huey = queue.huey
    task = huey.dequeue()
    assert queue.ledger.claim("a", 1, worker_name()) is not None  # the handler runs, then shutdown
    other = huey.task(name="other")(lambda: None).s()
    huey._emit(SIGNAL_INTERRUPTED, other)  # not ours: ignored
    huey._emit(SIGNAL_INTERRUPTED, task)
    assert drain(huey) == 1
    assert [job.id for job in seen] == ["a"]
    assert queue.pending() == []


def test_toggling_immediate_mode_switches_the_ledger_with_hueys_storage(tmp_path: Path) -> None:
    huey = SqliteHuey("toggle", filename=str(tmp_path / "huey.db"))
    queue = HueyQueue(huey)
    seen: list[str] = []
    queue.process("j", lambda job: seen.append(job.id))
    huey.immediate = True
    queue.enqueue("j", {}, job_id="inline")
    assert seen == ["inline"]
    huey.immediate = False
    queue.enqueue("j", {}, job_id="queued")
    assert seen == ["inline"]
    assert [job.id for job in queue.pending()] == ["queued"]
    drain(huey)
    assert seen == ["inline", "queued"]


def test_repr_and_the_ledger_is_the_one_in_hueys_storage() -> None:
    queue = HueyQueue(MemoryHuey("r"), lease=5)
    assert repr(queue) == "HueyQueue(MemoryHuey('r'), lease=5.0)"
    from layer_webhooks.adapters.huey._ledger_sql import SqlLedger

    assert isinstance(queue.ledger, SqlLedger)
    assert queue.ledger is queue.ledger  # opened once per storage
    with pytest.raises(AttributeError):
        queue.ledger = MemoryLedger()  # type: ignore[misc]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_failed_sql_write_leaves_neither_job_nor_message(kind: str, tmp_path: Path) -> None:
    from layer_webhooks.adapters.huey._ledger_sql import SqlLedger
    from layer_webhooks.jobs._ledger import NewJob

    huey: Huey = MemoryHuey("atomic") if kind == "memory" else SqliteHuey("atomic", filename=str(tmp_path / "h.db"))
    task = huey.task(name="atomic_job")(lambda job_id, attempt: None)

    def message_for(job_id: str, attempt: int, delay: float) -> bytes:
        if job_id == "bad":
            raise OSError("cannot build the message")
        return huey.serialize_task(task.s(job_id, attempt))  # type: ignore[no-any-return]

    if kind == "memory":
        ledger = SqlLedger.for_memory(huey, 30.0, message_for, time.time)
    else:
        ledger = SqlLedger.for_sqlite(huey.storage, 30.0, message_for, time.time)
    with pytest.raises(OSError, match="cannot build"):
        ledger.add([NewJob("good", "{}"), NewJob("bad", "{}")])
    assert ledger.pending() == []
    assert len(huey) == 0
    assert ledger.add([NewJob("good", "{}")]) == [True]
