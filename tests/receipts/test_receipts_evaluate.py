"""The pure receipts evaluation: statuses x report_for_status x sender handling."""

from __future__ import annotations

from typing import Any

import pytest

from layer_webhooks import Receipts
from layer_webhooks.receipts._handlers import evaluate


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
