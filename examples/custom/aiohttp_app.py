"""Layer's webhooks in an aiohttp app: one catch-all route hands requests to the core.

Run from the checkout root (``python3 -m pip install aiohttp``)::

    python3 -m examples.custom.aiohttp_app 8000
"""

from __future__ import annotations

import sys

from aiohttp import web

from layer_webhooks import Hook, MemoryQueue, Receiver, Request

queue = MemoryQueue()
receiver = Receiver("my webhook secret", [Hook("Webhook Example", "/new-message", ["message.sent"])], queue)


async def layer(request: web.Request) -> web.StreamResponse:
    """Answer a hook path with the core; anything else is 404 (your routes go before this one)."""
    if not receiver.owns(request.path):
        raise web.HTTPNotFound()
    if (request.content_length or 0) > receiver.max_body_bytes:
        raise web.HTTPRequestEntityTooLarge(receiver.max_body_bytes, request.content_length or 0)
    body = await request.read()
    core = Request(request.method, request.path, request.query_string, request.headers.items(), body)
    response = await receiver.handle_async(core)
    assert response is not None  # owns(path) holds
    headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
    return web.Response(status=response.status, headers=headers, body=response.body)


def make_app() -> web.Application:
    """The aiohttp application (``client_max_size`` above the core's own limit, which answers 413)."""
    app = web.Application(client_max_size=receiver.max_body_bytes + 1)
    app.router.add_route("*", "/{tail:.*}", layer)
    return app


if __name__ == "__main__":
    queue.process("Webhook Example", lambda job: print(job.data["message"]["parts"][0]["body"]))
    web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
