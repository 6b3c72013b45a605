"""``WebhooksServices``: the facade that mirrors the Node module's ``layer-webhooks-services``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ._layer import DEFAULT_BASE_URL
from .config._hooks import Hook, as_hooks
from .errors import ConfigurationError
from .jobs._job import Handler
from .jobs._memory_queue import MemoryQueue
from .jobs._policy import DEFAULT_ATTEMPTS, DEFAULT_BACKOFF
from .jobs._queue import Queue
from .receipts._handlers import ReceiptsHandlers
from .receipts._rules import receipts_hooks, receipts_job
from .receipts._state import ReceiptsStore
from .receiving._receiver import Receiver
from .registration._apply import RegistrationReport, register_webhooks
from .store._memory import MemoryStore
from .store._port import Store

if TYPE_CHECKING:
    from .rest._client import LayerClient

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
    on ``now``. ``token`` and ``app_id`` are needed only to talk to Layer's REST API, at
    ``base_url`` (an emulator's in tests), through ``client`` if given.
    """

    def __init__(
        self,
        token: str | None = None,
        app_id: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        client: LayerClient | None = None,
        queue: Queue | None = None,
        store: Store | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._token = token
        self.app_id = app_id
        self.base_url = base_url
        self._client = client
        self.now = now
        self.queue: Queue = MemoryQueue(now=now) if queue is None else queue
        self.store: Store = MemoryStore(now=now) if store is None else store

    def __repr__(self) -> str:
        # The token is deliberately left out.
        return f"WebhooksServices(app_id={self.app_id!r}, queue={self.queue!r})"

    @property
    def client(self) -> LayerClient:
        """The :class:`LayerClient` given, or one made from ``token``, ``app_id`` and ``base_url``."""
        if self._client is None:
            if not self._token or not self.app_id:
                raise ConfigurationError("talking to Layer's REST API needs WebhooksServices(token, app_id)")
            from .rest._client import LayerClient  # on first use: the client imports requests

            self._client = LayerClient(self._token, self.app_id, base_url=self.base_url)
        return self._client

    def register(
        self,
        secret: str,
        url: str,
        hooks: Iterable[Hook | Mapping[str, Any]],
        *,
        dry_run: bool = False,
        sync: bool = False,
        wait_active: bool = False,
    ) -> RegistrationReport:
        """Make Layer's webhooks match ``hooks`` served at base ``url``; see docs/registration.md.

        Creates missing webhooks (``config: {"name": hook.name}``), activates inactive ones and
        reports those whose events differ, which ``sync=True`` re-creates. ``dry_run`` only
        plans; ``wait_active`` waits (about 10 s) for each verification challenge::

            report = services.register(secret, "https://example.com/hooks", hooks, wait_active=True)
            if report.errors:
                print(report)

        :raises LayerAPIError: when Layer's webhooks cannot be listed (token, app id, network).
        """
        return register_webhooks(self.client, secret, url, hooks, dry_run=dry_run, sync=sync, wait_active=wait_active)

    def listen(
        self, secret: str | Sequence[str], hooks: Iterable[Hook | Mapping[str, Any]], **options: Any
    ) -> Receiver:
        """A :class:`Receiver` for ``hooks`` on the shared queue and store.

        ``options`` are :class:`Receiver`'s keyword options (``max_body_bytes``, ...).
        """
        return Receiver(secret, hooks, self.queue, store=self.store, now=self.now, **options)

    def receipts(
        self, secret: str | Sequence[str], hooks: Iterable[Hook | Mapping[str, Any]], **options: Any
    ) -> Receiver:
        """A :class:`Receiver` that reports messages left unread (or undelivered) after a delay.

        Each hook needs ``receipts`` (see :class:`Receipts`); its report is a job named after
        the hook with ``{message, recipients, identities}``. Call this with the same hooks in
        every worker process too: it registers the internal jobs' handlers on the queue. State
        lives in the services' store, which workers must share (Redis or SQLite), and the
        ``message.*`` events must reach the hook's path. See docs/receipts.md.

        :raises ConfigurationError: a hook has no ``receipts``, the services' store is not a
            :class:`ReceiptsStore`, or ``identities=True`` / ``refresh`` without a token.
        """
        checked = receipts_hooks(as_hooks(hooks))
        store = self.store
        if not isinstance(store, ReceiptsStore):
            raise ConfigurationError(
                f"receipts keep their state in a ReceiptsStore (with merge_statuses), not {type(store).__name__}"
            )
        for hook in checked:
            receipts = hook.receipts
            assert receipts is not None
            lookup = receipts.identities
            ReceiptsHandlers(
                hook,
                self.queue,
                store,
                fetch_message=self.client.messages.get if receipts.refresh else None,
                lookup_identity=self.client.identities.get if lookup is True else (lookup or None),
            ).register()
        # Service senders are not skipped: a report is not a message, so it cannot loop.
        options.setdefault("skip_service_senders", False)
        return Receiver(secret, checked, self.queue, store=store, now=self.now, make_job=receipts_job, **options)

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
