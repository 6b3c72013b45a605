"""Receipts end to end on the in-memory queue and store, with a controlled clock."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest
from support.clock import Clock
from support.payloads import SECRET, signed

from layer_webhooks import ConfigurationError, Hook, Job, MemoryQueue, Receipts, Receiver, WebhooksServices
from layer_webhooks.receipts._rules import receipts_job
from layer_webhooks.testing import make_event

MESSAGE = "layer:///messages/940de862-3c96-11e4-baad-164230d1df67"
CONVERSATION = "layer:///conversations/e67b5da2-95ca-40c4-bfc5-a2a8baaeb50f"
RECIPIENTS = {"bob": "sent", "carol": "sent", "dave": "sent"}


def event(kind: str, statuses: Mapping[str, str] = RECIPIENTS, actor: str | None = None, **kw: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {"actor": actor} if actor else {}
    return make_event(
        kind, sender="alice", recipients=dict(statuses), message_id=MESSAGE, conversation=CONVERSATION, **extra, **kw
    )


class World:
    """Services on a MemoryQueue, one receipts hook, the reports it makes."""

    def __init__(self, receipts: Receipts | None = None, queue: MemoryQueue | None = None) -> None:
        self.clock = Clock()
        self.queue = queue or MemoryQueue(now=self.clock)
        self.services = WebhooksServices(queue=self.queue, now=self.clock)
        self.hook = Hook(
            "Unread",
            "/receipts",
            ["message.sent", "message.delivered", "message.read", "message.deleted", "conversation.created"],
            receipts=receipts or Receipts(delay="10 minutes"),
        )
        self.receiver = self.services.receipts(SECRET, [self.hook])
        self.reports: list[Job] = []
        self.services.process("Unread")(self.reports.append)

    def deliver(self, payload: dict[str, Any]) -> None:
        response = self.receiver.handle(signed(payload, path="/receipts"))
        assert response is not None
        assert response.status == 200

    def run(self, seconds: float = 0.0) -> None:
        self.clock.t += seconds
        self.queue.run_due()

    def state(self) -> Any:
        return self.services.store.get(f"receipts:Unread:{MESSAGE}")


def test_one_reads_the_others_are_reported_after_the_delay() -> None:
    world = World()
    world.deliver(event("message.sent"))
    world.run()
    world.deliver(event("message.read", {**RECIPIENTS, "bob": "read"}, actor="bob"))
    world.run(599)
    assert world.reports == []
    world.run(1)
    [report] = world.reports
    assert report.data["recipients"] == ["carol", "dave"]
    assert report.data["message"]["id"] == MESSAGE
    assert report.data["identities"] == {}
    assert report.id == f"Unread:{MESSAGE}"
    assert world.state() is None
    assert world.queue.pending() == []


def test_the_delay_counts_from_handling_on_the_queue_clock_not_from_sent_at() -> None:
    world = World()
    world.clock.t += 3600  # the payload's sent_at / created_at are an hour old by now
    world.deliver(event("message.sent", created_at="2015-01-01T00:00:00Z"))
    world.run()
    world.run(599)
    assert world.reports == []
    world.run(1)
    assert len(world.reports) == 1


def test_only_internal_jobs_are_queued_by_the_receiver_never_a_listen_job() -> None:
    world = World()
    world.deliver(event("message.sent"))
    assert [job.name for job in world.queue.pending()] == ["receipts:event:Unread"]


def test_a_deleted_message_is_not_reported() -> None:
    world = World()
    world.deliver(event("message.sent"))
    world.run()
    world.deliver(event("message.deleted"))
    world.run(600)
    assert world.reports == []
    assert world.state() is None


def test_read_before_delivered_stays_read() -> None:
    world = World(Receipts(delay="1 minute", report_for_status=["sent", "delivered"]))
    world.deliver(event("message.sent"))
    world.run()
    world.deliver(event("message.read", {**RECIPIENTS, "bob": "read"}, actor="bob"))
    world.deliver(event("message.delivered", {**RECIPIENTS, "bob": "delivered"}, actor="bob"))
    world.run(60)
    [report] = world.reports
    assert report.data["recipients"] == ["carol", "dave"]


def test_read_before_message_sent_is_not_reported() -> None:
    world = World()
    world.deliver(event("message.read", {**RECIPIENTS, "carol": "read"}, actor="carol"))
    world.run()
    world.deliver(event("message.sent"))  # Layer's retry of a message.sent whose first try failed
    world.run()
    world.run(600)
    [report] = world.reports
    assert report.data["recipients"] == ["bob", "dave"]


def test_an_early_status_alone_does_not_linger() -> None:
    world = World()
    world.deliver(event("message.read", {**RECIPIENTS, "carol": "read"}, actor="carol"))
    world.run()
    assert world.state() is not None
    world.run(3600)
    assert world.state() is None
    assert world.reports == []


def test_a_duplicated_delivery_makes_one_report() -> None:
    world = World()
    sent = event("message.sent")
    world.deliver(sent)
    world.deliver(sent)
    world.run()
    world.run(600)
    assert len(world.reports) == 1


class TwiceQueue(MemoryQueue):
    """At-least-once taken literally: every job is queued twice, with the same id."""

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        super().enqueue(name, data, delay=delay, job_id=job_id)
        if name.startswith("receipts:"):
            super().enqueue(name, data, delay=delay, job_id=job_id)


def test_every_internal_job_run_twice_makes_one_report() -> None:
    clock = Clock()
    world = World(queue=TwiceQueue(now=clock))
    world.clock = clock
    world.deliver(event("message.sent"))
    world.run()
    world.deliver(event("message.read", {**RECIPIENTS, "bob": "read"}, actor="bob"))
    world.run(600)
    [report] = world.reports
    assert report.data["recipients"] == ["carol", "dave"]


def test_a_crash_between_report_and_cleanup_repeats_the_report_with_the_same_id() -> None:
    world = World()
    world.deliver(event("message.sent"))
    world.run()
    real_delete = world.services.store.delete
    calls = {"n": 0}

    def crash_once(key: str) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("worker died here")
        real_delete(key)

    world.services.store.delete = crash_once  # type: ignore[method-assign]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(logging.getLogger("layer_webhooks.queue"), "disabled", True)
        world.run(600)  # the check fails after queueing the report; retried 1 s later
        world.run(1)
    assert [r.id for r in world.reports] == [f"Unread:{MESSAGE}"] * 2
    assert world.state() is None


def test_conversation_events_are_ignored_without_state() -> None:
    world = World()
    world.deliver(make_event("conversation.created", participants=["alice", "bob"]))
    assert world.queue.pending() == []
    assert world.services.store.get(f"receipts:Unread:{MESSAGE}") is None


def test_the_sender_is_not_reported_even_when_read_is_listed() -> None:
    world = World(Receipts(delay=1000, report_for_status=["read"]))
    world.deliver(event("message.sent", {**RECIPIENTS, "bob": "read"}))
    world.run()
    world.run(1)
    assert world.reports[0].data["recipients"] == ["bob"]


def test_identities_from_a_callable_and_its_failures_never_lose_the_job(caplog: pytest.LogCaptureFixture) -> None:
    def lookup(user: str) -> dict[str, Any] | None:
        if user == "carol":
            raise TimeoutError("directory is slow")
        return None if user == "dave" else {"display_name": user.title()}

    world = World(Receipts(delay=1000, identities=lookup))
    world.deliver(event("message.sent"))
    world.run()
    with caplog.at_level(logging.WARNING, logger="layer_webhooks"):
        world.run(1)
    [report] = world.reports
    assert report.data["identities"] == {
        "alice": {"display_name": "Alice"},
        "bob": {"display_name": "Bob"},
        "carol": None,
        "dave": None,
    }
    assert "carol" in caplog.text


def test_v2_payloads_are_normalised_to_user_ids() -> None:
    v2_world = World()
    v2_world.receiver = v2_world.services.receipts(
        SECRET, [Hook("Unread", "/receipts", receipts=Receipts(delay=1000, report_for_status=["sent"]))]
    )
    v2_world.deliver(event("Message.created", version="2.0"))
    v2_world.run()
    v2_world.run(1)
    [report] = v2_world.reports
    assert report.data["recipients"] == ["bob", "carol", "dave"]


def test_hooks_without_receipts_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="receipts"):
        WebhooksServices().receipts(SECRET, [Hook("Plain", "/p")])


def test_identities_true_needs_a_token_and_app() -> None:
    with pytest.raises(ConfigurationError, match="token"):
        WebhooksServices().receipts(SECRET, [Hook("U", "/u", receipts=Receipts(delay=1, identities=True))])


def test_a_delete_handled_before_its_message_sent_still_means_no_report() -> None:
    world = World()
    world.deliver(event("message.deleted"))  # another worker ran it first, or Layer retried sent
    world.run()
    world.deliver(event("message.sent"))
    world.run()
    world.run(600)
    assert world.reports == []
    assert world.state() is None
    assert world.queue.pending() == []


def test_the_receipts_receiver_is_a_plain_receiver_given_the_receipts_job_function() -> None:
    world = World()
    assert type(world.receiver) is Receiver
    assert world.receiver.make_job is receipts_job
    assert world.receiver.skip_service_senders is False  # a report is not a message: it cannot loop


def test_a_store_without_receipts_records_is_refused_at_setup() -> None:
    class ClaimsOnly:
        def add_if_absent(self, key: str, value: Any, ttl: float) -> bool:
            return True

        def get(self, key: str) -> Any:
            return None

        def delete(self, key: str) -> None:
            pass

    services = WebhooksServices(store=ClaimsOnly())
    services.listen(SECRET, [Hook("Plain", "/p")])  # enough for de-duplication claims
    with pytest.raises(ConfigurationError, match="ReceiptsStore"):
        services.receipts(SECRET, [Hook("U", "/u", receipts=Receipts(delay=1))])
