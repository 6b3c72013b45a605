"""What only the WSGI middleware does: bounded body reads, mounting, 404 without an app.

The answers of the core through it are in test_contract_adapters.py.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

pytest.importorskip("werkzeug")

from support.payloads import SECRET, compact, load_fixture, signed
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client, EnvironBuilder, run_wsgi_app

from layer_webhooks import Hook, MemoryQueue, Receiver
from layer_webhooks.adapters.wsgi import WebhookMiddleware

LIMIT = 4096


class Endless(io.RawIOBase):
    """A request body that never ends (or ends after ``size`` bytes), counting what is read."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = len(buffer) if self.size is None else min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b"x" * n
        self.read_bytes += n
        return n


@pytest.fixture
def queue() -> MemoryQueue:
    return MemoryQueue()


@pytest.fixture
def middleware(queue: MemoryQueue) -> WebhookMiddleware:
    receiver = Receiver(SECRET, [Hook("Webhook Example", "/hook", ["message.sent"])], queue, max_body_bytes=LIMIT)
    return WebhookMiddleware(None, receiver)


def call(app: Any, body: io.RawIOBase | io.BytesIO, length: int | None, **builder: Any) -> tuple[str, bytes]:
    """Call ``app`` with ``body`` as wsgi.input; without ``length``, as a server that dechunks."""
    environ = EnvironBuilder(method="POST", **builder).get_environ()
    environ["wsgi.input"] = body
    environ.pop("CONTENT_LENGTH", None)
    if length is None:
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(length)
    answer, status, _ = run_wsgi_app(app, environ)
    return status, b"".join(answer)


def test_other_paths_are_404_without_an_app(middleware: WebhookMiddleware) -> None:
    response = Client(middleware).post("/elsewhere", data=b"abc")
    assert response.status_code == 404


def test_chunked_delivery_without_content_length_is_read(middleware: WebhookMiddleware, queue: MemoryQueue) -> None:
    request = signed(load_fixture("message.sent"))
    headers = {**request.headers, "Transfer-Encoding": "chunked"}
    status, _ = call(middleware, io.BytesIO(request.body), None, path="/hook", headers=headers)
    assert status == "200 OK"
    assert [job.name for job in queue.pending()] == ["Webhook Example"]


@pytest.mark.parametrize("declared", [None, 5 * 1024 * 1024])
def test_an_oversized_body_is_read_no_further_than_the_limit(
    middleware: WebhookMiddleware, declared: int | None
) -> None:
    stream = Endless(declared)
    status, body = call(middleware, stream, declared, path="/hook", content_type="application/json")
    assert status == "413 Request Entity Too Large"
    assert body.startswith(b"body larger than")
    assert LIMIT < stream.read_bytes <= LIMIT + 1


def test_a_client_that_disconnects_mid_body_gets_400(middleware: WebhookMiddleware, queue: MemoryQueue) -> None:
    body = compact(load_fixture("message.sent"))
    status, _ = call(middleware, io.BytesIO(body[:-10]), len(body), path="/hook", content_type="application/json")
    assert status.startswith("400")
    assert queue.pending() == []


def test_mounted_below_a_prefix_matches_path_info(middleware: WebhookMiddleware) -> None:
    client = Client(DispatcherMiddleware(WebhookMiddleware(None, middleware.receiver), {"/layer": middleware}))
    assert client.get("/layer/hook?verification_challenge=c1").get_data() == b"c1"
    # The hook path above the mount point is not the hook.
    assert client.get("/layer/layer/hook?verification_challenge=c1").status_code == 404
    assert client.get("/hook?verification_challenge=c2").get_data() == b"c2"


def test_headers_are_read_as_werkzeug_reads_them(middleware: WebhookMiddleware, queue: MemoryQueue) -> None:
    # Some servers also put the CGI headers under HTTP_*: the CGI ones are the real ones.
    request = signed(load_fixture("message.sent"))
    environ = EnvironBuilder(
        "/hook", method="POST", headers=list(request.headers.items()), data=request.body
    ).get_environ()
    environ = {"HTTP_CONTENT_TYPE": "text/plain", **environ}
    assert environ["CONTENT_TYPE"].startswith("application/vnd.layer.webhooks+json")
    _, status, _ = run_wsgi_app(middleware, environ)
    assert status == "200 OK"
    assert [job.name for job in queue.pending()] == ["Webhook Example"]
