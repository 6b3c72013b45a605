"""The receiver: the pure decision of :mod:`._decision`, and the two drivers that do its I/O.

A :class:`Receiver` is a :class:`~._decision.Decider` with a queue and a store.
:meth:`Receiver.handle` (WSGI) and :meth:`Receiver.handle_async` (ASGI) decide, then carry out
the :class:`~._decision.DeliveryPlan` the same way, one blocking and one awaiting: for each job,
read its claim (a live one: a duplicate), queue it, then write the claim.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._layer import EVENT_TYPE_HEADER, REQUEST_ID_HEADER
from .._logsafe import describe
from ..config._checks import QUEUE_EXAMPLE, STORE_EXAMPLE, expect_port
from ..config._hooks import Hook
from ..errors import ConfigurationError, InvalidJobData
from ..jobs._memory_queue import MemoryQueue
from ..jobs._queue import AsyncQueue, Queue
from ..store._memory import MemoryStore
from ..store._port import AsyncStore, Store
from ._decision import Decider, DeliveryPlan, MakeJob, PlannedJob, listen_job
from ._http import Request, Response

log = logging.getLogger("layer_webhooks.receiver")

RETRY_AFTER = "10"

#: The answer when a job could not be claimed or queued: Layer retries the delivery.
UNAVAILABLE = Response.text(503, "event could not be queued, retry later", ("Retry-After", RETRY_AFTER))
# Header values kept in a record are cut to this length: they come from the sender, unchecked.
_RECORDED_CHARS = 200


@dataclass(frozen=True, slots=True)
class Answered:
    """One request a :class:`Receiver` answered, as kept in :attr:`Receiver.recent`: when
    (``at``, on the receiver's clock), ``method``, ``path``, the ``event_type`` and ``event_id``
    its headers named (None for a verification challenge), and the ``status`` answered. Never
    a body, a signature or a secret."""

    at: float
    method: str
    path: str
    event_type: str | None
    event_id: str | None
    status: int


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
    the queue; if the queue fails or the store cannot be read, 503 with ``Retry-After``, and
    nothing is marked seen (docs/receiving.md, "Delivery guarantees").

    The queue and store are read once, here: when the queue is an
    :class:`~layer_webhooks.AsyncQueue` and the store an :class:`~layer_webhooks.AsyncStore`,
    :meth:`handle_async` awaits their async twins.

    ``recent`` > 0 keeps the last ``recent`` answers in :attr:`recent` (an :class:`Answered`
    each, for an operator's page: ``layer_webhooks.dashboard``).
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
        recent: int = 0,
    ) -> None:
        if not isinstance(recent, int) or recent < 0:
            raise ConfigurationError(f"recent must be an int >= 0 (answers kept), not {recent!r}")
        expect_port("queue", queue, Queue, QUEUE_EXAMPLE)
        if store is not None:
            expect_port("store", store, Store, STORE_EXAMPLE)
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
        # Memory ports whose async twins are their own (which only call the blocking methods,
        # and never wait): handle_async calls those directly, without a coroutine per call.
        self._inline_store = _store_awaits_nothing(self.store)
        self._inline = self._inline_store and _queue_awaits_nothing(queue)
        self.now = now
        #: The last answers, newest last (None: not kept; set a ``deque(maxlen=n)`` to start).
        self.recent: deque[Answered] | None = deque(maxlen=recent) if recent else None

    def handle(self, request: Request) -> Response | None:
        """Answer ``request``; None when its path is not a hook path (pass it on).

        Blocks while the store and queue are written.
        """
        decision = self.decide(request)
        answer = self.execute(decision) if isinstance(decision, DeliveryPlan) else decision
        if self.recent is not None and answer is not None:
            self._record(request, answer)
        return answer

    async def handle_async(self, request: Request) -> Response | None:
        """As :meth:`handle`, without blocking the event loop (see :meth:`execute_async`)."""
        decision = self.decide(request)
        answer: Response | None
        if isinstance(decision, DeliveryPlan):
            answer = self.execute(decision) if self._inline else await self.execute_async(decision)
        else:
            answer = decision
        if self.recent is not None and answer is not None:
            self._record(request, answer)
        return answer

    def _record(self, request: Request, answer: Response) -> None:
        headers = request.headers
        event_type, event_id = headers.get(EVENT_TYPE_HEADER), headers.get(REQUEST_ID_HEADER)
        record = Answered(
            self.now(),
            request.method,
            request.path[:_RECORDED_CHARS],
            None if event_type is None else event_type[:_RECORDED_CHARS],
            None if event_id is None else event_id[:_RECORDED_CHARS],
            answer.status,
        )
        recent = self.recent
        if recent is not None:  # deque.append is atomic: threads may share the record
            recent.append(record)

    # -- the drivers ----------------------------------------------------------------------------
    # A job's claim says "queued", and only once the job is stored: it is read first (a live one
    # makes a duplicate), written after a successful enqueue. Until then the queue itself keeps
    # overlapping deliveries out: it refuses a job id that is pending already. So no failure,
    # however ambiguous (a reply lost after the write, a process killed between two calls),
    # marks an event seen that is not queued, and Layer's retry always gets through. See
    # docs/receiving.md, "Delivery guarantees".

    def execute(self, plan: DeliveryPlan) -> Response:
        """Carry out ``plan``, blocking: for each job, read its claim, enqueue, write the claim.

        Returns the plan's answer, or 503 when a claim could not be read or an enqueue failed
        (the other jobs are queued all the same). A claim that cannot be written after its job
        is stored is logged, not answered 503: the job is queued.
        :raises InvalidJobData: from the queue (a programming error).
        """
        failed = False
        for job in plan.jobs:
            if job.claim is not None:
                try:
                    seen = self.store.get(job.claim) is not None
                except Exception as exc:
                    _store_failed(job, exc)
                    failed = True
                    continue
                if seen:
                    _duplicate(job)
                    continue
            try:
                self.queue.enqueue(job.name, job.data, delay=job.delay, job_id=job.job_id)
            except InvalidJobData:
                raise
            except Exception as exc:
                _enqueue_failed(job, exc)
                failed = True
                continue
            if job.claim is not None:
                try:
                    self.store.add_if_absent(job.claim, 1, plan.claim_ttl)
                except Exception as exc:
                    _mark_failed(job, exc)
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
        inline = self._inline_store  # a MemoryStore: its blocking calls, without a coroutine each
        failed = False
        for job in plan.jobs:
            if job.claim is not None:
                try:
                    seen = (store.get(job.claim) if inline else await store.get_async(job.claim)) is not None
                except Exception as exc:
                    _store_failed(job, exc)
                    failed = True
                    continue
                if seen:
                    _duplicate(job)
                    continue
            try:
                await queue.enqueue_async(job.name, job.data, delay=job.delay, job_id=job.job_id)
            except InvalidJobData:
                raise
            except Exception as exc:
                _enqueue_failed(job, exc)
                failed = True
                continue
            if job.claim is not None:
                try:
                    if inline:
                        store.add_if_absent(job.claim, 1, plan.claim_ttl)
                    else:
                        await store.add_if_absent_async(job.claim, 1, plan.claim_ttl)
                except Exception as exc:
                    _mark_failed(job, exc)
        return UNAVAILABLE if failed else plan.answer


def _store_awaits_nothing(store: Store) -> bool:
    # A MemoryStore whose async twins are its own: they only call the blocking methods.
    if not isinstance(store, MemoryStore):
        return False
    own = type(store)
    return own.get_async is MemoryStore.get_async and own.add_if_absent_async is MemoryStore.add_if_absent_async


def _queue_awaits_nothing(queue: Queue) -> bool:
    return isinstance(queue, MemoryQueue) and type(queue).enqueue_async is MemoryQueue.enqueue_async


# -- what the drivers log (an exception's kind and reason only: see _logsafe) -------------------


def _store_failed(job: PlannedJob, exc: Exception) -> None:
    log.error("store unavailable, %s not queued as %r: %s", job.job_id, job.name, describe(exc))


def _duplicate(job: PlannedJob) -> None:
    log.info("duplicate %s not queued again as %r", job.job_id, job.name)


def _mark_failed(job: PlannedJob, exc: Exception) -> None:
    log.warning(
        "%s queued as %r, but not marked seen (a redelivery after it ran runs it again): %s",
        job.job_id, job.name, describe(exc),
    )  # fmt: skip


def _enqueue_failed(job: PlannedJob, exc: Exception) -> None:
    log.error("queue unavailable, %s not queued as %r: %s", job.job_id, job.name, describe(exc))
