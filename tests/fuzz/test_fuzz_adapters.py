"""Both adapters under arbitrary requests: methods, paths, headers, content types, bodies.

The WSGI middleware is driven by werkzeug's test client and by raw environs (what a server
that checks nothing would pass); the ASGI app by raw ASGI calls (what uvicorn passes,
bytes and all). Never an exception escaping, never a 5xx; a signed valid delivery is 200;
a body cut short of its Content-Length is 400; the challenge is echoed in the body only.
"""

from __future__ import annotations

import asyncio
import io
import itertools
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import quote

import pytest

pytest.importorskip("werkzeug")
pytest.importorskip("starlette")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.payloads import SECRET, compact, load_fixture
from werkzeug.test import Client, run_wsgi_app

from layer_webhooks import Hook, MemoryQueue, Receiver, sign
from layer_webhooks.adapters.asgi import WebhookApp
from layer_webhooks.adapters.wsgi import WebhookMiddleware

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMIT = 8192
QUEUE = MemoryQueue()
RECEIVER = Receiver(SECRET, [Hook("Webhook Example", "/hook")], QUEUE, max_body_bytes=LIMIT)
WSGI = WebhookMiddleware(None, RECEIVER)
ASGI = WebhookApp(None, RECEIVER)
IDS = itertools.count()


def valid_body() -> bytes:
    payload = load_fixture("message.sent")
    payload["event"]["id"] = f"adapter-fuzz-{next(IDS)}"
    return compact(payload)


methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
paths = st.sampled_from(["/hook", "/hook/", "/other", "/"]) | st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="?#%"), max_size=20
).map(lambda p: "/" + p.lstrip("/"))  # "//x" would be a URL's authority to werkzeug's test client
content_types = st.sampled_from(
    ["application/json", "application/vnd.layer.webhooks+json; version=1.0", "text/plain", "", "x/y+json"]
)
latin1 = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40)
header_names = st.sampled_from(
    ["layer-webhook-signature", "layer-webhook-request-id", "layer-webhook-event-type", "x-any", "accept"]
)
bodies = st.binary(max_size=LIMIT + 100) | st.builds(valid_body)
queries = st.text(max_size=40).map(lambda q: quote(q, safe="=&"))


def headers_for(body: bytes, content_type: str, extra: list[tuple[str, str]], sign_it: bool) -> list[tuple[str, str]]:
    headers = [("Content-Type", content_type), *extra]
    if sign_it:
        headers.insert(0, ("layer-webhook-signature", sign(body, SECRET)))  # first: it wins
    return headers


# -- WSGI ---------------------------------------------------------------------------------------


@FAST
@given(
    method=methods,
    path=paths,
    query=queries,
    content_type=content_types,
    extra=st.lists(st.tuples(header_names, latin1), max_size=4),
    body=bodies,
    sign_it=st.booleans(),
)
def test_wsgi_never_raises_nor_answers_5xx(
    method: str, path: str, query: str, content_type: str, extra: list[tuple[str, str]], body: bytes, sign_it: bool
) -> None:
    client = Client(WSGI)
    headers = headers_for(body, content_type, extra, sign_it)
    response = client.open(path, method=method, query_string=query, headers=headers, data=body)
    assert response.status_code < 500
    signed_delivery = sign_it and method == "POST" and path in ("/hook", "/hook/") and "json" in content_type
    if signed_delivery and body.startswith(b'{"event"'):
        # WSGI joins repeated headers with ", " (as CGI does): a second signature spoils the first.
        second_signature = any(name == "layer-webhook-signature" for name, _ in extra)
        assert response.status_code == (403 if second_signature else 200)


@FAST
@given(
    environ_extra=st.dictionaries(
        st.sampled_from(["HTTP_LAYER_WEBHOOK_SIGNATURE", "CONTENT_TYPE", "CONTENT_LENGTH", "QUERY_STRING", "HTTP_X"]),
        latin1,
        max_size=5,
    ),
    method=st.text(max_size=8) | methods,
    body=st.binary(max_size=200),
)
def test_wsgi_with_a_raw_environ_never_raises_nor_answers_5xx(
    environ_extra: dict[str, str], method: str, body: bytes
) -> None:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": "/hook",
        "SERVER_NAME": "x",
        "SERVER_PORT": "80",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.input_terminated": True,  # as gunicorn says: read to the end, trust no length
        **environ_extra,
    }
    _, status, _ = run_wsgi_app(WSGI, environ, buffered=True)
    assert int(status.split()[0]) < 500


@FAST
@given(cut=st.integers(1, 200))
def test_wsgi_a_body_cut_short_of_its_content_length_is_400(cut: int) -> None:
    body = valid_body()
    short = body[: max(1, len(body) - cut)]
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/hook",
        "SERVER_NAME": "x",
        "SERVER_PORT": "80",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_LAYER_WEBHOOK_SIGNATURE": sign(short, SECRET),  # signed as it arrived
        "wsgi.input": io.BytesIO(short),
        "wsgi.url_scheme": "http",
        "wsgi.input_terminated": True,
    }
    _, status, _ = run_wsgi_app(WSGI, environ, buffered=True)
    assert status.startswith("400")


# -- ASGI ---------------------------------------------------------------------------------------


async def asgi_call(scope: dict[str, Any], chunks: list[bytes]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    base = {"type": "http", "method": "POST", "path": "/hook", "query_string": b"", "headers": [], "root_path": ""}
    await ASGI({**base, **scope}, receive, send)
    if not sent:
        return 0, [], b""
    return sent[0]["status"], sent[0]["headers"], b"".join(m.get("body", b"") for m in sent[1:])


raw_header_values = st.binary(max_size=40)


@FAST
@given(
    method=methods | st.text(max_size=8),
    path=paths,
    query=st.binary(max_size=40),
    extra=st.lists(st.tuples(header_names.map(str.encode), raw_header_values), max_size=4),
    content_type=content_types,
    body=bodies,
    splits=st.integers(1, 4),
    sign_it=st.booleans(),
)
def test_asgi_never_raises_nor_answers_5xx(
    method: str,
    path: str,
    query: bytes,
    extra: list[tuple[bytes, bytes]],
    content_type: str,
    body: bytes,
    splits: int,
    sign_it: bool,
) -> None:
    headers = [(b"content-type", content_type.encode()), *extra]
    if sign_it:
        headers.insert(0, (b"layer-webhook-signature", sign(body, SECRET).encode()))
    size = max(1, len(body) // splits + 1)
    chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    scope = {"method": method, "path": path, "query_string": query, "headers": headers}
    status, _, _ = asyncio.run(asgi_call(scope, chunks))
    assert status < 500
    signed_delivery = sign_it and method == "POST" and path in ("/hook", "/hook/") and "json" in content_type
    if signed_delivery and body.startswith(b'{"event"'):
        assert status == 200  # ASGI keeps repeated headers apart: the first signature wins


@FAST
@given(cut=st.integers(1, 200))
def test_asgi_a_body_cut_short_of_its_content_length_is_400(cut: int) -> None:
    body = valid_body()
    short = body[: max(1, len(body) - cut)]
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"layer-webhook-signature", sign(short, SECRET).encode()),
    ]
    status, _, _ = asyncio.run(asgi_call({"headers": headers}, [short]))
    assert status == 400


@FAST
@given(challenge=st.text(max_size=40) | st.sampled_from(["a\r\nSet-Cookie: x=1", "%0d%0aX-Injected: 1", "\x00"]))
def test_the_challenge_never_reaches_a_header_on_either_adapter(challenge: str) -> None:
    query = "verification_challenge=" + quote(challenge)
    wsgi = Client(WSGI).get("/hook", query_string=query)
    status, headers, body = asyncio.run(asgi_call({"method": "GET", "query_string": query.encode()}, [b""]))
    for got_status, got_headers, got_body in (
        (wsgi.status_code, list(wsgi.headers.items()), wsgi.data),
        (
            status,
            [(k.decode(), v.decode()) for k, v in headers],
            body,
        ),
    ):
        assert got_status == 200
        assert got_body == challenge.encode("utf-8")
        allowed = {
            ("content-type", "text/plain; charset=utf-8"),
            ("x-content-type-options", "nosniff"),
            ("content-length", str(len(got_body))),
        }
        assert {(name.lower(), value) for name, value in got_headers} <= allowed  # nothing of the challenge
