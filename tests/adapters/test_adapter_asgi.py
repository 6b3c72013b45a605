"""What only the ASGI app does: mounting, lifespan, bounded streaming, a free event loop.

The answers of the core through it are in test_contract_adapters.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from support.payloads import SECRET, load_fixture, signed

from layer_webhooks import ConfigurationError, Hook, MemoryQueue, Receiver
from layer_webhooks.adapters.asgi import WebhookApp, WebhookMiddleware

LIMIT = 4096


@pytest.fixture
def queue() -> MemoryQueue:
    return MemoryQueue()


@pytest.fixture
def receiver(queue: MemoryQueue) -> Receiver:
    return Receiver(SECRET, [Hook("Webhook Example", "/hook", ["message.sent"])], queue, max_body_bytes=LIMIT)


async def call(app: Any, scope: dict[str, Any], chunks: list[bytes] | None = None) -> tuple[int, bytes, int]:
    """Run one ASGI request; ``chunks`` None is an endless body. Returns status, body, chunks read."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        if chunks is None:
            return {"type": "http.request", "body": b"x" * 1000, "more_body": True}
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    full = {"type": "http", "method": "POST", "query_string": b"", "headers": [], "root_path": "", **scope}
    await app(full, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]), read


def test_other_paths_are_404_and_websockets_closed_without_an_app(receiver: Receiver) -> None:
    client = TestClient(WebhookApp(None, receiver))
    assert client.post("/elsewhere", content=b"abc").status_code == 404
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/hook"):
        pass


def test_serves_lifespan_alone_and_passes_it_to_the_app(receiver: Receiver) -> None:
    with TestClient(WebhookApp(None, receiver)) as client:  # would raise if lifespan went unanswered
        assert client.get("/hook?verification_challenge=c").text == "c"

    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("home"))], lifespan=lifespan)
    with TestClient(WebhookMiddleware(app, receiver)) as client:
        assert client.get("/").text == "home"
    assert events == ["startup", "shutdown"]


def test_add_middleware_puts_hooks_on_the_apps_own_paths(receiver: Receiver, queue: MemoryQueue) -> None:
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("home"))])
    app.add_middleware(WebhookMiddleware, receiver=receiver)
    client = TestClient(app)
    request = signed(load_fixture("message.sent"))
    assert client.post("/hook", content=request.body, headers=dict(request.headers)).status_code == 200
    assert client.get("/").text == "home"
    assert [job.name for job in queue.pending()] == ["Webhook Example"]


def test_mount_serves_hooks_below_the_prefix_only(receiver: Receiver) -> None:
    client = TestClient(Starlette(routes=[Mount("/layer", app=WebhookApp(None, receiver))]))
    assert client.get("/layer/hook?verification_challenge=c1").text == "c1"
    assert client.get("/layer/layer/hook?verification_challenge=c1").status_code == 404
    assert client.get("/hook?verification_challenge=c1").status_code == 404


@pytest.mark.parametrize(
    ("path", "root_path", "status"),
    [
        ("/layer/hook", "/layer", 200),  # Starlette >= 0.33, uvicorn --root-path: full path
        ("/hook", "/layer", 200),  # older Starlette: the prefix already cut from path
        ("/layerx/hook", "/layer", 404),  # a prefix only at a segment boundary
        ("/layer", "/layer", 404),
    ],
)
def test_both_root_path_conventions(receiver: Receiver, path: str, root_path: str, status: int) -> None:
    scope = {"method": "GET", "path": path, "root_path": root_path, "query_string": b"verification_challenge=z"}
    assert asyncio.run(call(WebhookApp(None, receiver), scope))[0] == status


@pytest.mark.parametrize("declared", [None, 5 * 1024 * 1024])
def test_an_endless_body_is_read_no_further_than_the_limit(receiver: Receiver, declared: int | None) -> None:
    headers = [(b"content-type", b"application/json")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    status, body, read = asyncio.run(call(WebhookApp(None, receiver), {"path": "/hook", "headers": headers}))
    assert status == 413
    assert body.startswith(b"body larger than")
    assert read == LIMIT // 1000 + 1  # 1000-byte chunks: the first one past the limit is the last


def test_a_client_that_disconnects_mid_body_gets_no_answer(receiver: Receiver, queue: MemoryQueue) -> None:
    sent: list[Any] = []
    messages = iter([{"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}])

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/hook", "query_string": b"", "headers": []}
    asyncio.run(WebhookApp(None, receiver)(scope, receive, send))
    assert sent == []
    assert queue.pending() == []


class BlockingQueue(MemoryQueue):
    """A queue with only a blocking ``enqueue`` (no ``enqueue_async``), like a sync Redis client."""

    enqueue_async = None  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.other_request_served = threading.Event()
        self.saw: list[bool] = []

    def enqueue(self, name: str, data: Mapping[str, Any], *, delay: float = 0.0, job_id: str | None = None) -> None:
        # Blocks until the event loop has answered another request: it deadlocks (then times out)
        # if this runs on the loop itself.
        self.saw.append(self.other_request_served.wait(timeout=5))
        super().enqueue(name, data, delay=delay, job_id=job_id)


def test_a_blocking_queue_does_not_block_the_event_loop() -> None:
    queue = BlockingQueue()
    receiver = Receiver(SECRET, [Hook("Webhook Example", "/hook", ["message.sent"])], queue)

    async def other(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("other")(scope, receive, send)
        queue.other_request_served.set()

    app = WebhookMiddleware(other, receiver)
    request = signed(load_fixture("message.sent"))
    hook_scope = {"path": "/hook", "headers": [(k.encode(), v.encode()) for k, v in request.headers.items()]}

    async def both() -> tuple[Any, Any]:
        delivery = asyncio.create_task(call(app, hook_scope, [request.body]))
        await asyncio.sleep(0.05)  # the delivery is now waiting in enqueue
        return await asyncio.gather(delivery, call(app, {"path": "/elsewhere", "method": "GET"}, [b""]))

    (status, _, _), (other_status, other_body, _) = asyncio.run(both())
    assert (status, other_status, other_body) == (200, 200, b"other")
    assert queue.saw == [True]


def test_both_classes_take_app_then_receiver_and_the_old_order_still_works(receiver: Receiver) -> None:
    async def other(scope: Any, receive: Any, send: Any) -> None:
        await PlainTextResponse("other")(scope, receive, send)

    for app in (WebhookApp(other, receiver), WebhookMiddleware(other, receiver), WebhookApp(receiver, other)):
        assert (app.app, app.receiver) == (other, receiver)
        client = TestClient(app)
        assert client.get("/hook?verification_challenge=c").text == "c"
        assert client.get("/elsewhere").text == "other"
    alone = WebhookApp(receiver)  # the 0.1 form of WebhookApp(None, receiver)
    assert (alone.app, alone.receiver) == (None, receiver)
    assert TestClient(alone).get("/elsewhere").status_code == 404


def test_an_app_without_a_receiver_is_refused(receiver: Receiver) -> None:
    with pytest.raises(ConfigurationError, match="Receiver"):
        WebhookApp(None, None)  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="Receiver"):
        WebhookMiddleware(receiver, receiver)  # type: ignore[call-overload]
