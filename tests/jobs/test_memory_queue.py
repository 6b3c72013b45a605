from __future__ import annotations

import itertools
import logging

import pytest
from support.clock import Clock

from layer_webhooks import Job, MemoryQueue, Queue


def test_is_a_queue() -> None:
    assert isinstance(MemoryQueue(), Queue)


def test_jobs_run_in_due_order_at_or_before_at() -> None:
    clock = Clock(100.0)
    queue = MemoryQueue(now=clock)
    seen: list[str] = []
    queue.process("j", lambda job: seen.append(job.data["n"]))
    queue.enqueue("j", {"n": "late"}, delay=10)
    queue.enqueue("j", {"n": "first"})
    queue.enqueue("j", {"n": "middle"}, delay=5)
    assert queue.next_due() == 100.0
    assert queue.run_due(104.9) == 1
    assert queue.run_due(110) == 2
    assert seen == ["first", "middle", "late"]
    assert queue.run_due(1e9) == 0


def test_run_due_defaults_to_the_queue_clock() -> None:
    clock = Clock(100.0)
    queue = MemoryQueue(now=clock)
    queue.process("j", lambda job: None)
    queue.enqueue("j", {}, delay=1)
    assert queue.run_due() == 0
    clock.t += 1
    assert queue.run_due() == 1


def test_jobs_enqueued_by_handlers_run_when_due_by_at_relative_to_at() -> None:
    clock = Clock(100.0)
    queue = MemoryQueue(now=clock)
    seen: list[tuple[str, int]] = []

    def first(job: Job) -> None:
        seen.append(("first", 0))
        queue.enqueue("second", {}, delay=30)
        queue.enqueue("third", {}, delay=31)

    queue.process("first", first)
    queue.process("second", lambda job: seen.append(("second", 0)))
    queue.process("third", lambda job: seen.append(("third", 0)))
    queue.enqueue("first", {})
    assert queue.run_due(200) == 1  # "now" for new jobs is 200, so second is due at 230
    assert queue.next_due() == 230
    assert queue.run_due(230) == 1
    assert [s for s, _ in seen] == ["first", "second"]


def test_a_job_without_handler_is_logged_retried_then_kept_dead(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(100.0)
    queue = MemoryQueue(now=clock)
    queue.enqueue("nobody", {"x": 1}, job_id="id-1")
    with caplog.at_level(logging.ERROR, logger="layer_webhooks.queue"):
        assert queue.run_due() == 1
    assert "no handler registered for jobs named 'nobody'" in caplog.text
    assert queue.pending() == [Job("nobody", {"x": 1}, "id-1", 2)]  # retried on the default schedule
    seen: list[Job] = []
    queue.process("nobody", seen.append)  # a newer worker registers it: the retry runs
    assert queue.run_due(clock.t + 10) == 1
    assert seen == [Job("nobody", {"x": 1}, "id-1", 2)]


def test_failures_retry_with_doubling_backoff_then_go_to_dead_letters(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(100.0)
    queue = MemoryQueue(now=clock)
    attempts: list[tuple[int, float]] = []
    at = [0.0]

    def boom(job: Job) -> None:
        attempts.append((job.attempt, at[0]))
        raise RuntimeError("handler failed")

    queue.process("j", boom)
    queue.enqueue("j", {}, job_id="job-7")
    with caplog.at_level(logging.WARNING, logger="layer_webhooks"):
        for _ in range(50):
            due = queue.next_due()
            if due is None:
                break
            at[0] = due
            queue.run_due(due)
    assert [a for a, _ in attempts] == list(range(1, 11))
    waits = [round(b - a, 6) for (_, a), (_, b) in itertools.pairwise(attempts)]
    assert waits == [10.0 * 2**i for i in range(9)]
    [dead] = queue.dead_letters()
    assert dead.job.id == "job-7" and dead.job.attempt == 10 and "handler failed" in dead.error
    assert "job-7" in caplog.text and "'j'" in caplog.text
    assert queue.replay("job-7") is True
    assert queue.replay("job-7") is False
    assert queue.pending()[0].attempt == 1 and queue.dead_letters() == []


def test_attempts_and_backoff_per_handler() -> None:
    queue = MemoryQueue(now=Clock(100.0))
    runs: list[int] = []

    def flaky(job: Job) -> None:
        runs.append(job.attempt)
        if job.attempt < 3:
            raise ValueError("not yet")

    queue.process("j", flaky, attempts=3, backoff=1.0)
    queue.enqueue("j", {})
    assert queue.run_due(100) == 1
    assert queue.run_due(101) == 1
    assert queue.run_due(102.9) == 0
    assert queue.run_due(103) == 1
    assert runs == [1, 2, 3] and queue.dead_letters() == [] and queue.pending() == []


@pytest.mark.parametrize(("attempts", "backoff"), [(0, 1.0), (1, -1.0), (1.5, 1.0)])
def test_invalid_policies(attempts: int, backoff: float) -> None:
    with pytest.raises(ValueError):
        MemoryQueue().process("j", lambda job: None, attempts=attempts, backoff=backoff)


def test_run_due_is_bounded() -> None:
    queue = MemoryQueue(now=Clock(100.0))

    def forever(job: Job) -> None:
        queue.enqueue("loop", {})

    queue.process("loop", forever)
    queue.enqueue("loop", {})
    assert queue.run_due(1e9, limit=25) == 25
    assert len(queue.pending()) == 1
