"""``LayerEmulator``: a stand-in for Layer's hosted service over real HTTP (layer-protocol.md).

Like stripe-mock or moto: a werkzeug server in a thread on loopback serves the Webhooks REST API
and the Platform API pieces; a background worker sends the verification challenges and the
delivery retries; the test drives events with :meth:`LayerEmulator.publish` or the scenario
helpers. Needs werkzeug (the ``wsgi`` extra).
"""

from __future__ import annotations

import copy
import functools
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ...errors import ConfigurationError, LayerAPIError
from .._delivery import DEADLINE, RETRY_SCHEDULE, Attempt, Delivery, Record, Worker, call
from .._payloads import API_ROOT, DEFAULT_APP_ID, Who, app_uuid, timestamp, uuid_of
from .._signing import USER_AGENT, compact, layer_headers
from ._layer_errors import error_for_status, layer_error
from ._rest_app import API, APIRequest
from ._state import Ref, World
from ._webhooks import Webhook, read_webhook

__all__ = ["APIRequest", "Attempt", "Delivery", "LayerEmulator"]

log = logging.getLogger("layer_webhooks.testing")

T = TypeVar("T")


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler, logging each request at DEBUG under ``layer_webhooks.testing``."""

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("emulator: " + message, *args)


def _with_challenge(url: str, challenge: str) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, (parts.query, urlencode({"verification_challenge": challenge}))))
    return urlunsplit(parts._replace(query=query))


class LayerEmulator:
    """Layer's hosted service, emulated over real HTTP on loopback::

        with LayerEmulator(token="t", retry_scale=0.001) as layer:
            client = LayerClient("t", layer.app_id, base_url=layer.base_url)
            ...
            layer.wait_idle()                # verifications and retries are done
            assert layer.deliveries[0].delivered

    ``base_url`` stands in for ``https://api.layer.com``: the Webhooks REST API is under
    ``/apps/<app_id>/webhooks`` and the Platform API under ``/apps/<app_id>/...``; both want
    ``Authorization: Bearer <token>`` and Layer's ``Accept`` header.

    ``retry_scale`` multiplies Layer's retry schedule (10, 30, 120, 300, 1200 s) so that tests
    can run it in milliseconds; ``timeout`` is the deadline of each verification and delivery
    (Layer's was 1 s). ``legacy_fields`` names webhook fields ``event_types`` and
    ``target_config``, as older servers did. ``port=0`` picks a free port.

    The emulator calls loopback targets only; ``http://`` targets are accepted there, with a
    warning (Layer required https).
    """

    def __init__(
        self,
        token: str = "test-token",
        app_id: str = DEFAULT_APP_ID,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        retry_scale: float = 1.0,
        timeout: float = DEADLINE,
        legacy_fields: bool = False,
    ) -> None:
        if not isinstance(token, str) or not token:
            raise ConfigurationError("token must be a non-empty string")
        if not retry_scale >= 0:
            raise ConfigurationError("retry_scale must be >= 0")
        if not timeout > 0:
            raise ConfigurationError("timeout must be > 0 seconds")
        self.token = token
        #: The app's UUID (the last segment of ``app_id``).
        self.app_id = app_uuid(app_id)
        self.retry_scale = float(retry_scale)
        self.timeout = float(timeout)
        self.legacy_fields = legacy_fields
        self._address = (host, port)
        self._lock = threading.RLock()
        self._webhooks: dict[str, Webhook] = {}
        self._records: list[Record] = []
        self._requests: list[APIRequest] = []
        self._faults: list[tuple[LayerAPIError, str | None]] = []
        self._world = World(self.app_id, API_ROOT)
        self._server: BaseWSGIServer | None = None
        self._threads: list[threading.Thread] = []
        self._worker: Worker | None = None
        self._closed = False

    def __repr__(self) -> str:
        # The token is deliberately left out.
        where = self.base_url if self._server is not None else "not running"
        return f"LayerEmulator(app_id={self.app_id!r}, {where})"

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() or use it in a with block")
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://[{name}]:{port}" if ":" in name else f"http://{name}:{port}"

    def start(self) -> LayerEmulator:
        """Start the server and the background worker; returns self."""
        if self._closed:
            raise RuntimeError("a closed emulator cannot be started again")
        if self._server is not None:
            return self
        host, port = self._address
        self._server = make_server(host, port, API(self), threaded=True, request_handler=_QuietHandler)
        self._world.root = self.base_url
        self._worker = Worker("layer-emulator-worker")
        thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="layer-emulator", daemon=True
        )
        thread.start()
        self._threads.append(thread)
        log.info("Layer emulator for app %s on %s", self.app_id, self.base_url)
        return self

    def close(self) -> None:
        """Stop the worker (pending retries are dropped) and the server. Idempotent."""
        self._closed = True
        if self._worker is not None:
            self._worker.close(self.timeout + 1.0)
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(5.0)

    def __enter__(self) -> LayerEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _running_worker(self) -> Worker:
        if self._worker is None or self._closed:
            raise RuntimeError("the emulator is not running: call start() or use it in a with block")
        return self._worker

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no verification or delivery retry is waiting or running.

        With ``retry_scale=1`` a retry can wait 20 minutes: scale the schedule down in tests.

        :raises TimeoutError: when background work remains after ``timeout`` seconds.
        """
        worker = self._worker
        if worker is not None and not worker.wait_idle(timeout):
            raise TimeoutError(f"emulator still busy after {timeout:g} s ({worker.pending()} jobs)")

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01) -> T:
        """Call ``predicate`` every ``interval`` seconds until it returns a true value; return it.

        :raises TimeoutError: when it is still false after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout:g} s")
            time.sleep(interval)

    # -- the Webhooks REST API, also callable from Python -------------------------------

    def _root(self) -> str:
        return self.base_url if self._server is not None else API_ROOT

    def _show(self, webhook: Webhook) -> dict[str, Any]:
        return webhook.as_json(self.app_id, self._root(), legacy=self.legacy_fields)

    def _webhook(self, webhook_id: str) -> Webhook:
        found = self._webhooks.get(uuid_of(str(webhook_id), f"layer:///apps/{self.app_id}/webhooks/"))
        if found is None:
            raise layer_error("not_found", f"No webhook {webhook_id!r} was found.")
        return found

    def create_webhook(
        self,
        target_url: str,
        events: Iterable[str],
        secret: str,
        *,
        config: Mapping[str, Any] | None = None,
        version: str = "1.0",
    ) -> dict[str, Any]:
        """Register a webhook as ``POST /webhooks`` does: it is ``unverified`` until the challenge
        succeeds in the background (see :meth:`wait_idle`).

        :raises LayerAPIError: 422 for an invalid field, as the REST API answers.
        """
        body: dict[str, Any] = {"version": version, "target_url": target_url, "events": list(events), "secret": secret}
        if config is not None:
            body["config"] = dict(config)
        return self._create(body)

    def _create(self, body: object) -> dict[str, Any]:
        webhook = read_webhook(body, timestamp())
        with self._lock:
            self._running_worker()
            self._webhooks[webhook.uuid] = webhook
            self._verify_later(webhook)
            shown = self._show(webhook)
        if webhook.target_url.startswith("http:"):
            log.warning("webhook %s targets %s over http: Layer required https", webhook.uuid, webhook.target_url)
        return shown

    def list_webhooks(self) -> list[dict[str, Any]]:
        """Every webhook, as ``GET /webhooks`` shows them."""
        with self._lock:
            return [self._show(webhook) for webhook in self._webhooks.values()]

    def get_webhook(self, webhook_id: str) -> dict[str, Any]:
        """One webhook (``webhook_id`` is its UUID or its ``layer:///`` id).

        :raises LayerAPIError: 404 when unknown.
        """
        with self._lock:
            return self._show(self._webhook(webhook_id))

    def activate_webhook(self, webhook_id: str) -> dict[str, Any]:
        """Make a webhook ``unverified`` and send the challenge again, as ``POST .../activate``."""
        with self._lock:
            webhook = self._webhook(webhook_id)
            self._verify_later(webhook)
            return self._show(webhook)

    def deactivate_webhook(self, webhook_id: str) -> dict[str, Any]:
        """Make a webhook ``inactive``, as ``POST .../deactivate``; its pending retries are abandoned."""
        with self._lock:
            webhook = self._webhook(webhook_id)
            webhook.status, webhook.status_reason, webhook.challenge = "inactive", "deactivated", None
            return self._show(webhook)

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook, as ``DELETE /webhooks/<id>``; its pending retries are abandoned."""
        with self._lock:
            webhook = self._webhook(webhook_id)
            webhook.challenge = None
            del self._webhooks[webhook.uuid]

    # -- verification (layer-protocol.md §2) ---------------------------------------------

    def _verify_later(self, webhook: Webhook) -> None:
        challenge = secrets.token_urlsafe(24)
        webhook.status, webhook.status_reason, webhook.challenge = "unverified", None, challenge
        self._running_worker().submit(0.0, functools.partial(self._verify, webhook, challenge))

    def _verify(self, webhook: Webhook, challenge: str) -> None:
        with self._lock:
            if webhook.challenge != challenge:
                return  # deactivated, deleted or activated again meanwhile
            url = webhook.target_url
        answer = call("GET", _with_challenge(url, challenge), timeout=self.timeout, headers={"User-Agent": USER_AGENT})
        if answer.error is not None:
            reason = f"verification failed: {answer.error}"
        elif answer.status != 200:
            reason = f"verification failed: the target answered {answer.status}, not 200"
        elif answer.body != challenge.encode("ascii"):
            reason = "verification failed: the body was not the challenge"
        else:
            reason = None
        with self._lock:
            if webhook.challenge != challenge:
                return
            webhook.challenge = None
            webhook.status, webhook.status_reason = ("active", None) if reason is None else ("inactive", reason)
        log.info("webhook %s is %s%s", webhook.uuid, webhook.status, f" ({reason})" if reason else "")

    # -- delivery (layer-protocol.md §1) -------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery so far, oldest first, each with its attempts."""
        with self._lock:
            return [record.snapshot() for record in self._records]

    def publish(self, payload: Mapping[str, Any]) -> list[Delivery]:
        """Deliver ``payload`` to every ``active`` webhook subscribed to its ``event.type``.

        Each gets the webhook's registered ``config`` in place of any ``config`` in ``payload``,
        compact JSON and Layer's headers, signed with its secret. Returns once each first
        attempt is done; failed ones are retried in the background (see :attr:`deliveries`).

        :raises ValueError: when ``payload`` has no ``event.type``.
        """
        event = payload.get("event") if isinstance(payload, Mapping) else None
        event_type = event.get("type") if isinstance(event, Mapping) else None
        if not isinstance(event_type, str) or not event_type:
            raise ValueError("payload has no event.type")
        with self._lock:
            records = [
                self._record(webhook, payload, event_type)
                for webhook in self._webhooks.values()
                if webhook.status == "active" and event_type in webhook.events
            ]
            self._records.extend(records)
        for record in records:
            self._attempt(record)
        with self._lock:
            return [record.snapshot() for record in records]

    def _record(self, webhook: Webhook, payload: Mapping[str, Any], event_type: str) -> Record:
        sent = {key: value for key, value in payload.items() if key != "config"}
        if webhook.config:
            sent["config"] = webhook.config
        body = compact(sent)
        webhook_id = webhook.layer_id(self.app_id)
        headers = layer_headers(
            body, webhook.secret, event_type=event_type, webhook_id=webhook_id, version=webhook.version
        )
        request_id = headers["layer-webhook-request-id"]
        return Record(webhook.uuid, request_id, webhook_id, event_type, webhook.target_url, headers, body)

    def _attempt(self, record: Record) -> None:
        with self._lock:
            webhook = self._webhooks.get(record.webhook_uuid)
            if webhook is None or webhook.status != "active":
                record.state = "abandoned"
                return
            number = len(record.attempts) + 1
        at = time.time()
        answer = call("POST", record.target_url, timeout=self.timeout, headers=record.headers, data=record.body)
        error = answer.error
        if error is None and not (answer.status is not None and 200 <= answer.status < 300):
            error = f"answered {answer.status}"
        with self._lock:
            record.attempts.append(Attempt(number, at, answer.status, answer.latency, error))
            if error is None:
                record.state = "delivered"
                return
            if number <= len(RETRY_SCHEDULE):
                delay = RETRY_SCHEDULE[number - 1] * self.retry_scale
                log.info(
                    "delivery %s to %s failed (%s); retry in %.3g s", record.request_id, webhook.uuid, error, delay
                )
                if self._worker is not None:
                    self._worker.submit(delay, functools.partial(self._attempt, record))
                return
            record.state = "failed"
            if self._webhooks.get(record.webhook_uuid) is webhook and webhook.status == "active":
                webhook.status = "inactive"
                webhook.status_reason = f"deliveries failed: {number} attempts, the last {error}"
        log.warning("delivery %s to %s failed %d times: webhook now inactive", record.request_id, webhook.uuid, number)

    # -- fault injection and the request log ---------------------------------------------

    def fail_next(self, n: int = 1, status: int = 503, retry_after: int | str | None = None) -> None:
        """Answer the next ``n`` API requests with ``status`` and Layer's error body for it
        (429 ``rate_limit_exceeded``, 503 ``service_unavailable``, ...), before any other check;
        with a ``Retry-After`` header when ``retry_after`` (seconds, or an HTTP date) is given.
        Calls add up."""
        if not isinstance(n, int) or n < 0:
            raise ValueError("n must be an int >= 0")
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if isinstance(retry_after, int) and retry_after < 0:
            raise ValueError("retry_after must be >= 0 seconds")
        header = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.extend([(error_for_status(status), header)] * n)

    def _take_fault(self) -> tuple[LayerAPIError, str | None] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    @property
    def api_requests(self) -> list[APIRequest]:
        """Every request the API answered, oldest first (without the bearer token)."""
        with self._lock:
            return list(self._requests)

    def _log_request(self, entry: APIRequest) -> None:
        with self._lock:
            self._requests.append(entry)

    # -- the Platform API's state (layer-protocol.md §5) ---------------------------------

    def message(self, message: Ref) -> dict[str, Any]:
        """A message (id, UUID or object) as ``GET .../messages/<id>`` shows it now.

        :raises KeyError: when unknown or deleted.
        """
        with self._lock:
            return copy.deepcopy(self._world.message(message))

    def conversation(self, conversation: Ref) -> dict[str, Any]:
        """A conversation (id, UUID or object) as it is now.

        :raises KeyError: when unknown or deleted.
        """
        with self._lock:
            return copy.deepcopy(self._world.conversation(conversation))

    def identity(self, user_id: str) -> dict[str, Any]:
        """The identity ``GET /users/<user_id>/identity`` returns.

        :raises KeyError: when none was set (the API answers 404).
        """
        with self._lock:
            return copy.deepcopy(self._world.identities[user_id])

    def set_identity(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """Set the identity of ``user_id``: ``display_name`` (default: the user id),
        ``avatar_url``, ``first_name``, ``last_name``, ``phone_number``, ``email_address``,
        ``metadata``, or any other field. Returns it."""
        with self._lock:
            return copy.deepcopy(self._world.set_identity(user_id, fields))

    def remove_identity(self, user_id: str) -> None:
        """Forget the identity of ``user_id`` (the API answers 404 for it again)."""
        with self._lock:
            self._world.identities.pop(user_id, None)

    # -- scenario helpers: change the state and publish the 1.0 event Layer would send ----

    def _emit(self, change: Callable[[World], dict[str, Any] | None]) -> dict[str, Any] | None:
        with self._lock:
            payload = change(self._world)
        if payload is not None:
            self.publish(payload)
        return payload

    def create_conversation(
        self,
        participants: Iterable[str],
        *,
        metadata: Mapping[str, Any] | None = None,
        distinct: bool = False,
        actor: Who | None = None,
    ) -> dict[str, Any]:
        """Create a conversation and publish ``conversation.created``; returns the conversation."""
        payload = self._emit(lambda world: world.create_conversation(participants, metadata, distinct, actor))
        assert payload is not None
        return payload["conversation"]  # type: ignore[no-any-return]

    def set_metadata(
        self, conversation: Ref, metadata: Mapping[str, Any], *, actor: Who | None = None
    ) -> dict[str, Any]:
        """Replace the metadata and publish ``conversation.updated.metadata``; returns the conversation."""
        self._emit(lambda world: world.set_metadata(conversation, metadata, actor))
        return self.conversation(conversation)

    def update_participants(
        self,
        conversation: Ref,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        actor: Who | None = None,
    ) -> dict[str, Any]:
        """Add and remove participants and publish ``conversation.updated.participants`` (no
        event when nothing changes); returns the conversation."""
        self._emit(lambda world: world.update_participants(conversation, add, remove, actor))
        return self.conversation(conversation)

    def delete_conversation(self, conversation: Ref, *, actor: Who | None = None) -> None:
        """Delete a conversation and its messages and publish ``conversation.deleted``."""
        self._emit(lambda world: world.delete_conversation(conversation, actor))

    def send_message(
        self,
        conversation: Ref,
        sender: Who,
        text: str = "",
        recipients: Iterable[str] | None = None,
        *,
        parts: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Send a message and publish ``message.sent``; returns the message.

        ``sender`` is a participant's user id, or ``{"name": ...}`` for a service (Platform API)
        sender. ``recipients`` default to the other participants, each ``sent``; a user sender
        is ``read``.
        """
        payload = self._emit(lambda world: world.send_message(conversation, sender, text, recipients, parts))
        assert payload is not None
        return payload["message"]  # type: ignore[no-any-return]

    def mark(self, message: Ref, user: str, status: str) -> dict[str, Any]:
        """Move ``user``'s ``recipient_status`` to ``"delivered"`` or ``"read"`` and publish
        ``message.delivered`` / ``message.read`` (no event when it would not advance); returns
        the message."""
        self._emit(lambda world: world.mark(message, user, status))
        return self.message(message)

    def delete_message(self, message: Ref, *, actor: Who | None = None) -> None:
        """Delete a message and publish ``message.deleted`` (by its sender unless ``actor``)."""
        self._emit(lambda world: world.delete_message(message, actor))
