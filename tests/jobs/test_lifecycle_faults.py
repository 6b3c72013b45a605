"""The job lifecycle when its ledger gives no clear answer, on the memory ledger with faults.

A ledger call that raises may have been applied (its reply lost): the job is then held by a
live worker that does not run it, and no lease frees it. ``settle`` (each heartbeat of a
``HueyQueue``) hands such jobs back. Errors name what failed, never the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support.clock import Clock

from layer_webhooks import Job, MemoryQueue, QueueError
from layer_webhooks.jobs._memory_ledger import MemoryLedger

WORKER = "memory"  # MemoryQueue's one worker


class Faulty(MemoryLedger):
    """A MemoryLedger whose next call of ``operation`` is applied then raises (``after``) or
    raises without being applied."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(now=clock)
        self.faults: dict[str, bool] = {}

    def _maybe(self, operation: str, call: Callable[[], Any]) -> Any:
        after = self.faults.pop(operation, None)
        if after is False:
            raise ConnectionError(f"{operation}: refused")
        result = call()
        if after:
            raise ConnectionError(f"{operation}: applied, reply lost")
        return result

    def claim(self, job_id: str, attempt: int, worker: str) -> str | None:
        return self._maybe("claim", lambda: MemoryLedger.claim(self, job_id, attempt, worker))  # type: ignore[no-any-return]

    def finish(self, job_id: str) -> None:
        self._maybe("finish", lambda: MemoryLedger.finish(self, job_id))

    def retry(self, job_id: str, worker: str, attempt: int, delay: float) -> bool:
        return bool(self._maybe("retry", lambda: MemoryLedger.retry(self, job_id, worker, attempt, delay)))

    def release(self, job_id: str, worker: str) -> bool:
        return bool(self._maybe("release", lambda: MemoryLedger.release(self, job_id, worker)))


def queue_on(ledger: Faulty, clock: Clock) -> MemoryQueue:
    queue = MemoryQueue(now=clock)
    queue._memory = ledger
    queue._ledger = ledger
    return queue


@pytest.fixture
def parts() -> tuple[MemoryQueue, Faulty, list[Job]]:
    clock = Clock()
    ledger = Faulty(clock)
    queue = queue_on(ledger, clock)
    ran: list[Job] = []
    queue.process("j", ran.append)
    return queue, ledger, ran


@pytest.mark.parametrize("applied", [True, False], ids=["applied, reply lost", "not applied"])
def test_a_claim_without_an_answer_is_settled(parts: tuple[MemoryQueue, Faulty, list[Job]], applied: bool) -> None:
    queue, ledger, ran = parts
    queue.enqueue("j", {}, job_id="a")
    ledger.faults["claim"] = applied
    with pytest.raises(ConnectionError):
        queue.run("a", 1, WORKER)
    assert queue.settle(WORKER) == (["a"] if applied else [])
    assert queue.settle(WORKER) == []  # settled: forgotten
    assert queue.run("a", 1, WORKER) is True and [job.id for job in ran] == ["a"]


def test_a_claim_refused_to_a_worker_that_holds_the_job_is_settled(
    parts: tuple[MemoryQueue, Faulty, list[Job]],
) -> None:
    # A client that retries after a lost reply: its second try is refused (the job is held).
    queue, ledger, ran = parts
    queue.enqueue("j", {}, job_id="b")
    assert ledger.claim("b", 1, WORKER) is not None  # the first try, whose reply was lost
    assert queue.run("b", 1, WORKER) is False
    assert queue.settle(WORKER) == ["b"]
    assert queue.run("b", 1, WORKER) is True and [job.id for job in ran] == ["b"]


def test_a_finish_or_a_retry_without_an_answer_leaves_the_job_to_run_again(
    parts: tuple[MemoryQueue, Faulty, list[Job]],
) -> None:
    queue, ledger, ran = parts
    queue.enqueue("j", {}, job_id="c")
    ledger.faults["finish"] = False
    with pytest.raises(ConnectionError):
        queue.run("c", 1, WORKER)
    assert queue.settle(WORKER) == ["c"]
    assert queue.run("c", 1, WORKER) is True
    assert [job.id for job in ran] == ["c", "c"] and queue.pending() == []

    def fails(job: Job) -> None:
        raise RuntimeError("a planned failure")

    queue.process("f", fails, attempts=3, backoff=0)
    queue.enqueue("f", {}, job_id="d")
    ledger.faults["retry"] = False
    with pytest.raises(ConnectionError):
        queue.run("d", 1, WORKER)
    assert queue.settle(WORKER) == ["d"]
    assert [job.attempt for job in queue.pending()] == [1]  # the failed attempt runs again


def test_settle_keeps_a_job_in_doubt_while_the_ledger_is_down_and_skips_running_ones(
    parts: tuple[MemoryQueue, Faulty, list[Job]],
) -> None:
    queue, ledger, _ = parts
    queue.enqueue("j", {}, job_id="e")
    ledger.faults["claim"] = True
    with pytest.raises(ConnectionError):
        queue.run("e", 1, WORKER)
    ledger.faults["release"] = False
    assert queue.settle(WORKER) == []  # the ledger did not answer: still in doubt
    queue._runs[(WORKER, "e")] = 1  # a run of it in progress in this process
    assert queue.settle(WORKER) == []
    del queue._runs[(WORKER, "e")]
    assert queue.settle(WORKER) == ["e"]


def test_a_hand_back_that_fails_is_retried_by_settle(parts: tuple[MemoryQueue, Faulty, list[Job]]) -> None:
    queue, ledger, _ = parts
    queue.enqueue("j", {}, job_id="g")
    assert ledger.claim("g", 1, WORKER) is not None
    ledger.faults["release"] = False
    queue.hand_back("g", WORKER)
    assert queue.settle(WORKER) == ["g"]


def test_a_ledger_error_carrying_the_data_is_a_queue_error_without_it() -> None:
    text = "the message text, never in an error"

    class Refuses(MemoryLedger):
        def add(self, jobs: Any) -> list[bool]:
            record = jobs[0].record
            raise UnicodeEncodeError("utf-8", record, record.index(text), len(record), "surrogates not allowed")

    clock = Clock()
    queue = queue_on(Refuses(now=clock), clock)  # type: ignore[arg-type]
    with pytest.raises(QueueError) as raised:
        queue.enqueue("j", {"message": text})
    assert "UnicodeEncodeError: surrogates not allowed" in str(raised.value)
    assert text not in str(raised.value)
