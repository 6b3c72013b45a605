"""The receiver: the pure decision of :mod:`._decision`, and the two drivers that do its I/O.

A :class:`Receiver` is a :class:`~._decision.Decider` with a queue and a store.
:meth:`Receiver.handle` (WSGI) and :meth:`Receiver.handle_async` (ASGI) decide, then carry out
the :class:`~._decision.DeliveryPlan` the same way, one blocking and one awaiting: for each job,
take its claim, queue it, and release the claim if the queue fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..config._hooks import Hook
from ..errors import InvalidJobData
from ..jobs._queue import AsyncQueue, Queue
from ..store._memory import MemoryStore
from ..store._port import AsyncStore, Store
from ._decision import Decider, DeliveryPlan, MakeJob, PlannedJob, listen_job
from ._http import Request, Response

log = logging.getLogger("layer_webhooks.receiver")

RETRY_AFTER = "10"

#: The answer when a job could not be claimed or queued: Layer retries the delivery.
UNAVAILABLE = Response.text(503, "event could not be queued, retry later", ("Retry-After", RETRY_AFTER))


class Receiver(Decider):
    """Receives Layer's deliveries for a set of hooks and queues one job per accepted event.

    >>> from layer_webhooks import MemoryQueue
    >>> receiver = Receiver("my secret", [Hook("Webhook Example", "/hook", ["message.sent"])],
    ...                     MemoryQueue())
    >>> receiver.handle(Request("GET", "/hook", "verification_challenge=abc")).body
    b'abc'

    ``secret`` is the webhook secret, or a sequence of secrets while one is being rotated.
    ``store`` holds de-duplication claims for ``dedupe_ttl`` seconds (None: a private
    :class:`~layer_webhooks.MemoryStore` on ``now``, so de-duplication within one process; share
    a Redis store between processes). ``skip_service_senders`` keeps messages sent by services
    (no ``user_id``) out of the queue, as the Node module did to stop bot loops. ``make_job``
    maps an accepted event to the job it makes for a hook (default: the Node module's ``listen``
    shape, :func:`~._decision.listen_job`). A 2xx is answered only once every accepted job is in
    the queue; if the queue or store fails, 503 with ``Retry-After``.

    The queue and store are read once, here: when the queue is an
    :class:`~layer_webhooks.AsyncQueue` and the store an :class:`~layer_webhooks.AsyncStore`,
    :meth:`handle_async` awaits their async twins.
    """

    def __init__(
        self,
        secret: str | Sequence[str],
        hooks: Iterable[Hook | Mapping[str, Any]],
        queue: Queue,
        *,
        store: Store | None = None,
        max_body_bytes: int = 1_048_576,
        dedupe_ttl: float = 3600.0,
        now: Callable[[], float] = time.time,
        skip_service_senders: bool = True,
        make_job: MakeJob = listen_job,
    ) -> None:
        super().__init__(
            secret,
            hooks,
            max_body_bytes=max_body_bytes,
            dedupe_ttl=dedupe_ttl,
            skip_service_senders=skip_service_senders,
            make_job=make_job,
        )
        self.queue = queue
        self.store: Store = MemoryStore(now=now) if store is None else store
        self._async_ports: tuple[AsyncQueue, AsyncStore] | None = None
        if isinstance(queue, AsyncQueue) and isinstance(self.store, AsyncStore):
            self._async_ports = (queue, self.store)

    def handle(self, request: Request) -> Response | None:
        """Answer ``request``; None when its path is not a hook path (pass it on).

        Blocks while the store and queue are written.
        """
        decision = self.decide(request)
        return self.execute(decision) if isinstance(decision, DeliveryPlan) else decision

    async def handle_async(self, request: Request) -> Response | None:
        """As :meth:`handle`, without blocking the event loop (see :meth:`execute_async`)."""
        decision = self.decide(request)
        return await self.execute_async(decision) if isinstance(decision, DeliveryPlan) else decision

    # -- the drivers ----------------------------------------------------------------------------
    # The claim comes first so that two overlapping deliveries of one event cannot both be
    # queued; it is released if the enqueue fails, so the event is marked seen only once it is
    # queued and Layer's retry gets through.

    def execute(self, plan: DeliveryPlan) -> Response:
        """Carry out ``plan``, blocking: claim, enqueue, release the claim if the enqueue fails.

        Returns the plan's answer, or 503 when a claim or an enqueue failed (the other jobs are
        queued all the same). :raises InvalidJobData: from the queue (a programming error).
        """
        failed = False
        for job in plan.jobs:
            if job.claim is not None:
                try:
                    claimed = self.store.add_if_absent(job.claim, 1, plan.claim_ttl)
                except Exception as exc:
                    _claim_failed(job, exc)
                    failed = True
                    continue
                if not claimed:
                    _duplicate(job)
                    continue
            try:
                self.queue.enqueue(job.name, job.data, delay=job.delay, job_id=job.job_id)
            except Exception as exc:
                if job.claim is not None:
                    try:
                        self.store.delete(job.claim)
                    except Exception as release_exc:
                        _release_failed(job.claim, release_exc)
                if isinstance(exc, InvalidJobData):
                    raise
                _enqueue_failed(job, exc)
                failed = True
        return UNAVAILABLE if failed else plan.answer

    async def execute_async(self, plan: DeliveryPlan) -> Response:
        """As :meth:`execute`, without blocking the event loop.

        Awaits the queue's and the store's async twins when both declare them (an
        :class:`~layer_webhooks.AsyncQueue` and an :class:`~layer_webhooks.AsyncStore`);
        otherwise runs :meth:`execute` in the loop's default executor.
        """
        if self._async_ports is None:
            import asyncio  # here: a WSGI process never needs it (~15 ms of import)

            return await asyncio.get_running_loop().run_in_executor(None, self.execute, plan)
        queue, store = self._async_ports
        failed = False
        for job in plan.jobs:
            if job.claim is not None:
                try:
                    claimed = await store.add_if_absent_async(job.claim, 1, plan.claim_ttl)
                except Exception as exc:
                    _claim_failed(job, exc)
                    failed = True
                    continue
                if not claimed:
                    _duplicate(job)
                    continue
            try:
                await queue.enqueue_async(job.name, job.data, delay=job.delay, job_id=job.job_id)
            except Exception as exc:
                if job.claim is not None:
                    try:
                        await store.delete_async(job.claim)
                    except Exception as release_exc:
                        _release_failed(job.claim, release_exc)
                if isinstance(exc, InvalidJobData):
                    raise
                _enqueue_failed(job, exc)
                failed = True
        return UNAVAILABLE if failed else plan.answer


# -- what the drivers log -------------------------------------------------------------------------


def _claim_failed(job: PlannedJob, exc: Exception) -> None:
    log.error("store unavailable, %s not queued as %r: %r", job.job_id, job.name, exc)


def _duplicate(job: PlannedJob) -> None:
    log.info("duplicate %s not queued again as %r", job.job_id, job.name)


def _release_failed(claim: str, exc: Exception) -> None:
    log.error("could not release claim %s, retries count as seen: %r", claim, exc)


def _enqueue_failed(job: PlannedJob, exc: Exception) -> None:
    log.error("queue unavailable, %s not queued as %r: %r", job.job_id, job.name, exc)
