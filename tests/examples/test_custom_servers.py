"""examples/custom/: the core served without Werkzeug or Starlette, each over real HTTP.

For each server: a signed delivery is acknowledged and its job runs, a bad signature gets 403,
the verification challenge is echoed, an oversize body gets 413, another path 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from types import ModuleType
from typing import Any

import pytest
from support.redis_server import free_port

from layer_webhooks import Job
from layer_webhooks.testing import compact, layer_headers, make_event

SECRET = "my webhook secret"
WAIT = 10.0

pytestmark = pytest.mark.slow


def _stdlib(module: ModuleType, port: int) -> Callable[[], None]:
    server = module.make_server(port=port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(WAIT)

    return stop


def _in_loop(
    start: Callable[[], Coroutine[Any, Any, None]], cleanup: Callable[[], Coroutine[Any, Any, None]]
) -> Callable[[], None]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(WAIT)

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(cleanup(), loop).result(WAIT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()

    return stop


def _asyncio(module: ModuleType, port: int) -> Callable[[], None]:
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        tasks.append(asyncio.get_running_loop().create_task(module.main(port)))
        for _ in range(200):  # bounded: the server listens within a few ms
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                await writer.wait_closed()
                return
            await asyncio.sleep(0.01)

    async def cleanup() -> None:
        tasks[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[0]

    return _in_loop(start, cleanup)


def _aiohttp(module: ModuleType, port: int) -> Callable[[], None]:
    from aiohttp import web

    runner = web.AppRunner(module.make_app())

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    return _in_loop(start, runner.cleanup)


SERVERS = {"stdlib_server": _stdlib, "asyncio_server": _asyncio, "aiohttp_app": _aiohttp}


@pytest.fixture(params=sorted(SERVERS))
def served(request: pytest.FixtureRequest) -> Iterator[tuple[ModuleType, str]]:
    name = request.param
    if name == "aiohttp_app":
        pytest.importorskip("aiohttp", reason="aiohttp is a test dependency of the aiohttp example only")
    module = importlib.reload(importlib.import_module(f"examples.custom.{name}"))
    port = free_port()
    stop = SERVERS[name](module, port)
    try:
        yield module, f"http://127.0.0.1:{port}"
    finally:
        stop()


def send(url: str, body: bytes = b"", headers: dict[str, str] | None = None, method: str = "POST") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body if method == "POST" else None, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as answer:
            return int(answer.status), bytes(answer.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def announced_oversize(base: str, length: int) -> int:
    """The status answered to a POST announcing ``length`` bytes, before any is sent."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=WAIT) as conn:
        head = f"POST /new-message HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n\r\n"
        conn.sendall(head.encode())
        return int(conn.makefile("rb").readline().split()[1])


def delivery(text: str) -> tuple[bytes, dict[str, str]]:
    body = compact(make_event("message.sent", text=text, config={"name": "Webhook Example"}))
    return body, layer_headers(body, SECRET)


def test_a_signed_delivery_is_queued_and_its_job_runs(served: tuple[ModuleType, str]) -> None:
    module, base = served
    seen: list[str] = []

    def on_message(job: Job) -> None:
        seen.append(job.data["message"]["parts"][0]["body"])

    module.queue.process("Webhook Example", on_message)
    body, headers = delivery("hello from a custom server")
    status, _ = send(f"{base}/new-message", body, headers)
    assert status == 200
    assert module.queue.run_due() == 1
    assert seen == ["hello from a custom server"]


def test_a_bad_signature_is_refused(served: tuple[ModuleType, str]) -> None:
    module, base = served
    body, headers = delivery("forged")
    headers["layer-webhook-signature"] = "0" * 40
    status, _ = send(f"{base}/new-message", body, headers)
    assert status == 403
    assert module.queue.pending() == []


def test_the_challenge_is_echoed(served: tuple[ModuleType, str]) -> None:
    _, base = served
    assert send(f"{base}/new-message?verification_challenge=abc123", method="GET") == (200, b"abc123")


def test_an_oversize_body_gets_413_and_another_path_404(served: tuple[ModuleType, str]) -> None:
    module, base = served
    body, headers = delivery("x")
    assert announced_oversize(base, module.receiver.max_body_bytes + 1) == 413
    assert send(f"{base}/elsewhere", body, headers)[0] == 404
