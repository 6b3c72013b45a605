"""The job-ledger contract: one test per :class:`JobLedger` method, over every ledger.

Run over :class:`MemoryLedger`, the SQL ledger in SqliteHuey's file and beside MemoryHuey, and
the Redis ledger on a real redis-server. Time is the test's :class:`Clock`, injected into each
ledger, so leases, delays and reaps need no sleeping. ``announced()`` drains what each ledger
made ready, in the order a worker would take it: huey's queue for the huey ledgers,
:meth:`MemoryLedger.take` for the memory one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.clock import Clock

from layer_webhooks.jobs._ledger import Dead, JobLedger, NewJob, Pending
from layer_webhooks.jobs._memory_ledger import MemoryLedger

LEASE = 30.0
A, B, C = '{"name":"j","data":{"n":"a"}}', '{"name":"j","data":{"n":"b"}}', '{"name":"j","data":{"n":"c"}}'


@dataclass
class Subject:
    ledger: JobLedger
    clock: Clock
    #: Drain the announcements made so far: (job id, attempt), first to run first.
    announced: Callable[[], list[tuple[str, int]]]
    #: Drop every announcement not yet taken (None: this ledger's cannot be lost).
    lose: Callable[[], None] | None


def memory_subject(clock: Clock) -> Subject:
    ledger = MemoryLedger(now=clock, lease=LEASE)

    def announced() -> list[tuple[str, int]]:
        out = []
        for _ in range(1000):
            item = ledger.take(math.inf)
            if item is None:
                break
            out.append(item)
        return out

    return Subject(ledger, clock, announced, None)


def huey_subject(kind: str, clock: Clock, tmp_path: Path, request: pytest.FixtureRequest) -> Subject:
    pytest.importorskip("huey")
    from support.hueys import fresh_huey

    from layer_webhooks.adapters.huey._ledger_sql import SqlLedger

    huey = fresh_huey(kind.removeprefix("sql-"), request, tmp_path)
    task = huey.task(name="contract_job")(lambda job_id, attempt: None)

    def message_for(job_id: str, attempt: int, delay: float) -> bytes:
        return huey.serialize_task(task.s(job_id, attempt, id=job_id, delay=delay or None))  # type: ignore[no-any-return]

    ledger: JobLedger
    if kind == "sql-sqlite":
        ledger = SqlLedger.for_sqlite(huey.storage, LEASE, message_for, clock)
    elif kind == "sql-memory":
        ledger = SqlLedger.for_memory(huey, LEASE, message_for, clock)
    else:
        from layer_webhooks.adapters.huey._ledger_redis import RedisLedger

        ledger = RedisLedger(huey.storage, LEASE, message_for, clock)

    def announced() -> list[tuple[str, int]]:
        out = []
        for _ in range(1000):
            message = huey.dequeue()
            if message is None:
                break
            out.append((message.args[0], message.args[1]))
        return out

    return Subject(ledger, clock, announced, huey.storage.flush_queue)


@pytest.fixture(params=["memory", "sql-sqlite", "sql-memory", "redis"])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    clock = Clock()
    if request.param == "memory":
        yield memory_subject(clock)
    else:
        yield huey_subject(request.param, clock, tmp_path, request)


def ids(items: list[Any]) -> list[str]:
    return [item.id for item in items]


def test_every_ledger_is_a_job_ledger(subject: Subject) -> None:
    assert isinstance(subject.ledger, JobLedger)


def test_add_writes_jobs_waiting_at_attempt_1_and_never_an_id_pending_already(subject: Subject) -> None:
    ledger = subject.ledger
    assert ledger.add([NewJob("a", A), NewJob("b", B), NewJob("a", C)]) == [True, True, False]  # first wins
    assert ledger.pending() == [Pending("a", A, 1), Pending("b", B, 1)]
    assert subject.announced() == [("a", 1), ("b", 1)]
    assert ledger.add([NewJob("a", C)]) == [False]  # waiting: left as it was
    assert ledger.claim("a", 1, "w1") == A
    assert ledger.add([NewJob("a", C)]) == [False]  # running
    assert subject.announced() == []
    assert ledger.bury("a", "w1", 1, "boom")
    assert ledger.add([NewJob("a", C)]) == [True]  # a dead job does not stop a new one
    assert [(p.id, p.record) for p in ledger.pending()] == [("b", B), ("a", C)]
    assert ids(ledger.dead()) == ["a"]
    assert ledger.add([]) == []


def test_add_takes_a_long_batch_of_any_ids_records_and_delays(subject: Subject) -> None:
    # 2,100 jobs: more values than one Lua command takes at once (add.lua writes in slices).
    ledger = subject.ledger
    ledger.add([NewJob("old", A)])
    texts = ["caf\u00e9 \u65e5\u672c \U0001f600", "x" * 300, 'quote " and \\ and \n', "\u00e9" * 140]
    kinds = [json.dumps({"name": "j", "data": {"t": text}}, ensure_ascii=False) for text in texts]
    jobs = [NewJob(f"{i}:{texts[i % 4]}", kinds[(i + 1) % 4], float(i % 7)) for i in range(2100)]
    jobs[700:700] = [NewJob("old", B)]  # pending already: left as it was
    jobs[1500:1500] = [NewJob(jobs[3].id, C)]  # twice in one batch: the first one counts
    added = ledger.add(jobs)
    assert added == [job.id != "old" and i != 1500 for i, job in enumerate(jobs)]
    pending = ledger.pending()
    records = {p.id: (p.record, p.attempt) for p in pending}
    assert len(records) == len(pending) == 2101
    assert records["old"] == (A, 1)
    assert all(records[job.id] == (job.record, 1) for job, new in zip(jobs, added, strict=True) if new)
    delays = {job.id: job.delay for job, new in zip(jobs, added, strict=True) if new} | {"old": 0.0}
    assert [delays[p.id] for p in pending] == sorted(delays.values())  # soonest ready first


def test_claim_starts_a_run_once_and_takes_over_from_a_silent_worker(subject: Subject) -> None:
    ledger, clock = subject.ledger, subject.clock
    ledger.add([NewJob("a", A), NewJob("b", B)])
    assert ledger.claim("nope", 1, "w1") is None
    assert ledger.claim("a", 2, "w1") is None  # another attempt: a stale message
    assert ledger.claim("a", 1, "w1") == A
    assert ledger.claim("a", 1, "w1") is None  # a duplicate message, in the worker that runs it
    assert ledger.claim("a", 1, "w2") is None  # running under a live worker
    clock.advance(LEASE * 2 / 3)
    assert ledger.claim("b", 1, "w1") == B  # a claim is a beat of w1: "a" stays its own
    clock.advance(LEASE * 2 / 3)
    assert ledger.claim("a", 1, "w2") is None
    clock.advance(LEASE + 1)  # w1 silent for longer than the lease
    assert ledger.claim("a", 1, "w2") == A
    assert ledger.claim("a", 1, "w1") is None  # w2 is alive now
    ledger.finish("a")
    assert ledger.claim("a", 1, "w2") is None  # finished


def test_finish_forgets_the_job_whoever_holds_it(subject: Subject) -> None:
    ledger = subject.ledger
    ledger.add([NewJob("a", A), NewJob("b", B), NewJob("c", C)])
    ledger.claim("a", 1, "w1")
    ledger.finish("a")
    ledger.finish("b")  # waiting, not claimed
    ledger.finish("nope")  # no error
    assert ledger.pending() == [Pending("c", C, 1)]
    assert ledger.retry("a", "w1", 2, 0.0) is False
    assert ledger.dead() == []


def test_finish_and_claim_finishes_first_whatever_the_claims_answer(subject: Subject) -> None:
    ledger = subject.ledger
    ledger.add([NewJob("a", A), NewJob("b", B), NewJob("c", C)])
    subject.announced()
    ledger.claim("a", 1, "w1")
    record, more = ledger.finish_and_claim(["a"], "b", 1, "w1")  # a's run succeeded: its finish rides along
    assert record == B and more in (True, False)
    assert ledger.pending() == [Pending("b", B, 1), Pending("c", C, 1)]
    assert ledger.finish_and_claim(["b"], "b", 1, "w2")[0] is None  # b forgotten first: nothing to claim
    assert ledger.finish_and_claim(["c", "gone"], "nope", 1, "w2")[0] is None  # refused; finishes applied
    assert ledger.pending() == []
    assert ledger.add([NewJob("a", C)]) == [True]  # finished: the id is free again
    assert subject.announced() == [("a", 1)]
    assert ledger.finish_and_claim([], "a", 1, "w1")[0] == C


def test_retry_makes_the_job_wait_at_its_next_attempt_after_the_delay(subject: Subject) -> None:
    ledger, clock = subject.ledger, subject.clock
    ledger.add([NewJob("a", A)])
    subject.announced()
    ledger.claim("a", 1, "w1")
    assert ledger.retry("a", "w2", 2, 10.0) is False  # not w2's
    assert ledger.retry("a", "w1", 2, 10.0) is True
    ledger.add([NewJob("b", B, delay=5.0)])
    assert ledger.pending() == [Pending("b", B, 1), Pending("a", A, 2)]  # b is ready first
    assert sorted(subject.announced()) == [("a", 2), ("b", 1)]  # each when it is ready (huey: its eta)
    assert ledger.claim("a", 1, "w1") is None
    assert ledger.retry("a", "w1", 3, 0.0) is False  # waiting: nobody holds it
    assert ledger.claim("a", 2, "w2") == A
    clock.advance(LEASE + 1)
    assert ledger.reap(10) == [("a", True)]
    assert ledger.retry("a", "w2", 3, 0.0) is False  # reaped while it ran
    assert ledger.pending()[-1] == Pending("a", A, 2)


def test_bury_moves_the_job_to_the_dead_replacing_a_dead_one(subject: Subject) -> None:
    ledger, clock = subject.ledger, subject.clock
    ledger.add([NewJob("a", A)])
    ledger.claim("a", 1, "w1")
    assert ledger.bury("a", "w2", 1, "not w2's") is False
    assert ledger.bury("a", "w1", 3, "RuntimeError('x')") is True
    assert ledger.pending() == []
    assert ledger.dead() == [Dead("a", A, 3, "RuntimeError('x')", clock())]
    assert ledger.claim("a", 3, "w1") is None
    assert ledger.bury("a", "w1", 3, "again") is False
    clock.advance(5)
    ledger.add([NewJob("a", B)])
    ledger.claim("a", 1, "w1")
    assert ledger.bury("a", "w1", 1, "second") is True
    assert ledger.dead() == [Dead("a", B, 1, "second", clock())]


def test_release_hands_the_job_back_at_its_attempt_first_in_line(subject: Subject) -> None:
    ledger = subject.ledger
    ledger.add([NewJob("a", A)])
    assert subject.announced() == [("a", 1)]
    ledger.claim("a", 1, "w1")
    ledger.add([NewJob("c", C)])
    assert ledger.release("a", "w2") is False
    assert ledger.release("a", "w1") is True
    assert ledger.release("a", "w1") is False  # no longer w1's
    assert subject.announced() == [("a", 1), ("c", 1)]  # ahead of the fresh job
    assert ledger.pending() == [Pending("a", A, 1), Pending("c", C, 1)]
    assert ledger.claim("a", 1, "w2") == A  # from the same attempt, by anyone


def test_beat_keeps_a_workers_jobs_its_own(subject: Subject) -> None:
    ledger, clock = subject.ledger, subject.clock
    ledger.add([NewJob("a", A)])
    ledger.claim("a", 1, "w1")
    for _ in range(4):  # 4 * 2/3 of a lease: far past the lease, with beats
        clock.advance(LEASE * 2 / 3)
        ledger.beat("w1")
        assert ledger.reap(10) == []
        assert ledger.claim("a", 1, "w2") is None
    clock.advance(LEASE + 1)
    assert ledger.reap(10) == [("a", True)]


def test_reap_requeues_the_jobs_of_silent_workers_up_to_the_limit(subject: Subject) -> None:
    ledger, clock = subject.ledger, subject.clock
    ledger.add([NewJob(n, A) for n in ("a", "b", "c", "d")])
    subject.announced()
    for job_id in ("a", "b", "c"):
        ledger.claim(job_id, 1, "gone")
    ledger.claim("d", 1, "alive")
    clock.advance(LEASE / 2)
    assert ledger.reap(10) == []
    clock.advance(LEASE / 2 + 1)
    ledger.beat("alive")
    first = ledger.reap(2)
    assert len(first) == 2 and all(expired for _, expired in first)
    second = ledger.reap(2)
    assert {job_id for job_id, _ in first + second} == {"a", "b", "c"}
    assert second[0][1] is True
    assert ledger.reap(2) == []
    assert sorted(subject.announced()) == [("a", 1), ("b", 1), ("c", 1)]
    assert [p.attempt for p in ledger.pending()] == [1, 1, 1, 1]
    assert ledger.claim("a", 1, "alive") == A
    assert ledger.claim("d", 1, "other") is None  # still the live worker's


def test_reap_re_announces_a_job_whose_announcement_was_lost(subject: Subject) -> None:
    ledger, clock = subject.ledger, subject.clock
    ledger.add([NewJob("a", A, delay=5.0)])
    if subject.lose is None:  # announcements that cannot be lost are never reported
        clock.advance(5 + LEASE + 1)
        assert ledger.reap(10) == []
        return
    subject.lose()
    clock.advance(5 + LEASE - 1)
    assert ledger.reap(10) == []  # not ready for a lease yet
    ledger.add([NewJob("b", B)])
    clock.advance(2)
    assert ledger.reap(10) == []  # something waits to announce jobs: the queue is busy
    assert subject.announced() == [("b", 1)]
    assert ledger.reap(10) == [("a", False)]
    assert subject.announced() == [("a", 1)]
    assert ledger.reap(10) == []
    assert ledger.claim("a", 1, "w1") == A


def test_pending_lists_waiting_and_running_jobs_soonest_ready_first(subject: Subject) -> None:
    ledger = subject.ledger
    ledger.add([NewJob("late", A, delay=20.0), NewJob("now", B), NewJob("soon", C, delay=10.0)])
    ledger.claim("now", 1, "w1")
    assert ledger.pending() == [Pending("now", B, 1), Pending("soon", C, 1), Pending("late", A, 1)]


def test_dead_lists_dead_jobs_oldest_failure_first(subject: Subject) -> None:
    ledger, clock = subject.ledger, subject.clock
    for job_id in ("a", "b", "a"):
        ledger.add([NewJob(job_id, A)])
        ledger.claim(job_id, 1, "w1")
        ledger.bury(job_id, "w1", 1, f"failed at {clock()}")
        clock.advance(1)
    assert [(d.id, d.failed_at) for d in ledger.dead()] == [("b", clock() - 2), ("a", clock() - 1)]


def test_replay_makes_a_dead_job_wait_at_attempt_1_under_its_id(subject: Subject) -> None:
    ledger = subject.ledger
    ledger.add([NewJob("a", A)])
    ledger.claim("a", 1, "w1")
    ledger.bury("a", "w1", 3, "x")
    subject.announced()
    assert ledger.replay("nope") == 0
    assert ledger.replay("a") == 1
    assert ledger.replay("a") == 0  # no longer dead
    assert ledger.dead() == []
    assert ledger.pending() == [Pending("a", A, 1)]
    assert subject.announced() == [("a", 1)]
    ledger.claim("a", 1, "w1")
    ledger.bury("a", "w1", 1, "y")
    ledger.add([NewJob("a", B)])
    assert ledger.replay("a") == -1  # a job with that id is pending: the dead one stays
    assert ids(ledger.dead()) == ["a"]
    assert ledger.pending() == [Pending("a", B, 1)]


def test_discard_deletes_a_dead_job(subject: Subject) -> None:
    ledger = subject.ledger
    ledger.add([NewJob("a", A), NewJob("b", B)])
    ledger.claim("a", 1, "w1")
    ledger.bury("a", "w1", 1, "x")
    assert ledger.discard("b") is False  # pending, not dead
    assert ledger.discard("a") is True
    assert ledger.discard("a") is False
    assert ledger.dead() == []
    assert ledger.pending() == [Pending("b", B, 1)]
