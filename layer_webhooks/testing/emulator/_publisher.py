"""Deliveries: an event signed and POSTed to each subscribed webhook, retried on Layer's schedule
until it is delivered, the webhook turns inactive, or it is abandoned (layer-protocol.md §1).

Each webhook gets the event of its own Webhooks version: a 1.0 payload is rendered for a 2.0 or
3.0 webhook (``message.read`` becomes ``Receipt.created``, ...) by the function it is given.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..._layer import API_VERSION, DELIVERY_RETRY_SCHEDULE, EVENT_TYPES, REQUEST_ID_HEADER
from .._deliveries import Attempt, Delivery, DeliveryState
from .._signing import compact, layer_headers
from ._outgoing import call
from ._webhook import Webhook
from ._webhook_registry import WebhookRegistry
from ._worker import Worker

log = logging.getLogger("layer_webhooks.testing")

#: Renders a 1.0 payload for a 2.0 / 3.0 webhook: ``(payload, version) -> payload | None``.
Render = Callable[[Mapping[str, Any], str], Mapping[str, Any] | None]


@dataclass(eq=False)
class Record:
    """A :class:`Delivery` in progress; changed only under the emulator's lock."""

    webhook_uuid: str
    request_id: str
    webhook_id: str
    event_type: str
    target_url: str
    headers: dict[str, str]
    body: bytes
    attempts: list[Attempt] = field(default_factory=list)
    state: DeliveryState = "pending"

    def snapshot(self) -> Delivery:
        """An immutable copy."""
        return Delivery(
            self.request_id, self.webhook_id, self.event_type, self.target_url,
            dict(self.headers), self.body, tuple(self.attempts), self.state,
        )  # fmt: skip


class Publisher:
    """Delivers events to the webhooks of ``registry`` and keeps the log of every delivery.

    Retries run on ``worker`` after Layer's delays times ``retry_scale``; ``timeout`` is the
    deadline of each attempt. State is changed only under ``lock``, the emulator's one lock,
    under which ``render`` runs.
    """

    def __init__(
        self,
        registry: WebhookRegistry,
        lock: threading.RLock,
        worker: Worker,
        *,
        retry_scale: float,
        timeout: float,
        render: Render,
    ) -> None:
        self.retry_scale = retry_scale
        self.timeout = timeout
        self._render = render
        self._registry = registry
        self._lock = lock
        self._worker = worker
        self._records: list[Record] = []

    def deliveries(self) -> list[Delivery]:
        """Every delivery so far, oldest first, each with its attempts."""
        with self._lock:
            return [record.snapshot() for record in self._records]

    def publish(self, payload: Mapping[str, Any]) -> list[Delivery]:
        """Deliver ``payload`` to every ``active`` webhook subscribed to its ``event.type``, and
        a 1.0 payload rendered for each 2.0 / 3.0 webhook subscribed to the event it becomes;
        return once each first attempt is done (failed ones are retried in the background).

        :raises ValueError: when ``payload`` has no ``event.type``.
        """
        event = payload.get("event") if isinstance(payload, Mapping) else None
        event_type = event.get("type") if isinstance(event, Mapping) else None
        if not isinstance(event_type, str) or not event_type:
            raise ValueError("payload has no event.type")
        with self._lock:
            rendered: dict[str, Mapping[str, Any] | None] = {}
            records = []
            for webhook in self._registry.active():
                sent: Mapping[str, Any] | None = payload
                if event_type not in webhook.events:
                    if event_type not in EVENT_TYPES[API_VERSION] or webhook.version == API_VERSION:
                        continue
                    if webhook.version not in rendered:
                        rendered[webhook.version] = self._render(payload, webhook.version)
                    sent = rendered[webhook.version]
                if sent is not None and sent["event"]["type"] in webhook.events:
                    records.append(self._record(webhook, sent, sent["event"]["type"]))
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
        webhook_id = webhook.layer_id(self._registry.app_id)
        headers = layer_headers(
            body, webhook.secret, event_type=event_type, webhook_id=webhook_id, version=webhook.version
        )
        return Record(
            webhook.uuid, headers[REQUEST_ID_HEADER], webhook_id, event_type, webhook.target_url, headers, body
        )

    def _attempt(self, record: Record) -> None:
        with self._lock:
            webhook = self._registry.find(record.webhook_uuid)
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
            if number <= len(DELIVERY_RETRY_SCHEDULE):
                delay = DELIVERY_RETRY_SCHEDULE[number - 1] * self.retry_scale
                log.info(
                    "delivery %s to %s failed (%s); retry in %.3g s", record.request_id, webhook.uuid, error, delay
                )
                self._worker.submit(delay, functools.partial(self._attempt, record))
                return
            record.state = "failed"
            if self._registry.find(record.webhook_uuid) is webhook and webhook.status == "active":
                webhook.status = "inactive"
                webhook.status_reason = f"deliveries failed: {number} attempts, the last {error}"
        log.warning("delivery %s to %s failed %d times: webhook now inactive", record.request_id, webhook.uuid, number)
