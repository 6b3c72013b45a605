"""Two processes registering at the same moment (every worker at start-up) converge on one
webhook per hook: each deletes the twins of what it created but the oldest, which both keep.

Two threads with a client each stand in for two processes (the emulator cannot tell them
apart); a barrier starts their registrations together. Run 20 times, on one emulator.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("werkzeug")

from support.emulator import emulator_fixture
from support.registration import APP, HOOKS, SECRET, TOKEN
from support.wsgi_server import Served

from layer_webhooks import LayerAPIError, LayerClient, MemoryQueue, Receiver, RegistrationReport, WebhooksServices
from layer_webhooks.adapters.wsgi import WebhookMiddleware
from layer_webhooks.testing import LayerEmulator

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

pytestmark = pytest.mark.slow

RUNS = 20

layer = emulator_fixture(token=TOKEN, app_id=APP)


@pytest.fixture
def target() -> Iterator[str]:
    """The base URL of a receiver for HOOKS: it answers the verification challenge."""
    with Served(WebhookMiddleware(None, Receiver(SECRET, HOOKS, MemoryQueue()))) as served:
        yield served.url


def services_for(layer: LayerEmulator) -> WebhooksServices:
    # Polls every 10 ms instead of 200 (register's wait_active sleeps through the client).
    client = LayerClient(TOKEN, APP, base_url=layer.base_url, timeout=5, sleep=lambda s: time.sleep(min(s, 0.01)))
    return WebhooksServices(TOKEN, APP, client=client, run_jobs=False)


def register_together(layer: LayerEmulator, target: str, count: int = 2) -> list[RegistrationReport]:
    barrier = threading.Barrier(count, timeout=10)
    reports: list[RegistrationReport] = []
    failures: list[BaseException] = []
    everyone = [services_for(layer) for _ in range(count)]

    def run(services: WebhooksServices) -> None:
        try:
            barrier.wait()
            reports.append(services.register(SECRET, target, HOOKS, wait_active=True))
        except BaseException as exc:  # re-raised below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(services,)) for services in everyone]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a registration did not finish"
    assert failures == []
    for services in everyone:
        services.client.close()
    return reports


def by_name(webhooks: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(w["config"]["name"]) for w in webhooks)


def test_two_concurrent_registrations_leave_one_webhook_per_hook(layer: LayerEmulator, target: str) -> None:
    cleaner = services_for(layer).client
    for run in range(RUNS):
        reports = register_together(layer, target)
        assert all(report.ok for report in reports), [str(report) for report in reports]
        webhooks = layer.list_webhooks()
        assert by_name(webhooks) == {"Webhook Example": 1, "Conversations": 1}, f"run {run}: {webhooks}"
        assert {w["status"] for w in webhooks} == {"active"}, f"run {run}"
        for webhook in webhooks:
            cleaner.webhooks.delete(webhook["id"])
    cleaner.close()


def test_three_at_once_converge_too_and_a_later_run_changes_nothing(layer: LayerEmulator, target: str) -> None:
    reports = register_together(layer, target, count=3)
    assert all(report.ok for report in reports), [str(report) for report in reports]
    assert by_name(layer.list_webhooks()) == {"Webhook Example": 1, "Conversations": 1}
    again = services_for(layer).register(SECRET, target, HOOKS, wait_active=True)
    assert [a.kind for a in again.actions] == ["unchanged", "unchanged"]
    assert again.steps == []


def interleaved(services: WebhooksServices, layer: LayerEmulator, *, before: bool) -> list[str]:
    """Make another process's create of the same webhook land just before (or just after) this
    one's first create, past its listing: the interleaving two processes can meet."""
    webhooks = services.client.webhooks
    create = webhooks.create
    twins: list[str] = []

    def racing(*args: Any, **kwargs: Any) -> dict[str, Any]:
        body = {"target_url": args[0], "events": args[1], "secret": args[2], "config": args[3]} if args else kwargs
        if not twins and before:
            twins.append(layer.create_webhook(body["target_url"], body["events"], SECRET, config=body["config"])["id"])
            time.sleep(0.005)  # Layer's created_at has milliseconds: make the order certain
        made = create(*args, **kwargs)
        if not twins:
            time.sleep(0.005)
            twins.append(layer.create_webhook(body["target_url"], body["events"], SECRET, config=body["config"])["id"])
        return made

    webhooks.create = racing  # type: ignore[method-assign]
    return twins


def test_a_twin_created_first_elsewhere_is_kept_and_this_one_deleted(layer: LayerEmulator, target: str) -> None:
    services = services_for(layer)
    twins = interleaved(services, layer, before=True)
    report = services.register(SECRET, target, HOOKS[:1], wait_active=True)
    assert report.ok, str(report)
    [webhook] = layer.list_webhooks()
    assert [webhook["id"]] == twins
    assert [(s.op, s.status) for s in report.steps] == [("create", None), ("delete", None), ("keep", "active")]
    assert report.steps[0].webhook_id == report.steps[1].webhook_id != webhook["id"]
    assert report.webhooks["Webhook Example"]["id"] == webhook["id"]
    assert "keep" in str(report)


def test_a_twin_created_after_this_one_is_deleted(layer: LayerEmulator, target: str) -> None:
    services = services_for(layer)
    twins = interleaved(services, layer, before=False)
    report = services.register(SECRET, target, HOOKS[:1], wait_active=True)
    assert report.ok, str(report)
    [webhook] = layer.list_webhooks()
    assert webhook["id"] != twins[0]
    assert [(s.op, s.webhook_id) for s in report.steps] == [("delete", twins[0]), ("create", webhook["id"])]


@pytest.mark.parametrize("twin", [True, False])
def test_a_webhook_deleted_while_waiting_hands_over_to_its_twin(layer: LayerEmulator, twin: bool) -> None:
    # Another process that saw an older twin deletes this one while it is being waited on.
    # The target holds the challenges until then, so that the wait cannot be over before.
    opened = threading.Event()
    receiver = WebhookMiddleware(None, Receiver(SECRET, HOOKS, MemoryQueue()))

    def gated(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        opened.wait(10)
        return receiver(environ, start_response)

    services = services_for(layer)
    webhooks = services.client.webhooks
    get = webhooks.get
    twins: list[str] = []

    def deleted_meanwhile(webhook_id: str) -> dict[str, Any]:
        if not twins:
            [mine] = layer.list_webhooks()
            made = layer.create_webhook(mine["target_url"], mine["events"], SECRET, config=mine["config"])
            twins.append(made["id"])
            if not twin:  # someone deleted it, and no twin is left to wait on
                layer.delete_webhook(made["id"])
            layer.delete_webhook(mine["id"])
            opened.set()
        return get(webhook_id)

    webhooks.get = deleted_meanwhile  # type: ignore[method-assign]
    with Served(gated) as served:
        report = services.register(SECRET, served.url, HOOKS[:1], wait_active=True)
        opened.set()
    if not twin:
        [error] = report.errors
        assert error.cause is not None
        assert error.cause.status == 404
        assert "could not read the status" in str(error)
        assert layer.list_webhooks() == []
        return
    assert report.ok, str(report)
    assert [w["id"] for w in layer.list_webhooks()] == twins
    assert report.webhooks["Webhook Example"]["id"] == twins[0]
    assert report.webhooks["Webhook Example"]["status"] == "active"


def test_a_listing_that_fails_after_the_create_leaves_the_create_as_it_is(
    layer: LayerEmulator, target: str, caplog: pytest.LogCaptureFixture
) -> None:
    services = services_for(layer)
    webhooks = services.client.webhooks
    listing = webhooks.list
    calls: list[int] = []

    def second_fails() -> list[dict[str, Any]]:
        calls.append(1)
        if len(calls) == 2:
            raise LayerAPIError(503, message="unavailable", request="GET /webhooks")
        return listing()

    webhooks.list = second_fails  # type: ignore[method-assign]
    report = services.register(SECRET, target, HOOKS[:1], wait_active=True)
    assert report.ok, str(report)
    assert len(layer.list_webhooks()) == 1
    assert "twins are not looked for" in caplog.text


def test_a_twin_that_cannot_be_deleted_is_left_and_said(
    layer: LayerEmulator, target: str, caplog: pytest.LogCaptureFixture
) -> None:
    services = services_for(layer)
    twins = interleaved(services, layer, before=True)

    def refused(webhook_id: str) -> None:
        raise LayerAPIError(500, message="no", request=f"DELETE {webhook_id}")

    services.client.webhooks.delete = refused  # type: ignore[method-assign]
    report = services.register(SECRET, target, HOOKS[:1], wait_active=True)
    assert report.ok, str(report)
    assert len(layer.list_webhooks()) == 2  # both left: the next registration tries again
    assert report.webhooks["Webhook Example"]["id"] == twins[0]
    assert [(s.op, s.status) for s in report.steps] == [("create", "unverified"), ("keep", "active")]
    assert "could not delete" in caplog.text
