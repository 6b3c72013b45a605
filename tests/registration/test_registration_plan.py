"""The pure registration planner: a table of (existing webhooks, hooks) -> actions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from layer_webhooks import Action, ConfigurationError, Hook, InvalidHook, plan
from layer_webhooks.registration._plan import target_url

BASE = "https://example.com/hooks"
TARGET = "https://example.com/hooks/new-message"
HOOK = Hook("Webhook Example", "/new-message", ["message.sent", "message.read"])


def webhook(
    *,
    id: str = "w1",
    name: str | None = "Webhook Example",
    target: str = TARGET,
    events: list[str] | None = None,
    status: str = "active",
    old_names: bool = False,
) -> dict[str, Any]:
    events = ["message.sent", "message.read"] if events is None else events
    config = {} if name is None else {"name": name}
    result: dict[str, Any] = {"id": f"layer:///apps/a/webhooks/{id}", "target_url": target, "status": status}
    result.update(
        {"event_types": events, "target_config": config} if old_names else {"events": events, "config": config}
    )
    return result


# (test id, existing webhooks, expected kind, expected matching id suffix or None, needs_activation)
TABLE = [
    ("nothing registered", [], "create", None, False),
    ("active match", [webhook()], "unchanged", "w1", False),
    ("inactive match", [webhook(status="inactive")], "activate", "w1", True),
    ("unverified match", [webhook(status="unverified")], "activate", "w1", True),
    ("events in another order", [webhook(events=["message.read", "message.sent"])], "unchanged", "w1", False),
    ("old field names", [webhook(old_names=True)], "unchanged", "w1", False),
    ("old field names, inactive", [webhook(old_names=True, status="inactive")], "activate", "w1", True),
    ("other name", [webhook(name="Other")], "create", None, False),
    ("no config", [webhook(name=None)], "create", None, False),
    ("config not a mapping", [{**webhook(), "config": "Webhook Example"}], "create", None, False),
    ("same name, other target", [webhook(target="https://example.com/hooks/other")], "create", None, False),
    ("same name, other host", [webhook(target="https://other.test/hooks/new-message")], "create", None, False),
    ("registered with :443", [webhook(target="https://example.com:443/hooks/new-message")], "unchanged", "w1", False),
    (
        "registered with upper-case host",
        [webhook(target="https://EXAMPLE.com/hooks/new-message")],
        "unchanged",
        "w1",
        False,
    ),
    ("target not a string", [{**webhook(), "target_url": None}], "create", None, False),
    ("events differ", [webhook(events=["message.sent"])], "out-of-sync", "w1", False),
    ("events differ, inactive", [webhook(events=["message.sent"], status="inactive")], "out-of-sync", "w1", True),
    ("no events listed", [{**webhook(), "events": None}], "out-of-sync", "w1", False),
    (
        "duplicates: the up-to-date one wins",
        [webhook(id="w1", events=["message.sent"]), webhook(id="w2", status="inactive"), webhook(id="w3")],
        "unchanged",
        "w3",
        False,
    ),
    (
        "duplicates: the active one wins among equals",
        [webhook(id="w1", status="inactive"), webhook(id="w2")],
        "unchanged",
        "w2",
        False,
    ),
]


@pytest.mark.parametrize(
    ("existing", "kind", "match", "needs_activation"), [t[1:] for t in TABLE], ids=[t[0] for t in TABLE]
)
def test_plan_table(existing: list[dict[str, Any]], kind: str, match: str | None, needs_activation: bool) -> None:
    (action,) = plan(existing, [HOOK], BASE, "s3cret")
    assert action.kind == kind
    assert action.hook is HOOK
    assert action.target_url == TARGET
    assert action.needs_activation is needs_activation
    if match is None:
        assert action.webhook is None
        assert action.webhook_id is None
    else:
        assert action.webhook_id == f"layer:///apps/a/webhooks/{match}"


def test_duplicates_are_named_and_left_alone() -> None:
    (action,) = plan([webhook(id="w1", status="inactive"), webhook(id="w2")], [HOOK], BASE, "s")
    assert action.duplicates == ("layer:///apps/a/webhooks/w1",)
    assert "left alone: layer:///apps/a/webhooks/w1" in action.describe()


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("https://example.com", "/hook", "https://example.com/hook"),
        ("https://example.com/", "hook", "https://example.com/hook"),
        ("https://example.com:443", "/hook", "https://example.com/hook"),
        ("https://example.com:443/", "/hook", "https://example.com/hook"),
        ("https://example.com:443/base//", "//hook", "https://example.com/base/hook"),
        ("https://example.com:8443/base", "/hook", "https://example.com:8443/base/hook"),
        ("http://127.0.0.1:80/x", "/hook", "http://127.0.0.1/x/hook"),
        ("http://127.0.0.1:443/x", "/hook", "http://127.0.0.1:443/x/hook"),
        ("HTTPS://Example.COM/Base", "/Hook", "https://example.com/Base/Hook"),
        ("  https://example.com/base  ", "/hook", "https://example.com/base/hook"),
    ],
)
def test_target_url(base: str, path: str, expected: str) -> None:
    assert target_url(base, Hook("n", path, ["message.sent"])) == expected


@pytest.mark.parametrize(
    "base", ["example.com/hooks", "ftp://example.com", "https://example.com/?a=1", "https://x.test/#f", ""]
)
def test_bad_base_url(base: str) -> None:
    with pytest.raises(ConfigurationError, match="http"):
        plan([], [HOOK], base, "s")


def test_create_body_names_the_hook_and_hides_the_secret() -> None:
    (action,) = plan([], [HOOK], BASE, "s3cret")
    assert action.create_body() == {
        "target_url": TARGET,
        "events": ["message.sent", "message.read"],
        "secret": "s3cret",
        "config": {"name": "Webhook Example"},
        "version": "1.0",
    }
    assert "s3cret" not in repr(action)
    assert "s3cret" not in action.describe()


def test_node_style_dicts_are_accepted_and_not_mutated() -> None:
    hooks = [
        {"name": "A", "path": "/a", "events": ["message.sent"]},
        {"name": "B", "path": "b", "events": ["conversation.created"], "delay": "1 minute"},
    ]
    existing = [webhook(name="B", target="https://example.com/hooks/b", events=["conversation.created"])]
    before_hooks, before_existing = copy.deepcopy(hooks), copy.deepcopy(existing)
    actions = plan(existing, hooks, BASE + "/", "s")
    assert [(a.name, a.kind, a.target_url) for a in actions] == [
        ("A", "create", "https://example.com/hooks/a"),
        ("B", "unchanged", "https://example.com/hooks/b"),
    ]
    assert hooks == before_hooks
    assert existing == before_existing


def test_one_action_per_hook_in_order() -> None:
    hooks = [Hook(name, f"/{name}", ["message.sent"]) for name in ("c", "a", "b")]
    existing = [webhook(name="a", target="https://example.com/hooks/a", events=["message.sent"], status="inactive")]
    assert [(a.name, a.kind) for a in plan(existing, hooks, BASE, "s")] == [
        ("c", "create"),
        ("a", "activate"),
        ("b", "create"),
    ]


def test_a_hook_without_events_cannot_be_registered() -> None:
    with pytest.raises(InvalidHook, match="no events") as info:
        plan([], [Hook("Everything", "/all")], BASE, "s")
    assert info.value.field == "events"


@pytest.mark.parametrize("secret", ["", None, ["a", "b"]])
def test_a_secret_is_required(secret: Any) -> None:
    with pytest.raises(ConfigurationError, match="secret"):
        plan([], [HOOK], BASE, secret)


def test_duplicate_hook_names_are_refused() -> None:
    with pytest.raises(InvalidHook, match="unique"):
        plan([], [HOOK, Hook("Webhook Example", "/other", ["message.sent"])], BASE, "s")


def test_out_of_sync_describes_both_event_lists() -> None:
    (action,) = plan([webhook(events=["message.sent"], status="inactive")], [HOOK], BASE, "s")
    text = action.describe()
    assert "out of sync" in text
    assert "Layer has [message.sent]" in text
    assert "wants [message.sent, message.read]" in text
    assert "status inactive" in text
    assert action.registered_events == ("message.sent",)


def test_action_is_a_frozen_value() -> None:
    action = Action("create", HOOK, TARGET, secret="s")
    with pytest.raises(AttributeError):
        action.kind = "unchanged"  # type: ignore[misc]
    assert action == Action("create", HOOK, TARGET, secret="s")
