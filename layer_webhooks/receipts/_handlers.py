"""Receipts: report recipients who have not read (or received) a message after a delay.

The Node module's ``receipts()`` (layer-protocol.md §6), made idempotent for an at-least-once
queue. Three jobs per hook, all on the services' queue:

1. the receiver accepts ``message.*`` events and queues ``receipts:event:<hook>`` (nothing else;
   :func:`~._rules.receipts_job` is the job function it is given);
2. that job keeps state per (hook, message) in the store: ``message.sent`` stores the message and
   queues ``receipts:check:<hook>`` after the delay, on the queue's clock; ``message.delivered``
   / ``message.read`` raise recipient statuses monotonically (a status that arrives before its
   ``message.sent`` waits in a short-lived record that the message then joins);
   ``message.deleted`` forgets the message. A v2+ message is also indexed by its ``position`` in
   its conversation, and a v2+ ``Receipt.created`` (a range of positions, one actor) raises the
   actor's status in every tracked message of the range; a range that arrives before its
   messages waits in the index, and a message indexed later joins it;
3. the check evaluates the statuses and queues the report, a job named after the hook with
   ``{message, recipients, identities}`` (``message.recipient_status`` being the merged
   statuses the recipients were chosen by) and the stable id ``<hook>:<message id>``, then
   removes the state. A repeated check finds nothing; a report queued twice carries the same id.

The handlers read only the ports they are given (queue, :class:`~._state.ReceiptsStore`,
identity lookup, message fetch); the decisions are the pure rules of :mod:`._rules`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..config._hooks import Hook, IdentityLookup, Receipts, check_identities
from ..errors import ConfigurationError, LayerAPIError
from ..jobs._job import Job
from ..jobs._queue import Queue
from ..receiving._events import Message
from ._rules import (
    check_job_name,
    conversation_and_message,
    deleted_key,
    evaluate,
    event_job_name,
    event_statuses,
    merge_status_maps,
    merged_statuses,
    message_position,
    positions_key,
    report_message,
    state_key,
    statuses_of,
)
from ._state import ReceiptsStore

log = logging.getLogger("layer_webhooks.receipts")

#: Attempts and backoff base of the internal receipts jobs (the Node module used 1 s for these).
RECEIPTS_ATTEMPTS = 10
RECEIPTS_BACKOFF = 1.0
# A status (or a range of positions) that arrives before its message.sent waits this long: Layer
# retries a failed delivery for ~28 minutes (_layer.DELIVERY_RETRY_SCHEDULE), so the message.sent
# can come that late.
EARLY_TTL = 3600.0
# Tracked state outlives the check by this much, so that the check's own retries find it.
STATE_MARGIN = 3600.0
IDENTITY_WORKERS = 4

#: Fetches a message from Layer's Platform API: ``(conversation_id, message_id) -> message``.
FetchMessage = Callable[[str, str], Mapping[str, Any]]


class ReceiptsHandlers:
    """The handlers of one receipts hook's internal jobs, on the ports they are given."""

    def __init__(
        self,
        hook: Hook,
        queue: Queue,
        store: ReceiptsStore,
        *,
        fetch_message: FetchMessage | None = None,
        lookup_identity: IdentityLookup | None = None,
    ) -> None:
        if hook.receipts is None:
            raise ConfigurationError(f"hook {hook.name!r} has no receipts settings")
        check_identities(lookup_identity)
        self.hook = hook
        self.receipts: Receipts = hook.receipts
        self.delay = hook.receipts_delay or 0.0
        self.queue = queue
        self.store = store
        self.fetch_message = fetch_message
        self.lookup_identity = lookup_identity

    def register(self) -> None:
        """Register both handlers on the queue (in the web process and in every worker)."""
        for name, handler in ((event_job_name(self.hook), self.on_event), (check_job_name(self.hook), self.on_check)):
            self.queue.process(name, handler, attempts=RECEIPTS_ATTEMPTS, backoff=RECEIPTS_BACKOFF)

    def on_event(self, job: Job) -> None:
        """Apply one message event (or v2+ position receipt) to the state."""
        kind = job.data["kind"]
        if kind == "range":
            self._on_range(job.data)
            return
        message: Mapping[str, Any] = job.data["message"]
        message_id: str = message["id"]
        key = state_key(self.hook, message_id)
        if kind == "deleted":
            # Marker first, state second: whichever order a concurrent message.sent runs in,
            # either it sees the marker or its state is removed after it was written.
            self.store.add_if_absent(deleted_key(self.hook, message_id), 1, EARLY_TTL)
            self.store.delete(key)
            return
        statuses = event_statuses(job.data["type"], message, job.data.get("actor"))
        if kind == "status":
            self.store.merge_statuses(key, statuses, EARLY_TTL)
            return
        ttl = self.delay + STATE_MARGIN
        self.store.merge_statuses(key, statuses, ttl, message=dict(message))
        if self.store.get(deleted_key(self.hook, message_id)) is not None:
            self.store.delete(key)
            log.info("message %s was deleted before its message.sent was handled: not tracked", message_id)
            return
        placed = message_position(message)
        if placed is not None:
            conversation, position = placed
            early = self.store.add_position(positions_key(self.hook, conversation), position, message_id, ttl)
            if early:
                self.store.merge_statuses(key, early, ttl)
        self.queue.enqueue(
            check_job_name(self.hook), {"message_id": message_id}, delay=self.delay, job_id=f"check:{key}"
        )

    def _on_range(self, data: Mapping[str, Any]) -> None:
        """A v2+ receipt: the actor's status rises in every tracked message of the range."""
        statuses = {data["actor"]: data["status"]}
        index = positions_key(self.hook, data["conversation"])
        for message_id in self.store.add_range(index, data["from"], data["to"], statuses, EARLY_TTL):
            key = state_key(self.hook, message_id)
            # Only messages still tracked: a checked or deleted one stays gone.
            if self.store.get(key) is not None:
                self.store.merge_statuses(key, statuses, EARLY_TTL)

    def on_check(self, job: Job) -> None:
        """After the delay: queue the report (stable id), then drop the state."""
        message_id: str = job.data["message_id"]
        key = state_key(self.hook, message_id)
        record = self.store.get(key)
        if not isinstance(record, Mapping) or record.get("message") is None:
            log.debug("check of %s for %r: not tracked (deleted, or checked already)", message_id, self.hook.name)
            return
        message: Mapping[str, Any] = record["message"]
        statuses: Mapping[str, str] = record.get("statuses") or {}
        if self.receipts.refresh:
            fresh = self._refresh(message)
            if fresh is None:
                self.store.delete(key)
                return
            statuses = merge_status_maps(statuses, fresh)
        recipients = evaluate(message, statuses, self.receipts)
        if recipients:
            report = {
                "message": report_message(message, merged_statuses(message, statuses)),
                "recipients": recipients,
                "identities": self._identities(message, recipients),
            }
            self.queue.enqueue(self.hook.name, report, job_id=f"{self.hook.name}:{message_id}")
            log.info("reported %d recipient(s) of %s for %r", len(recipients), message_id, self.hook.name)
        self.store.delete(key)

    def _refresh(self, message: Mapping[str, Any]) -> dict[str, str] | None:
        """The Platform API's current statuses; ``{}`` when it has none; None if the message is gone."""
        ids = conversation_and_message(message)
        if self.fetch_message is None or ids is None:
            return {}
        try:
            fresh = self.fetch_message(*ids)
        except LayerAPIError as exc:
            if exc.status == 404:
                log.info("message %s is gone from Layer: no report for %r", ids[1], self.hook.name)
                return None
            raise  # retried by the queue
        statuses = fresh.get("recipient_status") if isinstance(fresh, Mapping) else None
        return statuses_of({"recipient_status": statuses}) if isinstance(statuses, Mapping) else {}

    def _identities(self, message: Mapping[str, Any], recipients: Sequence[str]) -> dict[str, Any]:
        if self.lookup_identity is None:
            return {}
        sender = Message(message).sender
        users = list(dict.fromkeys([*([sender.user_id] if sender and sender.user_id else []), *recipients]))
        lookup = self.lookup_identity

        def one(user: str) -> Mapping[str, Any] | None:
            try:
                return lookup(user)
            except Exception as exc:
                log.warning("identity lookup for %r failed for %r: %r", user, self.hook.name, exc)
                return None

        from concurrent.futures import ThreadPoolExecutor  # here: only reports with identities need it

        with ThreadPoolExecutor(max_workers=min(IDENTITY_WORKERS, len(users))) as pool:
            found = list(pool.map(one, users))
        return {
            user: (dict(identity) if identity is not None else None)
            for user, identity in zip(users, found, strict=True)
        }
