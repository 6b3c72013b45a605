"""The pure receipts rules: evaluation (statuses x report_for_status x sender), merges, the event job."""

from __future__ import annotations

from typing import Any

import pytest

from layer_webhooks import Event, Hook, Receipts
from layer_webhooks.receipts._rules import evaluate, event_statuses, merge_status_maps, receipts_job
from layer_webhooks.testing import make_event


def message(statuses: dict[str, str], sender: str | None = "alice") -> dict[str, Any]:
    return {
        "id": "layer:///messages/1",
        "sender": {"user_id": sender} if sender else {"name": "bot"},
        "recipient_status": statuses,
    }


BASE = {"alice": "read", "bob": "sent", "carol": "delivered", "dave": "read"}


@pytest.mark.parametrize(
    ("statuses", "later", "report_for", "include_sender", "expected"),
    [
        (BASE, {}, ["sent"], False, ["bob"]),
        (BASE, {}, ["delivered"], False, ["carol"]),
        (BASE, {}, ["sent", "delivered"], False, ["bob", "carol"]),
        (BASE, {}, ["read"], False, ["dave"]),  # the sender (read) is left out...
        (BASE, {}, ["read"], True, ["alice", "dave"]),  # ...unless asked for
        (BASE, {}, ["sent", "delivered", "read"], False, ["bob", "carol", "dave"]),
        (BASE, {"bob": "read"}, ["sent"], False, []),  # a later read counts
        (BASE, {"bob": "delivered"}, ["sent", "delivered"], False, ["bob", "carol"]),
        (BASE, {"carol": "sent"}, ["delivered"], False, ["carol"]),  # never moves back
        (BASE, {"erin": "sent"}, ["sent"], False, ["bob", "erin"]),  # known only from events
        (BASE, {"bob": "gone"}, ["sent"], False, ["bob"]),  # unknown statuses ignored
        ({"alice": "read"}, {}, ["sent"], False, []),
        ({}, {}, ["sent"], False, []),
        ({"bob": "sent", "carol": "sent"}, {"carol": "read"}, ["sent"], False, ["bob"]),
    ],
)
def test_evaluation_table(
    statuses: dict[str, str],
    later: dict[str, str],
    report_for: list[str],
    include_sender: bool,
    expected: list[str],
) -> None:
    receipts = Receipts(delay=1000, report_for_status=report_for, include_sender=include_sender)
    assert evaluate(message(statuses), later, receipts) == expected


def test_service_sender_has_no_user_to_exclude() -> None:
    receipts = Receipts(delay=1000, report_for_status=["sent", "read"])
    assert evaluate(message({"bob": "sent", "carol": "read"}, sender=None), {}, receipts) == ["bob", "carol"]


def test_v2_identity_keys_are_user_ids() -> None:
    v2 = {
        "id": "layer:///messages/1",
        "sender": {"id": "layer:///identities/alice", "user_id": "alice"},
        "recipient_status": {"layer:///identities/alice": "read", "layer:///identities/bob": "sent"},
    }
    assert evaluate(v2, {}, Receipts(delay=1, report_for_status=["sent", "read"])) == ["bob"]
    assert evaluate(v2, {}, Receipts(delay=1, report_for_status=["read"], include_sender=True)) == ["alice"]


def test_a_merge_only_raises_statuses_and_keeps_the_order() -> None:
    merged = merge_status_maps({"bob": "read", "carol": "sent"}, {"carol": "delivered", "bob": "sent", "erin": "x"})
    assert merged == {"bob": "read", "carol": "delivered"}
    assert list(merge_status_maps({"b": "sent"}, {"a": "read", "b": "read"})) == ["b", "a"]


def test_an_events_actor_is_raised_to_what_the_event_says_it_did() -> None:
    msg = message({"alice": "read", "bob": "sent"})
    assert event_statuses("message.read", msg, "bob") == {"alice": "read", "bob": "read"}
    assert event_statuses("message.delivered", msg, "bob") == {"alice": "read", "bob": "delivered"}
    assert event_statuses("message.sent", msg, "bob") == {"alice": "read", "bob": "sent"}
    assert event_statuses("message.read", msg, None) == {"alice": "read", "bob": "sent"}


HOOK = Hook("Unread", "/unread", receipts=Receipts(delay=1000))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("message.sent", "sent"), ("message.read", "status"), ("message.delivered", "status"),
     ("message.deleted", "deleted"), ("conversation.created", None)],
)  # fmt: skip
def test_receipts_job_carries_message_events_to_the_hooks_event_job(kind: str, expected: str | None) -> None:
    payload = make_event(kind, actor="bob")
    job = receipts_job(HOOK, Event(payload), payload)
    if expected is None:
        assert job is None
        return
    assert job is not None
    name, data, delay = job
    assert (name, delay) == ("receipts:event:Unread", 0.0)
    assert data == {"kind": expected, "type": kind, "message": payload["message"], "actor": "bob"}


def test_receipts_job_skips_a_message_without_an_id() -> None:
    payload = make_event("message.sent")
    del payload["message"]["id"]
    assert receipts_job(HOOK, Event(payload), payload) is None
