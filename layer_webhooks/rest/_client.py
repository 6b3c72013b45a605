"""``LayerClient``: Layer's Webhooks REST API and the Platform API pieces this library needs.

::

    client = LayerClient(token, "layer:///apps/staging/7c1c7ac2-...")
    for webhook in client.webhooks.list():
        print(webhook["id"], webhook["status"])
    identity = client.identities.get("layer:///identities/frodo")

Built on :mod:`requests`. Requests that fail with 429, 500, 502, 503, 504 or a connection error
are retried with exponential backoff (``Retry-After`` honoured), within ``attempts`` and
``max_retry_seconds``; a create is retried only on 429 and 503, the answers that say it was not
processed (layer-protocol.md §4). Errors are :class:`~layer_webhooks.LayerAPIError`. The token
is sent in the ``Authorization`` header and nowhere else: never logged, never in a message or a
``repr``.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import requests

from ..errors import ConfigurationError, LayerAPIError

__all__ = ["DEFAULT_BASE_URL", "LayerClient"]

log = logging.getLogger("layer_webhooks.client")

DEFAULT_BASE_URL = "https://api.layer.com"
# The two APIs refuse each other's media type with 406 (layer-protocol.md §4, §5).
WEBHOOKS_ACCEPT = "application/vnd.layer.webhooks+json; version=1.0"
PLATFORM_ACCEPT = "application/vnd.layer+json; version=1.0"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A POST /webhooks answered with these was not processed: safe to send again. Anything else
# (a 500, a timeout, a dropped connection) may have created the webhook.
CREATE_RETRY_STATUSES = frozenset({429, 503})
_HINTS = {
    401: "check the API token",
    403: "check that the API token belongs to this app",
    406: "the Accept header was refused",
}
_LAYER_PREFIX = "layer:///"
_IDENTITY_PREFIX = "layer:///identities/"


def app_uuid(app_id: str) -> str:
    """The app's UUID from a bare UUID, ``layer:///apps/<uuid>`` or ``layer:///apps/staging/<uuid>``."""
    value = app_id.strip() if isinstance(app_id, str) else ""
    if value.startswith(_LAYER_PREFIX):
        parts = value.removeprefix(_LAYER_PREFIX).strip("/").split("/")
        value = parts[-1] if len(parts) > 1 and parts[0] == "apps" else ""
    value = value.strip("/")
    if not value or "/" in value:
        raise ConfigurationError(f"expected an app id (a UUID or layer:///apps/<uuid>), got {app_id!r}")
    return quote(value, safe="")


def _segment(layer_id: str) -> str:
    """The last segment of a ``layer:///...`` id (a bare id as it is), URL-escaped."""
    if not isinstance(layer_id, str) or not layer_id:
        raise ConfigurationError(f"expected a Layer id, got {layer_id!r}")
    if layer_id.startswith(_LAYER_PREFIX):
        layer_id = layer_id.rstrip("/").rpartition("/")[2]
    return quote(layer_id, safe="")


def _user(user_id: str) -> str:
    if not isinstance(user_id, str) or not user_id:
        raise ConfigurationError(f"expected a user id, got {user_id!r}")
    return quote(user_id.removeprefix(_IDENTITY_PREFIX), safe="")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class LayerClient:
    """A client for one Layer app.

    ``app_id`` is a UUID or ``layer:///apps/[staging/]<uuid>``; ``base_url`` the API root (an
    emulator's ``base_url`` in tests); ``timeout`` seconds per request; ``session`` a
    :class:`requests.Session` to reuse (one is made, and closed by :meth:`close`, otherwise).
    A request is tried at most ``attempts`` times and not retried once ``max_retry_seconds``
    have passed since it began; ``sleep`` and ``clock`` (monotonic) are injectable, and are
    also what :meth:`WebhooksServices.register` waits with.

    ``client.webhooks``, ``client.messages`` and ``client.identities`` return Layer's JSON.

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
    ) -> None:
        if not isinstance(token, str) or not token:
            raise ConfigurationError("a Layer API token is required")
        if attempts < 1:
            raise ConfigurationError("attempts must be at least 1")
        self._token = token
        self.app_id = app_uuid(app_id)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self.max_retry_seconds = max_retry_seconds
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        self._owns_session = session is None
        self._session = requests.Session() if session is None else session
        self.webhooks = Webhooks(self)
        self.messages = Messages(self)
        self.identities = Identities(self)

    def __repr__(self) -> str:
        return f"LayerClient(app_id={self.app_id!r}, base_url={self.base_url!r})"

    def __enter__(self) -> LayerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the session if this client made it."""
        if self._owns_session:
            self._session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        accept: str = WEBHOOKS_ACCEPT,
        json: Any = None,
        retry_on: frozenset[int] = RETRY_STATUSES,
        retry_connection_errors: bool = True,
    ) -> Any:
        """Send ``method`` to ``/apps/<app><path>`` and return the decoded JSON (None if empty).

        Retried on the statuses in ``retry_on`` and, if ``retry_connection_errors``, on
        connection errors and timeouts.
        """
        url = f"{self.base_url}/apps/{self.app_id}{path}"
        where = f"{method} /apps/{self.app_id}{path}"
        headers = {"Authorization": f"Bearer {self._token}", "Accept": accept}
        if json is not None:
            headers["Content-Type"] = "application/json"
        started = self.clock()
        for attempt in range(1, self.attempts + 1):
            wait = self.backoff * 2 ** (attempt - 1)
            try:
                response = self._session.request(method, url, headers=headers, json=json, timeout=self.timeout)
            except requests.RequestException as exc:
                detail = self._redact(f"{type(exc).__name__}: {exc}")
                error = LayerAPIError(0, message=detail, request=where)
                if not retry_connection_errors:
                    raise error from None
            else:
                if response.ok:
                    return self._json(where, response)
                error = self._error(where, response)
                if response.status_code not in retry_on:
                    raise error from None
                retry_after = _retry_after(response.headers.get("Retry-After"))
                wait = wait if retry_after is None else retry_after
            if attempt == self.attempts or self.clock() - started + wait > self.max_retry_seconds:
                break
            log.warning("%s; retry %d of %d in %.2f s", error, attempt, self.attempts - 1, wait)
            self.sleep(wait)
        raise error from None

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "<token>")

    def _json(self, where: str, response: requests.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise LayerAPIError(response.status_code, message="the answer is not JSON", request=where) from None

    def _error(self, where: str, response: requests.Response) -> LayerAPIError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, Mapping):
            body = {"message": response.text[:200]}
        message = self._redact(str(body.get("message") or response.reason or ""))
        hint = _HINTS.get(response.status_code)
        if hint:
            message = f"{message} ({hint})" if message else hint
        code, data = body.get("code"), body.get("data")
        return LayerAPIError(
            response.status_code,
            code=code if isinstance(code, int) else None,
            id=self._redact(str(body["id"])) if body.get("id") else None,
            message=message,
            data=data if isinstance(data, Mapping) else None,
            request=where,
        )


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
        return dict(self._client.request("GET", f"/webhooks/{_segment(webhook_id)}"))

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
        return dict(self._client.request("POST", f"/webhooks/{_segment(webhook_id)}/activate"))

    def deactivate(self, webhook_id: str) -> dict[str, Any]:
        """Deactivate a webhook (``inactive``)."""
        return dict(self._client.request("POST", f"/webhooks/{_segment(webhook_id)}/deactivate"))

    def delete(self, webhook_id: str) -> None:
        """Delete a webhook."""
        self._client.request("DELETE", f"/webhooks/{_segment(webhook_id)}")


class Messages:
    """``client.messages``: messages through the Platform API (layer-protocol.md §5)."""

    def __init__(self, client: LayerClient) -> None:
        self._client = client

    def get(self, conversation_id: str, message_id: str) -> dict[str, Any]:
        """A message as the system sees it, with its current ``recipient_status``.

        Ids are UUIDs or ``layer:///conversations/<uuid>`` / ``layer:///messages/<uuid>``
        (``message["conversation"]["id"]`` and ``message["id"]`` of a payload).
        """
        path = f"/conversations/{_segment(conversation_id)}/messages/{_segment(message_id)}"
        return dict(self._client.request("GET", path, accept=PLATFORM_ACCEPT))


class Identities:
    """``client.identities``: user identities through the Platform API (layer-protocol.md §5)."""

    def __init__(self, client: LayerClient) -> None:
        self._client = client

    def get(self, user_id: str) -> dict[str, Any]:
        """The identity of ``user_id`` (or ``layer:///identities/<user_id>``); 404 if unknown."""
        return dict(self._client.request("GET", f"/users/{_user(user_id)}/identity", accept=PLATFORM_ACCEPT))
