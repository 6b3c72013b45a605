"""register(version=): 2.0 and 3.0 webhooks, checked against each version's event names; the
Platform API's Accept version, configurable on LayerClient."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("werkzeug")

from support.emulator import TOKEN, emulator_fixture
from support.wsgi_server import Served

from layer_webhooks import ConfigurationError, Hook, InvalidHook, LayerClient, MemoryQueue, Receipts, WebhooksServices
from layer_webhooks.adapters.wsgi import WebhookMiddleware
from layer_webhooks.registration._plan import plan
from layer_webhooks.testing import LayerEmulator

pytestmark = pytest.mark.slow
SECRET = "versions secret"
V2_HOOK = Hook("Unread", "/unread", ["Message.created", "Receipt.created"], receipts=Receipts(delay=1000))
layer = emulator_fixture()


@pytest.fixture
def services(layer: LayerEmulator) -> WebhooksServices:
    return WebhooksServices(TOKEN, layer.app_id, base_url=layer.base_url, queue=MemoryQueue())


@pytest.fixture
def target(services: WebhooksServices) -> Iterator[str]:
    served = Served(WebhookMiddleware(None, services.receipts(SECRET, [V2_HOOK])))
    try:
        yield served.url
    finally:
        served.stop()


def test_register_creates_a_2_0_webhook(layer: LayerEmulator, services: WebhooksServices, target: str) -> None:
    report = services.register(SECRET, target, [V2_HOOK], version="2.0", wait_active=True)
    assert report.ok, str(report)
    [webhook] = layer.list_webhooks()
    assert (webhook["version"], webhook["events"], webhook["status"]) == (
        "2.0",
        ["Message.created", "Receipt.created"],
        "active",
    )
    assert "Webhooks 2.0" in report.actions[0].describe()
    again = services.register(SECRET, target, [V2_HOOK], version="2.0")
    assert [a.kind for a in again.actions] == ["unchanged"]


def test_a_webhook_of_another_version_is_out_of_sync(
    layer: LayerEmulator, services: WebhooksServices, target: str
) -> None:
    assert services.register(SECRET, target, [V2_HOOK], version="2.0", wait_active=True).ok
    report = services.register(SECRET, target, [V2_HOOK], version="3.0", dry_run=True)
    [action] = report.actions
    assert action.kind == "out-of-sync"
    assert "Webhooks 2.0, registration asks for 3.0" in action.describe()
    synced = services.register(SECRET, target, [V2_HOOK], version="3.0", sync=True, wait_active=True)
    assert synced.ok, str(synced)
    assert [w["version"] for w in layer.list_webhooks()] == ["3.0"]


def test_events_of_another_version_are_refused_before_any_request(
    layer: LayerEmulator, services: WebhooksServices
) -> None:
    with pytest.raises(InvalidHook, match=r"'Message.created'.*not in Webhooks 1.0 but in 2.0 and 3.0.*version='2.0'"):
        services.register(SECRET, "https://example.com", [V2_HOOK])
    part = Hook("Parts", "/parts", ["MessagePart.created"])
    with pytest.raises(InvalidHook, match=r"not in Webhooks 2.0 but in 3.0"):
        services.register(SECRET, "https://example.com", [part], version="2.0")
    old = Hook("Old", "/old", ["message.sent"])
    with pytest.raises(InvalidHook, match=r"'message.sent'.*not in Webhooks 2.0 but in 1.0"):
        services.register(SECRET, "https://example.com", [old], version="2.0")
    with pytest.raises(ConfigurationError, match=r"version='2': expected a Webhooks API version"):
        services.register(SECRET, "https://example.com", [old], version="2")
    assert layer.api_requests == []


def test_the_create_body_asks_for_the_version() -> None:
    [action] = plan([], [V2_HOOK], "https://example.com", "s", version="3.0")
    assert action.create_body()["version"] == "3.0"


def test_the_platform_api_accept_version_is_configurable(layer: LayerEmulator) -> None:
    layer.set_identity("alice@example.com", display_name="Alice")
    default = LayerClient(TOKEN, layer.app_id, base_url=layer.base_url)
    newer = LayerClient(TOKEN, layer.app_id, base_url=layer.base_url, platform_version="2.0")
    assert default.identities.get("alice@example.com")["display_name"] == "Alice"
    assert newer.identities.get("layer:///identities/alice%40example.com")["display_name"] == "Alice"
    newer.webhooks.list()
    first, second, third = layer.api_requests
    assert first.headers["accept"] == "application/vnd.layer+json; version=1.0"
    assert second.headers["accept"] == "application/vnd.layer+json; version=2.0"
    assert second.path == f"/apps/{layer.app_id}/users/alice@example.com/identity"  # escaped once
    assert third.headers["accept"] == "application/vnd.layer.webhooks+json; version=1.0"
    with pytest.raises(ConfigurationError, match=r"platform_version='4\.0'"):
        LayerClient(TOKEN, layer.app_id, platform_version="4.0")
