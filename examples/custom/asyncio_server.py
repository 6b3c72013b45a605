"""Layer's webhooks on a raw ``asyncio`` server: HTTP/1.1 parsed by hand, ``Receiver.handle_async``.

Run from the checkout root::

    python3 -m examples.custom.asyncio_server 8000

One request per connection (``Connection: close``); enough for Layer, which sends one delivery
per request. A sketch of what an adapter must do, not a general HTTP server.
"""

from __future__ import annotations

import asyncio
import sys
from http import HTTPStatus

from layer_webhooks import Hook, MemoryQueue, Receiver, Request, Response

queue = MemoryQueue()
receiver = Receiver("my webhook secret", [Hook("Webhook Example", "/new-message", ["message.sent"])], queue)


async def read_request(reader: asyncio.StreamReader) -> Request | Response:
    """The request on ``reader``, or the error answer to send instead."""
    head = await reader.readuntil(b"\r\n\r\n")
    start, *lines = head.decode("latin-1").split("\r\n")[:-2]
    method, target, _version = start.split(" ", 2)
    headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines)]
    length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
    if length > receiver.max_body_bytes:
        return Response.text(413, "body too large\n")
    path, _, query = target.partition("?")
    return Request(method, path, query, headers, await reader.readexactly(length))


async def serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read one request, answer it, close the connection."""
    try:
        request = await read_request(reader)
        answer = await receiver.handle_async(request) if isinstance(request, Request) else request
        response = answer or Response.text(404, "not found\n")
        headers = [(k, v) for k, v in response.headers if k.lower() not in ("content-length", "connection")]
        lines = [f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}"]
        lines += [f"{k}: {v}" for k, v in headers]
        lines += [f"Content-Length: {len(response.body)}", "Connection: close", "", ""]
        writer.write("\r\n".join(lines).encode("latin-1") + response.body)
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    finally:
        writer.close()


async def main(port: int = 8000) -> None:
    """Serve until cancelled."""
    server = await asyncio.start_server(serve_one, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    queue.process("Webhook Example", lambda job: print(job.data["message"]["parts"][0]["body"]))
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000))
