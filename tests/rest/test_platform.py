"""The Platform API's messages, announcements and conversations: the client against the emulator
over real HTTP; a bot's reply delivered back as a webhook, and kept out of the queue by
listen's bot guard; the emulator refusing what Layer refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

pytest.importorskip("werkzeug")

from support.emulator import TOKEN, emulator_fixture
from support.wsgi_server import Served

from layer_webhooks import ConfigurationError, Hook, LayerAPIError, LayerClient, MemoryQueue, WebhooksServices
from layer_webhooks._layer import PATCH_MEDIA_TYPE, PLATFORM_ACCEPT
from layer_webhooks.adapters.wsgi import WebhookMiddleware
from layer_webhooks.testing import LayerEmulator

pytestmark = pytest.mark.slow
TEXT = "text/plain"
layer = emulator_fixture()
SECRET = "platform secret"
http = requests.Session()
http.trust_env = False


@pytest.fixture
def client(layer: LayerEmulator) -> Iterator[LayerClient]:
    with LayerClient(TOKEN, layer.app_id, base_url=layer.base_url, sleep=lambda s: None) as made:
        yield made


def bodies(layer: LayerEmulator, method: str = "POST") -> list[Any]:
    return [r.json() for r in layer.api_requests if r.method == method]


def test_a_bot_reply_is_delivered_as_a_webhook_and_the_guard_keeps_it_out(layer: LayerEmulator) -> None:
    queue = MemoryQueue()
    services = WebhooksServices(TOKEN, layer.app_id, base_url=layer.base_url, queue=queue)
    hooks = [Hook("guarded", "/guarded", ["message.sent"]), Hook("open", "/open", ["message.sent"])]
    guarded = services.listen(SECRET, hooks[:1])
    unguarded = services.listen(SECRET, hooks[1:], skip_service_senders=False)
    with Served(WebhookMiddleware(WebhookMiddleware(None, guarded), unguarded)) as served:
        assert services.register(SECRET, served.url, hooks).ok
        layer.wait_idle()
        conversation = layer.create_conversation(["alice", "bob"])
        reply = services.client.messages.send_text(conversation, {"name": "Die-bot"}, "Rolled a 6")
        assert reply["sender"] == {"name": "Die-bot"}
        assert reply["recipient_status"] == {"alice": "sent", "bob": "sent"}
        assert layer.message(reply) == reply
        deliveries = layer.deliveries
        assert sorted(d.target_url.rsplit("/", 1)[1] for d in deliveries) == ["guarded", "open"]
        for delivery in deliveries:
            assert delivery.delivered
            assert delivery.event_type == "message.sent"
            assert delivery.payload["message"]["sender"] == {"name": "Die-bot"}  # no user_id
            assert delivery.payload["event"]["actor"] == {"name": "Die-bot"}
        # Only the hook without the guard queued the bot's message: the guard is what stops a loop.
        assert [job.name for job in queue.pending()] == ["open"]


def test_messages_from_a_user_and_from_an_identity(layer: LayerEmulator, client: LayerClient) -> None:
    conversation = layer.create_conversation(["alice", "bob@example.com"])
    one = client.messages.send(conversation["id"], "alice", [{"body": "hi", "mime_type": TEXT}])
    two = client.messages.send_text(
        conversation,
        {"sender_id": "bob@example.com"},
        "<b>hey</b>",
        mime_type="text/html",
        notification={"text": "Bob wrote", "sound": "chime.aiff"},
    )
    assert one["sender"] == {"user_id": "alice"}
    assert one["recipient_status"] == {"alice": "read", "bob@example.com": "sent"}
    assert two["sender"] == {"user_id": "bob@example.com"}  # the identity id decoded
    assert two["parts"][0]["mime_type"] == "text/html"
    first, second = layer.api_requests
    uuid = conversation["id"].rsplit("/", 1)[1]
    assert first.path == second.path == f"/apps/{layer.app_id}/conversations/{uuid}/messages"
    assert first.headers["accept"] == PLATFORM_ACCEPT
    assert first.headers["content-type"] == "application/json"
    assert first.json() == {"sender": {"user_id": "alice"}, "parts": [{"body": "hi", "mime_type": TEXT}]}
    assert second.json() == {
        "sender_id": "layer:///identities/bob%40example.com",
        "parts": [{"body": "<b>hey</b>", "mime_type": "text/html"}],
        "notification": {"text": "Bob wrote", "sound": "chime.aiff"},
    }
    assert [m["id"] for m in layer.messages(conversation)] == [one["id"], two["id"]]


def test_a_part_over_2_kb_never_reaches_layer(layer: LayerEmulator, client: LayerClient) -> None:
    conversation = layer.create_conversation(["alice", "bob"])
    with pytest.raises(ConfigurationError, match=r"message part 0 \(text/plain\) is 2049 bytes"):
        client.messages.send_text(conversation, {"name": "bot"}, "x" * 2049)
    with pytest.raises(ConfigurationError, match="is 3000 bytes"):
        client.announcements.send(["alice"], "System Alerts", [{"body": "x" * 3000, "mime_type": TEXT}])
    assert layer.api_requests == []
    # Layer's own check, for a client that does not make one.
    url = f"{layer.base_url}/apps/{layer.app_id}/conversations/{conversation['id'].rsplit('/', 1)[1]}/messages"
    body = {"sender": {"name": "bot"}, "parts": [{"body": "x" * 2049, "mime_type": TEXT}]}
    answer = http.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}", "Accept": PLATFORM_ACCEPT})
    assert answer.status_code == 422
    assert answer.json()["data"] == {"property": "parts[0].body", "size": 2049}
    assert layer.messages() == []


def test_an_unknown_conversation_is_a_404_not_retried(layer: LayerEmulator, client: LayerClient) -> None:
    with pytest.raises(LayerAPIError) as raised:
        client.messages.send_text("layer:///conversations/0000", {"name": "bot"}, "anyone?")
    assert (raised.value.status, raised.value.id) == (404, "not_found")
    with pytest.raises(LayerAPIError) as raised:
        client.conversations.get("0000")
    assert raised.value.status == 404
    with pytest.raises(LayerAPIError) as raised:
        client.conversations.add_participants("0000", ["carol"])
    assert raised.value.status == 404
    assert [r.status for r in layer.api_requests] == [404, 404, 404]


def test_creates_are_retried_only_when_layer_says_they_were_not_processed(
    layer: LayerEmulator, client: LayerClient
) -> None:
    conversation = layer.create_conversation(["alice", "bob"])
    layer.fail_next(1, 503)
    client.messages.send_text(conversation, {"name": "bot"}, "once")
    layer.fail_next(1, 500)  # it may have been sent: sending again could send it twice
    with pytest.raises(LayerAPIError) as raised:
        client.messages.send_text(conversation, {"name": "bot"}, "maybe")
    assert raised.value.status == 500
    layer.fail_next(1, 500)  # an edit is the same when sent twice: retried
    client.conversations.add_participants(conversation, ["carol"])
    assert [r.status for r in layer.api_requests] == [503, 201, 500, 500, 204]
    assert [m["parts"][0]["body"] for m in layer.messages(conversation)] == ["once"]


def test_announcements(layer: LayerEmulator, client: LayerClient) -> None:
    sent = client.announcements.send(
        ["alice", "bob"], "System Alerts", [{"body": "Maintenance at 6", "mime_type": TEXT}], notification={"text": "!"}
    )
    assert sent["id"].startswith("layer:///announcements/")
    assert sent["recipients"] == ["alice", "bob"]
    assert sent["sender"] == {"name": "System Alerts", "user_id": None}
    assert layer.announcements == [sent]
    assert layer.api_requests[0].status == 202
    assert bodies(layer)[0]["notification"] == {"text": "!"}
    assert layer.deliveries == []  # Layer sent no webhook for an announcement
    with pytest.raises(ConfigurationError, match="never a user_id"):
        client.announcements.send(["bob"], {"user_id": "alice"}, [{"body": "x", "mime_type": TEXT}])


def test_conversations_created_read_and_edited_each_with_its_webhook(layer: LayerEmulator, client: LayerClient) -> None:
    with Served(Recorder()) as target:
        layer.create_webhook(target.url, ["conversation.created", "conversation.updated.participants",
                                          "conversation.updated.metadata"], "s")  # fmt: skip
        layer.wait_idle()
        created = client.conversations.create(["alice", "bob"], metadata={"conversationName": "Lunch"})
        assert created["participants"] == ["alice", "bob"]
        assert client.conversations.get(created) == created
        client.conversations.update_metadata(created, {"theme.color": "red"}, delete=["conversationName"])
        client.conversations.add_participants(created["id"], ["carol", "alice"])
        client.conversations.remove_participants(created, ["bob", "zed"])
        client.conversations.add_participants(created, ["alice"])  # nothing changes: no webhook
        client.conversations.set_participants(created, ["dave", "erin"])
        now = client.conversations.get(created)
        assert now["participants"] == ["dave", "erin"]
        assert now["metadata"] == {"theme": {"color": "red"}}
        events = [(d.event_type, d.payload["conversation"]) for d in layer.deliveries]
        assert [t for t, _ in events] == [
            "conversation.created",
            "conversation.updated.metadata",
            *["conversation.updated.participants"] * 3,
        ]
        assert events[1][1]["metadata"] == {"theme": {"color": "red"}}  # the whole conversation after the change
        assert [c["participants"] for _, c in events[2:]] == [
            ["alice", "bob", "carol"],
            ["alice", "carol"],
            ["dave", "erin"],
        ]
    patches = [r for r in layer.api_requests if r.method == "PATCH"]
    assert {r.headers["content-type"] for r in patches} == {PATCH_MEDIA_TYPE}
    assert patches[0].json() == [
        {"operation": "set", "property": "metadata.theme.color", "value": "red"},
        {"operation": "delete", "property": "metadata.conversationName"},
    ]
    assert [r.status for r in patches] == [204] * 5


def test_distinct_conversations(layer: LayerEmulator, client: LayerClient) -> None:
    first = client.conversations.create(["alice", "bob"], distinct=True, metadata={"a": "b"})
    assert client.conversations.create(["bob", "alice"], distinct=True) == first  # 303, followed
    assert client.conversations.create(["bob", "alice"], distinct=True, metadata={"a": "b"}) == first
    with pytest.raises(LayerAPIError) as raised:
        client.conversations.create(["alice", "bob"], distinct=True, metadata={"a": "c"})
    assert raised.value.status == 409
    assert raised.value.data is not None and raised.value.data["id"] == first["id"]
    assert client.conversations.create(["alice", "bob"])["id"] != first["id"]


MESSAGES, PARTS = "/conversations/{c}/messages", [{"body": "x", "mime_type": TEXT}]
ADD_C = {"operation": "add", "property": "participants", "value": "c"}


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type", "status", "error"),
    [
        ("POST", MESSAGES, {"sender": {"name": "b"}, "sender_id": "layer:///identities/a", "parts": PARTS},
         None, 422, "sender"),
        ("POST", MESSAGES, {"sender": {"user_id": "zed"}, "parts": PARTS}, None, 422, "sender.user_id"),
        ("POST", MESSAGES, {"sender": {"name": "b"}}, None, 422, "parts"),
        ("POST", MESSAGES, [], None, 400, None),
        ("POST", "/announcements", {"recipients": ["a"], "sender": {"user_id": "a"}, "parts": PARTS},
         None, 422, "sender.user_id"),
        ("POST", "/conversations", {"participants": "alice"}, None, 422, "participants"),
        ("POST", "/conversations", {"participants": ["a"], "metadata": {"n": 1}}, None, 422, "metadata.n"),
        ("PATCH", "/conversations/{c}", [ADD_C], "application/json", 415, None),
        ("PATCH", "/conversations/{c}", [ADD_C, {"operation": "set", "property": "distinct", "value": True}],
         PATCH_MEDIA_TYPE, 422, "property"),
        ("PATCH", "/conversations/{c}", {"operation": "add"}, PATCH_MEDIA_TYPE, 400, None),
        ("PATCH", "/conversations/{c}", [{"operation": "add", "property": "metadata.a", "value": "b"}],
         PATCH_MEDIA_TYPE, 422, "metadata.a"),
    ],
    ids=["sender and sender_id", "not a participant", "no parts", "not an object", "announcement from a user",
         "participants a string", "metadata not strings", "patch as json", "patch of distinct", "patch not a list",
         "add to metadata"],
)  # fmt: skip
def test_the_emulator_refuses_what_layer_refused(
    layer: LayerEmulator, method: str, path: str, body: Any, content_type: str | None, status: int, error: str | None
) -> None:
    conversation = layer.create_conversation(["alice", "bob"])
    url = f"{layer.base_url}/apps/{layer.app_id}" + path.format(c=conversation["id"].rsplit("/", 1)[1])
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": PLATFORM_ACCEPT}
    headers["Content-Type"] = content_type or "application/json"
    answer = http.request(method, url, data=json.dumps(body), headers=headers)
    assert answer.status_code == status, answer.text
    if error is not None:
        assert answer.json()["data"]["property"] == error
    assert layer.conversation(conversation) == conversation  # nothing changed
    assert layer.messages() == []


class Recorder:
    """A webhook target that answers 200 to everything (the emulator's log is what is read)."""

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        from urllib.parse import parse_qs

        challenge = parse_qs(environ.get("QUERY_STRING", "")).get("verification_challenge", [""])[0]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [challenge.encode()]


# --- the emulator's readers, pure: what each refusal names ----------------------------------------

P = {"body": "x", "mime_type": TEXT}


@pytest.mark.parametrize(
    ("read", "body", "status", "prop"),
    [
        ("message", {"sender_id": "alice", "parts": [P]}, 422, "sender_id"),
        ("message", {"sender_id": 3, "parts": [P]}, 422, "sender_id"),
        ("message", {"parts": [P]}, 422, "sender"),
        ("message", {"sender": "bot", "parts": [P]}, 422, "sender"),
        ("message", {"sender": {"user_id": "a", "name": "b"}, "parts": [P]}, 422, "sender"),
        ("message", {"sender": {"name": ""}, "parts": [P]}, 422, "sender.name"),
        ("message", {"sender": {"name": "b"}, "parts": []}, 422, "parts"),
        ("message", {"sender": {"name": "b"}, "parts": ["x"]}, 422, "parts[0]"),
        ("message", {"sender": {"name": "b"}, "parts": [{"mime_type": TEXT}]}, 422, "parts[0].body"),
        ("message", {"sender": {"name": "b"}, "parts": [{"mime_type": TEXT, "body": 1}]}, 422, "parts[0].body"),
        ("message", {"sender": {"name": "b"}, "parts": [{"body": "x"}]}, 422, "parts[0].mime_type"),
        ("message", {"sender": {"name": "b"}, "parts": [{**P, "encoding": "hex"}]}, 422, "parts[0].encoding"),
        ("message", "text", 400, None),
        ("announcement", {"recipients": ["a"], "sender": "bot", "parts": [P]}, 422, "sender"),
        ("announcement", {"recipients": ["a"], "parts": [P]}, 422, "sender"),
        ("announcement", {"recipients": [], "sender": {"name": "n"}, "parts": [P]}, 422, "recipients"),
        ("announcement", {"sender": {"name": "n"}, "parts": [P]}, 422, "recipients"),
        ("conversation", {"participants": ["a"], "distinct": "yes"}, 422, "distinct"),
        ("conversation", {"participants": ["a"], "metadata": ["x"]}, 422, "metadata"),
        ("conversation", {"participants": ["a", ""]}, 422, "participants"),
    ],
)
def test_each_refusal_names_its_property(read: str, body: Any, status: int, prop: str | None) -> None:
    from layer_webhooks.testing.emulator import _platform

    reader = {
        "message": _platform.read_message,
        "announcement": _platform.read_announcement,
        "conversation": _platform.read_conversation,
    }[read]
    with pytest.raises(LayerAPIError) as raised:
        reader(body)
    assert raised.value.status == status
    assert (raised.value.data or {}).get("property") == prop


def test_layer_patch_as_the_emulator_applies_it() -> None:
    from layer_webhooks.testing.emulator._platform import patched

    conversation = {"participants": ["a", "b"], "metadata": {"title": "T", "theme": {"color": "red"}}}
    operations = [
        {"operation": "add", "property": "participants", "value": "b"},  # already in: nothing
        {"operation": "remove", "property": "participants", "value": "zed"},  # not in: nothing
        {"operation": "set", "property": "metadata.theme.font.size", "value": "12"},
        {"operation": "delete", "property": "metadata.gone.deeper"},  # nothing there: nothing
        {"operation": "delete", "property": "metadata.title.x"},  # under a string: nothing
        {"operation": "delete", "property": "metadata.title"},
    ]
    assert patched(conversation, operations) == (["a", "b"], {"theme": {"color": "red", "font": {"size": "12"}}})
    whole = [{"operation": "set", "property": "metadata", "value": {"x": {"y": "z"}}}]
    assert patched(conversation, whole) == (["a", "b"], {"x": {"y": "z"}})
    assert conversation["metadata"] == {"title": "T", "theme": {"color": "red"}}  # the input is left as it is
    refused: list[tuple[object, str]] = [
        ([{"operation": "move", "property": "participants", "value": "c"}], "operation"),
        ([{"operation": "delete", "property": "participants", "value": "c"}], "operation"),
        ([{"operation": "set", "property": "participants", "value": "c"}], "participants value"),
        ([{"operation": "add", "property": "participants", "value": ["c"]}], "participants value"),
        ([{"operation": "set", "property": "metadata.title.x", "value": "y"}], "metadata.title.x"),
        ([{"operation": "set", "property": "metadata", "value": "flat"}], "metadata"),
        ([{"operation": "set", "property": "metadata..a", "value": "y"}], "property"),
        ([{"operation": "set", "property": 3, "value": "y"}], "property"),
    ]
    for bad, prop in refused:
        with pytest.raises(LayerAPIError) as raised:
            patched(conversation, bad)
        assert (raised.value.data or {}).get("property") == prop, bad
