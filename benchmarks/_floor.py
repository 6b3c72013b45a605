"""The raw floor: the least one Python process can do to acknowledge a webhook, bare or durably.

Run:  python benchmarks/_floor.py --port 8000 [--mode durable] [--redis redis://127.0.0.1:6379/0]
      [--key floor.jobs] [--secret "benchmark secret"]

One process, one thread: uvloop's event loop and httptools' HTTP parser driven directly (an
``asyncio.Protocol`` around ``httptools.HttpRequestParser``), no framework, no ASGI, no
library code. ``--mode bare`` answers 200 once it has read the whole body. ``--mode durable``
checks the body's HMAC-SHA1 against ``Layer-Webhook-Signature`` (401 when it does not match),
``json.loads`` it, and answers 200 only once the body is in a Redis list: the requests that
arrive while a write is in flight go into the next write, one ``LPUSH key body body ...`` over a
single connection speaking RESP directly (group commit: one round trip per batch, never a
second write in flight). A Redis error answers 503. Any path is accepted.

The benchmarks (``bench_http``, ``bench_huey``) start it beside the servers they measure and print
its figures as the ceiling of each row: what the library's path costs is the distance to it.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
from collections import deque
from urllib.parse import urlsplit

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK"
DENIED = b"HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\ndenied"
UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nretry"
BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad"


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


class Redis(asyncio.Protocol):
    """One Redis connection doing grouped ``LPUSH``: a batch in flight, the next one filling."""

    def __init__(self, key: bytes) -> None:
        self.key = _bulk(key)
        self.transport: asyncio.Transport | None = None
        self.filling: list[tuple[bytes, HTTP]] = []
        self.flying: list[tuple[bytes, HTTP]] | None = None
        self.reply = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not asyncio.Transport

    def push(self, body: bytes, http: HTTP) -> None:
        self.filling.append((body, http))
        if self.flying is None:
            self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.flying, self.filling = self.filling, []
        parts = [b"*%d\r\n$5\r\nLPUSH\r\n" % (len(self.flying) + 2), self.key]
        parts.extend(_bulk(body) for body, _ in self.flying)
        self.transport.write(b"".join(parts))

    def data_received(self, data: bytes) -> None:
        self.reply += data
        if not self.reply.endswith(b"\r\n") or self.flying is None:
            return
        answer = OK if self.reply.startswith(b":") else UNAVAILABLE
        done, self.flying, self.reply = self.flying, None, b""
        for _, http in done:
            http.answer(answer)
        if self.filling:
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        for _, http in [*(self.flying or []), *self.filling]:
            http.answer(UNAVAILABLE)
        self.flying, self.filling = None, []
        asyncio.get_running_loop().stop()


class HTTP(asyncio.Protocol):
    """One client connection: parse with httptools, answer in order."""

    def __init__(self, redis: Redis | None, secret: bytes) -> None:
        import httptools

        self.redis, self.secret = redis, secret
        self.parser = httptools.HttpRequestParser(self)
        self.error = httptools.HttpParserError
        self.transport: asyncio.Transport | None = None
        self.chunks: list[bytes] = []
        self.signature = b""
        # Answers owed, in request order: None while a request's write is in flight.
        self.owed: deque[bytes | None] = deque()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not asyncio.Transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except self.error:
            assert self.transport is not None
            self.transport.write(BAD)
            self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.chunks, self.signature = [], b""

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) == 23 and name.lower() == b"layer-webhook-signature":
            self.signature = value

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        body = b"".join(self.chunks)
        if self.redis is None:
            self._owe(OK)
            return
        try:
            good = hmac.compare_digest(hmac.digest(self.secret, body, "sha1"), bytes.fromhex(self.signature.decode()))
        except ValueError:
            good = False
        if not good:
            self._owe(DENIED)
            return
        try:
            json.loads(body)
        except ValueError:
            self._owe(BAD)
            return
        self.owed.append(None)
        self.redis.push(body, self)

    def _owe(self, answer: bytes) -> None:
        self.owed.append(answer)
        self._flush()

    def answer(self, answer: bytes) -> None:
        """The write of one of this connection's requests ended (the oldest one in flight)."""
        self.owed[self.owed.index(None)] = answer
        self._flush()

    def _flush(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        while self.owed and self.owed[0] is not None:
            self.transport.write(self.owed.popleft())  # type: ignore[arg-type]
        if not self.owed and not self.parser.should_keep_alive():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve(port: int, mode: str, redis_url: str, key: str, secret: str) -> None:
    loop = asyncio.get_running_loop()
    redis: Redis | None = None
    if mode == "durable":
        url = urlsplit(redis_url)
        _, redis = await loop.create_connection(
            lambda: Redis(key.encode()), url.hostname or "127.0.0.1", url.port or 6379
        )
        database = (url.path or "/0").strip("/") or "0"
        if database != "0":
            raise SystemExit("the floor server writes to database 0 only")
    server = await loop.create_server(lambda: HTTP(redis, secret.encode()), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["bare", "durable"], default="durable")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--key", default="floor.jobs")
    parser.add_argument("--secret", default="benchmark secret")
    args = parser.parse_args()
    try:
        import httptools  # noqa: F401
        import uvloop
    except ImportError as exc:
        need = "pip install 'uvicorn[standard]'"
        raise SystemExit(f"the floor server needs uvloop and httptools ({need}): {exc}") from exc
    uvloop.run(serve(args.port, args.mode, args.redis, args.key, args.secret))


if __name__ == "__main__":
    main()
