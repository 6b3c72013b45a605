"""LayerClient over real HTTP: against a scripted server (exact answers), and against the emulator."""

from __future__ import annotations

import email.utils
import json
import logging
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
import requests

pytest.importorskip("werkzeug")

from support.emulator import emulator_fixture
from support.wsgi_server import Served

from layer_webhooks import ConfigurationError, LayerAPIError, LayerClient
from layer_webhooks._layer import PLATFORM_ACCEPT, WEBHOOKS_ACCEPT
from layer_webhooks.rest._transport import HTTPRequest, RequestsTransport, TransportError

pytestmark = pytest.mark.slow

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

TOKEN = "tok-9f8e7d6c5b4a"
APP = "7c1c7ac2-5c2f-11e5-9d70-feff819cdc9f"
JSON = {"Content-Type": "application/json"}


@dataclass
class Scripted:
    """A real HTTP server that answers from a script and records what it was sent."""

    base_url: str = ""
    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, status: int, body: Any = None, **headers: str) -> None:
        raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        self.answers.append((status, {**(JSON if raw else {}), **headers}, raw))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.seen.append(
            {
                "method": environ["REQUEST_METHOD"],
                "uri": environ["REQUEST_URI"],
                "headers": {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
                | {"content-type": environ.get("CONTENT_TYPE", "")},
                "body": environ["wsgi.input"].read(length) if length else b"",
            }
        )
        status, headers, body = self.answers.pop(0) if self.answers else (200, JSON, b"[]")
        start_response(f"{status} Scripted", list(headers.items()))
        return [body]


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    script = Scripted()
    with Served(script) as served:
        script.base_url = served.url
        yield script


def client_for(base_url: str, sleeps: list[float] | None = None, **options: Any) -> LayerClient:
    sleep = (lambda s: None) if sleeps is None else sleeps.append
    return LayerClient(TOKEN, APP, base_url=base_url, timeout=5, sleep=sleep, **options)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the scripted server: exact requests and answers ---------------------------------------------


def test_webhooks_and_platform_use_their_own_accept_header(scripted: Scripted) -> None:
    client = client_for(scripted.base_url)
    scripted.answer(200, [])
    scripted.answer(201, {"id": "w", "status": "unverified"})
    scripted.answer(200, {"display_name": "Frodo"})
    assert client.webhooks.list() == []
    assert client.webhooks.create("https://x.test/h", ("message.sent",), "s", {"name": "n"})["id"] == "w"
    assert client.identities.get("frodo") == {"display_name": "Frodo"}
    listing, create, identity = scripted.seen
    for request in scripted.seen:
        assert request["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert listing["headers"]["accept"] == create["headers"]["accept"] == WEBHOOKS_ACCEPT
    assert identity["headers"]["accept"] == PLATFORM_ACCEPT
    assert (listing["method"], listing["uri"]) == ("GET", f"/apps/{APP}/webhooks")
    assert listing["headers"]["content-type"] == ""
    assert create["headers"]["content-type"] == "application/json"
    assert json.loads(create["body"]) == {
        "version": "1.0",
        "target_url": "https://x.test/h",
        "events": ["message.sent"],
        "secret": "s",
        "config": {"name": "n"},
    }
    assert identity["uri"] == f"/apps/{APP}/users/frodo/identity"


@pytest.mark.parametrize("app_id", [APP, f"layer:///apps/{APP}", f"layer:///apps/staging/{APP}", f" {APP}/"])
def test_every_form_of_app_id(scripted: Scripted, app_id: str) -> None:
    LayerClient(TOKEN, app_id, base_url=scripted.base_url + "/").webhooks.list()
    assert scripted.seen[0]["uri"] == f"/apps/{APP}/webhooks"


@pytest.mark.parametrize(
    ("call", "uri"),
    [
        (lambda c: c.webhooks.get("abc"), "/webhooks/abc"),
        (lambda c: c.webhooks.get(f"layer:///apps/{APP}/webhooks/abc"), "/webhooks/abc"),
        (lambda c: c.webhooks.activate("layer:///apps/staging/x/webhooks/a b"), "/webhooks/a%20b/activate"),
        (lambda c: c.webhooks.deactivate("a/b"), "/webhooks/a%2Fb/deactivate"),
        (lambda c: c.identities.get("layer:///identities/a b/c?d"), "/users/a%20b%2Fc%3Fd/identity"),
        (lambda c: c.identities.get("bilbo@shire.test"), "/users/bilbo%40shire.test/identity"),
        (lambda c: c.messages.get("c1", "m1"), "/conversations/c1/messages/m1"),
        (
            lambda c: c.messages.get("layer:///conversations/c1", "layer:///messages/m1"),
            "/conversations/c1/messages/m1",
        ),
    ],
)
def test_ids_are_reduced_and_escaped(scripted: Scripted, call: Any, uri: str) -> None:
    scripted.answer(200, {})
    call(client_for(scripted.base_url))
    assert scripted.seen[0]["uri"] == f"/apps/{APP}{uri}"


def test_delete_answers_none(scripted: Scripted) -> None:
    scripted.answer(204)
    assert client_for(scripted.base_url).webhooks.delete("w") is None  # type: ignore[func-returns-value]
    assert (scripted.seen[0]["method"], scripted.seen[0]["uri"]) == ("DELETE", f"/apps/{APP}/webhooks/w")


def test_layer_error_body_becomes_a_typed_error(scripted: Scripted) -> None:
    body = {
        "code": 104,
        "id": "missing_property",
        "message": "The target_url property cannot be omitted.",
        "url": "https://developer.layer.com/docs",
        "data": {"property": "target_url"},
    }
    scripted.answer(422, body)
    with pytest.raises(LayerAPIError) as info:
        client_for(scripted.base_url).webhooks.create("", ["message.sent"], "s")
    error = info.value
    assert (error.status, error.status_code, error.code, error.id) == (422, 422, 104, "missing_property")
    assert error.message == "The target_url property cannot be omitted."
    assert error.data == {"property": "target_url"}
    assert error.request == f"POST /apps/{APP}/webhooks"
    assert str(error) == (
        f"Layer API error 422 on POST /apps/{APP}/webhooks (missing_property): "
        "The target_url property cannot be omitted."
    )
    assert len(scripted.seen) == 1


def test_an_error_that_is_not_json(scripted: Scripted) -> None:
    scripted.answer(502, b"<html>Bad gateway</html>", **{"Content-Type": "text/html"})
    with pytest.raises(LayerAPIError, match="Bad gateway") as info:
        client_for(scripted.base_url, attempts=1).webhooks.list()
    assert (info.value.status, info.value.code, info.value.id) == (502, None, None)


def test_a_success_that_is_not_json(scripted: Scripted) -> None:
    scripted.answer(200, b"<html>captive portal</html>", **{"Content-Type": "text/html"})
    with pytest.raises(LayerAPIError, match="not JSON"):
        client_for(scripted.base_url).webhooks.list()


def test_retries_back_off_exponentially(scripted: Scripted) -> None:
    for status in (500, 502, 504):
        scripted.answer(status, {"message": "try later"})
    scripted.answer(200, [{"id": "w"}])
    sleeps: list[float] = []
    assert client_for(scripted.base_url, sleeps).webhooks.list() == [{"id": "w"}]
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(scripted.seen) == 4


def test_attempts_are_bounded(scripted: Scripted) -> None:
    for _ in range(5):
        scripted.answer(503, {"message": "down"})
    sleeps: list[float] = []
    with pytest.raises(LayerAPIError, match="503") as info:
        client_for(scripted.base_url, sleeps, attempts=3).webhooks.list()
    assert info.value.status == 503
    assert len(scripted.seen) == 3
    assert sleeps == [0.5, 1.0]


def test_total_retry_time_is_bounded(scripted: Scripted) -> None:
    scripted.answer(429, {"message": "slow down"}, **{"Retry-After": "100"})
    scripted.answer(200, [])
    sleeps: list[float] = []
    with pytest.raises(LayerAPIError) as info:
        client_for(scripted.base_url, sleeps, max_retry_seconds=30).webhooks.list()
    assert info.value.status == 429
    assert sleeps == []
    assert len(scripted.seen) == 1


def test_retry_after_as_an_http_date(scripted: Scripted) -> None:
    when = email.utils.formatdate(time.time() + 6, usegmt=True)
    scripted.answer(503, {"message": "maintenance"}, **{"Retry-After": when})
    scripted.answer(200, [])
    sleeps: list[float] = []
    client_for(scripted.base_url, sleeps).webhooks.list()
    assert len(sleeps) == 1
    assert 3 < sleeps[0] <= 6


def test_retry_after_as_an_http_date_against_the_clients_now(scripted: Scripted) -> None:
    now = 1_700_000_000.0
    scripted.answer(503, {"message": "maintenance"}, **{"Retry-After": email.utils.formatdate(now + 6, usegmt=True)})
    scripted.answer(429, {"message": "slow down"}, **{"Retry-After": email.utils.formatdate(now - 60, usegmt=True)})
    scripted.answer(200, [])
    sleeps: list[float] = []
    client_for(scripted.base_url, sleeps, now=lambda: now).webhooks.list()
    assert sleeps == [6.0, 0.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 406, 409, 422])
def test_client_errors_are_not_retried(scripted: Scripted, status: int) -> None:
    scripted.answer(status, {"message": "no"})
    scripted.answer(200, [])
    with pytest.raises(LayerAPIError) as info:
        client_for(scripted.base_url).webhooks.list()
    assert info.value.status == status
    assert len(scripted.seen) == 1


@pytest.mark.parametrize(("status", "retried"), [(429, True), (503, True), (500, False), (502, False), (504, False)])
def test_a_create_is_retried_only_if_layer_did_nothing(scripted: Scripted, status: int, retried: bool) -> None:
    scripted.answer(status, {"message": "no"})
    scripted.answer(201, {"id": "w"})
    client = client_for(scripted.base_url)
    if retried:
        assert client.webhooks.create("https://x.test/h", ["message.sent"], "s")["id"] == "w"
    else:
        with pytest.raises(LayerAPIError):
            client.webhooks.create("https://x.test/h", ["message.sent"], "s")
    assert len(scripted.seen) == (2 if retried else 1)


def test_connection_errors_are_retried_then_reported() -> None:
    sleeps: list[float] = []
    client = client_for(f"http://127.0.0.1:{closed_port()}", sleeps, attempts=3)
    with pytest.raises(LayerAPIError, match="unreachable") as info:
        client.webhooks.list()
    assert info.value.status == 0
    assert info.value.status_code == 503
    assert "ConnectionError" in info.value.message
    assert sleeps == [0.5, 1.0]


def test_a_create_is_not_retried_after_a_connection_error() -> None:
    sleeps: list[float] = []
    client = client_for(f"http://127.0.0.1:{closed_port()}", sleeps)
    with pytest.raises(LayerAPIError) as info:
        client.webhooks.create("https://x.test/h", ["message.sent"], "s")
    assert info.value.status == 0
    assert sleeps == []


def test_the_token_is_never_shown(scripted: Scripted, caplog: pytest.LogCaptureFixture) -> None:
    # A server that echoes the token back in its error body: still redacted.
    scripted.answer(503, {"id": f"bad_{TOKEN}", "message": f"token {TOKEN} is throttled"})
    scripted.answer(401, {"code": 2, "id": "authentication_required", "message": f"Invalid token {TOKEN}"})
    client = client_for(scripted.base_url)
    caplog.set_level(logging.DEBUG, logger="layer_webhooks")
    with pytest.raises(LayerAPIError) as info:
        client.webhooks.list()
    error = info.value
    assert error.status == 401
    assert "check the API token" in str(error)
    shown = [str(error), repr(error), repr(client), error.message, str(error.id), caplog.text, str(vars(error))]
    assert caplog.text  # the retry was logged
    for text in shown:
        assert TOKEN not in text
    assert "<token>" in str(error)


def test_the_token_is_not_in_a_connection_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="layer_webhooks")
    client = client_for(f"http://127.0.0.1:{closed_port()}", attempts=2)
    with pytest.raises(LayerAPIError) as info:
        client.identities.get("frodo")
    assert TOKEN not in str(info.value) + repr(info.value) + caplog.text
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_a_body_that_is_not_json_is_refused_before_any_request(scripted: Scripted) -> None:
    client = client_for(scripted.base_url)
    for config in ({"name": float("nan")}, {"name": {1, 2}}):
        with pytest.raises(ConfigurationError, match="not JSON"):
            client.webhooks.create("https://x.test/h", ["message.sent"], "s", config)
    assert scripted.seen == []


def test_the_transport_answers_with_lowercase_headers(scripted: Scripted) -> None:
    scripted.answer(503, b"down", **{"Retry-After": "7", "X-Layer-Trace": "t1"})
    transport = RequestsTransport()
    try:
        answer = transport.handle_request(HTTPRequest("POST", scripted.base_url + "/x", {"Accept": "a/b"}, b"{}", 5))
    finally:
        transport.close()
    assert (answer.status, answer.reason, answer.content, answer.ok) == (503, "Scripted", b"down", False)
    assert (answer.headers["retry-after"], answer.headers["x-layer-trace"]) == ("7", "t1")
    assert (scripted.seen[0]["method"], scripted.seen[0]["body"], scripted.seen[0]["headers"]["accept"]) == (
        "POST",
        b"{}",
        "a/b",
    )


def test_the_transport_raises_transport_error_when_nothing_answers() -> None:
    transport = RequestsTransport()
    with pytest.raises(TransportError, match=r"^ConnectionError: ") as info:
        transport.handle_request(HTTPRequest("GET", f"http://127.0.0.1:{closed_port()}/", {}, None, 5))
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    transport.close()


def test_a_given_session_is_used(scripted: Scripted) -> None:
    with requests.Session() as session:
        session.headers["X-Trace"] = "abc"
        client = LayerClient(TOKEN, APP, base_url=scripted.base_url, session=session)
        client.webhooks.list()
        client.close()  # not ours: still usable
        client.webhooks.list()
    assert [r["headers"].get("x-trace") for r in scripted.seen] == ["abc", "abc"]


def test_context_manager_closes_its_own_session(scripted: Scripted) -> None:
    with client_for(scripted.base_url) as client:
        client.webhooks.list()
    assert repr(client) == f"LayerClient(app_id={APP!r}, base_url={scripted.base_url!r})"
    assert len(scripted.seen) == 1


@pytest.mark.parametrize(
    ("token", "app_id"),
    [("", APP), (None, APP), (TOKEN, ""), (TOKEN, None), (TOKEN, "layer:///"), (TOKEN, "layer:///apps/")],
)
def test_token_and_app_id_are_required(token: Any, app_id: Any) -> None:
    with pytest.raises(ConfigurationError):
        LayerClient(token, app_id)


@pytest.mark.parametrize("bad_id", ["", None])
def test_an_empty_id_is_refused_before_any_request(scripted: Scripted, bad_id: Any) -> None:
    client = client_for(scripted.base_url)
    for call in (client.webhooks.get, client.identities.get, lambda i: client.messages.get("c", i)):
        with pytest.raises(ConfigurationError):
            call(bad_id)
    assert scripted.seen == []


# --- the emulator: Layer's semantics over real HTTP ---------------------------------------------


layer = emulator_fixture(token=TOKEN, app_id=APP, retry_scale=1.0)


def test_webhooks_round_trip_with_ids_in_every_form(layer: Any) -> None:
    client = client_for(layer.base_url)
    created = client.webhooks.create("http://127.0.0.1:9/hook", ["message.sent"], "s", {"name": "n"})
    full_id = created["id"]
    uuid = full_id.rpartition("/")[2]
    assert full_id == f"layer:///apps/{APP}/webhooks/{uuid}"
    assert created["status"] == "unverified"
    assert "secret" not in created
    assert [w["id"] for w in client.webhooks.list()] == [full_id]
    for webhook_id in (full_id, uuid, f"layer:///apps/staging/{APP}/webhooks/{uuid}"):
        assert client.webhooks.get(webhook_id)["config"] == {"name": "n"}
        assert client.webhooks.deactivate(webhook_id)["status"] == "inactive"
        assert client.webhooks.activate(webhook_id)["status"] == "unverified"
    client.webhooks.delete(uuid)
    assert client.webhooks.list() == []
    with pytest.raises(LayerAPIError) as info:
        client.webhooks.get(full_id)
    assert (info.value.status, info.value.id) == (404, "not_found")


def test_identities_get(layer: Any) -> None:
    layer.set_identity("frodo", display_name="Frodo Baggins", email_address="frodo@shire.test")
    layer.set_identity("user/with space", display_name="Odd")
    client = client_for(layer.base_url)
    for user_id in ("frodo", "layer:///identities/frodo"):
        identity = client.identities.get(user_id)
        assert (identity["display_name"], identity["email_address"]) == ("Frodo Baggins", "frodo@shire.test")
    assert client.identities.get("layer:///identities/user/with space")["display_name"] == "Odd"
    with pytest.raises(LayerAPIError) as info:
        client.identities.get("sam")
    assert info.value.status == 404
    assert [r.headers["accept"] for r in layer.api_requests] == [PLATFORM_ACCEPT] * 4


def test_messages_get_shows_the_current_recipient_status(layer: Any) -> None:
    conversation = layer.create_conversation(["frodo", "sam"])
    message = layer.send_message(conversation, "frodo", "hello", ["sam"])
    layer.mark(message, "sam", "read")
    client = client_for(layer.base_url)
    conversation_id, message_id = message["conversation"]["id"], message["id"]
    assert conversation_id.startswith("layer:///conversations/")
    assert message_id.startswith("layer:///messages/")
    forms = [(conversation_id, message_id), (conversation_id.rpartition("/")[2], message_id.rpartition("/")[2])]
    for ids in forms:
        got = client.messages.get(*ids)
        assert got["id"] == message_id
        assert got["recipient_status"]["sam"] == "read"


def test_the_wrong_accept_header_is_refused(layer: Any) -> None:
    client = client_for(layer.base_url)
    with pytest.raises(LayerAPIError) as info:
        client.request("GET", "/webhooks", accept=PLATFORM_ACCEPT)
    assert info.value.status == 406
    assert "Accept header was refused" in str(info.value)


def test_a_wrong_token_is_401_without_the_token(layer: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-token-77aa"
    client = LayerClient(wrong, APP, base_url=layer.base_url)
    with pytest.raises(LayerAPIError) as info:
        client.webhooks.list()
    assert info.value.status == 401
    assert "check the API token" in str(info.value)
    assert wrong not in str(info.value) + repr(info.value) + repr(client) + caplog.text


def test_a_503_then_a_201_is_retried(layer: Any) -> None:
    layer.fail_next(1, status=503)
    sleeps: list[float] = []
    created = client_for(layer.base_url, sleeps).webhooks.create("http://127.0.0.1:9/h", ["message.sent"], "s")
    assert sleeps == [0.5]
    assert [(r.method, r.status) for r in layer.api_requests] == [("POST", 503), ("POST", 201)]
    assert [w["id"] for w in layer.list_webhooks()] == [created["id"]]


def test_a_429_with_retry_after_is_honoured(layer: Any) -> None:
    layer.fail_next(2, status=429, retry_after=3)
    sleeps: list[float] = []
    assert client_for(layer.base_url, sleeps).webhooks.list() == []
    assert sleeps == [3.0, 3.0]
    assert [r.status for r in layer.api_requests] == [429, 429, 200]


def test_a_500_on_create_is_not_retried(layer: Any) -> None:
    layer.fail_next(1, status=500)
    with pytest.raises(LayerAPIError) as info:
        client_for(layer.base_url).webhooks.create("http://127.0.0.1:9/h", ["message.sent"], "s")
    assert info.value.status == 500
    assert len(layer.api_requests) == 1
