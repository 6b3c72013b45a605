"""``LayerClient``: Layer's Webhooks REST API and the Platform API pieces this library needs.

::

    client = LayerClient(token, "layer:///apps/staging/7c1c7ac2-...")
    for webhook in client.webhooks.list():
        print(webhook["id"], webhook["status"])
    identity = client.identities.get("layer:///identities/frodo")
    client.messages.send_text(conversation_id, {"name": "Welcome-bot"}, "Hello")

The Platform API's messages, announcements and conversations are in :mod:`._platform`.

The flow is written here once, over one transport (:mod:`._transport`, :mod:`requests`,
imported when the first client is made); the decisions are the pure modules':
:mod:`._urls` (ids to path segments), :mod:`._retry` (what is retried, and when) and
:mod:`._answers` (Layer's JSON and error bodies). Requests that fail with 429, 500, 502, 503,
504 or a connection error are retried with exponential backoff (``Retry-After`` honoured),
within ``attempts`` and ``max_retry_seconds``; a create is retried only on 429 and 503, the
answers that say it was not processed (layer-protocol.md §4). Errors are
:class:`~layer_webhooks.LayerAPIError`. The token is sent in the ``Authorization`` header and
nowhere else: never logged, never in a message or a ``repr``.
"""

from __future__ import annotations

import json as jsonlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._layer import (
    API_VERSION,
    DEFAULT_BASE_URL,
    PLATFORM_ACCEPT,
    PLATFORM_MEDIA_TYPE,
    WEBHOOKS_ACCEPT,
    WEBHOOKS_VERSIONS,
    media_type,
)
from ..errors import ConfigurationError
from ._answers import read_error, read_json, unreachable
from ._platform import Announcements, Conversations, MessageSending
from ._retry import CREATE_RETRY_STATUSES, RETRY_STATUSES, RetryRule, next_wait, retry_after
from ._transport import HTTPRequest, RequestsTransport, TransportError
from ._urls import api_path, app_uuid, segment, user_segment
from ._urls import base_url as checked_base_url

if TYPE_CHECKING:
    import requests

__all__ = ["DEFAULT_BASE_URL", "Announcements", "Conversations", "Identities", "LayerClient", "Messages", "Webhooks"]

log = logging.getLogger("layer_webhooks.client")


def _header_safe(value: str) -> bool:
    # RFC 9110 field values: visible characters, obs-text (Latin-1 above 0x9F here, leaving out
    # the C1 controls), and spaces or tabs inside. A newline would split the header (or make
    # requests refuse it with the header, token included, in its message).
    return value == value.strip(" \t") and all(" " <= c <= "~" or c == "\t" or "\xa0" <= c <= "\xff" for c in value)


class LayerClient:
    """A client for one Layer app.

    ``app_id`` is a UUID or ``layer:///apps/[staging/]<uuid>``; ``base_url`` the API root (an
    emulator's ``base_url`` in tests); ``timeout`` seconds per request; ``session`` a
    :class:`requests.Session` to reuse (one is made, and closed by :meth:`close`, otherwise).
    A request is tried at most ``attempts`` times and not retried once ``max_retry_seconds``
    have passed since it began; ``sleep`` and ``clock`` (monotonic) are injectable, and are
    also what :meth:`WebhooksServices.register` waits with; ``now`` (seconds since the epoch)
    is what a ``Retry-After`` date is measured from. ``platform_version`` is the Platform API
    version asked for in its ``Accept`` header (``"1.0"``, ``"2.0"`` or ``"3.0"``; the
    Webhooks REST API is always asked for 1.0).

    ``client.webhooks``, ``client.messages``, ``client.announcements``,
    ``client.conversations`` and ``client.identities`` return Layer's JSON.

    :raises LayerAPIError: for an error answer (``status``, ``code``, ``id``, ``message``,
        ``data`` from Layer's error body), or ``status`` 0 when Layer could not be reached.
    """

    def __init__(
        self,
        token: str,
        app_id: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10,
        session: requests.Session | None = None,
        attempts: int = 4,
        max_retry_seconds: float = 30.0,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
        platform_version: str = API_VERSION,
    ) -> None:
        if platform_version not in WEBHOOKS_VERSIONS:
            raise ConfigurationError(
                f"platform_version={platform_version!r}: expected one of {', '.join(WEBHOOKS_VERSIONS)}"
            )
        if not isinstance(token, str) or not token:
            raise ConfigurationError("a Layer API token is required")
        if not _header_safe(token):
            # The value is left out: it is a secret, and what is wrong with it may not print.
            raise ConfigurationError(
                "token: not usable in an HTTP header (a newline, a control character, a character"
                " outside Latin-1, or spaces at either end); pass the token exactly as Layer issued it"
            )
        if attempts < 1:
            raise ConfigurationError("attempts must be at least 1")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            # 0 would fail every request at once; None would wait for ever on a silent server.
            raise ConfigurationError(f"timeout: expected seconds per request > 0 (the default is 10), got {timeout!r}")
        self._token = token
        self.app_id = app_uuid(app_id)
        self.base_url = checked_base_url(base_url)
        self.timeout = float(timeout)
        self.attempts = attempts
        self.max_retry_seconds = max_retry_seconds
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        self.now = now
        #: The ``Accept`` header of every Platform API request.
        self.platform_accept = media_type(PLATFORM_MEDIA_TYPE, platform_version)
        self._transport = RequestsTransport(session)
        self.webhooks = Webhooks(self)
        self.messages = Messages(self)
        self.announcements = Announcements(self)
        self.conversations = Conversations(self)
        self.identities = Identities(self)

    def __repr__(self) -> str:
        return f"LayerClient(app_id={self.app_id!r}, base_url={self.base_url!r})"

    def __enter__(self) -> LayerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the session if this client made it."""
        self._transport.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        accept: str = WEBHOOKS_ACCEPT,
        json: Any = None,
        retry_on: frozenset[int] = RETRY_STATUSES,
        retry_connection_errors: bool = True,
        content_type: str = "application/json",
    ) -> Any:
        """Send ``method`` to ``/apps/<app><path>`` and return the decoded JSON (None if empty).

        ``json`` is sent as ``content_type``. Retried on the statuses in ``retry_on`` and, if
        ``retry_connection_errors``, on connection errors and timeouts. ``accept`` is
        :data:`WEBHOOKS_ACCEPT` or :data:`PLATFORM_ACCEPT`, which is sent at this client's
        ``platform_version``.
        """
        if accept == PLATFORM_ACCEPT:
            accept = self.platform_accept
        path = api_path(self.app_id, path)
        where = f"{method} {path}"
        headers = {"Authorization": f"Bearer {self._token}", "Accept": accept}
        body = None
        if json is not None:
            headers["Content-Type"] = content_type
            try:
                body = jsonlib.dumps(json, allow_nan=False).encode()
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(f"the body of {where} is not JSON: {exc}") from None
        outgoing = HTTPRequest(method, self.base_url + path, headers, body, self.timeout)
        rule = RetryRule(self.attempts, self.max_retry_seconds, self.backoff, retry_on, retry_connection_errors)
        started = self.clock()
        for attempt in range(1, self.attempts + 1):
            try:
                response = self._transport.handle_request(outgoing)
            except TransportError as exc:
                error = unreachable(where, str(exc), self._token)
                status, asked = None, None
            else:
                if response.ok:
                    return read_json(where, response)
                error = read_error(where, response, self._token)
                status, header = response.status, response.headers.get("retry-after")
                asked = retry_after(header, self.now()) if header else None
            wait = next_wait(rule, attempt, self.clock() - started, status, asked)
            if wait is None:
                break
            log.warning("%s; retry %d of %d in %.2f s", error, attempt, self.attempts - 1, wait)
            self.sleep(wait)
        raise error from None


class Webhooks:
    """``client.webhooks``: the Webhooks REST API (layer-protocol.md §4).

    A ``webhook_id`` is a bare UUID or ``layer:///apps/<app>/webhooks/<uuid>``.
    """

    def __init__(self, client: LayerClient) -> None:
        self._client = client

    def list(self) -> list[dict[str, Any]]:
        """Every webhook of the app."""
        result = self._client.request("GET", "/webhooks")
        return list(result or [])

    def get(self, webhook_id: str) -> dict[str, Any]:
        """One webhook."""
        return dict(self._client.request("GET", f"/webhooks/{segment(webhook_id)}"))

    def create(
        self,
        target_url: str,
        events: Sequence[str],
        secret: str,
        config: Mapping[str, Any] | None = None,
        *,
        version: str = "1.0",
    ) -> dict[str, Any]:
        """Create a webhook; Layer answers it ``unverified`` and sends the challenge.

        Retried only on 429 and 503: after any other failure the webhook may exist, so list
        before creating again.
        """
        body: dict[str, Any] = {"version": version, "target_url": target_url, "events": list(events), "secret": secret}
        if config is not None:
            body["config"] = dict(config)
        result = self._client.request(
            "POST", "/webhooks", json=body, retry_on=CREATE_RETRY_STATUSES, retry_connection_errors=False
        )
        return dict(result)

    def activate(self, webhook_id: str) -> dict[str, Any]:
        """Activate a webhook; Layer answers it ``unverified`` and sends the challenge again."""
        return dict(self._client.request("POST", f"/webhooks/{segment(webhook_id)}/activate"))

    def deactivate(self, webhook_id: str) -> dict[str, Any]:
        """Deactivate a webhook (``inactive``)."""
        return dict(self._client.request("POST", f"/webhooks/{segment(webhook_id)}/deactivate"))

    def delete(self, webhook_id: str) -> None:
        """Delete a webhook."""
        self._client.request("DELETE", f"/webhooks/{segment(webhook_id)}")


class Messages(MessageSending):
    """``client.messages``: messages through the Platform API (layer-protocol.md §5); sending
    them is :class:`~._platform.MessageSending`'s."""

    def __init__(self, client: LayerClient) -> None:
        self._client = client

    def get(self, conversation_id: str, message_id: str) -> dict[str, Any]:
        """A message as the system sees it, with its current ``recipient_status``.

        Ids are UUIDs or ``layer:///conversations/<uuid>`` / ``layer:///messages/<uuid>``
        (``message["conversation"]["id"]`` and ``message["id"]`` of a payload).
        """
        path = f"/conversations/{segment(conversation_id)}/messages/{segment(message_id)}"
        return dict(self._client.request("GET", path, accept=PLATFORM_ACCEPT))


class Identities:
    """``client.identities``: user identities through the Platform API (layer-protocol.md §5)."""

    def __init__(self, client: LayerClient) -> None:
        self._client = client

    def get(self, user_id: str) -> dict[str, Any]:
        """The identity of ``user_id`` (or ``layer:///identities/<user_id>``); 404 if unknown."""
        path = f"/users/{user_segment(user_id)}/identity"
        return dict(self._client.request("GET", path, accept=PLATFORM_ACCEPT))
