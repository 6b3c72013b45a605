"""LayerEmulator: its lifecycle, the Webhooks REST API, the Platform API, errors and faults.

Every test talks to the emulator over real HTTP on 127.0.0.1, through the ``layer`` fixture of
support.emulator and ``Target`` (a recording endpoint) of support.target.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("werkzeug")

import requests
from support.emulator import PLATFORM, TOKEN, WEBHOOKS, emulator_fixture, running_emulator
from support.target import Target

from layer_webhooks import LayerAPIError
from layer_webhooks.testing import LayerEmulator

OTHER_APP = "7c1c7ac2-0992-11e5-a6c0-1697f925ec7b"
pytestmark = pytest.mark.slow


def call(
    layer: LayerEmulator,
    method: str,
    path: str,
    *,
    token: str | None = TOKEN,
    accept: str | None = WEBHOOKS,
    app: str | None = None,
    **kwargs: Any,
) -> requests.Response:
    """One request to the emulator's API, as a client would send it."""
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if accept is not None:
        headers["Accept"] = accept
    with requests.Session() as session:
        session.trust_env = False
        url = f"{layer.base_url}/apps/{app or layer.app_id}{path}"
        return session.request(method, url, headers=headers, timeout=5, **kwargs)


def create_body(target_url: str, **changes: Any) -> dict[str, Any]:
    body = {
        "version": "1.0",
        "target_url": target_url,
        "events": ["message.sent"],
        "secret": "s3cret",
        "config": {"name": "Webhook Example"},
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def assert_layer_error(response: requests.Response, status: int, error_id: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["id"] == error_id
    assert isinstance(body["code"], int)
    assert isinstance(body["message"], str) and body["message"]
    assert body["url"].startswith("https://")
    assert "Traceback" not in response.text
    return body


layer = emulator_fixture()


@pytest.fixture
def target() -> Iterator[Target]:
    with Target() as endpoint:
        yield endpoint


# -- lifecycle ----------------------------------------------------------------------------


def test_close_stops_the_server_and_every_thread(target: Target) -> None:
    before = {t.ident for t in threading.enumerate()}
    layer = LayerEmulator(token=TOKEN, retry_scale=1.0).start()
    base_url = layer.base_url
    assert base_url.startswith("http://127.0.0.1:")
    assert call(layer, "GET", "/webhooks").status_code == 200
    layer.create_webhook(target.url, ["message.sent"], "s")
    layer.wait_idle()
    target.statuses = [503]
    layer.publish({"event": {"type": "message.sent", "id": "1"}})  # leaves a retry 10 s away
    started = time.monotonic()
    layer.close()
    assert time.monotonic() - started < 3
    assert not [t for t in threading.enumerate() if t.name.startswith("layer-emulator")]
    for _ in range(100):  # request threads end as their connections close
        if not [t for t in threading.enumerate() if t.ident not in before]:
            break
        time.sleep(0.02)
    assert not [t for t in threading.enumerate() if t.ident not in before]
    with requests.Session() as session:
        session.trust_env = False
        with pytest.raises(requests.ConnectionError):
            session.get(base_url, timeout=2)
    with pytest.raises(RuntimeError):
        layer.base_url  # noqa: B018
    with pytest.raises(RuntimeError):
        layer.start()
    layer.close()  # idempotent


def test_not_running_refuses_work_that_needs_the_server() -> None:
    layer = LayerEmulator()
    assert "not running" in repr(layer)
    with pytest.raises(RuntimeError, match="not running"):
        layer.create_webhook("http://127.0.0.1:1/hook", ["message.sent"], "s")
    assert layer.list_webhooks() == []
    layer.close()


@pytest.mark.parametrize(
    "app_id",
    [
        "082d4684-0992-11e5-a6c0-1697f925ec7b",
        "layer:///apps/082d4684-0992-11e5-a6c0-1697f925ec7b",
        "layer:///apps/staging/082D4684-0992-11E5-A6C0-1697F925EC7B",
    ],
)
def test_app_id_forms(app_id: str) -> None:
    assert LayerEmulator(app_id=app_id).app_id == "082d4684-0992-11e5-a6c0-1697f925ec7b"


@pytest.mark.parametrize(
    "options",
    [{"token": ""}, {"app_id": "not-a-uuid"}, {"retry_scale": -1}, {"timeout": 0}],
)
def test_invalid_options(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        LayerEmulator(**options)


def test_lazy_names_resolve_and_are_documented() -> None:
    import layer_webhooks.testing as testing
    from layer_webhooks.testing import APIRequest

    assert testing.LayerEmulator is LayerEmulator
    assert LayerEmulator.__doc__ and APIRequest.__doc__


def test_the_emulator_package_exports_the_emulator_and_its_request_log() -> None:
    from layer_webhooks.testing import APIRequest, emulator

    assert emulator.__all__ == ["APIRequest", "LayerEmulator"]
    assert (emulator.LayerEmulator, emulator.APIRequest) == (LayerEmulator, APIRequest)


def test_repr_never_shows_the_token(layer: LayerEmulator) -> None:
    assert TOKEN not in repr(layer)
    assert layer.base_url in repr(layer)


# -- the Webhooks REST API ----------------------------------------------------------------


def test_create_answers_201_unverified_then_verifies(layer: LayerEmulator, target: Target) -> None:
    response = call(layer, "POST", "/webhooks", json=create_body(target.url))
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    webhook = response.json()
    uuid = webhook["id"].rpartition("/")[2]
    assert webhook == {
        "id": f"layer:///apps/{layer.app_id}/webhooks/{uuid}",
        "url": f"{layer.base_url}/apps/{layer.app_id}/webhooks/{uuid}",
        "version": "1.0",
        "target_url": target.url,
        "events": ["message.sent"],
        "status": "unverified",
        "created_at": webhook["created_at"],
        "config": {"name": "Webhook Example"},
    }
    assert "s3cret" not in response.text
    assert response.headers["Location"] == webhook["url"]
    assert "https" in response.headers["Warning"]  # http target on loopback: allowed, with a warning
    layer.wait_idle()
    assert call(layer, "GET", f"/webhooks/{uuid}").json()["status"] == "active"
    (get,) = target.gets()
    assert get.args["verification_challenge"]


def test_list_get_activate_deactivate_delete(layer: LayerEmulator, target: Target) -> None:
    assert call(layer, "GET", "/webhooks").json() == []
    one = call(layer, "POST", "/webhooks", json=create_body(target.url)).json()
    two = call(layer, "POST", "/webhooks", json=create_body(target.url, events=["message.read"])).json()
    layer.wait_idle()
    listed = call(layer, "GET", "/webhooks").json()
    assert [w["id"] for w in listed] == [one["id"], two["id"]]
    assert {w["status"] for w in listed} == {"active"}
    uuid = one["id"].rpartition("/")[2]

    deactivated = call(layer, "POST", f"/webhooks/{uuid}/deactivate")
    assert deactivated.status_code == 200
    assert deactivated.json()["status"] == "inactive"
    assert call(layer, "GET", f"/webhooks/{uuid}").json()["status"] == "inactive"

    activated = call(layer, "POST", f"/webhooks/{uuid}/activate")
    assert activated.status_code == 200
    assert activated.json()["status"] == "unverified"
    layer.wait_idle()
    assert call(layer, "GET", f"/webhooks/{uuid}").json()["status"] == "active"
    assert len(target.gets()) == 3  # two creations and one activation

    deleted = call(layer, "DELETE", f"/webhooks/{uuid}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_layer_error(call(layer, "GET", f"/webhooks/{uuid}"), 404, "not_found")
    assert_layer_error(call(layer, "DELETE", f"/webhooks/{uuid}"), 404, "not_found")
    assert [w["id"] for w in call(layer, "GET", "/webhooks").json()] == [two["id"]]


def test_python_api_mirrors_the_rest_api(layer: LayerEmulator, target: Target) -> None:
    webhook = layer.create_webhook(target.url, ["message.sent"], "s", config={"name": "x"})
    assert webhook["status"] == "unverified"
    layer.wait_idle()
    assert layer.get_webhook(webhook["id"])["status"] == "active"
    assert call(layer, "GET", "/webhooks").json() == layer.list_webhooks()
    assert layer.deactivate_webhook(webhook["id"])["status"] == "inactive"
    layer.delete_webhook(webhook["id"])
    with pytest.raises(LayerAPIError) as info:
        layer.get_webhook(webhook["id"])
    assert (info.value.status, info.value.id) == (404, "not_found")
    with pytest.raises(LayerAPIError) as info:
        layer.create_webhook("ftp://127.0.0.1/hook", ["message.sent"], "s")
    assert (info.value.status, info.value.id) == (422, "invalid_property")


def test_older_field_names_are_accepted_and_can_be_answered(target: Target) -> None:
    with running_emulator(legacy_fields=True) as layer:
        body = create_body(target.url, events=None, config=None, event_types=["message.read"], target_config={"a": 1})
        webhook = call(layer, "POST", "/webhooks", json=body).json()
        assert webhook["event_types"] == ["message.read"]
        assert webhook["target_config"] == {"a": 1}
        assert "events" not in webhook and "config" not in webhook


@pytest.mark.parametrize(
    ("changes", "status", "error_id", "prop"),
    [
        ({"target_url": None}, 422, "missing_property", "target_url"),
        ({"events": None}, 422, "missing_property", "events"),
        ({"secret": None}, 422, "missing_property", "secret"),
        ({"version": None}, 422, "missing_property", "version"),
        ({"version": "4.0"}, 422, "invalid_property", "version"),
        ({"version": ["1.0"]}, 422, "invalid_property", "version"),
        ({"events": []}, 422, "invalid_property", "events"),
        ({"events": "message.sent"}, 422, "invalid_property", "events"),
        ({"events": ["message.sent", "Message.created"]}, 422, "invalid_property", "events"),
        ({"events": [{"a": 1}]}, 422, "invalid_property", "events"),
        ({"secret": ""}, 422, "invalid_property", "secret"),
        ({"secret": 5}, 422, "invalid_property", "secret"),
        ({"config": ["name"]}, 422, "invalid_property", "config"),
        ({"target_url": "http://example.com/hook"}, 422, "invalid_property", "target_url"),
        ({"target_url": "/hook"}, 422, "invalid_property", "target_url"),
        ({"target_url": "http://127.0.0.1:99999/hook"}, 422, "invalid_property", "target_url"),
        ({"target_url": 3}, 422, "invalid_property", "target_url"),
    ],
)
def test_create_validates_fields(
    layer: LayerEmulator, changes: dict[str, Any], status: int, error_id: str, prop: str
) -> None:
    body = create_body("http://127.0.0.1:9/hook")
    for key, value in changes.items():
        if value is None:
            del body[key]
        else:
            body[key] = value
    error = assert_layer_error(call(layer, "POST", "/webhooks", json=body), status, error_id)
    assert error["data"]["property"] == prop
    assert layer.list_webhooks() == []


def test_missing_target_url_is_layers_own_example(layer: LayerEmulator) -> None:
    body = create_body("x")
    del body["target_url"]
    error = call(layer, "POST", "/webhooks", json=body).json()
    assert error == {
        "code": 104,
        "id": "missing_property",
        "message": "The target_url property cannot be omitted.",
        "url": error["url"],
        "data": {"property": "target_url"},
    }


def test_v2_webhooks_take_v2_event_names(layer: LayerEmulator, target: Target) -> None:
    body = create_body(target.url, version="2.0", events=["Message.created", "Receipt.created"])
    assert call(layer, "POST", "/webhooks", json=body).json()["version"] == "2.0"
    body = create_body(target.url, version="2.0", events=["message.sent"])
    assert_layer_error(call(layer, "POST", "/webhooks", json=body), 422, "invalid_property")


def test_an_https_target_elsewhere_is_accepted_but_never_contacted(layer: LayerEmulator) -> None:
    webhook = layer.create_webhook("https://example.com/hook", ["message.sent"], "s")
    layer.wait_idle()
    found = layer.get_webhook(webhook["id"])
    assert found["status"] == "inactive"
    assert "loopback" in found["status_reason"]


@pytest.mark.parametrize("token", [None, "wrong token", ""])
def test_bad_or_missing_token_is_401(layer: LayerEmulator, token: str | None) -> None:
    response = call(layer, "GET", "/webhooks", token=token)
    assert_layer_error(response, 401, "authentication_required")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_basic_auth_is_401(layer: LayerEmulator) -> None:
    response = call(layer, "GET", "/webhooks", token=None, headers={"Authorization": f"Basic {TOKEN}"})
    assert_layer_error(response, 401, "authentication_required")


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", PLATFORM, "application/vnd.layer.webhooks+json", WEBHOOKS[:-3] + "9.0"],
)
def test_webhooks_api_wants_its_accept_header(layer: LayerEmulator, accept: str | None) -> None:
    error = assert_layer_error(call(layer, "GET", "/webhooks", accept=accept), 406, "invalid_header")
    assert error["data"] == {"header": "Accept"}


@pytest.mark.parametrize("accept", [WEBHOOKS, "text/html, " + WEBHOOKS.upper().replace("VERSION", "version")])
def test_accept_header_variants_that_are_fine(layer: LayerEmulator, accept: str) -> None:
    assert call(layer, "GET", "/webhooks", accept=accept).status_code == 200


def test_create_wants_json(layer: LayerEmulator) -> None:
    response = call(layer, "POST", "/webhooks", data=b"version=1.0", headers={"Content-Type": "text/plain"})
    assert_layer_error(response, 415, "invalid_header")
    response = call(layer, "POST", "/webhooks", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_layer_error(response, 400, "invalid_request")
    response = call(layer, "POST", "/webhooks", json=["a list"])
    assert_layer_error(response, 400, "invalid_request")
    response = call(layer, "POST", "/webhooks", data=b"\xff\xfe", headers={"Content-Type": "application/json"})
    assert_layer_error(response, 400, "invalid_request")


def test_unknown_endpoint_method_and_app(layer: LayerEmulator) -> None:
    assert_layer_error(call(layer, "GET", "/nothing"), 404, "invalid_endpoint")
    assert_layer_error(call(layer, "GET", "/webhooks/x/y"), 404, "invalid_endpoint")
    response = call(layer, "PUT", "/webhooks")
    assert_layer_error(response, 405, "invalid_endpoint")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert_layer_error(call(layer, "GET", "/webhooks", app=OTHER_APP), 404, "invalid_app_id")
    assert_layer_error(call(layer, "GET", "/webhooks", app="not-an-app"), 404, "invalid_app_id")
    assert call(layer, "GET", "/webhooks", app=f"layer:///apps/{layer.app_id}").status_code == 404  # a path, not an id


def test_an_emulator_failure_is_a_layer_error_not_a_traceback(
    layer: LayerEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> list[dict[str, Any]]:
        raise RuntimeError("boom")

    monkeypatch.setattr(layer._state.webhooks, "show_all", broken)  # the registry the REST app serves
    response = call(layer, "GET", "/webhooks")
    assert_layer_error(response, 500, "internal_server_error")
    assert "boom" not in response.text
    assert any(record.exc_info for record in caplog.records if record.name == "layer_webhooks.testing")
    assert layer.api_requests[-1].status == 500


# -- fault injection and the request log --------------------------------------------------


def test_fail_next_answers_layers_errors_then_recovers(layer: LayerEmulator) -> None:
    layer.fail_next(2, status=429, retry_after=3)
    layer.fail_next(1)
    first, second, third = (call(layer, "GET", "/webhooks", token=None) for _ in range(3))
    for response in (first, second):
        assert_layer_error(response, 429, "rate_limit_exceeded")
        assert response.headers["Retry-After"] == "3"
    assert_layer_error(third, 503, "service_unavailable")
    assert "Retry-After" not in third.headers
    assert call(layer, "GET", "/webhooks").status_code == 200


@pytest.mark.parametrize(
    ("status", "error_id"),
    [(500, "internal_server_error"), (408, "request_timeout"), (403, "access_denied"), (418, "invalid_request")],
)
def test_fail_next_with_other_statuses(layer: LayerEmulator, status: int, error_id: str) -> None:
    layer.fail_next(status=status)
    assert_layer_error(call(layer, "GET", "/webhooks"), status, error_id)


@pytest.mark.parametrize(("n", "status", "retry_after"), [(-1, 503, None), (1, 200, None), (1, 503, -5)])
def test_fail_next_refuses_nonsense(layer: LayerEmulator, n: int, status: int, retry_after: int | None) -> None:
    with pytest.raises(ValueError):
        layer.fail_next(n, status=status, retry_after=retry_after)


def test_the_request_log_keeps_no_token(layer: LayerEmulator, target: Target) -> None:
    call(layer, "POST", "/webhooks", json=create_body(target.url))
    call(layer, "GET", "/webhooks", token="bad")
    created, refused = layer.api_requests
    assert (created.method, created.status, refused.status) == ("POST", 201, 401)
    assert created.path == f"/apps/{layer.app_id}/webhooks"
    assert created.json()["target_url"] == target.url
    assert created.headers["accept"] == WEBHOOKS
    assert "authorization" not in created.headers
    assert TOKEN not in repr(layer.api_requests)


# -- the Platform API ---------------------------------------------------------------------


def test_identities_404_until_set(layer: LayerEmulator) -> None:
    assert_layer_error(call(layer, "GET", "/users/alice/identity", accept=PLATFORM), 404, "not_found")
    identity = layer.set_identity("alice", display_name="Alice", email_address="a@example.com")
    response = call(layer, "GET", "/users/alice/identity", accept=PLATFORM)
    assert response.status_code == 200
    assert response.json() == identity
    assert identity["display_name"] == "Alice"
    assert identity["email_address"] == "a@example.com"
    assert identity["user_id"] == "alice"
    assert identity["id"] == "layer:///identities/alice"
    layer.remove_identity("alice")
    assert call(layer, "GET", "/users/alice/identity", accept=PLATFORM).status_code == 404


def test_identity_ids_are_url_escaped(layer: LayerEmulator) -> None:
    layer.set_identity("a/b c", display_name="Slash")
    response = call(layer, "GET", "/users/a%2Fb%20c/identity", accept=PLATFORM)
    assert response.json()["display_name"] == "Slash"


def test_platform_api_wants_its_accept_header(layer: LayerEmulator) -> None:
    layer.set_identity("alice")
    assert_layer_error(call(layer, "GET", "/users/alice/identity", accept=WEBHOOKS), 406, "invalid_header")
    assert_layer_error(
        call(layer, "GET", "/users/alice/identity", token="x", accept=PLATFORM), 401, "authentication_required"
    )


def test_messages_show_the_current_recipient_status(layer: LayerEmulator) -> None:
    conversation = layer.create_conversation(["alice", "bob", "carol"])
    message = layer.send_message(conversation, "alice", "hi")
    conversation_uuid = conversation["id"].rpartition("/")[2]
    message_uuid = message["id"].rpartition("/")[2]
    path = f"/conversations/{conversation_uuid}/messages/{message_uuid}"
    first = call(layer, "GET", path, accept=PLATFORM).json()
    assert first["recipient_status"] == {"alice": "read", "bob": "sent", "carol": "sent"}
    assert first["url"] == f"{layer.base_url}/apps/{layer.app_id}{path}"
    layer.mark(message, "bob", "read")
    assert call(layer, "GET", path, accept=PLATFORM).json()["recipient_status"]["bob"] == "read"
    assert_layer_error(call(layer, "GET", path, accept=WEBHOOKS), 406, "invalid_header")
    other = layer.create_conversation(["alice"])["id"].rpartition("/")[2]
    assert_layer_error(
        call(layer, "GET", f"/conversations/{other}/messages/{message_uuid}", accept=PLATFORM), 404, "not_found"
    )
    assert call(layer, "GET", f"/conversations/{conversation_uuid}", accept=PLATFORM).json() == layer.conversation(
        conversation
    )
    layer.delete_message(message)
    assert_layer_error(call(layer, "GET", path, accept=PLATFORM), 404, "not_found")
