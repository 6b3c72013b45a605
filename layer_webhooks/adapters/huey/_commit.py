"""Group commit for ``HueyQueue.enqueue_async``, on the caller's event loop.

Each request hands its job over and awaits its own future. One writer task per event loop
writes every job handed over since its last write in one batch (one script call and round
trip on Redis, one transaction on SQLite) and settles the batch's futures, then takes the
jobs that arrived meanwhile. The loop never blocks on I/O and never waits for another
thread to win the GIL. The writer task owns its connection: when the loop shuts down
(``asyncio.run`` and uvicorn cancel leftover tasks), it fails what is still pending and
closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Sequence
from typing import Protocol

from ..._logsafe import describe
from ...errors import QueueError
from ...jobs._ledger import JobLedger, NewJob

_Waiting = list[tuple[NewJob, "asyncio.Future[bool]"]]

#: Huey's message for the run number ``attempt`` of a job, due ``delay`` seconds from now:
#: ``message_for(job_id, attempt, delay) -> bytes``. Ledgers push these into huey's queue.
MessageFor = Callable[[str, int, float], bytes]


class AsyncWriter(Protocol):
    """Writes batches of new jobs from one event loop."""

    async def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        """As :meth:`JobLedger.add`."""
        ...

    async def aclose(self) -> None:
        """Release what the writer holds (its connection)."""
        ...


class HueyLedger(JobLedger, Protocol):
    """A :class:`JobLedger` in huey's storage that can also write from an event loop."""

    def open_async(self) -> AsyncWriter:
        """A writer of :meth:`add` batches for the running event loop."""
        ...


class ExecutorWriter:
    """An :class:`AsyncWriter` that runs a blocking ``add`` in the event loop's default executor."""

    def __init__(self, add: Callable[[Sequence[NewJob]], list[bool]]) -> None:
        self._add = add

    async def add(self, jobs: Sequence[NewJob]) -> list[bool]:
        """``add(jobs)`` in the executor."""
        return await asyncio.get_running_loop().run_in_executor(None, self._add, jobs)

    async def aclose(self) -> None:
        """Nothing to release."""


def _fail(waiting: _Waiting, error: BaseException) -> None:
    for _, future in waiting:
        if not future.done():
            exc = QueueError(f"the job could not be queued: {describe(error)}")
            exc.__cause__ = error
            future.set_exception(exc)


class _Loop:
    def __init__(self) -> None:
        self.waiting: _Waiting = []
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class LoopCommitter:
    """Batches :meth:`submit` calls per event loop into writes of ``open_writer()``'s writer."""

    def __init__(self, open_writer: Callable[[], AsyncWriter], *, max_batch: int = 256) -> None:
        self._open_writer = open_writer
        self._max_batch = max_batch
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = weakref.WeakKeyDictionary()
        self._last: tuple[asyncio.AbstractEventLoop, _Loop] | None = None
        #: Batches written so far (a statistic for tests and benchmarks).
        self.batches = 0

    def submit(self, job: NewJob) -> asyncio.Future[bool]:
        """Write ``job`` with whatever else is waiting: the future of its answer, True when added
        (False: pending already), or :class:`QueueError` when the batch could not be written.

        A plain call returning the future (not a coroutine): one frame fewer for each job's
        task to suspend through and resume. Call it from the event loop that awaits it.
        """
        loop = asyncio.get_running_loop()
        last = self._last  # most processes run one loop: no weak-dictionary look-up per job
        state = last[1] if last is not None and last[0] is loop else self._loops.get(loop)
        if state is None or state.task is None or state.task.done():
            state = self._loops[loop] = _Loop()
            state.task = loop.create_task(self._serve(state), name="layer-webhooks-commit")
        if last is None or last[1] is not state:
            self._last = (loop, state)
        future: asyncio.Future[bool] = loop.create_future()
        state.waiting.append((job, future))
        state.wake.set()
        return future

    async def _serve(self, state: _Loop) -> None:
        writer: AsyncWriter | None = None
        try:
            writer = self._open_writer()
            while True:
                await state.wake.wait()
                state.wake.clear()
                while state.waiting:
                    batch = state.waiting[: self._max_batch]
                    del state.waiting[: self._max_batch]
                    self.batches += 1
                    try:
                        added = await writer.add([job for job, _ in batch])
                        if len(added) != len(batch):
                            raise RuntimeError(f"{len(added)} answers for {len(batch)} jobs")
                    except Exception as exc:
                        _fail(batch, exc)
                        continue
                    except BaseException as exc:  # cancelled mid-write: these may or may not be stored
                        _fail(batch, exc)
                        raise
                    for (_, future), was_added in zip(batch, added, strict=True):
                        if not future.done():
                            future.set_result(was_added)
        except Exception as exc:  # no writer: fail this loop's jobs; the next submit tries again
            _fail(state.waiting, exc)
        finally:
            _fail(state.waiting, RuntimeError("the event loop is shutting down"))
            if writer is not None:
                with contextlib.suppress(Exception):
                    await writer.aclose()
