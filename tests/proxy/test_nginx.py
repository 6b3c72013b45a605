"""docs/nginx/layer-webhooks.conf in front of a receiver, with Debian's nginx.

nginx runs in the foreground with its own prefix in a temporary directory, on a free loopback
port; the receiver is the WSGI adapter on werkzeug. The signature still verifies through the
proxy; a body over ``client_max_body_size`` gets 413 from nginx (the receiver never sees it);
a body the proxy rewrites (``proxy_set_body``, here: one trailing newline) is refused with 403.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.redis_server import free_port

from layer_webhooks import Hook, Job, MemoryQueue, Receiver
from layer_webhooks.testing import compact, layer_headers, make_event

pytestmark = pytest.mark.slow

CONF = Path(__file__).resolve().parents[2] / "docs" / "nginx" / "layer-webhooks.conf"
SECRET = "my webhook secret"
WAIT = 10.0
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)

WRAPPER = """
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream layer_webhooks {{ server 127.0.0.1:{upstream}; }}
    server {{
        listen 127.0.0.1:{port};
        include {conf};
        # Not in the documented file: a proxy that rewrites the body, which must be refused.
        location /rewritten/new-message {{
            client_body_buffer_size 1m;
            proxy_set_body "$request_body\\n";
            proxy_pass http://layer_webhooks/new-message;
        }}
    }}
}}
"""


@pytest.fixture
def queue() -> MemoryQueue:
    return MemoryQueue()


@pytest.fixture
def receiver(queue: MemoryQueue) -> Receiver:
    return Receiver(SECRET, [Hook("Webhook Example", "/new-message", ["message.sent"])], queue)


@pytest.fixture
def proxied(receiver: Receiver, tmp_path: Path) -> Iterator[str]:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does)")
    wsgi = pytest.importorskip("layer_webhooks.adapters.wsgi", reason="needs the wsgi extra")
    from support.wsgi_server import Served

    port = free_port()
    with Served(wsgi.WebhookMiddleware(None, receiver)) as served:
        upstream = served.url.rsplit(":", 1)[1]
        user = "user root;" if os.geteuid() == 0 else ""
        conf = tmp_path / "nginx.conf"
        conf.write_text(WRAPPER.format(user=user, tmp=tmp_path, upstream=upstream, port=port, conf=CONF))
        nginx = subprocess.Popen(
            [NGINX, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + WAIT
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if nginx.poll() is not None or time.monotonic() > deadline:
                        _, err = nginx.communicate(timeout=WAIT)
                        pytest.fail(f"nginx did not start: {err.decode(errors='replace')}")
                    time.sleep(0.02)
            yield f"http://127.0.0.1:{port}"
        finally:
            nginx.terminate()
            nginx.communicate(timeout=WAIT)


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as answer:
            return int(answer.status), dict(answer.headers), bytes(answer.read())
    except urllib.error.HTTPError as error:
        return int(error.code), dict(error.headers), bytes(error.read())


def delivery(text: str) -> tuple[bytes, dict[str, str]]:
    body = compact(make_event("message.sent", text=text, config={"name": "Webhook Example"}))
    return body, layer_headers(body, SECRET)


def test_the_signature_still_verifies_through_nginx(proxied: str, receiver: Receiver) -> None:
    seen: list[str] = []

    def on_message(job: Job) -> None:
        seen.append(job.data["message"]["parts"][0]["body"])

    assert isinstance(receiver.queue, MemoryQueue)
    receiver.queue.process("Webhook Example", on_message)
    body, headers = delivery("through nginx")
    status, _, _ = post(f"{proxied}/new-message", body, headers)
    assert status == 200
    assert receiver.queue.run_due() == 1
    assert seen == ["through nginx"]


def test_an_oversize_body_gets_413_from_nginx(proxied: str, receiver: Receiver, queue: MemoryQueue) -> None:
    body = b" " * (receiver.max_body_bytes + 1)
    _, headers = delivery("x")
    status, answer_headers, answer = post(f"{proxied}/new-message", body, headers)
    assert status == 413
    assert answer_headers.get("Server", "").startswith("nginx")
    assert b"nginx" in answer
    assert queue.pending() == []


def test_a_body_the_proxy_rewrites_is_refused(proxied: str, queue: MemoryQueue) -> None:
    body, headers = delivery("rewritten on the way")
    status, _, answer = post(f"{proxied}/rewritten/new-message", body, headers)
    assert status == 403
    assert b"signature" in answer.lower()
    assert queue.pending() == []
