"""``WebhooksServices``: the facade that mirrors the Node module's ``layer-webhooks-services``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ._hooks import Hook
from ._queue import DEFAULT_ATTEMPTS, DEFAULT_BACKOFF, Handler, MemoryQueue, Queue
from ._receiver import Receiver
from ._store import MemoryStore, Store

H = TypeVar("H", bound=Handler)


class WebhooksServices:
    """One queue, one store and one clock, shared by everything built from them.

    The Node module's ``new WebhooksServices({token, appId, redis})`` and its ``listen`` /
    ``process`` map to::

        services = WebhooksServices(token, app_id, queue=HueyQueue(huey))
        receiver = services.listen(secret, hooks)        # mount with an adapter

        @services.process("Webhook Example")
        def on_message(job): ...

    ``queue`` defaults to a :class:`MemoryQueue` and ``store`` to a :class:`MemoryStore`, both
    on ``now``. ``token`` and ``app_id`` are needed only to talk to Layer's REST API.
    """

    def __init__(
        self,
        token: str | None = None,
        app_id: str | None = None,
        *,
        queue: Queue | None = None,
        store: Store | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._token = token
        self.app_id = app_id
        self.now = now
        self.queue: Queue = MemoryQueue(now=now) if queue is None else queue
        self.store: Store = MemoryStore(now=now) if store is None else store

    def __repr__(self) -> str:
        # The token is deliberately left out.
        return f"WebhooksServices(app_id={self.app_id!r}, queue={self.queue!r})"

    def listen(
        self, secret: str | Sequence[str], hooks: Iterable[Hook | Mapping[str, Any]], **options: Any
    ) -> Receiver:
        """A :class:`Receiver` for ``hooks`` on the shared queue and store.

        ``options`` are :class:`Receiver`'s keyword options (``max_body_bytes``, ...).
        """
        return Receiver(secret, hooks, self.queue, store=self.store, now=self.now, **options)

    def process(
        self, name: str, *, attempts: int = DEFAULT_ATTEMPTS, backoff: float = DEFAULT_BACKOFF
    ) -> Callable[[H], H]:
        """Decorator: run the function for every job named ``name`` (a hook's name)::

        @services.process("Webhook Example")
        def handle(job: Job) -> None:
            print(job.data["message"]["parts"][0]["body"])
        """

        def register(handler: H) -> H:
            self.queue.process(name, handler, attempts=attempts, backoff=backoff)
            return handler

        return register
