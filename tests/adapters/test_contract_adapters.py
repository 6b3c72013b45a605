"""One contract, both adapters: every answer of the receiving core, through each host's harness.

Each test runs against the WSGI middleware (werkzeug ``Client``) and the ASGI middleware
(Starlette ``TestClient``), at the server root and mounted below ``/layer`` (``SCRIPT_NAME``,
``root_path``). A parameter whose extra is not installed is skipped, so the ``wsgi`` and
``asgi`` tox envs each run their half.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from support.payloads import SECRET, compact, load_fixture, signed

from layer_webhooks import Hook, Job, MemoryQueue, QueueError, Receiver, sign

LIMIT = 64 * 1024
PREFIX = "/layer"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


#: (method, path, query, headers, body) -> Reply; the path is below the mount point.
Send = Callable[[str, str, str, Iterable[tuple[str, str]], bytes], Reply]


@dataclass
class FlakyQueue:
    """A real MemoryQueue behind a switch that makes it refuse jobs, as a Redis outage would."""

    inner: MemoryQueue = field(default_factory=MemoryQueue)
    failing: bool = False

    def enqueue(self, name: str, data: Any, *, delay: float = 0.0, job_id: str | None = None) -> None:
        if self.failing:
            raise QueueError("queue is down")
        self.inner.enqueue(name, data, delay=delay, job_id=job_id)

    def process(self, name: str, handler: Any, *, attempts: int = 10, backoff: float = 10.0) -> None:
        self.inner.process(name, handler, attempts=attempts, backoff=backoff)

    def pending(self) -> list[Job]:
        return self.inner.pending()


# -- the wrapped apps: they answer with what reached them, body included ------------------------


def wsgi_echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"app {environ['REQUEST_METHOD']} {environ['PATH_INFO']} {len(body)}".encode()]


async def asgi_echo(scope: MutableMapping[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    assert scope["type"] == "http"
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    root = scope.get("root_path", "")
    path = scope["path"][len(root) :] if scope["path"].startswith(root) else scope["path"]
    text = f"app {scope['method']} {path} {len(body)}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": text})


# -- one driver per adapter ---------------------------------------------------------------------


def wsgi_driver(receiver: Receiver, prefix: str) -> Send:
    pytest.importorskip("werkzeug")
    from werkzeug.exceptions import ImATeapot
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client

    from layer_webhooks.adapters.wsgi import WebhookMiddleware

    app: Any = WebhookMiddleware(wsgi_echo, receiver)
    if prefix:
        app = DispatcherMiddleware(ImATeapot(), {prefix: app})
    client = Client(app)

    def send(method: str, path: str, query: str, headers: Iterable[tuple[str, str]], body: bytes) -> Reply:
        r = client.open(prefix + path, method=method, query_string=query, headers=list(headers), data=body)
        return Reply(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_data())

    return send


def asgi_driver(receiver: Receiver, prefix: str) -> Send:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.routing import Mount, Router
    from starlette.testclient import TestClient

    from layer_webhooks.adapters.asgi import WebhookMiddleware

    app: Any = WebhookMiddleware(asgi_echo, receiver)
    if prefix:
        app = Router(routes=[Mount(prefix, app=app)])
    client = TestClient(app)

    def send(method: str, path: str, query: str, headers: Iterable[tuple[str, str]], body: bytes) -> Reply:
        url = prefix + path + (f"?{query}" if query else "")
        r = client.request(method, url, headers=list(headers), content=body)
        return Reply(r.status_code, dict(r.headers), r.content)

    return send


DRIVERS = {"wsgi": wsgi_driver, "asgi": asgi_driver}


@pytest.fixture
def queue() -> FlakyQueue:
    return FlakyQueue()


@pytest.fixture
def receiver(queue: FlakyQueue) -> Receiver:
    hooks = [
        Hook("Webhook Example", "/hook", ["message.sent"]),
        Hook("Conversations", "/conversations", ["conversation.created"]),
        Hook("Also on conversations", "/conversations", ["conversation.created", "conversation.deleted"]),
    ]
    return Receiver(SECRET, hooks, queue, max_body_bytes=LIMIT)


@pytest.fixture(params=["wsgi", "wsgi-mounted", "asgi", "asgi-mounted"])
def send(request: pytest.FixtureRequest, receiver: Receiver) -> Send:
    adapter, _, mounted = request.param.partition("-")
    return DRIVERS[adapter](receiver, PREFIX if mounted else "")


def event(name: str = "message.sent", **changes: Any) -> dict[str, Any]:
    payload = load_fixture(name)
    payload["event"]["id"] = str(uuid.uuid4())
    payload.update(changes)
    return payload


def deliver(send: Send, payload: dict[str, Any] | bytes, path: str = "/hook", **options: Any) -> Reply:
    request = signed(payload, path=path, **options)
    return send(request.method, path, "", request.headers.items(), request.body)


def names(queue: FlakyQueue) -> list[str]:
    return [job.name for job in queue.pending()]


# -- verification challenge (layer-protocol.md §2) ----------------------------------------------


def test_challenge_is_echoed_as_plain_text(send: Send) -> None:
    reply = send("GET", "/hook", "verification_challenge=a%3Cb%3E1", (), b"")
    assert reply.status == 200
    assert reply.body == b"a<b>1"
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_get_without_challenge_is_ok(send: Send) -> None:
    reply = send("GET", "/hook/", "", (), b"")
    assert (reply.status, reply.body) == (200, b"OK")


# -- deliveries ---------------------------------------------------------------------------------


def test_signed_delivery_is_queued_then_answered_200(send: Send, queue: FlakyQueue) -> None:
    payload = event()
    reply = deliver(send, payload)
    # No body: servers then send the answer in one TCP segment (headers and body are two writes).
    assert (reply.status, reply.body, reply.headers["content-length"]) == (200, b"", "0")
    (job,) = queue.pending()
    assert job.name == "Webhook Example"
    assert job.data["title"] == "Webhook Example"
    assert job.data["type"] == "message.sent"
    assert job.data["message"] == payload["message"]
    assert job.data["timestamp"] == payload["event"]["created_at"]


def test_every_hook_on_a_path_gets_its_job(send: Send, queue: FlakyQueue) -> None:
    reply = deliver(send, event("conversation.created"), "/conversations")
    assert reply.status == 200
    assert sorted(names(queue)) == ["Also on conversations", "Conversations"]


@pytest.mark.parametrize(
    ("options", "status"),
    [
        ({"signature": "0" * 40}, 403),
        ({"secret": "another secret"}, 403),
        ({"signature": "not hex"}, 403),
        ({"content_type": "text/plain"}, 415),
    ],
)
def test_rejected_deliveries_queue_nothing(send: Send, queue: FlakyQueue, options: dict[str, Any], status: int) -> None:
    reply = deliver(send, event(), **options)
    assert reply.status == status
    assert reply.headers["content-type"].startswith("text/plain")
    assert queue.pending() == []


def test_missing_signature_is_403(send: Send, queue: FlakyQueue) -> None:
    body = compact(event())
    reply = send("POST", "/hook", "", [("Content-Type", "application/json")], body)
    assert reply.status == 403
    assert queue.pending() == []


def test_signed_body_that_is_not_a_json_event_is_400(send: Send, queue: FlakyQueue) -> None:
    for body in (b"{not json", b"[1, 2]", b'{"event": {}}'):
        assert deliver(send, body).status == 400
    assert queue.pending() == []


def test_body_over_the_limit_is_413(send: Send, queue: FlakyQueue) -> None:
    body = compact(event(padding="x" * LIMIT))
    assert len(body) > LIMIT
    assert deliver(send, body).status == 413
    assert queue.pending() == []


def test_body_at_the_limit_is_read_whole(send: Send, queue: FlakyQueue) -> None:
    payload = event(padding="")
    payload["padding"] = "x" * (LIMIT - len(compact(payload)))
    assert len(compact(payload)) == LIMIT
    assert deliver(send, payload).status == 200
    assert names(queue) == ["Webhook Example"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_on_a_hook_path_are_405(send: Send, method: str) -> None:
    reply = send(method, "/hook", "", (), b"")
    assert reply.status == 405
    assert reply.headers["allow"] == "GET, POST"


def test_event_types_a_hook_does_not_take_are_answered_200_and_dropped(send: Send, queue: FlakyQueue) -> None:
    assert deliver(send, event("conversation.created")).status == 200
    assert deliver(send, event("conversation.deleted"), "/conversations").status == 200
    assert names(queue) == ["Also on conversations"]


def test_messages_from_services_are_not_queued(send: Send, queue: FlakyQueue) -> None:
    payload = event()
    payload["message"]["sender"] = {"name": "Echo bot", "user_id": None}
    assert deliver(send, payload).status == 200
    assert queue.pending() == []


def test_a_repeated_delivery_is_queued_once(send: Send, queue: FlakyQueue) -> None:
    payload = event()
    assert [deliver(send, payload).status for _ in range(3)] == [200, 200, 200]
    assert names(queue) == ["Webhook Example"]


def test_failing_queue_is_503_with_retry_after_and_the_retry_gets_through(send: Send, queue: FlakyQueue) -> None:
    payload = event()
    queue.failing = True
    reply = deliver(send, payload)
    assert reply.status == 503
    assert reply.headers["retry-after"] == "10"
    assert queue.pending() == []
    queue.failing = False
    assert deliver(send, payload).status == 200
    assert names(queue) == ["Webhook Example"]


# -- everything else reaches the wrapped app ----------------------------------------------------


def test_other_paths_reach_the_app_with_their_body_unread(send: Send, queue: FlakyQueue) -> None:
    body = b"y" * (LIMIT * 3)  # over the receiver's limit: only the app reads it
    reply = send("POST", "/elsewhere", "a=1", [("Content-Type", "application/octet-stream")], body)
    assert (reply.status, reply.body) == (200, f"app POST /elsewhere {len(body)}".encode())
    assert send("GET", "/hook/deeper", "", (), b"").body == b"app GET /hook/deeper 0"
    assert queue.pending() == []


def test_the_signature_covers_the_exact_bytes_received(send: Send, queue: FlakyQueue) -> None:
    # Pretty-printed JSON with non-ASCII text: re-serialising would change the bytes.
    body = b'{\n  "event": {"type": "message.sent", "id": "%s", "created_at": "x"},\n' % uuid.uuid4().hex.encode()
    body += '  "message": {"sender": {"user_id": "\u00e9t\u00e9"}, "parts": []}\n}'.encode()
    headers = [("Content-Type", "application/json"), ("layer-webhook-signature", sign(body, SECRET))]
    assert send("POST", "/hook", "", headers, body).status == 200
    assert names(queue) == ["Webhook Example"]
