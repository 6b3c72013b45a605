"""The queue contract: one suite, every queue of the library, the same behaviour.

Run over :class:`MemoryQueue` (on a driven clock) and ``HueyQueue`` on MemoryHuey, SqliteHuey and
a real Redis. Huey's jobs are run the way huey's own tests run delayed tasks: ``dequeue()`` then
``execute(task, timestamp=...)`` at a timestamp the test chooses, so no test waits for real time.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import math
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from support.clock import Clock
from support.payloads import SECRET, load_fixture, signed

from layer_webhooks import DeadLetter, Hook, InvalidJobData, Job, MemoryQueue, Receiver
from layer_webhooks.jobs import LedgerQueue


class Driven(Protocol):
    """A queue under test and the way to run what is due ``ahead`` seconds from now (the runs
    happen at that time: a retry's delay counts from it)."""

    @property
    def queue(self) -> LedgerQueue: ...

    def run_due(self, ahead: float = 0.0) -> int: ...

    def close(self) -> None: ...


class DrivenMemory:
    def __init__(self) -> None:
        self.clock = Clock()
        self.queue = MemoryQueue(now=self.clock)

    def run_due(self, ahead: float = 0.0) -> int:
        ran = self.queue.run_due(self.clock() + ahead)
        self.clock.advance(ahead)  # what ran, ran at that time
        return ran

    def close(self) -> None:
        pass


class DrivenHuey:
    def __init__(self, huey: Any) -> None:
        from layer_webhooks.adapters.huey import HueyQueue

        self.huey = huey
        self.queue = HueyQueue(huey)

    def run_due(self, ahead: float = 0.0) -> int:
        """Execute every message due by ``ahead`` s from now, as a consumer would, in this thread."""
        at = self.huey._get_timestamp() + datetime.timedelta(seconds=ahead)
        ran = 0
        for _ in range(10_000):
            task = self.huey.dequeue()
            if task is None:
                due = self.huey.read_schedule(at)
                if not due:
                    break
                for item in due:
                    self.huey.enqueue(item)
                continue
            if self.huey.ready_to_run(task, at):
                ran += 1
            self.huey.execute(task, timestamp=at)
        return ran

    def close(self) -> None:
        self.queue.close()


QUEUES = ["memory", "huey-memory", "huey-sqlite", "huey-redis"]


@pytest.fixture(params=QUEUES)
def driven(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driven]:
    made: Driven
    if request.param == "memory":
        made = DrivenMemory()
    else:
        huey_module = pytest.importorskip("huey")
        name = f"contract-{uuid.uuid4().hex[:8]}"
        if request.param == "huey-memory":
            made = DrivenHuey(huey_module.MemoryHuey(name))
        elif request.param == "huey-sqlite":
            made = DrivenHuey(huey_module.SqliteHuey(name, filename=str(tmp_path / "huey.db")))
        else:
            pytest.importorskip("redis")
            server = request.getfixturevalue("redis_server")
            made = DrivenHuey(huey_module.RedisHuey(name, url=server.url, blocking=False))
    yield made
    made.close()


def test_a_job_id_already_pending_is_not_queued_twice(driven: Driven) -> None:
    queue = driven.queue
    seen: list[Job] = []
    queue.process("job", seen.append)
    queue.enqueue("job", {"n": 1}, job_id="one")
    queue.enqueue("job", {"n": 2}, job_id="one")
    assert queue.pending() == [Job("job", {"n": 1}, "one", 1)]
    assert driven.run_due() == 1
    assert seen == [Job("job", {"n": 1}, "one", 1)]
    queue.enqueue("job", {"n": 3}, job_id="one")  # finished: the id may be used again
    assert queue.pending() == [Job("job", {"n": 3}, "one", 1)]


def test_jobs_without_an_id_get_distinct_ids(driven: Driven) -> None:
    driven.queue.enqueue("job", {})
    driven.queue.enqueue("job", {})
    ids = [job.id for job in driven.queue.pending()]
    assert len(ids) == 2 and len(set(ids)) == 2


@pytest.mark.parametrize(
    "data",
    [{"s": {1, 2}}, {"b": b"raw"}, {"n": math.nan}, {"i": math.inf}, {"o": object()}, ["not a map"]],
    ids=["set", "bytes", "nan", "inf", "object", "list"],
)
def test_data_json_cannot_carry_is_refused_at_enqueue(driven: Driven, data: Any) -> None:
    with pytest.raises(InvalidJobData, match="job 'job'"):
        driven.queue.enqueue("job", data, job_id="bad")
    assert driven.queue.pending() == []


def test_a_handler_gets_the_data_as_json_gives_it_back(driven: Driven) -> None:
    seen: list[Job] = []
    driven.queue.process("job", seen.append)
    data = {"t": (1, 2), "nested": {"u": "é"}}
    driven.queue.enqueue("job", data, job_id="j")
    driven.run_due()
    assert seen[0].data == {"t": [1, 2], "nested": {"u": "é"}}


# A cut emoji (the first half of U+1F600), its other half, and lone surrogates in keys and deep.
SURROGATES = {"cut": "cut emoji \ud83d", "low \udc00": ["\udfff", {"deep": "a\ud800b"}], "whole": "\U0001f600"}


def test_lone_surrogates_are_handed_over_as_they_were_queued(driven: Driven) -> None:
    seen: list[Job] = []
    driven.queue.process("job", seen.append)
    driven.queue.enqueue("job", SURROGATES, job_id="cut")
    asyncio.run(driven.queue.enqueue_async("job", SURROGATES, job_id="cut-async"))  # type: ignore[attr-defined]
    assert sorted(job.id for job in driven.queue.pending()) == ["cut", "cut-async"]
    assert driven.run_due() == 2
    assert [job.data for job in seen] == [SURROGATES, SURROGATES]


def test_a_delivery_with_lone_surrogates_is_acknowledged_and_handed_over_as_it_came(driven: Driven) -> None:
    seen: list[Job] = []
    driven.queue.process("Webhook Example", seen.append)
    receiver = Receiver(SECRET, [Hook("Webhook Example", "/hook")], driven.queue)
    payloads = []
    for how in ("escaped", "raw bytes"):
        payload = load_fixture("message.sent")
        payload["event"]["id"] = f"{how} \udc00"
        payload["message"]["parts"][0]["body"] = "cut emoji \ud83d"
        payloads.append(payload)
        escaped = how == "escaped"
        body = json.dumps(payload, ensure_ascii=escaped).encode("utf-8", "surrogatepass")
        response = asyncio.run(receiver.handle_async(signed(body)))
        assert response is not None and response.status == 200
    assert driven.run_due() == 2
    assert [(job.data["event_id"], job.data["message"]) for job in seen] == [
        (payload["event"]["id"], payload["message"]) for payload in payloads
    ]


def test_a_job_id_with_a_lone_surrogate_is_refused_at_enqueue(driven: Driven) -> None:
    with pytest.raises(InvalidJobData, match="job_id"):
        driven.queue.enqueue("job", {}, job_id="id \ud83d")
    assert driven.queue.pending() == []


def test_a_job_with_no_handler_is_logged_retried_on_schedule_then_kept_dead(
    driven: Driven, caplog: pytest.LogCaptureFixture
) -> None:
    queue = driven.queue
    queue.enqueue("nobody", {"x": 1}, job_id="lost")
    with caplog.at_level(logging.ERROR, logger="layer_webhooks"):
        assert driven.run_due() == 1
        assert [job.attempt for job in queue.pending()] == [2]  # retried: a newer worker may have it
        assert driven.run_due(5) == 0  # not before the default 10 s backoff
        for _ in range(20):
            if not queue.pending():
                break
            driven.run_due(10 * 2**10)
    errors = [r for r in caplog.records if "no handler registered for jobs named 'nobody'" in r.getMessage()]
    assert len(errors) == 10  # the default schedule: 10 attempts, each one logged at ERROR
    assert all(r.levelno == logging.ERROR for r in errors)
    [dead] = queue.dead_letters()
    assert dead.job == Job("nobody", {"x": 1}, "lost", 10)
    assert "NoHandlerRegistered" in dead.error


def test_retries_carry_their_attempt_number_and_a_stable_id(driven: Driven) -> None:
    queue = driven.queue
    seen: list[Job] = []

    def flaky(job: Job) -> None:
        seen.append(job)
        if job.attempt < 3:
            raise RuntimeError(f"failure {job.attempt}")

    queue.process("job", flaky, attempts=3, backoff=2)
    queue.enqueue("job", {"k": "v"}, job_id="stable")
    assert driven.run_due() == 1
    assert queue.pending() == [Job("job", {"k": "v"}, "stable", 2)]
    assert driven.run_due(1) == 0  # backoff 2 s after attempt 1
    assert driven.run_due(2.5) == 1
    assert driven.run_due(3) == 0  # 4 s after attempt 2
    assert driven.run_due(7) == 1
    assert [(job.id, job.attempt) for job in seen] == [("stable", 1), ("stable", 2), ("stable", 3)]
    assert queue.pending() == [] and queue.dead_letters() == []


def test_the_last_failure_is_kept_as_a_dead_letter(driven: Driven) -> None:
    queue = driven.queue

    def fail(job: Job) -> None:
        raise ValueError(f"boom {job.attempt}")

    queue.process("job", fail, attempts=2, backoff=0)
    queue.enqueue("job", {"a": 1}, job_id="doomed")
    driven.run_due()
    driven.run_due()
    assert queue.pending() == []
    [dead] = queue.dead_letters()
    assert isinstance(dead, DeadLetter)
    assert dead.job == Job("job", {"a": 1}, "doomed", 2)
    assert dead.error == "ValueError('boom 2')"


def _bury(driven: Driven, job_id: str, handler: Callable[[Job], object]) -> None:
    driven.queue.process("job", handler, attempts=1)
    driven.queue.enqueue("job", {"id": job_id}, job_id=job_id)
    driven.run_due()
    assert [d.job.id for d in driven.queue.dead_letters()][-1] == job_id


def test_replay_queues_a_dead_job_again_from_attempt_one_under_its_id(driven: Driven) -> None:
    queue = driven.queue
    runs: list[Job] = []

    def fail_once(job: Job) -> None:
        runs.append(job)
        if len(runs) == 1:
            raise RuntimeError("first run fails")

    _bury(driven, "again", fail_once)
    assert queue.replay("again") is True
    assert queue.dead_letters() == []
    assert queue.pending() == [Job("job", {"id": "again"}, "again", 1)]
    assert queue.replay("again") is False  # no longer dead
    driven.run_due()
    assert [(job.id, job.attempt) for job in runs] == [("again", 1), ("again", 1)]
    assert queue.pending() == [] and queue.dead_letters() == []


def test_replay_of_an_unknown_id_or_one_pending_again_changes_nothing(driven: Driven) -> None:
    queue = driven.queue
    assert queue.replay("nothing") is False

    def fail(job: Job) -> None:
        raise RuntimeError("x")

    _bury(driven, "twin", fail)
    queue.enqueue("job", {"new": True}, job_id="twin")  # a new job under the dead one's id
    assert queue.replay("twin") is False
    assert [d.job.id for d in queue.dead_letters()] == ["twin"]
    assert queue.pending() == [Job("job", {"new": True}, "twin", 1)]


def test_discard_deletes_a_dead_letter_for_good(driven: Driven) -> None:
    queue = driven.queue

    def fail(job: Job) -> None:
        raise RuntimeError("x")

    _bury(driven, "gone", fail)
    assert queue.discard("gone") is True
    assert queue.dead_letters() == []
    assert queue.discard("gone") is False
    assert queue.replay("gone") is False


def test_dead_letters_are_oldest_first_and_a_new_failure_replaces_its_old_letter(driven: Driven) -> None:
    queue = driven.queue

    def fail(job: Job) -> None:
        raise RuntimeError(job.data["id"])

    for job_id in ("first", "second"):
        _bury(driven, job_id, fail)
    assert [d.job.id for d in queue.dead_letters()] == ["first", "second"]
    queue.enqueue("job", {"id": "first"}, job_id="first")
    driven.run_due()
    assert [d.job.id for d in queue.dead_letters()] == ["second", "first"]


def test_attempts_below_one_are_a_configuration_error(driven: Driven) -> None:
    from layer_webhooks import ConfigurationError

    with pytest.raises(ConfigurationError, match="attempts=0"):
        driven.queue.process("job", lambda job: None, attempts=0)
    with pytest.raises(ConfigurationError, match="backoff=-1"):
        driven.queue.process("job", lambda job: None, backoff=-1)
