"""The receiving core: from a :class:`Request` to queued jobs and a :class:`Response`.

Sans-I/O in the h11 sense: the decision of what to claim, enqueue and answer is written once,
as a generator of I/O steps (:meth:`Receiver._steps`), which a sync driver runs for WSGI and an
async driver runs for ASGI. The order of checks follows layer-protocol.md §1-2.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from ..config._hooks import Hook, as_hooks
from ..errors import (
    ConfigurationError,
    DeliveryRejected,
    InvalidJobData,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from ..jobs._queue import Queue
from ..store._memory import MemoryStore, Store
from ._events import EVENT_ALIASES, Event, load_payload, user_id_of
from ._http import Request, Response
from ._signing import check, secret_keys

log = logging.getLogger("layer_webhooks.receiver")

SIGNATURE_HEADER = "layer-webhook-signature"
REQUEST_ID_HEADER = "layer-webhook-request-id"
# Layer retries for 10+30+120+300+1200 s (~28 min); a shorter window would let a retry in.
MIN_DEDUPE_TTL = 1800.0
RETRY_AFTER = "10"

_OK = Response.text(200, "OK")
_UNAVAILABLE = Response.text(503, "event could not be queued, retry later", ("Retry-After", RETRY_AFTER))

# (job name, data, delay, dedupe key, job id)
_Delivery = tuple[str, dict[str, Any], float, str | None, str | None]
_Step = tuple[str, str, tuple[Any, ...], dict[str, Any]]
_Steps = Generator[_Step, Any, Response]


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    mime = content_type.partition(";")[0].strip().lower()
    return mime == "application/json" or ("/" in mime and mime.endswith("+json"))


class Receiver:
    """Receives Layer's deliveries for a set of hooks and queues one job per accepted event.

    >>> receiver = Receiver("my secret", [Hook("Webhook Example", "/hook", ["message.sent"])],
    ...                     MemoryQueue())
    >>> receiver.handle(Request("GET", "/hook", "verification_challenge=abc")).body
    b'abc'

    ``secret`` is the webhook secret, or a sequence of secrets while one is being rotated.
    ``store`` holds de-duplication claims for ``dedupe_ttl`` seconds (None: a private
    :class:`MemoryStore`, so de-duplication within one process; share a Redis store between
    processes). ``skip_service_senders`` keeps messages sent by services (no ``user_id``) out of
    the queue, as the Node module did to stop bot loops. A 2xx is answered only once every
    accepted job is in the queue; if the queue or store fails, 503 with ``Retry-After``.
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
    ) -> None:
        self._keys = secret_keys(secret)
        self.hooks: tuple[Hook, ...] = as_hooks(hooks)
        if not isinstance(max_body_bytes, int) or max_body_bytes < 1:
            raise ConfigurationError("max_body_bytes must be a positive int")
        if dedupe_ttl < MIN_DEDUPE_TTL:
            raise ConfigurationError(
                f"dedupe_ttl must be at least {MIN_DEDUPE_TTL:.0f} s: Layer retries for ~28 minutes"
            )
        self.queue = queue
        self.store: Store = MemoryStore(now=now) if store is None else store
        #: Adapters read at most this many bytes plus one, and let :meth:`handle` answer 413.
        self.max_body_bytes = max_body_bytes
        self.dedupe_ttl = float(dedupe_ttl)
        self.skip_service_senders = skip_service_senders
        self._routes: dict[str, tuple[Hook, ...]] = {}
        for hook in self.hooks:
            self._routes[hook.path] = (*self._routes.get(hook.path, ()), hook)
        self._async_io = all(
            callable(getattr(obj, name, None))
            for obj, name in (
                (queue, "enqueue_async"),
                (self.store, "add_if_absent_async"),
                (self.store, "delete_async"),
            )
        )

    def _route(self, path: str) -> tuple[Hook, ...] | None:
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        return self._routes.get(path)

    def owns(self, path: str) -> bool:
        """Whether ``path`` is a hook path (an adapter can decide before reading the body)."""
        return self._route(path) is not None

    def handle(self, request: Request) -> Response | None:
        """Answer ``request``; None when its path is not a hook path (pass it on).

        Blocks while the store and queue are written.
        """
        plan = self._plan(request)
        if plan is None or isinstance(plan, Response):
            return plan
        return self._drive(self._steps(plan))

    async def handle_async(self, request: Request) -> Response | None:
        """As :meth:`handle`, without blocking the event loop.

        Awaits the queue's ``enqueue_async`` (and the store's ``*_async`` methods) when they
        exist; otherwise runs the store and queue writes in the loop's default executor.
        """
        plan = self._plan(request)
        if plan is None or isinstance(plan, Response):
            return plan
        if self._async_io:
            return await self._drive_async(self._steps(plan))
        return await asyncio.get_running_loop().run_in_executor(None, self._drive, self._steps(plan))

    # -- the pure part -------------------------------------------------------------------

    def _plan(self, request: Request) -> Response | list[_Delivery] | None:
        hooks = self._route(request.path)
        if hooks is None:
            return None
        method = request.method
        if method == "POST":
            return self._accept(request, hooks)
        if method == "GET":
            challenge = parse_qs(request.query, keep_blank_values=True).get("verification_challenge")
            if challenge is None:
                return _OK
            log.info("answered the verification challenge on %s", request.path)
            return Response.text(200, challenge[0])
        return self._reject(request, MethodNotAllowed(f"method {method[:16]!r} not allowed"))

    def _accept(self, request: Request, hooks: tuple[Hook, ...]) -> Response | list[_Delivery]:
        body = request.body
        try:
            if len(body) > self.max_body_bytes:
                raise PayloadTooLarge(f"body larger than {self.max_body_bytes} bytes")
            check(body, request.headers.get(SIGNATURE_HEADER), self._keys)
            if not _is_json(request.headers.get("content-type")):
                raise UnsupportedMediaType("content-type is not JSON")
            payload = load_payload(body)
            event = Event(payload)
        except DeliveryRejected as exc:
            return self._reject(request, exc)
        message = payload.get("message")
        if self.skip_service_senders and isinstance(message, dict) and not user_id_of(message.get("sender")):
            log.info("ignored %s %s: sent by a service (no sender.user_id)", event.type, event.id)
            return _OK
        event_type = EVENT_ALIASES.get(event.type, event.type)
        dedupe_id = event.id or request.headers.get(REQUEST_ID_HEADER)
        deliveries: list[_Delivery] = []
        for hook in hooks:
            if hook.events and event_type not in hook.events:
                continue
            job = self._job(hook, event, payload)
            if job is None:
                continue
            name, data, delay = job
            key = job_id = None
            if dedupe_id:
                key = f"seen:{name}:{dedupe_id}"
                job_id = f"{name}:{dedupe_id}"
            deliveries.append((name, data, delay, key, job_id))
        if not deliveries:
            log.debug("ignored %s %s on %s: no hook takes it", event.type, event.id, request.path)
            return _OK
        return deliveries

    def _job(self, hook: Hook, event: Event, payload: dict[str, Any]) -> tuple[str, dict[str, Any], float] | None:
        """The job an accepted event makes for ``hook``: the Node module's ``listen`` shape."""
        data: dict[str, Any] = {
            "title": hook.name,
            "timestamp": payload["event"].get("created_at"),
            "type": event.type,
            "event_id": event.id,
            "config": payload.get("config"),
        }
        if "conversation" in payload:
            data["conversation"] = payload["conversation"]
        if "message" in payload:
            data["message"] = payload["message"]
        return hook.name, data, hook.delay

    def _reject(self, request: Request, exc: DeliveryRejected) -> Response:
        headers = request.headers
        log.warning(
            "rejected delivery to %s (%d): %s [event type %r, request id %r]",
            request.path, exc.status_code, exc,
            headers.get("layer-webhook-event-type"), headers.get(REQUEST_ID_HEADER),
        )  # fmt: skip
        extra = (("Allow", "GET, POST"),) if isinstance(exc, MethodNotAllowed) else ()
        return Response.text(exc.status_code, str(exc), *extra)

    def _steps(self, deliveries: list[_Delivery]) -> _Steps:
        """Claim, enqueue, and release on failure; yields each I/O step to a driver.

        The claim comes first so that two overlapping deliveries of one event cannot both be
        queued; it is released if the enqueue fails, so the event is marked seen only once it
        is queued and Layer's retry gets through.
        """
        failed = False
        for name, data, delay, key, job_id in deliveries:
            if key is not None:
                try:
                    claimed = yield ("store", "add_if_absent", (key, 1, self.dedupe_ttl), {})
                except Exception as exc:
                    log.error("store unavailable, %s not queued as %r: %r", job_id, name, exc)
                    failed = True
                    continue
                if not claimed:
                    log.info("duplicate %s not queued again as %r", job_id, name)
                    continue
            try:
                yield ("queue", "enqueue", (name, data), {"delay": delay, "job_id": job_id})
            except Exception as exc:
                if key is not None:
                    try:
                        yield ("store", "delete", (key,), {})
                    except Exception as release_exc:
                        log.error("could not release claim %s, retries count as seen: %r", key, release_exc)
                if isinstance(exc, InvalidJobData):
                    raise
                log.error("queue unavailable, %s not queued as %r: %r", job_id, name, exc)
                failed = True
                continue
        return _UNAVAILABLE if failed else _OK

    # -- drivers: run the steps' I/O -----------------------------------------------------
    # A step is (port, method, args, kwargs); the async driver calls the method's *_async twin.

    def _drive(self, steps: _Steps) -> Response:
        reply: Any = None
        error: Exception | None = None
        while True:
            try:
                port, method, args, kwargs = steps.send(reply) if error is None else steps.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            try:
                reply, error = getattr(getattr(self, port), method)(*args, **kwargs), None
            except Exception as exc:
                reply, error = None, exc

    async def _drive_async(self, steps: _Steps) -> Response:
        reply: Any = None
        error: Exception | None = None
        while True:
            try:
                port, method, args, kwargs = steps.send(reply) if error is None else steps.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            try:
                reply, error = await getattr(getattr(self, port), f"{method}_async")(*args, **kwargs), None
            except Exception as exc:
                reply, error = None, exc
