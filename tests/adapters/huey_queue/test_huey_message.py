"""HueyQueue's huey messages: a template instead of a pickle per job, byte for byte huey's own.

And the writers' ``EVALSHA`` without redis-py's ``Script``, each on a connection of its own (the
asyncio writer's per event loop, the blocking writer's per process): they load ``add.lua`` again
when Redis has forgotten it, connect again when Redis closed their connection, and a forked
process opens its own.
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import os
import pickle
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("huey")

from huey import Huey, MemoryHuey, RedisHuey
from huey.serializer import Serializer, SignedSerializer
from support.redis_server import RedisServer

from layer_webhooks import QueueError
from layer_webhooks.adapters.huey import HueyQueue
from layer_webhooks.adapters.huey._message import _template

JOB_IDS = [
    "a",
    "0f8c2b6e4a3d4c1b9e7f6a5d4c3b2a19",
    "layer:///messages/940de862-3c96-11e4-baad-164230d1df67",
    "caf\u00e9 \u65e5\u672c \U0001f600",
    "x" * 255,  # the longest SHORT_BINUNICODE
    "x" * 256,  # the shortest BINUNICODE
    "\u00e9" * 128,  # 256 bytes of UTF-8 from 128 characters
    "\U0001f600" * 70,  # 280 bytes
    "y" * 4096,
    "z" * 4097,  # left to huey
    "\ud83d",  # a lone surrogate: left to huey (which pickles it with surrogatepass)
    "h\x03",  # the bytes of the BINGET that refers to the id
    "run_job",
]
ATTEMPTS = [*range(1, 13), 255, 256, 65535, 65536]


def make_queue(huey: Huey) -> HueyQueue:
    return HueyQueue(huey, now=lambda: 1.0e9)


@pytest.fixture(params=["memory", "redis"])
def queue(request: pytest.FixtureRequest) -> Iterator[HueyQueue]:
    name = f"m{uuid.uuid4().hex[:12]}"
    if request.param == "redis":
        pytest.importorskip("redis")
    huey = MemoryHuey(name) if request.param == "memory" else RedisHuey(name, url="redis://127.0.0.1:1/0")
    made = make_queue(huey)  # a message needs no server: nothing here connects
    yield made
    made.close()


def hueys_own(queue: HueyQueue, job_id: str, attempt: int, delay: float) -> bytes:
    task = queue._task.s(job_id, attempt, id=job_id, delay=delay or None)
    return queue.huey.serialize_task(task)  # type: ignore[no-any-return]


def counted(huey: Huey) -> list[object]:
    """The tasks ``huey.serialize_task`` pickles from now on."""
    calls: list[object] = []
    serialize = huey.serialize_task

    def count(task: object) -> bytes:
        calls.append(task)
        return serialize(task)  # type: ignore[no-any-return]

    huey.serialize_task = count
    return calls


def fields(huey: Huey, message: bytes) -> dict[str, Any]:
    task = huey.deserialize_task(message)
    names = ("id", "name", "args", "kwargs", "eta", "retries", "retry_delay", "retry_backoff", "priority")
    more = ("expires", "expires_resolved", "timeout", "on_complete", "on_error", "chord_config", "revoke_id")
    return {"type": type(task), **{name: getattr(task, name) for name in names + more}}


def test_a_message_without_a_delay_is_hueys_own_bytes(queue: HueyQueue) -> None:
    for job_id in JOB_IDS:
        for attempt in ATTEMPTS:
            ours = queue._message(job_id, attempt, 0.0)
            assert ours == hueys_own(queue, job_id, attempt, 0.0), (job_id[:20], attempt)
            assert fields(queue.huey, ours) == fields(queue.huey, hueys_own(queue, job_id, attempt, 0.0))
            assert queue.huey.deserialize_task(ours).args == (job_id, attempt)


def test_a_delayed_message_is_hueys_own_with_its_eta(queue: HueyQueue) -> None:
    for job_id in JOB_IDS[:9]:
        for attempt in (1, 2, 12):
            before = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
            ours = fields(queue.huey, queue._message(job_id, attempt, 30.0))
            theirs = fields(queue.huey, hueys_own(queue, job_id, attempt, 30.0))
            assert abs(ours.pop("eta") - theirs.pop("eta")) < datetime.timedelta(seconds=5)
            assert ours == theirs
            assert ours["args"] == (job_id, attempt)
            assert before < queue.huey.deserialize_task(queue._message(job_id, 1, 30.0)).eta


def test_huey_pickles_a_template_once_not_once_per_job(queue: HueyQueue) -> None:
    calls = counted(queue.huey)
    queue._message("first", 1, 0.0)  # the template: a probe and its checks
    made = len(calls)
    for n in range(100):
        queue._message(f"job-{n}", 1 + n % 12, 0.0)
    assert len(calls) == made
    queue._message("later", 1, 5.0)  # a delay: huey's own
    assert len(calls) == made + 1


@pytest.mark.parametrize(
    "serializer",
    [Serializer(compression=True), Serializer(compression=True, use_zlib=True), SignedSerializer(secret="s")],
    ids=["gzip", "zlib", "signed"],
)
def test_other_serializers_pickle_each_message_as_huey_does(serializer: Serializer) -> None:
    huey = MemoryHuey(f"m{uuid.uuid4().hex[:12]}", serializer=serializer)
    queue = make_queue(huey)
    calls = counted(huey)
    for job_id in JOB_IDS[:4]:
        for attempt in (1, 7):
            ours = queue._message(job_id, attempt, 0.0)
            assert fields(huey, ours) == fields(huey, hueys_own(queue, job_id, attempt, 0.0))
    assert len(calls) == 2 * 4 * 2
    queue.close()


def test_a_serializer_set_later_is_followed() -> None:
    huey = MemoryHuey(f"m{uuid.uuid4().hex[:12]}")
    queue = make_queue(huey)
    plain = queue._message("j", 1, 0.0)
    huey.serializer = Serializer(compression=True)
    packed = queue._message("j", 1, 0.0)
    assert packed[:2] == b"\x1f\x8b"  # gzip
    assert gzip.decompress(packed) == plain
    huey.serializer = Serializer(pickle_protocol=2)  # no frame: no template, huey's bytes
    assert queue._message("j", 3, 0.0) == hueys_own(queue, "j", 3, 0.0)
    assert queue.huey.deserialize_task(queue._message("j", 3, 0.0)).args == ("j", 3)
    queue.close()


def test_a_huey_that_builds_its_own_messages_is_left_to_do_so() -> None:
    class Stamped(MemoryHuey):  # type: ignore[misc]
        def serialize_task(self, task: Any) -> bytes:
            task.kwargs["stamp"] = "s"
            return super().serialize_task(task)  # type: ignore[no-any-return]

    huey = Stamped(f"m{uuid.uuid4().hex[:12]}")
    queue = make_queue(huey)
    assert huey.deserialize_task(queue._message("j", 2, 0.0)).kwargs == {"stamp": "s"}
    queue.close()


def test_a_layout_other_than_hueys_gets_no_template() -> None:
    def without_the_id(job_id: str, attempt: int, delay: float) -> bytes:
        return pickle.dumps(("other", attempt), 5)

    def with_the_ids_length(job_id: str, attempt: int, delay: float) -> bytes:
        return pickle.dumps((job_id, attempt, len(job_id)), 5)

    assert _template(without_the_id) is None
    assert _template(with_the_ids_length) is None  # found, but its checks give other bytes
    assert _template(lambda job_id, attempt, delay: pickle.dumps((job_id, attempt), 5)) is not None


@pytest.mark.slow
def test_the_async_writer_loads_its_script_again_after_a_script_flush(redis_server: RedisServer) -> None:
    import redis

    huey = RedisHuey(f"m{uuid.uuid4().hex[:12]}", url=redis_server.url, blocking=False)
    queue = HueyQueue(huey)
    client = redis.Redis.from_url(redis_server.url)

    async def main() -> None:
        await asyncio.gather(*(queue.enqueue_async("j", {"n": n}, job_id=f"a{n}") for n in range(20)))
        client.script_flush()  # as a restarted Redis without persistence would
        await asyncio.gather(*(queue.enqueue_async("j", {"n": n}, job_id=f"b{n}") for n in range(20)))
        await queue.enqueue_async("j", {"n": 0}, job_id="a0")  # pending already: not queued twice

    asyncio.run(main())
    assert sorted(job.id for job in queue.pending()) == sorted(
        [f"a{n}" for n in range(20)] + [f"b{n}" for n in range(20)]
    )
    assert len(huey) == 40
    assert {huey.deserialize_task(m).args for m in client.lrange(huey.storage.queue_key, 0, -1)} == {
        (f"{x}{n}", 1) for x in "ab" for n in range(20)
    }
    queue.close()
    client.close()


def close_connection(client: Any, connection: str) -> None:
    """Have Redis close ``connection``, as its idle timeout would, and wait until it has (at most 1 s)."""
    client.client_kill_filter(_id=connection)
    for _ in range(200):
        if connection not in {entry["id"] for entry in client.client_list()}:
            return
        time.sleep(0.005)


def writer_ids(client: Any, before: set[str]) -> list[str]:
    """The connections opened since ``before`` whose last command was a script call."""
    return [entry["id"] for entry in client.client_list() if entry["id"] not in before and entry["cmd"] == "evalsha"]


def watched_queue(url: str) -> tuple[HueyQueue, Any, set[str]]:
    """A ``HueyQueue`` on the Redis at ``url``, a client of that Redis, and the ids of the
    connections open before the queue was made (see :func:`writer_ids`)."""
    import redis

    client = redis.Redis.from_url(url)
    before = {entry["id"] for entry in client.client_list()}
    return HueyQueue(RedisHuey(f"m{uuid.uuid4().hex[:12]}", url=url, blocking=False)), client, before


@pytest.mark.slow
def test_the_async_writer_reconnects_when_redis_closed_its_idle_connection(redis_server: RedisServer) -> None:
    queue, client, before = watched_queue(redis_server.url)

    async def main() -> None:
        await queue.enqueue_async("j", {}, job_id="first")
        writers = writer_ids(client, before)
        assert len(writers) == 1
        close_connection(client, writers[0])
        await asyncio.sleep(0.01)  # and this loop has seen it close
        await queue.enqueue_async("j", {}, job_id="second")

    asyncio.run(main())
    assert sorted(job.id for job in queue.pending()) == ["first", "second"]
    queue.close()
    client.close()


@pytest.mark.parametrize(
    ("url", "kind", "timeout", "connect"),
    [
        ("redis://127.0.0.1:1/3?socket_timeout=2&socket_connect_timeout=1", "Connection", 2.0, 1.0),
        ("unix:///tmp/none.sock?socket_timeout=3", "UnixDomainSocketConnection", 3.0, None),
        ("redis://127.0.0.1:1/0", "Connection", None, None),  # redis-py's own defaults
    ],
)
def test_the_async_writer_takes_the_pools_settings(
    url: str, kind: str, timeout: float | None, connect: float | None
) -> None:
    import redis
    import redis.asyncio

    from layer_webhooks.adapters.huey._redis_async import async_connection

    connection = async_connection(redis.ConnectionPool.from_url(url))
    default = redis.asyncio.Connection()  # what redis-py gives a connection told nothing
    assert type(connection).__name__ == kind
    assert connection.socket_timeout == (default.socket_timeout if timeout is None else timeout)
    assert connection.socket_connect_timeout == (default.socket_connect_timeout if connect is None else connect)
    if kind == "Connection":
        assert connection.db == (3 if "/3" in url else 0)


@pytest.mark.slow
def test_the_async_writer_gives_up_on_a_silent_redis_within_socket_timeout(tmp_path: Path) -> None:
    import redis

    with RedisServer(tmp_path) as server:  # its own: stopped below
        process = server.process
        assert process is not None
        pool = redis.ConnectionPool.from_url(server.url, socket_timeout=0.5)
        queue = HueyQueue(RedisHuey(f"m{uuid.uuid4().hex[:12]}", connection_pool=pool, blocking=False))

        async def main() -> float:
            await queue.enqueue_async("j", {}, job_id="before")
            process.send_signal(signal.SIGSTOP)  # connected, but no reply comes
            started = time.monotonic()
            try:
                with pytest.raises(QueueError, match="Timeout"):
                    await asyncio.wait_for(queue.enqueue_async("j", {}, job_id="stalled"), 10)
            finally:
                process.send_signal(signal.SIGCONT)
            waited = time.monotonic() - started
            await queue.enqueue_async("j", {}, job_id="after")  # on a new connection
            return waited

        waited = asyncio.run(main())
        assert 0.4 < waited < 5
        # "stalled" may or may not be stored (its 503 tells Layer to retry): the others are.
        assert {"before", "after"} <= {job.id for job in queue.pending()}
        queue.close()
        pool.disconnect()


@pytest.mark.slow
def test_the_sync_writer_loads_its_script_again_after_a_script_flush(redis_server: RedisServer) -> None:
    import redis

    huey = RedisHuey(f"m{uuid.uuid4().hex[:12]}", url=redis_server.url, blocking=False)
    queue = HueyQueue(huey)
    client = redis.Redis.from_url(redis_server.url)
    queue.enqueue("j", {}, job_id="a")
    client.script_flush()  # as a restarted Redis without persistence would
    queue.enqueue("j", {}, job_id="b")
    queue.enqueue("j", {}, job_id="a")  # pending already: not queued twice
    assert sorted(job.id for job in queue.pending()) == ["a", "b"] and len(huey) == 2
    queue.close()
    client.close()


@pytest.mark.slow
def test_the_sync_writer_reconnects_when_redis_closed_its_idle_connection(redis_server: RedisServer) -> None:
    queue, client, before = watched_queue(redis_server.url)
    queue.enqueue("j", {}, job_id="first")
    (writer,) = writer_ids(client, before)  # its own connection, not one of huey's pool
    close_connection(client, writer)
    queue.enqueue("j", {}, job_id="second")
    assert sorted(job.id for job in queue.pending()) == ["first", "second"]
    assert len(writer_ids(client, before | {writer})) == 1  # a new one
    queue.close()
    client.close()


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_process_writes_on_a_connection_of_its_own(redis_server: RedisServer) -> None:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    huey = RedisHuey(f"m{uuid.uuid4().hex[:12]}", url=redis_server.url, blocking=False)
    queue = HueyQueue(huey)
    queue.enqueue("j", {}, job_id="before the fork")
    pid = os.fork()
    if pid == 0:  # the child (as a gunicorn worker forked after --preload)
        try:
            queue.enqueue("j", {}, job_id="in the child")
        finally:
            os._exit(0 if "in the child" in {job.id for job in queue.pending()} else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    queue.enqueue("j", {}, job_id="after the fork")  # the parent's connection was not disturbed
    assert sorted(job.id for job in queue.pending()) == ["after the fork", "before the fork", "in the child"]
    queue.close()
    client.close()
