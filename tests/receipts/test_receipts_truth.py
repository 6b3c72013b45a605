"""Receipts that tell the truth: the bot guard, the report's merged statuses, identities checked
at setup, identity ids decoded (in-memory queue and store, on a driven clock)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from support.clock import Clock
from support.payloads import SECRET, signed

from layer_webhooks import (
    ConfigurationError,
    Hook,
    InvalidHook,
    Job,
    MemoryQueue,
    MemoryStore,
    Receipts,
    WebhooksServices,
)
from layer_webhooks.receipts import ReceiptsHandlers
from layer_webhooks.receiving._events import identity_id, user_id_of
from layer_webhooks.rest._urls import user_segment
from layer_webhooks.testing import make_event

MESSAGE = "layer:///messages/5b1f4c3e-0a4e-4f4e-9a4b-6b2f1c3d4e5f"
CONVERSATION = "layer:///conversations/e67b5da2-95ca-40c4-bfc5-a2a8baaeb50f"
EVENTS = ["message.sent", "message.delivered", "message.read", "message.deleted", "Message.created"]


class World:
    """Services on a MemoryQueue and MemoryStore, one receipts hook, the reports it makes."""

    def __init__(self, receipts: Receipts) -> None:
        self.clock = Clock()
        self.queue = MemoryQueue(now=self.clock)
        self.store = MemoryStore(now=self.clock)
        self.services = WebhooksServices(queue=self.queue, store=self.store, now=self.clock)
        self.receiver = self.services.receipts(SECRET, [Hook("Unread", "/r", EVENTS, receipts=receipts)])
        self.reports: list[Job] = []
        self.services.process("Unread")(self.reports.append)

    def deliver(self, payload: dict[str, Any]) -> None:
        response = self.receiver.handle(signed(payload, path="/r"))
        assert response is not None and response.status == 200

    def run(self, seconds: float = 0.0) -> None:
        self.queue.run_due()  # what is due now first: the delay counts from handling
        self.clock.t += seconds
        self.queue.run_due()

    def receipts_keys(self) -> list[str]:
        return [key for key in self.store._data if key.startswith("receipts")]


def event(kind: str, sender: Any = "alice", statuses: Mapping[str, str] | None = None, **kw: Any) -> dict[str, Any]:
    recipients = dict(statuses or {"bob": "sent", "carol": "sent"})
    return make_event(kind, sender=sender, recipients=recipients, message_id=MESSAGE, conversation=CONVERSATION, **kw)


# -- the bot guard ------------------------------------------------------------------------------


def test_a_message_sent_by_a_service_gets_no_state_and_no_report() -> None:
    world = World(Receipts(delay="10 minutes"))
    bot = {"name": "Welcome-bot"}
    world.deliver(event("message.sent", sender=bot))
    world.deliver(event("message.delivered", sender=bot, statuses={"bob": "delivered", "carol": "sent"}, actor="bob"))
    world.deliver(event("message.deleted", sender=bot))
    world.run()
    assert world.receipts_keys() == []
    world.run(600)
    assert world.reports == []
    assert world.queue.pending() == []


def test_a_v2_message_from_a_service_gets_no_state_either() -> None:
    world = World(Receipts(delay="10 minutes"))
    world.deliver(event("Message.created", version="2.0", sender={"name": "Die-bot"}))
    world.run(600)
    assert world.receipts_keys() == []
    assert world.reports == []


def test_tracking_service_senders_is_a_documented_switch() -> None:
    world = World(Receipts(delay="10 minutes", track_service_senders=True))
    world.deliver(event("message.sent", sender={"name": "Welcome-bot"}))
    world.run(600)
    [report] = world.reports
    assert report.data["recipients"] == ["bob", "carol"]
    assert Receipts.from_dict({"delay": 1, "trackServiceSenders": True}).track_service_senders is True
    assert Receipts(delay=1).track_service_senders is False


def test_a_user_message_is_still_tracked() -> None:
    world = World(Receipts(delay="10 minutes"))
    world.deliver(event("message.sent"))
    world.run(600)
    assert [r.data["recipients"] for r in world.reports] == [["bob", "carol"]]


# -- the report's message carries the statuses that chose its recipients ------------------------


def test_the_reported_message_carries_the_merged_latest_statuses() -> None:
    world = World(Receipts(delay="10 minutes", report_for_status=["sent", "delivered"]))
    statuses = {"bob": "sent", "carol": "sent", "dave": "sent"}
    world.deliver(event("message.sent", statuses=statuses))
    world.run()
    world.deliver(event("message.delivered", statuses={**statuses, "carol": "delivered"}, actor="carol"))
    world.deliver(event("message.read", statuses={**statuses, "dave": "read"}, actor="dave"))
    world.run(600)
    [report] = world.reports
    assert report.data["recipients"] == ["bob", "carol"]
    assert report.data["message"]["recipient_status"] == {
        "alice": "read",
        "bob": "sent",
        "carol": "delivered",
        "dave": "read",
    }
    assert report.data["message"]["id"] == MESSAGE


def test_a_v2_reported_message_keeps_its_identity_keys() -> None:
    world = World(Receipts(delay="10 minutes", report_for_status=["sent", "delivered"]))
    world.deliver(event("Message.created", version="2.0", statuses={"bob@example.com": "sent", "carol": "sent"}))
    world.run()
    world.deliver(event("message.delivered", statuses={"bob@example.com": "delivered", "carol": "sent"}))
    world.run(600)
    [report] = world.reports
    assert report.data["message"]["recipient_status"] == {
        "layer:///identities/alice": "read",
        "layer:///identities/bob%40example.com": "delivered",
        "layer:///identities/carol": "sent",
    }


# -- identities: one user id in, checked at setup -----------------------------------------------


def node_style(user_id: str, callback: Any) -> None:
    """The Node module's ``function (userId, callback)``, ported word for word."""
    callback(None, {"display_name": user_id})


def test_a_two_parameter_identities_callable_is_refused_at_receipts() -> None:
    services = WebhooksServices(queue=MemoryQueue())
    hook = {"name": "Unread", "path": "/r", "events": EVENTS, "receipts": {"delay": 1000, "identities": node_style}}
    with pytest.raises(ConfigurationError, match=r"def identities\(user_id: str\) -> dict \| None") as info:
        services.receipts(SECRET, [hook])
    assert "node_style(user_id, callback) cannot be called with one user id" in str(info.value)
    assert "function (userId, callback)" in str(info.value)


@pytest.mark.parametrize(
    "lookup",
    [node_style, lambda: None, lambda *, user_id: None, lambda user_id, *, directory: None],
    ids=["callback", "no-argument", "keyword-only", "required-keyword"],
)
def test_identities_callables_that_cannot_take_one_user_id_are_refused(lookup: Any) -> None:
    with pytest.raises(InvalidHook) as info:
        Receipts(delay=1, identities=lookup)
    assert info.value.field == "receipts.identities"


@pytest.mark.parametrize(
    "lookup",
    [lambda user_id: None, lambda user_id, directory=None: None, lambda *args: None, dict().get, max],
    ids=["one", "one-and-a-default", "varargs", "builtin", "builtin-without-a-signature"],
)
def test_identities_callables_of_one_user_id_are_accepted(lookup: Any) -> None:
    assert Receipts(delay=1, identities=lookup).identities is lookup


def test_receipts_handlers_check_a_lookup_given_directly() -> None:
    hook = Hook("Unread", "/r", EVENTS, receipts=Receipts(delay=1))
    with pytest.raises(ConfigurationError, match="one user id"):
        ReceiptsHandlers(hook, MemoryQueue(), MemoryStore(), lookup_identity=node_style)  # type: ignore[arg-type]


# -- identity ids are URL-decoded wherever a user id comes from them -----------------------------


def test_identity_ids_are_decoded_to_user_ids() -> None:
    assert user_id_of("layer:///identities/alice%40example.com") == "alice@example.com"
    assert user_id_of({"id": "layer:///identities/alice%40example.com"}) == "alice@example.com"
    assert user_id_of({"id": "layer:///identities/x", "user_id": "alice%40example.com"}) == "alice%40example.com"
    assert identity_id("alice@example.com") == "layer:///identities/alice%40example.com"
    assert user_id_of(identity_id("a b/c+d!")) == "a b/c+d!"


def test_the_lookup_url_escapes_a_decoded_user_id_once() -> None:
    assert user_segment("layer:///identities/alice%40example.com") == "alice%40example.com"
    assert user_segment("alice@example.com") == "alice%40example.com"


def test_encoded_ids_give_decoded_users_in_the_report_and_the_sender_is_left_out() -> None:
    looked_up: list[str] = []

    def lookup(user_id: str) -> dict[str, Any]:
        looked_up.append(user_id)
        return {"display_name": user_id.partition("@")[0].title()}

    world = World(Receipts(delay="10 minutes", report_for_status=["sent", "read"], identities=lookup))
    sent = event(
        "Message.created",
        version="2.0",
        sender="alice@example.com",
        statuses={"bob@example.com": "sent", "carol": "sent"},
    )
    # Layer's identity objects: the id encodeURIComponent-ed, the user_id as it is.
    sent["message"]["sender"] = {"id": "layer:///identities/alice%40example.com", "user_id": "alice@example.com"}
    sent["message"]["recipient_status"] = {
        "layer:///identities/alice%40example.com": "read",
        "layer:///identities/bob%40example.com": "sent",
        "layer:///identities/carol": "sent",
    }
    world.deliver(sent)
    world.run(600)
    [report] = world.reports
    assert report.data["recipients"] == ["bob@example.com", "carol"]  # the sender is not reported
    assert sorted(report.data["identities"]) == ["alice@example.com", "bob@example.com", "carol"]
    assert sorted(looked_up) == ["alice@example.com", "bob@example.com", "carol"]


def test_a_sender_known_only_by_its_encoded_id_is_still_left_out() -> None:
    world = World(Receipts(delay="10 minutes", report_for_status=["sent", "read"]))
    sent = event("Message.created", version="2.0", sender="alice@example.com", statuses={"bob": "sent"})
    del sent["message"]["sender"]["user_id"]  # only the id: layer:///identities/alice%40example.com
    world.deliver(sent)
    world.run(600)
    assert [r.data["recipients"] for r in world.reports] == [["bob"]]


# -- the pure rules behind the report -----------------------------------------------------------


def test_report_message_keys_each_user_as_the_message_did() -> None:
    from layer_webhooks.receipts._rules import merged_statuses, report_message

    v1 = {"id": "m", "recipient_status": {"alice": "read", "bob": "sent"}}
    merged = merged_statuses(v1, {"bob": "delivered", "erin": "read"})
    assert merged == {"alice": "read", "bob": "delivered", "erin": "read"}
    assert report_message(v1, merged)["recipient_status"] == merged
    v2 = {"id": "m", "recipient_status": {"layer:///identities/a%40b": "read"}}
    assert report_message(v2, {"a@b": "read", "c d": "sent"})["recipient_status"] == {
        "layer:///identities/a%40b": "read",
        "layer:///identities/c%20d": "sent",
    }
    bare = {"id": "m"}  # no recipient_status at all: the statuses known from events
    assert report_message(bare, {"bob": "read"}) == {"id": "m", "recipient_status": {"bob": "read"}}
    assert v1["recipient_status"] == {"alice": "read", "bob": "sent"}  # not modified
