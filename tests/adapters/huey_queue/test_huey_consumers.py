"""HueyQueue with real ``huey_consumer`` processes, on a real Redis and on SQLite.

The consumers run tests/support/huey_app.py with a half-second lease (each consumer process
beats every 1/6 s) and write what their handlers do to a notes file (huey_app_runner.py).
Every wait is bounded and every consumer is killed at the end of its test. Handlers that are
killed or interrupted sleep only in their first run (``sleep_once``), so that the run that
matters is not slept again.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("huey")

from support.huey_app import BACKOFF, build
from support.huey_app_runner import Consumers, steps
from support.redis_server import RedisServer

from layer_webhooks.adapters.huey import HueyQueue

pytestmark = pytest.mark.slow

LEASE = 0.5
# For the tests that are not about leases: a loaded machine that stalls a consumer's heartbeat
# for half a second must not make them see the takeover that such a stall rightly causes.
STEADY_LEASE = 4.0
DELAY = 1.0
# After the last end: any second run of a job would have started by now (its claim comes
# before the first run's finish, and a requeued message is taken within a poll, -m 0.1).
SETTLE = 0.3


@pytest.fixture(params=["redis", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "redis":
        pytest.importorskip("redis")
        server: RedisServer = request.getfixturevalue("redis_server")
        return "redis", server.url
    return "sqlite", str(tmp_path / "huey.db")


App = tuple[HueyQueue, Consumers]


@pytest.fixture
def make_app(backend: tuple[str, str], tmp_path: Path) -> Iterator[Callable[[float], App]]:
    """The test's queue (to enqueue and inspect) and its consumers (started by the test)."""
    made: list[App] = []

    def make(lease: float) -> App:
        kind, target = backend
        name = f"t{uuid.uuid4().hex[:10]}"
        _, queue = build(kind, target, name, lease)
        made.append((queue, Consumers(tmp_path, kind, target, name, lease)))
        return made[-1]

    yield make
    for queue, consumers in made:
        consumers.stop_all()
        queue.close()


@pytest.fixture
def app(make_app: Callable[[float], App]) -> App:
    return make_app(LEASE)


@pytest.fixture
def steady_app(make_app: Callable[[float], App]) -> App:
    return make_app(STEADY_LEASE)


def wait_until_done(queue: HueyQueue, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while queue.pending():
        assert time.monotonic() < deadline, f"still pending: {queue.pending()}"
        time.sleep(0.05)


def test_a_consumer_runs_each_job_once(steady_app: App) -> None:
    queue, consumers = steady_app
    consumers.start()
    queue.enqueue("job", {"n": 1}, job_id="one")
    queue.enqueue("job", {"n": 1}, job_id="one")  # still pending: not queued twice
    asyncio.run(queue.enqueue_async("job", {"n": 2}, job_id="two"))
    notes = consumers.ended("one", "two")
    wait_until_done(queue)
    assert [(n["data"], n["attempt"]) for n in steps(notes, "start", "one")] == [({"n": 1}, 1)]
    assert [n["data"] for n in steps(notes, "end", "two")] == [{"n": 2}]


def test_the_delay_is_honoured(steady_app: App) -> None:
    queue, consumers = steady_app
    consumers.start()
    enqueued = time.time()
    queue.enqueue("job", {}, job_id="later", delay=DELAY)
    queue.enqueue("job", {}, job_id="now")
    notes = consumers.ended("later", "now")
    [now], [later] = steps(notes, "start", "now"), steps(notes, "start", "later")
    assert now["t"] - enqueued < 1.5
    # huey's scheduler looks every second: up to ~1 s late, never early.
    assert DELAY - 0.05 <= later["t"] - enqueued <= DELAY + 2.5


def test_retries_back_off_and_the_last_failure_is_kept_for_replay(steady_app: App, tmp_path: Path) -> None:
    queue, consumers = steady_app
    consumers.start(workers=2)
    needed = tmp_path / "fixed"
    queue.enqueue("job", {"fail_until": 3}, job_id="flaky")  # 3 attempts, BACKOFF then 2 * BACKOFF
    queue.enqueue("job", {"need": str(needed)}, job_id="broken")
    notes = consumers.ended("flaky")
    starts = [n["t"] for n in steps(notes, "start", "flaky")]
    assert [n["attempt"] for n in steps(notes, "start", "flaky")] == [1, 2, 3]
    assert starts[1] - starts[0] >= BACKOFF - 0.05
    assert starts[2] - starts[1] >= 2 * BACKOFF - 0.05

    deadline = time.monotonic() + 15
    while not queue.dead_letters():
        assert time.monotonic() < deadline, consumers.logs()
        time.sleep(0.05)
    [dead] = queue.dead_letters()
    assert (dead.job.id, dead.job.attempt) == ("broken", 3)
    assert "needs is missing" in dead.error
    assert [n["attempt"] for n in steps(consumers.notes(), "fail", "broken")] == [1, 2, 3]

    needed.touch()
    assert queue.replay("broken")
    notes = consumers.ended("broken")
    assert steps(notes, "end", "broken")[0]["attempt"] == 1
    wait_until_done(queue)
    assert queue.dead_letters() == []


def test_a_job_whose_consumer_was_killed_runs_again_once_its_lease_runs_out(app: App, tmp_path: Path) -> None:
    queue, consumers = app
    first = consumers.start()
    queue.enqueue("job", {"sleep": 30, "sleep_once": str(tmp_path / "slept")}, job_id="survivor")
    consumers.wait_for(lambda notes: bool(steps(notes, "start", "survivor")), 10)
    second = consumers.start()  # alive beside the first: the first's job is not its to take
    killed_at = time.time()
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    notes = consumers.ended("survivor")
    wait_until_done(queue)
    starts = steps(notes, "start", "survivor")
    assert [n["pid"] for n in starts] == [first.pid, second.pid]
    assert [n["pid"] for n in steps(notes, "end", "survivor")] == [second.pid]
    # Not before the lease ran out: it counts from the killed process's last beat, at most
    # lease / 3 before the kill; soon after (lease + heartbeat + polling).
    assert LEASE * 2 / 3 - 0.1 <= starts[1]["t"] - killed_at <= LEASE + 6.0


def test_a_handler_three_times_longer_than_the_lease_runs_once(make_app: Callable[[float], App]) -> None:
    # A 2 s lease: on 0.5 s, CI under load once stalled a heartbeat past the lease, and the other
    # consumer rightly took the job over (two starts 1.4 s apart). The handler still runs 3 leases.
    lease = 2.0
    queue, consumers = make_app(lease)
    consumers.start_all(2)
    queue.enqueue("job", {"sleep": 3 * lease}, job_id="long")
    consumers.ended("long")
    time.sleep(SETTLE)  # a consumer presumed gone mid-run would have seen its job run again by now
    notes = consumers.notes()
    assert len(steps(notes, "start", "long")) == 1
    wait_until_done(queue)


def test_a_duplicate_message_taken_by_another_worker_of_the_same_consumer_changes_nothing(app: App) -> None:
    queue, consumers = app
    queue.enqueue("job", {"sleep": 3 * LEASE}, job_id="twice")
    [message] = queue.huey.pending()
    queue.huey.enqueue(message)  # the same message again, as a requeue racing the original makes
    consumers.start(workers=2)
    consumers.ended("twice")
    time.sleep(SETTLE)
    assert len(steps(consumers.notes(), "start", "twice")) == 1
    wait_until_done(queue)


@pytest.mark.parametrize("flags", [("-g", "TERM", "-t", "0.3"), ()], ids=["graceful-TERM", "default"])
def test_sigterm_hands_the_running_job_to_another_consumer(
    make_app: Callable[[float], App], flags: tuple[str, ...], tmp_path: Path
) -> None:
    lease = 4.0  # long, so that a job handed back cannot be mistaken for one whose lease ran out
    queue, consumers = make_app(lease)
    stopping = consumers.start(*flags)
    queue.enqueue("job", {"sleep": 30, "sleep_once": str(tmp_path / "slept")}, job_id="handed")
    consumers.wait_for(lambda notes: bool(steps(notes, "start", "handed")), 10)
    other = consumers.start()
    stopped_at = time.time()
    assert consumers.signal(stopping, signal.SIGTERM) == 0
    notes = consumers.ended("handed")
    starts = steps(notes, "start", "handed")
    assert [n["pid"] for n in starts] == [stopping.pid, other.pid]
    assert [n["pid"] for n in steps(notes, "end", "handed")] == [other.pid]
    # Handed back at shutdown (at once, or after -t 0.3 s), not left for its lease to run out
    # (at the earliest 2/3 of a lease after the stopping process's last beat).
    assert starts[1]["t"] - stopped_at < lease / 2
    wait_until_done(queue)


def test_a_message_lost_between_dequeue_and_claim_is_requeued(app: App) -> None:
    queue, consumers = app
    enqueued = time.time()
    queue.enqueue("job", {}, job_id="lost")
    queue.huey.storage.flush_queue()  # as if a consumer died right after huey's dequeue
    assert len(queue.huey) == 0
    consumers.start()
    notes = consumers.ended("lost")
    # Presumed lost once due for a lease with huey's queue empty.
    assert steps(notes, "start", "lost")[0]["t"] - enqueued >= LEASE - 0.1
    wait_until_done(queue)


def test_jobs_survive_a_redis_restart_between_enqueue_and_run(tmp_path: Path) -> None:
    pytest.importorskip("redis")
    with RedisServer(tmp_path) as server:
        name = f"t{uuid.uuid4().hex[:10]}"
        _, queue = build("redis", server.url, name, LEASE)
        consumers = Consumers(tmp_path, "redis", server.url, name, LEASE)
        try:
            queue.enqueue("job", {"n": 1}, job_id="before")
            asyncio.run(queue.enqueue_async("job", {"n": 2}, job_id="before-async"))
            server.restart()  # SIGTERM, then start on the same port and data (append-only file)
            queue.enqueue("job", {"n": 3}, job_id="after")  # Redis forgot its scripts: reloaded
            asyncio.run(queue.enqueue_async("job", {"n": 4}, job_id="after-async"))
            consumers.start()
            consumers.ended("before", "before-async", "after", "after-async")
            wait_until_done(queue)
        finally:
            consumers.stop_all()
            queue.close()
