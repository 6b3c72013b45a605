"""Receipts: report recipients who have not read (or received) a message after a delay.

The Node module's ``receipts()`` (layer-protocol.md §6), made idempotent for an at-least-once
queue. Three jobs per hook, all on the services' queue:

1. the receiver accepts ``message.*`` events and queues ``receipts:event:<hook>`` (nothing else);
2. that job keeps state per (hook, message) in the store: ``message.sent`` stores the message and
   queues ``receipts:check:<hook>`` after the delay, on the queue's clock; ``message.delivered``
   / ``message.read`` raise recipient statuses monotonically (a status that arrives before its
   ``message.sent`` waits in a short-lived record that the message then joins);
   ``message.deleted`` forgets the message;
3. the check evaluates the statuses and queues the report, a job named after the hook with
   ``{message, recipients, identities}`` and the stable id ``<hook>:<message id>``, then removes
   the state. A repeated check finds nothing; a report queued twice carries the same id.

Everything here reads only the injected ports (queue, store, identity lookup, message fetch).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..config._hooks import Hook, Receipts
from ..errors import ConfigurationError, LayerAPIError
from ..jobs._job import Job
from ..jobs._queue import Queue
from ..receiving._events import EVENT_ALIASES, Event, Message
from ..receiving._receiver import Receiver
from ..store._memory import Store, merge_status_maps

log = logging.getLogger("layer_webhooks.receipts")

#: Attempts and backoff base of the internal receipts jobs (the Node module used 1 s for these).
RECEIPTS_ATTEMPTS = 10
RECEIPTS_BACKOFF = 1.0
# A status that arrives before its message.sent waits this long: Layer retries a failed
# delivery for 10+30+120+300+1200 s, so the message.sent can come up to ~28 minutes later.
EARLY_TTL = 3600.0
# Tracked state outlives the check by this much, so that the check's own retries find it.
STATE_MARGIN = 3600.0
IDENTITY_WORKERS = 4

_KINDS = {
    "message.sent": "sent",
    "Message.created": "sent",
    "message.delivered": "status",
    "message.read": "status",
    "Message.updated": "status",
    "Receipt.created": "status",
    "message.deleted": "deleted",
    "Message.deleted": "deleted",
}
_ACTOR_STATUS = {"message.delivered": "delivered", "message.read": "read"}

#: Fetches a message from Layer's Platform API: ``(conversation_id, message_id) -> message``.
FetchMessage = Callable[[str, str], Mapping[str, Any]]
#: Looks up one identity: ``(user_id) -> identity or None``.
LookupIdentity = Callable[[str], Mapping[str, Any] | None]


def event_job_name(hook: Hook) -> str:
    """The internal job that carries a receipts hook's events to its state."""
    return f"receipts:event:{hook.name}"


def check_job_name(hook: Hook) -> str:
    """The internal job that evaluates a message after the hook's delay."""
    return f"receipts:check:{hook.name}"


def state_key(hook: Hook, message_id: str) -> str:
    """Where the state of one message lives for one hook."""
    return f"receipts:{hook.name}:{message_id}"


def deleted_key(hook: Hook, message_id: str) -> str:
    """The marker a ``message.deleted`` leaves, so that a ``message.sent`` handled after it
    (on another worker, or retried by Layer) does not bring the message back."""
    return f"receipts-deleted:{hook.name}:{message_id}"


def statuses_of(message: Mapping[str, Any]) -> dict[str, str]:
    """A message's ``recipient_status`` by user id (v2 identity keys normalised); never None."""
    return dict(Message(message).recipient_status)


def evaluate(message: Mapping[str, Any], statuses: Mapping[str, str], receipts: Receipts) -> list[str]:
    """The recipients to report: those whose status is in ``report_for_status``.

    The sender (whose own status is ``read``) is left out unless ``include_sender``. Order: as
    the message lists its recipients, then anyone known only from later events.
    """
    view = Message(message)
    sender_id = view.sender.user_id if view.sender is not None else None
    wanted = set(receipts.report_for_status)
    # The merge keeps the message's order and appends users known only from later events.
    merged = merge_status_maps(view.recipient_status, statuses)
    skip = None if receipts.include_sender else sender_id
    return [user for user, status in merged.items() if status in wanted and user != skip]


def _conversation_and_message(message: Mapping[str, Any]) -> tuple[str, str] | None:
    view = Message(message)
    if not view.id or not view.conversation:
        return None
    return view.conversation, view.id


class _ReceiptsReceiver(Receiver):
    """A :class:`Receiver` whose accepted events become internal receipts jobs, never listen jobs."""

    def _job(self, hook: Hook, event: Event, payload: dict[str, Any]) -> tuple[str, dict[str, Any], float] | None:
        kind = _KINDS.get(EVENT_ALIASES.get(event.type, event.type))
        message = payload.get("message")
        if kind is None or not isinstance(message, dict) or not isinstance(message.get("id"), str):
            return None
        actor = event.actor
        data = {"kind": kind, "type": event.type, "message": message, "actor": actor.user_id if actor else None}
        return event_job_name(hook), data, 0.0


class ReceiptsHandlers:
    """The handlers of one receipts hook's internal jobs, on the ports they are given."""

    def __init__(
        self,
        hook: Hook,
        queue: Queue,
        store: Store,
        *,
        fetch_message: FetchMessage | None = None,
        lookup_identity: LookupIdentity | None = None,
    ) -> None:
        assert hook.receipts is not None
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
        """Apply one message event to the state."""
        message: Mapping[str, Any] = job.data["message"]
        message_id: str = message["id"]
        key = state_key(self.hook, message_id)
        kind = job.data["kind"]
        if kind == "deleted":
            # Marker first, state second: whichever order a concurrent message.sent runs in,
            # either it sees the marker or its state is removed after it was written.
            self.store.add_if_absent(deleted_key(self.hook, message_id), 1, EARLY_TTL)
            self.store.delete(key)
            return
        statuses = statuses_of(message)
        actor_status = _ACTOR_STATUS.get(EVENT_ALIASES.get(job.data["type"], job.data["type"]))
        if actor_status and job.data.get("actor"):
            statuses = merge_status_maps(statuses, {job.data["actor"]: actor_status})
        if kind == "status":
            self.store.merge_statuses(key, statuses, EARLY_TTL)
            return
        self.store.merge_statuses(key, statuses, self.delay + STATE_MARGIN, message=dict(message))
        if self.store.get(deleted_key(self.hook, message_id)) is not None:
            self.store.delete(key)
            log.info("message %s was deleted before its message.sent was handled: not tracked", message_id)
            return
        self.queue.enqueue(
            check_job_name(self.hook), {"message_id": message_id}, delay=self.delay, job_id=f"check:{key}"
        )

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
            report = {"message": message, "recipients": recipients, "identities": self._identities(message, recipients)}
            self.queue.enqueue(self.hook.name, report, job_id=f"{self.hook.name}:{message_id}")
            log.info("reported %d recipient(s) of %s for %r", len(recipients), message_id, self.hook.name)
        self.store.delete(key)

    def _refresh(self, message: Mapping[str, Any]) -> dict[str, str] | None:
        """The Platform API's current statuses; ``{}`` when it has none; None if the message is gone."""
        ids = _conversation_and_message(message)
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

        with ThreadPoolExecutor(max_workers=min(IDENTITY_WORKERS, len(users))) as pool:
            found = list(pool.map(one, users))
        return {
            user: (dict(identity) if identity is not None else None)
            for user, identity in zip(users, found, strict=True)
        }


def receipts_receiver(secret: str | Sequence[str], hooks: Sequence[Hook], queue: Queue, **options: Any) -> Receiver:
    """A receiver that queues only the hooks' internal receipts jobs.

    Service senders are not skipped: a report is not a message, so it cannot loop.
    """
    options.setdefault("skip_service_senders", False)
    return _ReceiptsReceiver(secret, hooks, queue, **options)


def receipts_hooks(hooks: Iterable[Hook]) -> list[Hook]:
    """The hooks, each of which must be a receipts hook."""
    result = list(hooks)
    for hook in result:
        if hook.receipts is None:
            raise ConfigurationError(f"hook {hook.name!r} has no receipts settings: use listen() for it")
    return result
