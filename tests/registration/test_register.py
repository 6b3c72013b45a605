"""WebhooksServices.register against the emulator, over real HTTP, with real target endpoints."""

from __future__ import annotations

import copy
import http.server
import logging
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest
import requests

pytest.importorskip("werkzeug")

from support.emulator import emulator_fixture, running_emulator
from support.registration import APP, HOOKS, SECRET, TOKEN
from support.wsgi_server import Served

from layer_webhooks import (
    ConfigurationError,
    Hook,
    InvalidHook,
    LayerAPIError,
    LayerClient,
    RegistrationError,
    WebhooksServices,
)
from layer_webhooks.adapters.wsgi import WebhookMiddleware
from layer_webhooks.testing import LayerEmulator

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

pytestmark = pytest.mark.slow


layer = emulator_fixture(token=TOKEN, app_id=APP, retry_scale=1.0)


@pytest.fixture
def services(layer: LayerEmulator) -> WebhooksServices:
    client = LayerClient(TOKEN, APP, base_url=layer.base_url, timeout=5, sleep=lambda s: None)
    return WebhooksServices(TOKEN, APP, client=client)


@pytest.fixture
def target(services: WebhooksServices) -> Iterator[str]:
    """The base URL of a receiver for HOOKS: it answers the verification challenge."""
    served = Served(WebhookMiddleware(None, services.listen(SECRET, HOOKS)))
    try:
        yield served.url
    finally:
        served.stop()


def _refuse(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"this is not the challenge"]


@pytest.fixture
def refusing() -> Iterator[str]:
    """The base URL of a server that answers 200 but never echoes the challenge."""
    served = Served(_refuse)
    try:
        yield served.url
    finally:
        served.stop()


def mine(layer: LayerEmulator) -> dict[str, dict[str, Any]]:
    """The emulator's webhooks by config name."""
    webhooks = layer.list_webhooks()
    names = [w["config"].get("name") for w in webhooks]
    assert len(names) == len(set(names)), f"duplicate webhooks: {names}"
    return {w["config"]["name"]: w for w in webhooks}


def writes(layer: LayerEmulator) -> list[str]:
    """Every changing request the emulator's API answered, as ``"METHOD path"``."""
    return [f"{r.method} {r.path}" for r in layer.api_requests if r.method != "GET"]


def test_the_first_run_creates_and_the_second_changes_nothing(
    layer: LayerEmulator, services: WebhooksServices, target: str
) -> None:
    report = services.register(SECRET, target, HOOKS, wait_active=True)
    assert report.errors == []
    assert report.ok
    assert [(a.name, a.kind) for a in report.actions] == [("Webhook Example", "create"), ("Conversations", "create")]
    assert [(s.hook, s.op, s.status) for s in report.steps] == [
        ("Webhook Example", "create", "active"),
        ("Conversations", "create", "active"),
    ]
    registered = mine(layer)
    assert registered["Webhook Example"]["target_url"] == target + "/new-message"
    assert registered["Conversations"]["target_url"] == target + "/conversations"
    assert registered["Conversations"]["events"] == ["conversation.created", "conversation.deleted"]
    assert {w["status"] for w in registered.values()} == {"active"}
    assert registered["Webhook Example"]["config"] == {"name": "Webhook Example"}
    assert report.webhooks["Conversations"]["id"] == registered["Conversations"]["id"]
    created = writes(layer)

    again = services.register(SECRET, target + "/", HOOKS, wait_active=True)
    assert [a.kind for a in again.actions] == ["unchanged", "unchanged"]
    assert again.steps == []
    assert again.ok
    assert writes(layer) == created
    assert mine(layer).keys() == registered.keys()


def test_a_deactivated_webhook_is_activated_again(
    layer: LayerEmulator, services: WebhooksServices, target: str
) -> None:
    services.register(SECRET, target, HOOKS, wait_active=True)
    webhook_id = mine(layer)["Webhook Example"]["id"]
    assert services.client.webhooks.deactivate(webhook_id)["status"] == "inactive"

    report = services.register(SECRET, target, HOOKS, wait_active=True)
    assert [a.kind for a in report.actions] == ["activate", "unchanged"]
    assert [(s.op, s.webhook_id, s.status) for s in report.steps] == [("activate", webhook_id, "active")]
    assert mine(layer)["Webhook Example"]["status"] == "active"
    assert report.ok


def test_a_changed_event_list_is_reported_then_fixed_with_sync(
    layer: LayerEmulator, services: WebhooksServices, target: str
) -> None:
    services.register(SECRET, target, HOOKS, wait_active=True)
    old_id = mine(layer)["Webhook Example"]["id"]
    changed = [Hook("Webhook Example", "/new-message", ["message.sent", "message.read"]), HOOKS[1]]

    report = services.register(SECRET, target, changed, wait_active=True)
    assert [a.kind for a in report.actions] == ["out-of-sync", "unchanged"]
    assert report.out_of_sync == ["Webhook Example"]
    assert not report.ok
    assert report.steps == []
    assert "Layer has [message.sent], the hook wants [message.sent, message.read]" in str(report)
    assert "sync=True" in str(report)
    assert mine(layer)["Webhook Example"]["events"] == ["message.sent"]

    fixed = services.register(SECRET, target, changed, sync=True, wait_active=True)
    assert fixed.ok, str(fixed)
    assert [(s.op, s.status) for s in fixed.steps] == [("create", "active"), ("delete", None)]
    assert fixed.steps[1].webhook_id == old_id
    now = mine(layer)["Webhook Example"]
    assert now["id"] != old_id
    assert now["events"] == ["message.sent", "message.read"]
    assert now["status"] == "active"
    assert [a.kind for a in services.register(SECRET, target, changed).actions] == ["unchanged", "unchanged"]


def test_sync_keeps_the_old_webhook_when_the_new_one_fails_its_challenge(
    layer: LayerEmulator, services: WebhooksServices
) -> None:
    served = Served(WebhookMiddleware(None, services.listen(SECRET, HOOKS)))
    try:
        services.register(SECRET, served.url, HOOKS[:1], wait_active=True)
    finally:
        served.stop()  # from now on the challenge finds nobody
    old_id = mine(layer)["Webhook Example"]["id"]
    changed = [Hook("Webhook Example", "/new-message", ["message.read"])]

    report = services.register(SECRET, served.url, changed, sync=True, wait_active=True)
    assert [(s.op, s.status) for s in report.steps] == [("create", "inactive")]
    assert [e.challenge_failed for e in report.errors] == [True]
    assert report.out_of_sync == ["Webhook Example"]
    statuses = {w["id"]: (w["status"], w["events"]) for w in layer.list_webhooks()}
    assert statuses.pop(old_id) == ("active", ["message.sent"])
    assert list(statuses.values()) == [("inactive", ["message.read"])]


def test_out_of_sync_and_inactive_is_activated_without_sync(
    layer: LayerEmulator, services: WebhooksServices, target: str
) -> None:
    services.register(SECRET, target, HOOKS, wait_active=True)
    webhook_id = mine(layer)["Webhook Example"]["id"]
    services.client.webhooks.deactivate(webhook_id)
    changed = [Hook("Webhook Example", "/new-message", ["message.read"]), HOOKS[1]]

    report = services.register(SECRET, target, changed, wait_active=True)
    action = report.actions[0]
    assert (action.kind, action.needs_activation) == ("out-of-sync", True)
    assert [(s.op, s.webhook_id, s.status) for s in report.steps] == [("activate", webhook_id, "active")]
    assert report.out_of_sync == ["Webhook Example"]
    assert mine(layer)["Webhook Example"]["events"] == ["message.sent"]


def test_a_dry_run_changes_nothing_and_reports_the_plan(
    layer: LayerEmulator, services: WebhooksServices, target: str
) -> None:
    services.register(SECRET, target, HOOKS[:1], wait_active=True)
    services.client.webhooks.deactivate(mine(layer)["Webhook Example"]["id"])
    before, written = mine(layer), writes(layer)
    hooks = [HOOKS[0], HOOKS[1], Hook("Read", "/read", ["message.read"])]

    report = services.register(SECRET, target, hooks, dry_run=True, sync=True, wait_active=True)
    assert report.dry_run
    assert [(a.name, a.kind) for a in report.actions] == [
        ("Webhook Example", "activate"),
        ("Conversations", "create"),
        ("Read", "create"),
    ]
    assert report.steps == []
    assert report.errors == []
    assert writes(layer) == written
    assert mine(layer) == before
    text = str(report)
    assert text.startswith("Registration plan (dry run, nothing changed):")
    assert f"create the webhook for 'Read' at {target}/read (message.read)" in text
    assert SECRET not in text + repr(report)


def test_a_failed_challenge_is_reported_plainly(
    layer: LayerEmulator, services: WebhooksServices, refusing: str
) -> None:
    report = services.register(SECRET, refusing, HOOKS[:1], wait_active=True)
    (error,) = report.errors
    assert isinstance(error, RegistrationError)
    assert error.challenge_failed
    assert error.hook == "Webhook Example"
    assert error.cause is None
    message = str(error)
    assert "failed Layer's verification challenge and is inactive" in message
    assert f"GET {refusing}/new-message?verification_challenge=<value> with 200" in message
    assert not report.ok
    assert report.steps[0].status == "inactive"
    assert mine(layer)["Webhook Example"]["status"] == "inactive"


def test_a_failed_challenge_is_seen_on_the_next_run_without_waiting(
    layer: LayerEmulator, services: WebhooksServices, refusing: str
) -> None:
    services.register(SECRET, refusing, HOOKS[:1])
    layer.wait_idle(timeout=10)
    assert mine(layer)["Webhook Example"]["status"] == "inactive"
    report = services.register(SECRET, refusing, HOOKS[:1], wait_active=True)
    assert [a.kind for a in report.actions] == ["activate"]
    assert [e.challenge_failed for e in report.errors] == [True]


def test_one_failed_action_does_not_stop_the_others(
    layer: LayerEmulator, services: WebhooksServices, target: str
) -> None:
    bad = Hook("Bad", "/bad", ["message.sent"])
    object.__setattr__(bad, "events", ("no.such.event",))  # Hook itself refuses a type Layer does not know
    hooks = [bad, *HOOKS]
    report = services.register(SECRET, target, hooks, wait_active=True)
    (error,) = report.errors
    assert error.hook == "Bad"
    assert error.cause is not None
    assert (error.cause.status, error.cause.id) == (422, "invalid_property")
    assert not error.challenge_failed
    assert "could not create the webhook for 'Bad'" in str(error)
    assert sorted(mine(layer)) == ["Conversations", "Webhook Example"]
    assert [s.hook for s in report.steps] == ["Webhook Example", "Conversations"]


def test_a_wrong_token_is_a_clear_error_without_the_token(
    layer: LayerEmulator, target: str, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-token-0a1b2c3d4e"
    services = WebhooksServices(wrong, APP, base_url=layer.base_url)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LayerAPIError) as info:
        services.register(SECRET, target, HOOKS)
    error = info.value
    assert error.status == 401
    assert "check the API token" in str(error)
    assert f"GET /apps/{APP}/webhooks" in str(error)
    for text in (str(error), repr(error), repr(services), repr(services.client), caplog.text, str(vars(error))):
        assert wrong not in text
    assert layer.list_webhooks() == []


def test_another_app_id_is_an_error(layer: LayerEmulator, target: str) -> None:
    other = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(LayerAPIError) as info:
        WebhooksServices(TOKEN, other, base_url=layer.base_url).register(SECRET, target, HOOKS)
    assert 400 <= info.value.status < 500


def test_layer_unreachable_is_an_error(target: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = LayerClient(TOKEN, APP, base_url=f"http://127.0.0.1:{port}", sleep=lambda s: None)
    with pytest.raises(LayerAPIError, match="unreachable") as info:
        WebhooksServices(client=client).register(SECRET, target, HOOKS)
    assert info.value.status == 0


def test_a_503_while_listing_is_retried(layer: LayerEmulator, services: WebhooksServices, target: str) -> None:
    layer.fail_next(2, status=503)
    report = services.register(SECRET, target, HOOKS)
    assert report.errors == []
    assert [r.status for r in layer.api_requests[:3]] == [503, 503, 200]
    assert sorted(mine(layer)) == ["Conversations", "Webhook Example"]


@pytest.mark.parametrize("app_id", [APP, f"layer:///apps/{APP}", f"layer:///apps/staging/{APP}"])
def test_every_form_of_app_id_registers(layer: LayerEmulator, target: str, app_id: str) -> None:
    services = WebhooksServices(TOKEN, app_id, base_url=layer.base_url)
    assert services.register(SECRET, target, HOOKS, wait_active=True).ok
    assert sorted(mine(layer)) == ["Conversations", "Webhook Example"]


def test_the_callers_hooks_are_not_mutated(layer: LayerEmulator, services: WebhooksServices, target: str) -> None:
    hooks = [
        {"name": "Webhook Example", "path": "/new-message", "events": ["message.sent"]},
        {"name": "Conversations", "path": "conversations", "events": ["conversation.created", "conversation.deleted"]},
    ]
    before = copy.deepcopy(hooks)
    assert services.register(SECRET, target, hooks, wait_active=True).ok
    assert hooks == before
    assert mine(layer)["Conversations"]["target_url"] == target + "/conversations"


def test_configuration_errors_come_before_any_request(layer: LayerEmulator, services: WebhooksServices) -> None:
    with pytest.raises(InvalidHook, match="no events"):
        services.register(SECRET, "https://example.com", [Hook("All", "/all")])
    with pytest.raises(ConfigurationError, match="http"):
        services.register(SECRET, "example.com", HOOKS)
    with pytest.raises(ConfigurationError, match="secret"):
        services.register("", "https://example.com", HOOKS)
    assert layer.api_requests == []


def test_register_needs_a_token_and_an_app_id() -> None:
    with pytest.raises(ConfigurationError, match="token, app_id"):
        WebhooksServices().register(SECRET, "https://example.com", HOOKS)


def test_wait_active_gives_up_after_its_bound(layer: LayerEmulator, services: WebhooksServices) -> None:
    # The target holds the challenge until the test lets it go, and the client's clock jumps 4 s
    # per look: the wait ends after a few polls, not after 10 real seconds.
    release = threading.Event()
    receiver = WebhookMiddleware(None, services.listen(SECRET, HOOKS))

    def slow(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        release.wait(timeout=10)
        return receiver(environ, start_response)

    served = Served(slow)
    ticks = iter(range(0, 10_000, 4))
    sleeps: list[float] = []
    client = LayerClient(TOKEN, APP, base_url=layer.base_url, sleep=sleeps.append, clock=lambda: float(next(ticks)))
    try:
        report = WebhooksServices(client=client).register(SECRET, served.url, HOOKS[:1], wait_active=True)
    finally:
        release.set()
        layer.wait_idle(timeout=10)
        served.stop()
    (error,) = report.errors
    assert "is still unverified after 10 s" in str(error)
    assert not error.challenge_failed
    assert report.steps[0].status == "unverified"
    assert 1 <= len(sleeps) <= 3
    assert mine(layer)["Webhook Example"]["status"] == "active"


# --- a create whose connection breaks: list before creating again -------------------------------


class _Dropper(http.server.BaseHTTPRequestHandler):
    """Forwards to the emulator, but drops the connection of the first ``POST .../webhooks``,
    before forwarding it (``after`` False) or after (``after`` True)."""

    upstream = ""
    after = False
    dropped: list[str]

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        is_create = self.command == "POST" and self.path.endswith("/webhooks")
        if is_create and not self.dropped and not self.after:
            self.dropped.append(self.path)
            self.close_connection = True
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        answer = requests.request(self.command, self.upstream + self.path, headers=headers, data=body, timeout=10)
        if is_create and not self.dropped:
            self.dropped.append(self.path)
            self.close_connection = True
            return
        self.send_response(answer.status_code)
        for name in ("Content-Type", "Retry-After"):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_DELETE = _forward

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize("after", [False, True], ids=["dropped before Layer saw it", "dropped after Layer created it"])
def test_a_broken_create_is_not_duplicated(layer: LayerEmulator, target: str, after: bool) -> None:
    handler = cast(
        "type[_Dropper]", type("Dropper", (_Dropper,), {"upstream": layer.base_url, "after": after, "dropped": []})
    )
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{proxy.server_port}"
        client = LayerClient(TOKEN, APP, base_url=base, timeout=5, sleep=lambda s: None)
        report = WebhooksServices(client=client).register(SECRET, target, HOOKS[:1], wait_active=True)
    finally:
        proxy.shutdown()
        thread.join(timeout=5)
        proxy.server_close()
    assert handler.dropped == [f"/apps/{APP}/webhooks"]
    assert report.ok, str(report)
    assert [(s.op, s.status) for s in report.steps] == [("create", "active")]
    assert list(mine(layer)) == ["Webhook Example"]
    creates = [r for r in layer.api_requests if r.method == "POST" and r.path.endswith("/webhooks")]
    assert len(creates) == 1


def test_older_field_names_are_read(target: str) -> None:
    with running_emulator(token=TOKEN, app_id=APP, retry_scale=1.0, legacy_fields=True) as old:
        services = WebhooksServices(TOKEN, APP, base_url=old.base_url)
        assert services.register(SECRET, target, HOOKS, wait_active=True).ok
        listed = old.list_webhooks()
        assert "event_types" in listed[0]
        assert "events" not in listed[0]
        report = services.register(SECRET, target, HOOKS)
        assert [a.kind for a in report.actions] == ["unchanged", "unchanged"]
        changed = services.register(SECRET, target, [Hook("Webhook Example", "/new-message", ["message.read"])])
        assert [a.kind for a in changed.actions] == ["out-of-sync"]
