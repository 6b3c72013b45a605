"""``WebhooksServices``: the facade that mirrors the Node module's ``layer-webhooks-services``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ._layer import API_VERSION, DEFAULT_BASE_URL
from .config._checks import QUEUE_EXAMPLE, STORE_EXAMPLE, expect_port, folded, suggest
from .config._hooks import Hook, as_hooks
from .errors import ConfigurationError, ConfigurationTypeError
from .jobs._job import Handler
from .jobs._memory_queue import MemoryQueue
from .jobs._policy import DEFAULT_ATTEMPTS, DEFAULT_BACKOFF
from .jobs._queue import Queue
from .jobs._runner import BackgroundRunner
from .receipts._handlers import ReceiptsHandlers
from .receipts._rules import receipts_hooks, receipts_job
from .receipts._state import ReceiptsStore
from .receiving._receiver import Receiver
from .registration._apply import RegistrationReport, register_webhooks
from .rest._urls import base_url as checked_base_url
from .store._memory import MemoryStore
from .store._port import Store

if TYPE_CHECKING:
    from .rest._client import LayerClient

H = TypeVar("H", bound=Handler)

log = logging.getLogger("layer_webhooks.services")


class WebhooksServices:
    """One queue, one store and one clock, shared by everything built from them.

    The Node module's ``new WebhooksServices({token, appId, redis})`` and its ``listen`` /
    ``process`` map to::

        services = WebhooksServices(token, app_id, queue=HueyQueue(huey))
        receiver = services.listen(secret, hooks)        # mount with an adapter

        @services.process("Webhook Example")
        def on_message(job): ...

    ``queue`` defaults to a :class:`MemoryQueue` that a thread of this process runs as jobs fall
    due (:attr:`runner`; a WARNING at start-up says that its jobs die with the process), and
    ``store`` to a :class:`MemoryStore`, both on ``now``. ``run_jobs=False`` leaves the default
    queue to :meth:`MemoryQueue.run_due` (deterministic tests); ``run_jobs=True`` runs a
    :class:`MemoryQueue` given as ``queue`` too. ``token`` and ``app_id`` are needed only to talk
    to Layer's REST API, at ``base_url`` (an emulator's in tests), through ``client`` if given.

    Handler names: ``process(name)`` raises :class:`ConfigurationError` when a hook of these
    services has that name but for case or spaces, and logs a WARNING when none has it (the
    handler then runs only jobs enqueued under that name by hand); see docs/when-nothing-happens.md.

    :raises ConfigurationError: ``queue`` or ``store`` does not implement its port, ``base_url``
        is not an http(s) URL, or ``run_jobs=True`` with a queue other than a :class:`MemoryQueue`.
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
        run_jobs: bool | None = None,
    ) -> None:
        if queue is not None:
            expect_port("queue", queue, Queue, QUEUE_EXAMPLE)
        if store is not None:
            expect_port("store", store, Store, STORE_EXAMPLE)
        if run_jobs and not (queue is None or isinstance(queue, MemoryQueue)):
            raise ConfigurationError(
                f"run_jobs: only a MemoryQueue runs in this process, not {type(queue).__name__} (run its workers)"
            )
        self._token = token
        self.app_id = app_id
        self.base_url = checked_base_url(base_url)
        self._client = client
        self.now = now
        self.queue: Queue = MemoryQueue(now=now) if queue is None else queue
        self.store: Store = MemoryStore(now=now) if store is None else store
        #: The thread that runs the memory queue's jobs (None: ``queue`` given, or ``run_jobs=False``).
        self.runner: BackgroundRunner | None = None
        if isinstance(self.queue, MemoryQueue) and (run_jobs if run_jobs is not None else queue is None):
            self.runner = BackgroundRunner(self.queue, now=now)
        self._handled: list[str] = []
        #: Every receiver :meth:`listen` and :meth:`receipts` made, in order (what
        #: ``layer-webhooks serve`` serves and the dashboard reads).
        self.receivers: list[Receiver] = []

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
        version: str = API_VERSION,
    ) -> RegistrationReport:
        """Make Layer's webhooks match ``hooks`` served at base ``url``; see docs/registration.md.

        Creates missing webhooks (``config: {"name": hook.name}``), activates inactive ones and
        reports those whose events differ, which ``sync=True`` re-creates. ``dry_run`` only
        plans; ``wait_active`` waits (about 10 s) for each verification challenge; ``version``
        is the Webhooks API version of the webhooks (``"1.0"``; ``"2.0"`` and ``"3.0"`` take
        the PascalCase events, such as ``Receipt.created``), checked against each hook's events::

            report = services.register(secret, "https://example.com/hooks", hooks, wait_active=True)
            if report.errors:
                print(report)

        :raises LayerAPIError: when Layer's webhooks cannot be listed (token, app id, network).
        :raises ConfigurationError: before any request, for an unknown ``version`` or a hook
            event that ``version`` does not have (:class:`InvalidHook`).
        """
        return register_webhooks(
            self.client, secret, url, hooks, dry_run=dry_run, sync=sync, wait_active=wait_active, version=version
        )

    def listen(
        self, secret: str | Sequence[str], hooks: Iterable[Hook | Mapping[str, Any]], **options: Any
    ) -> Receiver:
        """A :class:`Receiver` for ``hooks`` on the shared queue and store.

        ``options`` are :class:`Receiver`'s keyword options (``max_body_bytes``, ...).
        """
        receiver = Receiver(secret, hooks, self.queue, store=self.store, now=self.now, **options)
        self._started(receiver)
        return receiver

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
            :class:`ReceiptsStore`, ``identities`` is a function that cannot be called with one
            user id, or ``identities=True`` / ``refresh`` without a token.
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
        # The bot guard is each hook's, in receipts_job (Receipts.track_service_senders, off by
        # default): the receiver's own guard stays off so that a hook can opt in.
        options.setdefault("skip_service_senders", False)
        receiver = Receiver(secret, checked, self.queue, store=store, now=self.now, make_job=receipts_job, **options)
        self._started(receiver)
        return receiver

    def process(
        self, name: str, *, attempts: int = DEFAULT_ATTEMPTS, backoff: float = DEFAULT_BACKOFF
    ) -> Callable[[H], H]:
        """Decorator: run the function for every job named ``name`` (a hook's name)::

        @services.process("Webhook Example")
        def handle(job: Job) -> None:
            print(job.data["message"]["parts"][0]["body"])

        :raises ConfigurationError: used without a name (``@services.process``), a name that a
            hook has but for case or spaces, or a second handler for one name.
        """
        if callable(name):
            raise ConfigurationTypeError(
                "process",
                'a job name, as in @services.process("Webhook Example")',
                name,
                f'write @services.process("<the hook\'s name>") above def {getattr(name, "__name__", "handler")}',
            )
        if not isinstance(name, str):
            raise ConfigurationTypeError("process", "a job name (a hook's name) as a string", name)
        if not name.strip():
            raise ConfigurationError("process: expected a job name (a hook's name), got an empty string")
        self._check_name(name, self._hook_names(), warn_unknown=True)
        self._handled.append(name)

        def register(handler: H) -> H:
            self.queue.process(name, handler, attempts=attempts, backoff=backoff)
            return handler

        return register

    # -- start-up checks ------------------------------------------------------------------------

    def _hook_names(self) -> list[str]:
        return [hook.name for receiver in self.receivers for hook in receiver.hooks]

    def _started(self, receiver: Receiver) -> None:
        hooks = self._hook_names() + [hook.name for hook in receiver.hooks]
        for name in self._handled:  # handlers registered before this receiver
            self._check_name(name, hooks, warn_unknown=False)
        self.receivers.append(receiver)
        if self.runner is not None:
            self.runner.announce()

    def _check_name(self, name: str, hooks: list[str], *, warn_unknown: bool) -> None:
        """A handler's name against the hooks' names: the same but for case or spaces is an
        error; another name a WARNING (it may name jobs enqueued by hand)."""
        if not hooks or name in hooks:
            return
        same = [hook for hook in hooks if folded(hook) == folded(name)]
        if same:
            raise ConfigurationError(
                f"process: no hook is named {name!r}; did you mean {same[0]!r}? A job is named exactly "
                "after its hook, so this handler would never get the hook's jobs"
            )
        near = suggest(name, hooks)
        if near or warn_unknown:
            hint = f"; did you mean {near!r}?" if near else ""
            known = ", ".join(map(repr, hooks))
            log.warning(
                "process(%r): no hook of these services is named so (hooks: %s)%s; the handler runs only jobs "
                "enqueued under that name",
                name,
                known,
                hint,
            )
