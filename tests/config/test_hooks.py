from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from layer_webhooks import Hook, InvalidHook, Receipts


def test_path_is_normalised_to_one_leading_slash() -> None:
    assert Hook("a", "hook").path == "/hook"
    assert Hook("a", "//hook/").path == "/hook"
    assert Hook("a", "/nested/hook").path == "/nested/hook"


def test_hook_is_frozen_and_hashable() -> None:
    hook = Hook("a", "/hook", events=["message.sent"])
    with pytest.raises(AttributeError):
        hook.name = "b"  # type: ignore[misc]
    assert hook == Hook("a", "hook", events=("message.sent",))
    assert len({hook, Hook("a", "/hook", events=["message.sent"])}) == 1


def test_delay_in_any_duration_form() -> None:
    assert Hook("a", "/h", delay=1500).delay == 1.5
    assert Hook("a", "/h", delay="10 minutes").delay == 600
    assert Hook("a", "/h", delay=timedelta(seconds=3)).delay == 3


# The Node module's README examples.
NODE_EXAMPLES: list[tuple[dict[str, Any], Hook]] = [
    (
        {"name": "Webhook Example", "events": ["message.sent"], "path": "/webhook-example"},
        Hook("Webhook Example", "/webhook-example", ["message.sent"]),
    ),
    (
        {"name": "Delayed Webhook", "events": ["message.sent"], "path": "delayed", "delay": "20sec"},
        Hook("Delayed Webhook", "/delayed", ["message.sent"], delay=20_000),
    ),
    (
        {
            "name": "Inline Unread Notifier",
            "path": "/unread",
            "events": ["message.sent", "message.read", "message.deleted"],
            "receipts": {"delay": "10 minutes", "reportForStatus": ["sent", "delivered"], "identities": True},
        },
        Hook(
            "Inline Unread Notifier",
            "/unread",
            ["message.sent", "message.read", "message.deleted"],
            receipts=Receipts(delay=600_000, report_for_status=("sent", "delivered"), identities=True),
        ),
    ),
    (
        {"name": "Top-level delay", "path": "/u", "events": ["message.sent"], "delay": 60000, "receipts": {}},
        Hook("Top-level delay", "/u", ["message.sent"], delay=60_000, receipts=Receipts()),
    ),
]


@pytest.mark.parametrize(("data", "expected"), NODE_EXAMPLES)
def test_from_dict_reads_the_node_form(data: dict[str, Any], expected: Hook) -> None:
    before = repr(data)
    assert Hook.from_dict(data) == expected
    assert repr(data) == before  # not mutated


def test_receipts_delay_falls_back_to_the_hook_delay() -> None:
    assert Hook.from_dict(NODE_EXAMPLES[3][0]).receipts_delay == 60
    assert Hook.from_dict(NODE_EXAMPLES[2][0]).receipts_delay == 600
    assert Hook("plain", "/p").receipts_delay is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "", "path": "/h"}, "name"),
        ({"name": 5, "path": "/h"}, "name"),
        ({"name": "a", "path": "/h?x=1"}, "path"),
        ({"name": "a", "path": "/h h"}, "path"),
        ({"name": "a", "path": None}, "path"),
        ({"name": "a", "path": "/h", "events": "message.sent"}, "events"),
        ({"name": "a", "path": "/h", "events": ["message.sent", ""]}, "events"),
        ({"name": "a", "path": "/h", "delay": "soon"}, "delay"),
        ({"name": "a", "path": "/h", "delay": -1}, "delay"),
        ({"name": "a", "path": "/h", "receipts": {}}, "receipts.delay"),
        (
            {"name": "a", "path": "/h", "receipts": {"delay": "1h", "reportForStatus": ["unread"]}},
            "receipts.report_for_status",
        ),
        ({"name": "a", "path": "/h", "receipts": {"delay": "1h", "reportForStatus": []}}, "receipts.report_for_status"),
        ({"name": "a", "path": "/h", "receipts": {"delay": "1h", "identities": "yes"}}, "receipts.identities"),
        ({"name": "a", "path": "/h", "receipts": {"delay": "1h", "reportForStatuses": ["sent"]}}, "receipts"),
        ({"name": "a", "path": "/h", "receipts": {"delay": "never"}}, "receipts.delay"),
    ],
)
def test_invalid_definitions_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidHook) as info:
        Hook(**kwargs)
    assert info.value.field == field
    assert repr(field) in str(info.value)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"path": "/h"}, "name"),
        ({"name": "a"}, "path"),
        ({"name": "a", "path": "/h", "event": ["x"]}, "hook"),
        ("a", "hook"),
    ],
)
def test_invalid_dicts_name_the_field(data: Any, field: str) -> None:
    with pytest.raises(InvalidHook) as info:
        Hook.from_dict(data)
    assert info.value.field == field
