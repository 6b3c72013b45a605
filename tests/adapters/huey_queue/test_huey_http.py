"""The receiver on HueyQueue and a real Redis: 503 while Redis is down, and every
acknowledged event processed once it is back.

Over real HTTP through WSGI (werkzeug's threaded server, the sync ``enqueue``) and ASGI
(uvicorn, the group-committed ``enqueue_async``), and by calling the receiver directly (no web
extra needed); each with a real ``huey_consumer`` draining afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

pytest.importorskip("huey")
pytest.importorskip("redis")

import requests
from support.huey_app import build
from support.huey_app_runner import Consumers
from support.payloads import SECRET, compact, load_fixture
from support.redis_server import RedisServer, free_port

from layer_webhooks import Hook, Receiver, Request, WebhooksServices, sign

pytestmark = pytest.mark.slow

HOOK = Hook("Webhook Example", "/hook", ["message.sent"])


# A delivery: (event id) -> HTTP status. Each way of serving the receiver makes one.
Deliver = Callable[[str], int]


def delivery(event_id: str) -> tuple[bytes, dict[str, str]]:
    payload = load_fixture("message.sent")
    payload["event"]["id"] = event_id
    body = compact(payload)
    headers = {
        "Content-Type": "application/vnd.layer.webhooks+json; version=1.0",
        "Layer-Webhook-Signature": sign(body, SECRET),
        "Layer-Webhook-Event-Type": "message.sent",
    }
    return body, headers


def over_http(base: str) -> Deliver:
    def deliver(event_id: str) -> int:
        body, headers = delivery(event_id)
        response = requests.post(f"{base}/hook", data=body, headers=headers, timeout=10)
        assert response.status_code != 503 or response.headers["Retry-After"]
        return response.status_code

    return deliver


@contextmanager
def wsgi(receiver: Receiver) -> Iterator[Deliver]:
    pytest.importorskip("werkzeug")
    from support.wsgi_server import Served

    from layer_webhooks.adapters.wsgi import WebhookMiddleware

    with Served(WebhookMiddleware(None, receiver)) as served:
        yield over_http(served.url)


@contextmanager
def asgi(receiver: Receiver) -> Iterator[Deliver]:
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    import uvicorn

    from layer_webhooks.adapters.asgi import WebhookApp

    port = free_port()
    config = uvicorn.Config(WebhookApp(receiver), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield over_http(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def direct(receiver: Receiver) -> Iterator[Deliver]:
    """``handle`` and ``handle_async`` in turn, on one event loop, as an adapter calls them."""
    loop = asyncio.new_event_loop()
    calls = itertools.count()

    def deliver(event_id: str) -> int:
        body, headers = delivery(event_id)
        request = Request("POST", "/hook", "", headers, body)
        if next(calls) % 2:
            response = receiver.handle(request)
        else:
            response = loop.run_until_complete(receiver.handle_async(request))
        assert response is not None
        return response.status

    try:
        yield deliver
    finally:  # as asyncio.run ends a loop: cancel what is left (HueyQueue's writer), then close
        leftover = asyncio.all_tasks(loop)
        for task in leftover:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
        loop.close()


@pytest.mark.parametrize("serve", [wsgi, asgi, direct])
def test_503_while_redis_is_down_then_every_acknowledged_event_is_processed(
    tmp_path: Path, serve: Callable[[Receiver], AbstractContextManager[Deliver]]
) -> None:
    with RedisServer(tmp_path) as redis_server:
        name = f"t{uuid.uuid4().hex[:10]}"
        _, queue = build("redis", redis_server.url, name, 1.0)
        consumers = Consumers(tmp_path, "redis", redis_server.url, name, 1.0)
        receiver = WebhooksServices(queue=queue).listen(SECRET, [HOOK])
        acknowledged: list[str] = []
        try:
            with serve(receiver) as deliver:
                for n in range(3):
                    assert deliver(f"up-{n}") == 200
                    acknowledged.append(f"up-{n}")

                redis_server.stop()
                refused = [f"down-{n}" for n in range(3)]
                assert [deliver(event_id) for event_id in refused] == [503, 503, 503]

                redis_server.start()  # same port and data
                for event_id in [*refused, "back-0", "back-1"]:  # Layer retries what got 503
                    assert deliver(event_id) == 200
                    acknowledged.append(event_id)
                assert deliver("back-0") == 200  # a duplicate delivery: not queued again

            consumers.start()
            job_ids = [f"{HOOK.name}:{event_id}" for event_id in acknowledged]
            notes = consumers.ended(*job_ids)
            ran = [n["id"] for n in notes if n["step"] == "end"]
            assert sorted(ran) == sorted(job_ids)  # each once, nothing else
        finally:
            consumers.stop_all()
            queue.close()
