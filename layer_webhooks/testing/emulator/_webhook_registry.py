"""The app's registered webhooks and their verification handshake (layer-protocol.md §2, §4).

:class:`WebhookRegistry` is what the Webhooks REST API serves and what the publisher delivers
to; the challenge is sent by the background worker.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from ..._layer import DEFAULT_BASE_URL, USER_AGENT, webhook_id
from .._layer_objects import timestamp, uuid_of
from ._layer_errors import layer_error
from ._outgoing import call
from ._webhook import Webhook, read_webhook
from ._worker import NOT_RUNNING, Worker

log = logging.getLogger("layer_webhooks.testing")


def _with_challenge(url: str, challenge: str) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, (parts.query, urlencode({"verification_challenge": challenge}))))
    return urlunsplit(parts._replace(query=query))


class WebhookRegistry:
    """The webhooks of app ``app_id``, changed only under ``lock`` (the emulator's one lock).

    Each method answers as its REST operation does, showing webhooks with URLs under
    :attr:`root`; unknown ids raise :class:`~layer_webhooks.LayerAPIError` 404. ``timeout`` is
    the deadline of each verification; ``legacy_fields`` shows ``event_types`` and
    ``target_config``, as older servers did.
    """

    def __init__(
        self, app_id: str, lock: threading.RLock, worker: Worker, *, timeout: float, legacy_fields: bool
    ) -> None:
        self.app_id = app_id
        #: The root of the ``url`` fields: the emulator's ``base_url`` while it runs.
        self.root = DEFAULT_BASE_URL
        self.timeout = timeout
        self.legacy_fields = legacy_fields
        self._lock = lock
        self._worker = worker
        self._webhooks: dict[str, Webhook] = {}

    def _show(self, webhook: Webhook) -> dict[str, Any]:
        return webhook.as_json(self.app_id, self.root, legacy=self.legacy_fields)

    def _webhook(self, key: str) -> Webhook:
        found = self._webhooks.get(uuid_of(str(key), webhook_id(self.app_id, "")))
        if found is None:
            raise layer_error("not_found", f"No webhook {key!r} was found.")
        return found

    # -- the REST operations ---------------------------------------------------------------

    def create(self, body: object) -> dict[str, Any]:
        """Register the webhook of a create request's JSON ``body``, ``unverified`` until its
        challenge succeeds in the background; returns it as shown.

        :raises LayerAPIError: 400 or 422 for an invalid body (see :func:`read_webhook`).
        :raises RuntimeError: when the worker is not running.
        """
        webhook = read_webhook(body, timestamp())
        with self._lock:
            if not self._worker.running:
                raise RuntimeError(NOT_RUNNING)
            self._webhooks[webhook.uuid] = webhook
            self._verify_later(webhook)
            shown = self._show(webhook)
        if webhook.target_url.startswith("http:"):
            log.warning("webhook %s targets %s over http: Layer required https", webhook.uuid, webhook.target_url)
        return shown

    def show_all(self) -> list[dict[str, Any]]:
        """Every webhook, as ``GET /webhooks`` shows them."""
        with self._lock:
            return [self._show(webhook) for webhook in self._webhooks.values()]

    def show(self, key: str) -> dict[str, Any]:
        """The webhook ``key`` (its UUID or its ``layer:///`` id)."""
        with self._lock:
            return self._show(self._webhook(key))

    def activate(self, key: str) -> dict[str, Any]:
        """Make the webhook ``unverified`` and send its challenge again."""
        with self._lock:
            webhook = self._webhook(key)
            self._verify_later(webhook)
            return self._show(webhook)

    def deactivate(self, key: str) -> dict[str, Any]:
        """Make the webhook ``inactive`` (the publisher abandons its pending retries)."""
        with self._lock:
            webhook = self._webhook(key)
            webhook.status, webhook.status_reason, webhook.challenge = "inactive", "deactivated", None
            return self._show(webhook)

    def delete(self, key: str) -> None:
        """Forget the webhook (the publisher abandons its pending retries)."""
        with self._lock:
            webhook = self._webhook(key)
            webhook.challenge = None
            del self._webhooks[webhook.uuid]

    # -- for the publisher, which holds the lock -------------------------------------------

    def find(self, webhook_uuid: str) -> Webhook | None:
        """The registered webhook of that UUID, or None once deleted."""
        return self._webhooks.get(webhook_uuid)

    def active(self) -> list[Webhook]:
        """The ``active`` webhooks, oldest first."""
        return [w for w in self._webhooks.values() if w.status == "active"]

    # -- verification (layer-protocol.md §2) -----------------------------------------------

    def _verify_later(self, webhook: Webhook) -> None:
        if not self._worker.running:
            raise RuntimeError(NOT_RUNNING)
        challenge = secrets.token_urlsafe(24)
        webhook.status, webhook.status_reason, webhook.challenge = "unverified", None, challenge
        self._worker.submit(0.0, functools.partial(self._verify, webhook, challenge))

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
