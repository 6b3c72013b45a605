"""End to end over real sockets: the emulator registers a webhook on a Receiver served by the
WSGI adapter under werkzeug, the challenge succeeds, events arrive verified and are queued, and
a wrong secret is refused (403) and retried until the webhook is inactive."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("werkzeug")

import requests
from support.emulator import PLATFORM, TOKEN, WEBHOOKS, emulator_fixture
from support.wsgi_server import Served

from layer_webhooks import Hook, Job, MemoryQueue, Receiver
from layer_webhooks._layer import DELIVERY_RETRY_SCHEDULE as RETRY_SCHEDULE
from layer_webhooks.adapters.wsgi import WebhookMiddleware
from layer_webhooks.testing import LayerEmulator, make_event

SECRET = "e2e secret"
HOOKS = [
    Hook("Webhook Example", "/hook", ["message.sent"]),
    Hook("Conversations", "/conversations", ["conversation.created"]),
]
pytestmark = pytest.mark.slow


class Service:
    """A Receiver on a MemoryQueue, served by werkzeug on loopback."""

    def __init__(self) -> None:
        self.queue = MemoryQueue()
        self.receiver = Receiver(SECRET, HOOKS, self.queue)
        self.served = Served(WebhookMiddleware(None, self.receiver))

    def url(self, path: str) -> str:
        return self.served.url + path

    def close(self) -> None:
        self.served.stop()


@pytest.fixture
def service() -> Iterator[Service]:
    running = Service()
    yield running
    running.close()


layer = emulator_fixture(retry_scale=0.0005)


def register(layer: LayerEmulator, target_url: str, secret: str, name: str, events: list[str]) -> dict[str, Any]:
    """Create a webhook through the REST API, as a client would."""
    body = {"version": "1.0", "target_url": target_url, "events": events, "secret": secret, "config": {"name": name}}
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": WEBHOOKS}
    with requests.Session() as session:
        session.trust_env = False
        response = session.post(f"{layer.base_url}/apps/{layer.app_id}/webhooks", json=body, headers=headers, timeout=5)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["status"] == "unverified"
    return created


def status(layer: LayerEmulator, webhook: dict[str, Any]) -> str:
    with requests.Session() as session:
        session.trust_env = False
        headers = {"Authorization": f"Bearer {TOKEN}", "Accept": WEBHOOKS}
        response = session.get(webhook["url"], headers=headers, timeout=5)
    return str(response.json()["status"])


def test_events_arrive_verified_and_queued(layer: LayerEmulator, service: Service) -> None:
    webhook = register(layer, service.url("/hook"), SECRET, "Webhook Example", ["message.sent"])
    conversations = register(layer, service.url("/conversations"), SECRET, "Conversations", ["conversation.created"])
    layer.wait_idle()
    assert status(layer, webhook) == "active"
    assert status(layer, conversations) == "active"

    conversation = layer.create_conversation(["alice", "bob"])
    message = layer.send_message(conversation, "alice", "Hello from the emulator")
    payload = make_event("message.sent", sender="bob", recipients=["alice"], text="again")
    first, second = layer.publish(payload), layer.publish(payload)  # Layer may deliver twice
    layer.send_message(conversation, {"name": "t-bone"}, "a bot")  # a service sender: not queued
    layer.wait_idle()

    assert all(d.delivered and len(d.attempts) == 1 for d in layer.deliveries)
    assert {d.attempts[0].status for d in layer.deliveries} == {200}
    assert [d.event_type for d in layer.deliveries] == ["conversation.created", *["message.sent"] * 4]
    assert first[0].request_id == second[0].request_id

    jobs = service.queue.pending()
    assert [(job.name, job.data["type"]) for job in jobs] == [
        ("Conversations", "conversation.created"),
        ("Webhook Example", "message.sent"),
        ("Webhook Example", "message.sent"),
    ]
    assert jobs[0].data["conversation"] == conversation
    assert jobs[1].data["message"] == message
    assert jobs[1].data["config"] == {"name": "Webhook Example"}  # the registered config, echoed
    assert jobs[2].data["event_id"] == payload["event"]["id"]

    seen: list[str] = []

    def handle(job: Job) -> None:
        seen.append(job.data["message"]["parts"][0]["body"])

    service.queue.process("Webhook Example", handle)
    # Issue 10: a job with no handler runs too (logged, then retried on its schedule).
    assert service.queue.run_due() == 3
    assert seen == ["Hello from the emulator", "again"]
    assert [(job.name, job.attempt) for job in service.queue.pending()] == [("Conversations", 2)]


def test_a_wrong_secret_is_refused_and_retried_until_inactive(layer: LayerEmulator, service: Service) -> None:
    good = register(layer, service.url("/hook"), SECRET, "Webhook Example", ["message.sent"])
    bad = register(layer, service.url("/hook"), "not the secret", "Webhook Example", ["message.sent"])
    layer.wait_idle()
    # The challenge is not signed: both are verified.
    assert (status(layer, good), status(layer, bad)) == ("active", "active")

    deliveries = layer.publish(make_event("message.sent", text="hello"))
    layer.wait_idle()

    by_webhook = {d.webhook_id: d for d in layer.deliveries}
    assert len(deliveries) == len(by_webhook) == 2
    assert by_webhook[good["id"]].delivered
    refused = by_webhook[bad["id"]]
    assert refused.state == "failed"
    assert [a.status for a in refused.attempts] == [403] * (1 + len(RETRY_SCHEDULE))
    assert {a.error for a in refused.attempts} == {"answered 403"}
    assert status(layer, bad) == "inactive"
    assert status(layer, good) == "active"
    assert len(service.queue.pending()) == 1


def test_a_path_the_receiver_does_not_own_fails_the_challenge(layer: LayerEmulator, service: Service) -> None:
    webhook = register(layer, service.url("/not-a-hook"), SECRET, "Webhook Example", ["message.sent"])
    layer.wait_idle()
    assert status(layer, webhook) == "inactive"
    assert layer.get_webhook(webhook["id"])["status_reason"] == "verification failed: the target answered 404, not 200"


def test_receipts_style_lookups_through_the_platform_api(layer: LayerEmulator, service: Service) -> None:
    register(layer, service.url("/hook"), SECRET, "Webhook Example", ["message.sent"])
    layer.wait_idle()
    layer.set_identity("bob", display_name="Bob")
    conversation = layer.create_conversation(["alice", "bob"])
    layer.send_message(conversation, "alice", "are you there?")
    (job,) = service.queue.pending()
    message = job.data["message"]
    layer.mark(message, "bob", "read")
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": PLATFORM}
    with requests.Session() as session:
        session.trust_env = False
        current = session.get(message["url"], headers=headers, timeout=5).json()
        bob = session.get(f"{layer.base_url}/apps/{layer.app_id}/users/bob/identity", headers=headers, timeout=5)
    assert current["recipient_status"] == {"alice": "read", "bob": "read"}
    assert bob.json()["display_name"] == "Bob"
