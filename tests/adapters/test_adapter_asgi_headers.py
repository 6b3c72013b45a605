"""The ASGI app converts only the headers the core reads, and hands every response its own list."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

pytest.importorskip("starlette")

from support.payloads import SECRET, load_fixture, signed

from layer_webhooks import Hook, MemoryQueue, Receiver, Request
from layer_webhooks.adapters.asgi import WebhookApp


class Undecodable(bytes):
    """A header value that fails if anything decodes it."""

    def decode(self, *args: Any, **kwargs: Any) -> str:
        raise AssertionError("a header the core never reads was decoded")


def serve(app: Any, request: Request, extra: Sequence[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    headers = [(name.encode(), value.encode()) for name, value in request.headers.items()]
    scope = {"type": "http", "method": "POST", "path": "/hook", "root_path": "", "query_string": b""}
    scope["headers"] = [*extra, *headers]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": request.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def app_for(queue: MemoryQueue) -> WebhookApp:
    return WebhookApp(None, Receiver(SECRET, [Hook("Webhook Example", "/hook", ["message.sent"])], queue))


def test_headers_the_core_does_not_read_are_not_decoded() -> None:
    queue = MemoryQueue()
    noise = [(b"user-agent", Undecodable(b"wrk")), (b"x-forwarded-for", Undecodable(b"10.0.0.1"))]
    sent = serve(app_for(queue), signed(load_fixture("message.sent")), noise)
    assert sent[0]["status"] == 200
    assert len(queue.pending()) == 1


def test_header_names_in_any_case_are_read() -> None:
    request = signed(load_fixture("message.sent"))
    upper = Request("POST", "/hook", "", {k.upper(): v for k, v in request.headers.items()}, request.body)
    assert serve(app_for(MemoryQueue()), upper, [])[0]["status"] == 200


def test_a_middleware_that_adds_to_a_response_s_headers_changes_that_response_only() -> None:
    app = app_for(MemoryQueue())

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        async def adding(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"].append((b"x-added", b"1"))  # as Starlette's MutableHeaders does
            await send(message)

        await app(scope, receive, adding)

    for event_id in ("e1", "e2"):
        payload = load_fixture("message.sent")
        payload["event"]["id"] = event_id
        [start, _] = serve(outer, signed(payload), [])
        assert [name for name, _ in start["headers"]].count(b"x-added") == 1
