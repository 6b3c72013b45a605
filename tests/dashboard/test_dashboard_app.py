"""The operator's page as an ASGI app, through Starlette's TestClient: what it shows, what it
never shows, and who may act."""

from __future__ import annotations

import argparse
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from layer_webhooks import ConfigurationError, Hook, Job, LayerAPIError, MemoryQueue, WebhooksServices
from layer_webhooks.dashboard import Dashboard
from layer_webhooks.testing import signed_request

TOKEN, SECRET = "dashboard token 123", "dashboard secret"
ORIGIN = {"Origin": "http://testserver"}


def fail(job: Job) -> None:
    raise RuntimeError(f"planned failure of {job.id}")


@pytest.fixture
def services() -> WebhooksServices:
    services = WebhooksServices(queue=MemoryQueue())
    services.listen(SECRET, [Hook("Webhook Example", "/hook", ["message.sent"])])
    services.process("Webhook Example", attempts=1)(fail)
    services.queue.enqueue("Webhook Example", {"n": 1}, job_id="dead-1")
    services.queue.enqueue("Webhook Example", {"n": 2}, job_id="dead-2")
    assert isinstance(services.queue, MemoryQueue)
    services.queue.run_due()
    services.queue.enqueue("Other", {"n": 3}, job_id="waiting", delay=3600)
    return services


@pytest.fixture
def client(services: WebhooksServices) -> Iterator[TestClient]:
    with TestClient(Dashboard(services, token=TOKEN), follow_redirects=True) as test_client:
        yield test_client


def sign_in(client: TestClient) -> None:
    answer = client.post("/login", data={"token": TOKEN}, headers=ORIGIN, follow_redirects=False)
    assert answer.status_code == 303
    assert "HttpOnly" in answer.headers["set-cookie"]
    assert "SameSite=strict" in answer.headers["set-cookie"]
    assert TOKEN not in answer.headers["set-cookie"]


def test_the_page_shows_jobs_and_never_the_token(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    html = page.text
    assert "Dead jobs (2)" in html
    assert "RuntimeError(&#x27;planned failure of dead-1&#x27;)" in html
    assert "Pending jobs (1)" in html
    assert "<td>waiting</td><td>Other</td><td>1</td>" in html
    assert html.count("disabled") == 4  # both buttons of both dead jobs, until signed in
    assert "Not shown: give the dashboard WebhooksServices(token, app_id)" in html
    assert TOKEN not in html
    assert SECRET not in html


def test_replay_and_discard_need_a_session_from_the_same_origin(client: TestClient, services: WebhooksServices) -> None:
    assert client.post("/jobs/replay", data={"job_id": "dead-1"}, headers=ORIGIN).status_code == 403
    wrong = client.post("/login", data={"token": "guess"}, headers=ORIGIN)
    assert (wrong.status_code, "not the dashboard&#x27;s token" in wrong.text) == (403, True)
    assert client.post("/login", data={"token": TOKEN}, headers={"Origin": "http://evil.test"}).status_code == 403
    sign_in(client)
    assert "disabled" not in client.get("/").text
    assert (
        client.post("/jobs/replay", data={"job_id": "dead-1"}, headers={"Origin": "http://evil.test"}).status_code
        == 403
    )
    assert client.post("/jobs/replay", data={"job_id": "dead-1"}).status_code == 403  # no Origin, no Referer
    assert client.post("/jobs/erase", data={"job_id": "dead-1"}, headers=ORIGIN).status_code == 404
    assert [d.job.id for d in services.queue.dead_letters()] == ["dead-1", "dead-2"]  # type: ignore[attr-defined]

    replayed = client.post("/jobs/replay", data={"job_id": "dead-1"}, headers=ORIGIN)
    assert replayed.status_code == 200  # after the redirect to the page
    assert '<p class="notice" id="notice">Job dead-1 was queued again from attempt 1.</p>' in replayed.text
    assert "Dead jobs (1)" in replayed.text
    assert "Pending jobs (2)" in replayed.text
    referer = {"Referer": "http://testserver/?notice=x"}
    discarded = client.post("/jobs/discard", data={"job_id": "dead-2"}, headers=referer)
    assert "Job dead-2 was discarded." in discarded.text
    again = client.post("/jobs/discard", data={"job_id": "dead-2"}, headers=ORIGIN)
    assert "Job dead-2 was not discarded" in again.text
    queue: Any = services.queue
    assert queue.dead_letters() == []
    assert sorted(job.id for job in queue.pending()) == ["dead-1", "waiting"]
    assert client.get("/?notice=made-up").text.count('id="notice"') == 0
    client.post("/logout", headers=ORIGIN)
    assert client.post("/jobs/discard", data={"job_id": "x"}, headers=ORIGIN).status_code == 403


def test_the_last_deliveries_with_their_answers(client: TestClient, services: WebhooksServices) -> None:
    (receiver,) = services.receivers
    assert receiver.recent is not None and receiver.recent.maxlen == 50  # turned on by the dashboard
    from layer_webhooks.testing import make_event

    good = signed_request(make_event("message.sent", event_id="event-good"), SECRET)
    forged = signed_request(make_event("message.sent", event_id="event-forged"), "wrong secret")
    receiver.handle(good)
    receiver.handle(forged)
    from layer_webhooks import Request

    receiver.handle(Request("GET", "/hook", "verification_challenge=abc"))
    html = client.get("/").text
    rows = re.findall(r"<tr><td>[^<]*</td><td>(GET|POST)</td><td>/hook</td><td>([^<]*)</td><td>([^<]*)</td>"
                      r'<td class="(?:ok|bad)">(\d+)</td>', html)  # fmt: skip
    assert rows == [
        ("GET", "verification challenge", "-", "200"),
        ("POST", "message.sent", "event-forged", "403"),
        ("POST", "message.sent", "event-good", "200"),
    ]
    assert good.headers["layer-webhook-signature"] not in html
    assert forged.headers["layer-webhook-signature"] not in html


class Listed:
    """A client stand-in: ``webhooks.list()`` answers these, or raises."""

    def __init__(self, webhooks: list[dict[str, Any]] | None) -> None:
        self.webhooks, self._answer = self, webhooks

    def list(self) -> list[dict[str, Any]]:
        if self._answer is None:
            raise LayerAPIError(401, 4, "authentication_required", "token <token> refused")
        return self._answer


def test_webhooks_and_their_status_without_secrets(services: WebhooksServices) -> None:
    webhook = {"id": "layer:///apps/a/webhooks/w-1", "status": "inactive", "status_reason": "verification failed",
               "target_url": "https://x.test/hook", "events": ["message.sent"], "config": {"name": "Webhook Example"},
               "secret": "never shown"}  # fmt: skip
    with TestClient(Dashboard(services, token=TOKEN, client=Listed([webhook]))) as client:  # type: ignore[arg-type]
        html = client.get("/").text
    assert '<td>Webhook Example</td><td class="bad">inactive</td><td>verification failed</td>' in html
    assert "<td>w-1</td>" in html
    assert "never shown" not in html
    with TestClient(Dashboard(services, token=TOKEN, client=Listed(None))) as client:  # type: ignore[arg-type]
        assert "Layer could not be asked: Layer API error 401" in client.get("/").text
    with TestClient(Dashboard(services, token=TOKEN, client=Listed([]))) as client:  # type: ignore[arg-type]
        assert "No webhooks are registered for this app." in client.get("/").text


def test_mounted_under_a_prefix(services: WebhooksServices) -> None:
    app = Starlette(routes=[Mount("/ops", app=Dashboard(services.queue, token=TOKEN))])  # type: ignore[arg-type]
    with TestClient(app) as client:
        html = client.get("/ops/").text
        assert 'action="/ops/jobs/replay"' in html
        assert "No receiver serves in this process" in html
        answer = client.post("/ops/login", data={"token": TOKEN}, headers=ORIGIN, follow_redirects=False)
        assert answer.headers["location"].startswith("/ops/?notice=")
        assert "Path=/ops" in answer.headers["set-cookie"]


def test_what_a_dashboard_refuses() -> None:
    with pytest.raises(ConfigurationError, match="token"):
        Dashboard(MemoryQueue(), token="")
    with pytest.raises(ConfigurationError, match="source: expected services"):
        Dashboard(object(), token=TOKEN)  # type: ignore[arg-type]
    assert repr(Dashboard(MemoryQueue(), token=TOKEN)).startswith("Dashboard(MemoryQueue(")


def test_the_dashboard_command_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, services: WebhooksServices,
                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    pytest.importorskip("werkzeug")
    import requests
    from support.emulator import running_emulator
    from support.redis_server import free_port

    from layer_webhooks.cli import _dashboard

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ops_app.py").write_text("from layer_webhooks import MemoryQueue\nqueue = MemoryQueue()\n")
    port, stop = free_port(), threading.Event()
    http = requests.Session()
    http.trust_env = False
    with running_emulator() as layer:
        args = argparse.Namespace(target="ops_app:queue", host="127.0.0.1", port=port, dashboard_token=None,
                                  token=layer.token, app_id=layer.app_id, base_url=layer.base_url)  # fmt: skip
        thread = threading.Thread(target=_dashboard.run, args=(args, stop))
        thread.start()
        try:
            page = layer.wait_for(lambda: _page(http, f"http://127.0.0.1:{port}/"), timeout=10)
            assert page.status_code == 200
            assert "No webhooks are registered for this app." in page.text
            refused = http.post(f"http://127.0.0.1:{port}/jobs/replay", data={"job_id": "x"}, timeout=5)
            assert refused.status_code == 403
        finally:
            stop.set()
            thread.join(10)
    out = capsys.readouterr().out
    token = out.split("sign in with it to replay or discard): ", 1)[1].strip()
    assert len(token) >= 16
    assert token not in page.text


def _page(http: Any, url: str) -> Any:
    import requests

    try:
        return http.get(url, timeout=5)
    except requests.ConnectionError:
        return None


def test_a_receiver_keeps_its_last_answers_when_asked() -> None:
    import asyncio

    from layer_webhooks import Receiver, Request
    from layer_webhooks.testing import make_event

    clock = iter(range(100, 200))
    hooks = [Hook("Webhook Example", "/hook", ["message.sent"])]
    assert Receiver(SECRET, hooks, MemoryQueue()).recent is None  # by default, nothing is kept
    receiver = Receiver(SECRET, hooks, MemoryQueue(), recent=2, now=lambda: float(next(clock)))
    receiver.handle(Request("GET", "/elsewhere"))  # not a hook path: not answered, not kept
    for event_id in ("one", "two"):
        receiver.handle(signed_request(make_event("message.sent", event_id=event_id), SECRET))
    asyncio.run(receiver.handle_async(signed_request(make_event("message.sent", event_id="three"), SECRET)))
    assert receiver.recent is not None
    assert [(a.event_id, a.status, a.path, a.method, a.event_type) for a in receiver.recent] == [
        ("two", 200, "/hook", "POST", "message.sent"),
        ("three", 200, "/hook", "POST", "message.sent"),
    ]
    assert receiver.recent[0].at < receiver.recent[1].at
    long = signed_request(make_event("message.sent", event_id="x" * 500), SECRET)
    receiver.handle(long)
    assert receiver.recent[-1].event_id == "x" * 200  # what a sender writes is kept short
    with pytest.raises(ConfigurationError, match="recent must be an int >= 0"):
        Receiver(SECRET, hooks, MemoryQueue(), recent=-1)


def test_services_remember_their_receivers() -> None:
    services = WebhooksServices()
    first = services.listen(SECRET, [Hook("A", "/a", ["message.sent"])])
    second = services.listen(SECRET, [Hook("B", "/b", ["message.sent"])], recent=5)
    assert services.receivers == [first, second]
    assert second.recent is not None and second.recent.maxlen == 5
