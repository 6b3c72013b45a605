"""Position receipts (Webhooks 2.0/3.0): Layer's ``Receipt.created`` names no message but a range
of positions in a conversation, one actor and ``Read`` or ``Delivery``; every tracked message in
the range is updated. On MemoryStore, SqliteStore and a real Redis, the queue on a driven clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.clock import Clock
from support.payloads import SECRET, recorded, signed

from layer_webhooks import Hook, Job, MemoryQueue, MemoryStore, Receipts, Request, WebhooksServices
from layer_webhooks.adapters.sqlite import SqliteStore
from layer_webhooks.receipts import ReceiptsStore
from layer_webhooks.testing import make_event

CONVERSATION = "layer:///conversations/3a4b5c6d-7e8f-4a0b-8c1d-2e3f4a5b6c7d"
OTHER = "layer:///conversations/9f8e7d6c-5b4a-4c3d-9e2f-1a0b9c8d7e6f"
EVENTS = ["Message.created", "Receipt.created", "Message.deleted"]
DELAY = 600.0
# Far apart and not contiguous, as Layer's positions are.
P1, P2, P3 = 262667829248, 262667895000, 262668001500


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class World:
    """A receipts hook on a 2.0 webhook: Message.created, Receipt.created, Message.deleted."""

    def __init__(
        self, store: ReceiptsStore, clock: Clock, receipts: Receipts | None = None, secret: str = SECRET
    ) -> None:
        self.clock = clock
        self.secret = secret
        self.queue = MemoryQueue(now=clock)
        self.store = store
        self.services = WebhooksServices(queue=self.queue, store=store, now=clock)
        receipts = receipts or Receipts(delay=DELAY * 1000)
        self.hook = Hook("Unread", "/unread", EVENTS, receipts=receipts)
        self.receiver = self.services.receipts(secret, [self.hook])
        self.reports: list[Job] = []
        self.services.process("Unread")(self.reports.append)

    def deliver(self, payload: dict[str, Any] | Request) -> None:
        request = payload if isinstance(payload, Request) else signed(payload, path="/unread", secret=self.secret)
        response = self.receiver.handle(request)
        assert response is not None and response.status == 200
        self.queue.run_due()

    def after_delay(self) -> None:
        self.clock.t += DELAY
        self.queue.run_due()

    def reported(self) -> dict[str, list[str]]:
        return {job.data["message"]["id"]: job.data["recipients"] for job in self.reports}

    def tracked(self, message_id: str) -> Any:
        return self.store.get(f"receipts:Unread:{message_id}")


@pytest.fixture
def world(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    clock = Clock(10_000.0)
    store: Any
    if store_kind == "memory":
        store = MemoryStore(now=clock)
    elif store_kind == "sqlite":
        store = SqliteStore(tmp_path / "state.db", now=clock)
    else:
        pytest.importorskip("redis")
        from layer_webhooks.adapters.redis import RedisStore

        server = request.getfixturevalue("redis_server")
        store = RedisStore(server.client(), prefix=f"positions:{request.node.name}:")
    yield World(store, clock)
    if hasattr(store, "close"):
        store.close()


def message(position: int, conversation: str = CONVERSATION, **kw: Any) -> dict[str, Any]:
    recipients = kw.pop("recipients", {"bob": "sent", "carol": "sent"})
    return make_event(
        "Message.created", sender="alice", recipients=recipients, conversation=conversation, position=position, **kw
    )


def receipt(first: int, last: int, actor: str = "bob", kind: str = "Read", **kw: Any) -> dict[str, Any]:
    conversation = kw.pop("conversation", CONVERSATION)
    return make_event(
        "Receipt.created",
        sender="alice",
        recipients=["bob", "carol"],
        actor=actor,
        conversation=conversation,
        positions=(first, last),
        receipt=kind,
        **kw,
    )


def test_a_read_receipt_over_a_range_marks_those_messages_read(world: World) -> None:
    m1, m2, m3 = message(P1), message(P2), message(P3)
    for m in (m1, m2, m3):
        world.deliver(m)
    real = receipt(P1, P2)
    assert "message" not in real and real["receipt"] == {"type": "Read", "positions": {"from": P1, "to": P2}}
    world.deliver(real)
    world.after_delay()
    assert world.reported() == {
        m1["message"]["id"]: ["carol"],  # bob read it: not reported
        m2["message"]["id"]: ["carol"],
        m3["message"]["id"]: ["bob", "carol"],  # after the range
    }
    report = world.reports[0]
    assert report.data["message"]["recipient_status"] == {
        "layer:///identities/alice": "read",
        "layer:///identities/bob": "read",
        "layer:///identities/carol": "sent",
    }


def layer_v2(event_type: str, event_id: str, **body: Any) -> dict[str, Any]:
    """A delivery written out as Layer's 2.0 servers sent it (no kit involved)."""
    return {"event": {"id": event_id, "type": event_type, "created_at": "2017-09-29T20:34:48.042Z"}, **body}


def identity(user: str) -> dict[str, Any]:
    return {"id": f"layer:///identities/{user}", "user_id": user, "display_name": user.title(), "avatar_url": None}


def test_layers_own_receipt_over_a_range_keeps_the_reader_out_of_the_report(world: World) -> None:
    conversation = {"id": CONVERSATION, "url": "https://api.layer.com/apps/a/conversations/c"}
    ids = []
    for n, position in enumerate((P1, P2, P3)):
        message_id = f"layer:///messages/00000000-0000-4000-8000-00000000000{n}"
        ids.append(message_id)
        statuses = {"layer:///identities/alice": "read", "layer:///identities/bob": "sent"}
        message: dict[str, Any] = {"id": message_id, "conversation": conversation, "parts": []}
        message.update(sender=identity("alice"), recipient_status=statuses, position=position)
        world.deliver(layer_v2("Message.created", f"sent-{n}", actor=identity("alice"), message=message))
    receipt = {"type": "Read", "positions": {"from": P1, "to": P2}}
    participants = [identity("alice"), identity("bob")]
    world.deliver(
        layer_v2(
            "Receipt.created",
            "read-1",
            actor=identity("bob"),
            conversation={**conversation, "participants": participants},
            receipt=receipt,
        )
    )
    world.after_delay()
    assert world.reported() == {ids[2]: ["bob"]}  # bob read the first two


def test_a_receipt_before_its_message_is_joined_by_the_message(world: World) -> None:
    world.deliver(receipt(P1, P3, actor="carol"))  # Layer retried the Message.created's delivery
    m2 = message(P2)
    world.deliver(m2)
    assert world.tracked(m2["message"]["id"])["statuses"]["carol"] == "read"
    world.after_delay()
    assert world.reported() == {m2["message"]["id"]: ["bob"]}


def test_a_delivery_receipt_raises_to_delivered_and_never_lowers_a_read(world: World) -> None:
    world = World(world.store, world.clock, Receipts(delay=DELAY * 1000, report_for_status=["sent", "delivered"]))
    m1, m2 = message(P1), message(P2)
    world.deliver(m1)
    world.deliver(m2)
    world.deliver(receipt(P1, P1, actor="bob", kind="Read"))
    world.deliver(receipt(P1, P2, actor="bob", kind="Delivery"))
    world.deliver(receipt(P2, P2, actor="carol", kind="Delivery"))
    world.after_delay()
    assert world.reported() == {m1["message"]["id"]: ["carol"], m2["message"]["id"]: ["bob", "carol"]}
    statuses = {job.data["message"]["id"]: job.data["message"]["recipient_status"] for job in world.reports}
    assert statuses[m1["message"]["id"]]["layer:///identities/bob"] == "read"
    assert statuses[m2["message"]["id"]]["layer:///identities/bob"] == "delivered"


def test_a_receipt_touches_its_own_conversation_only(world: World) -> None:
    here, there = message(P1), message(P1, conversation=OTHER)
    world.deliver(here)
    world.deliver(there)
    world.deliver(receipt(P1, P1, conversation=OTHER))
    world.after_delay()
    assert world.reported() == {here["message"]["id"]: ["bob", "carol"], there["message"]["id"]: ["carol"]}


def test_a_receipt_after_the_check_or_the_delete_brings_nothing_back(world: World) -> None:
    m1, m2 = message(P1), message(P2)
    world.deliver(m1)
    world.deliver(m2)
    world.deliver(make_event("Message.deleted", message_id=m2["message"]["id"], conversation=CONVERSATION))
    world.after_delay()
    world.deliver(receipt(P1, P2))
    assert world.tracked(m1["message"]["id"]) is None
    assert world.tracked(m2["message"]["id"]) is None
    world.after_delay()
    assert world.reported() == {m1["message"]["id"]: ["bob", "carol"]}


def test_receipts_of_services_or_without_positions_are_ignored(world: World) -> None:
    m1 = message(P1)
    world.deliver(m1)
    by_bot = receipt(P1, P1)
    by_bot["actor"] = {"name": "Die-bot"}
    no_positions = receipt(P1, P1)
    del no_positions["receipt"]["positions"]
    unknown_type = receipt(P1, P1, kind="Typing")
    for payload in (by_bot, no_positions, unknown_type):
        world.deliver(payload)
        assert [job.name for job in world.queue.pending()] == ["receipts:check:Unread"]
    world.after_delay()
    assert world.reported() == {m1["message"]["id"]: ["bob", "carol"]}


def test_a_range_given_backwards_is_the_same_range(world: World) -> None:
    m2 = message(P2)
    world.deliver(m2)
    world.deliver(receipt(P3, P1))
    world.after_delay()
    assert world.reported() == {m2["message"]["id"]: ["carol"]}


def test_the_recorded_real_delivery_is_tracked_and_read_by_position(world: World) -> None:
    delivery = recorded("efb-v2-message")
    body = json.loads(delivery["body"])
    world = World(world.store, world.clock, secret=delivery["secret"])
    headers = {k: v for k, v in delivery["headers"].items() if k.lower().startswith(("layer-", "content-type"))}
    world.deliver(Request("POST", "/unread", "", headers, delivery["body"].encode()))  # as Layer signed it
    message_id = body["message"]["id"]
    assert world.tracked(message_id)["message"]["position"] == body["message"]["position"]
    reader = "35b4f10e-faf1-4cbf-8271-a8a544f133da"
    position = body["message"]["position"]
    conversation = body["message"]["conversation"]["id"]
    world.deliver(receipt(position, position, actor=reader, conversation=conversation))
    world.after_delay()
    assert world.reports == []  # its only recipient read it
