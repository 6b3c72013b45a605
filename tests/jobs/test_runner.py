"""The default queue runs its jobs by itself: WebhooksServices() and its BackgroundRunner.

Real threads; every wait is bounded (an Event with a timeout), and the runner's own sleeps are
cut short by the enqueues it reacts to. Tests on MemoryQueue.run_due stay in test_memory_queue.
"""

from __future__ import annotations

import gc
import logging
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from support.clock import Clock
from support.payloads import load_fixture, signed

from layer_webhooks import ConfigurationError, Hook, Job, MemoryQueue, WebhooksServices
from layer_webhooks.jobs import BackgroundRunner, _runner

pytestmark = pytest.mark.slow  # real threads, bounded waits

HOOK = Hook("Webhook Example", "/hook", ["message.sent"])
SECRET = "test secret"
WAIT = 5.0


class Counting(MemoryQueue):
    """A MemoryQueue that counts how often it is looked at."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.looks = 0

    def run_due(self, at: float | None = None, *, limit: int = 10_000) -> int:
        self.looks += 1
        return super().run_due(at, limit=limit)


def test_the_default_queue_runs_a_delivery_with_nothing_else_called(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="layer_webhooks")
    services = WebhooksServices()
    receiver = services.listen(SECRET, [HOOK])
    ran = threading.Event()
    seen: list[Job] = []

    @services.process("Webhook Example")
    def on_message(job: Job) -> None:
        seen.append(job)
        ran.set()

    answer = receiver.handle(signed(load_fixture("message.sent")))
    assert answer is not None
    assert answer.status == 200
    assert ran.wait(WAIT), "the handler did not run"
    assert seen[0].data["message"]["sender"] == {"user_id": "12345"}
    assert services.runner is not None
    assert services.runner.running
    services.runner.stop()
    assert not services.runner.running


def test_one_warning_at_start_up_names_the_durable_queue(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="layer_webhooks")
    services = WebhooksServices()
    services.listen(SECRET, [HOOK])
    services.listen(SECRET, [Hook("Other", "/other", ["message.read"])])
    services.process("Webhook Example")(lambda job: None)
    services.queue.enqueue("Webhook Example", {})
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, caplog.text
    text = warnings[0].getMessage()
    assert warnings[0].name == "layer_webhooks.queue"
    assert "memory" in text
    assert "lost" in text
    assert "HueyQueue" in text
    assert services.runner is not None
    services.runner.stop()


def test_run_jobs_false_and_a_given_queue_leave_run_due_to_the_caller() -> None:
    clock = Clock()
    for services in (WebhooksServices(run_jobs=False, now=clock), WebhooksServices(queue=MemoryQueue(now=clock))):
        assert services.runner is None
        queue = services.queue
        assert isinstance(queue, MemoryQueue)
        assert queue.on_enqueue is None  # nothing in the background can run it
        seen: list[Job] = []
        services.listen(SECRET, [HOOK])
        services.process("Webhook Example")(seen.append)
        queue.enqueue("Webhook Example", {})
        assert seen == []
        assert queue.run_due() == 1
        assert [job.name for job in seen] == ["Webhook Example"]


def test_run_jobs_true_runs_a_memory_queue_given_and_refuses_other_queues() -> None:
    queue = MemoryQueue()
    services = WebhooksServices(queue=queue, run_jobs=True)
    ran = threading.Event()
    services.process("j")(lambda job: ran.set())
    queue.enqueue("j", {})
    assert ran.wait(WAIT)
    assert services.runner is not None
    services.runner.stop()

    class NotMemory(MemoryQueue):
        pass

    WebhooksServices(queue=NotMemory(), run_jobs=False)  # a subclass is a MemoryQueue: fine

    class Elsewhere:
        def enqueue(self, name: str, data: Any, *, delay: float = 0.0, job_id: str | None = None) -> None: ...

        def process(self, name: str, handler: Any, *, attempts: int = 10, backoff: float = 10.0) -> None: ...

    with pytest.raises(ConfigurationError, match="run_jobs: only a MemoryQueue runs in this process"):
        WebhooksServices(queue=Elsewhere(), run_jobs=True)


def test_a_delayed_job_runs_once_due_on_the_queue_clock() -> None:
    clock = Clock()
    queue = Counting(now=clock)
    runner = BackgroundRunner(queue, now=clock, max_wait=0.05)
    ran = threading.Event()
    queue.process("later", lambda job: ran.set())
    queue.enqueue("later", {}, delay=60)
    assert not ran.wait(0.2)  # due in 60 s of the queue's clock
    clock.advance(60)
    assert ran.wait(WAIT)
    runner.stop()


def test_the_runner_never_spins() -> None:
    queue = Counting()
    runner = BackgroundRunner(queue, max_wait=1.0)
    queue.process("j", lambda job: None)
    queue.enqueue("j", {})
    deadline = time.monotonic() + WAIT
    while queue.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    looks = queue.looks
    time.sleep(0.3)  # nothing due: the runner sleeps its max_wait
    assert queue.looks - looks <= 1
    queue.enqueue("j", {}, delay=0.2)  # due in 0.2 s: one look now, one when due (or at max_wait)
    deadline = time.monotonic() + WAIT
    while queue.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queue.pending() == []
    assert queue.looks - looks <= 4
    runner.stop()


def test_a_failing_handler_is_retried_and_the_runner_carries_on() -> None:
    clock = Clock()
    queue = MemoryQueue(now=clock)
    runner = BackgroundRunner(queue, now=clock, max_wait=0.05)
    attempts: list[int] = []
    done = threading.Event()

    def flaky(job: Job) -> None:
        attempts.append(job.attempt)
        if job.attempt == 1:
            raise RuntimeError("once")
        done.set()

    queue.process("flaky", flaky, attempts=2, backoff=1.0)
    queue.enqueue("flaky", {})
    deadline = time.monotonic() + WAIT
    while attempts != [1] and time.monotonic() < deadline:
        time.sleep(0.01)
    clock.advance(1.0)  # the retry's backoff, on the queue's clock
    assert done.wait(WAIT)
    assert attempts == [1, 2]
    runner.stop()


def test_a_queue_nobody_holds_ends_its_thread() -> None:
    queue = MemoryQueue()
    runner = BackgroundRunner(queue, max_wait=0.05)
    queue.process("j", lambda job: None)
    queue.enqueue("j", {})
    thread = runner._thread
    assert thread is not None
    del queue
    deadline = time.monotonic() + WAIT
    while thread.is_alive():  # the thread may hold the queue for a moment while it runs it: collect again
        assert time.monotonic() < deadline, "the runner's thread outlived its queue"
        gc.collect()
        thread.join(0.05)
    runner.wake()  # the queue is gone: a wake-up starts a thread that ends at once
    assert runner._thread is not None
    runner._thread.join(WAIT)
    assert not runner.running


def test_a_stopped_runner_runs_nothing_more() -> None:
    queue = MemoryQueue()
    runner = BackgroundRunner(queue, max_wait=0.05)
    seen: list[int] = []
    queue.process("j", lambda job: seen.append(1))
    runner.stop()
    queue.enqueue("j", {})
    time.sleep(0.1)
    assert seen == []
    assert not runner.running
    assert queue.run_due() == 1  # still queued


def test_replayed_jobs_wake_the_runner() -> None:
    queue = MemoryQueue()
    runner = BackgroundRunner(queue, max_wait=30.0)  # so that only a wake-up can run the replay
    calls: list[int] = []
    done = threading.Event()

    def handler(job: Job) -> None:
        calls.append(job.attempt)
        if len(calls) == 1:
            raise RuntimeError("dead")
        done.set()

    queue.process("j", handler, attempts=1)
    queue.enqueue("j", {}, job_id="j1")
    deadline = time.monotonic() + WAIT
    while not queue.dead_letters() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queue.replay("j1")
    assert done.wait(WAIT)
    runner.stop()


def test_a_forked_child_runs_its_own_jobs() -> None:
    code = """
import os, sys, threading, warnings
warnings.simplefilter("ignore")
from layer_webhooks import MemoryQueue
from layer_webhooks.jobs import BackgroundRunner, _runner
queue = MemoryQueue()
runner = BackgroundRunner(queue, max_wait=0.05)
ran = threading.Event()
queue.process("j", lambda job: ran.set())
queue.enqueue("j", {})
assert ran.wait(5), "parent"
pid = os.fork()
if pid == 0:
    ran.clear()
    queue.enqueue("j", {})
    os._exit(0 if ran.wait(5) else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    if not hasattr(__import__("os"), "fork"):
        pytest.skip("no fork on this platform")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_queue_that_fails_to_run_is_logged_and_looked_at_again(caplog: pytest.LogCaptureFixture) -> None:
    class FailsOnce(MemoryQueue):
        failed = False

        def run_due(self, at: float | None = None, *, limit: int = 10_000) -> int:
            if not self.failed:
                self.failed = True
                raise RuntimeError("the queue broke once")
            return super().run_due(at, limit=limit)

    caplog.set_level(logging.ERROR, logger="layer_webhooks")
    queue = FailsOnce()
    runner = BackgroundRunner(queue, max_wait=0.05)
    ran = threading.Event()
    queue.process("j", lambda job: ran.set())
    queue.enqueue("j", {})
    assert ran.wait(WAIT)
    assert "the background runner could not run its queue's jobs" in caplog.text
    runner.stop()


def test_after_a_fork_a_wake_up_starts_a_thread_of_its_own() -> None:
    queue = MemoryQueue()
    runner = BackgroundRunner(queue, max_wait=0.05)
    ran = threading.Event()
    queue.process("j", lambda job: ran.set())
    runner.wake()
    first = runner._thread
    runner._forked()  # what the child's at-fork hook does: the parent's thread is not the child's
    assert not runner.running
    queue.enqueue("j", {})
    assert ran.wait(WAIT)
    assert runner._thread is not first
    runner.stop()
    assert first is not None
    first.join(WAIT)


def test_every_runner_stops_at_exit() -> None:
    queue = MemoryQueue()
    runner = BackgroundRunner(queue, max_wait=0.05)
    runner.wake()
    assert runner.running
    _runner._stop_all()  # the atexit hook
    assert not runner.running
    _runner._after_fork_in_child()  # every runner forgets its thread; a stopped one stays stopped
    runner.wake()
    assert not runner.running
