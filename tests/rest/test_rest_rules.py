"""The pure half of the REST client: ids to URL segments, the retry decision, Retry-After, reading
Layer's answers, and redaction. Values in, values out: no server, no sleep, no clock read."""

from __future__ import annotations

import email.utils
from typing import Any

import pytest
from support.clock import Clock

from layer_webhooks import ConfigurationError, LayerAPIError
from layer_webhooks.rest._answers import read_error, read_json, redact, unreachable
from layer_webhooks.rest._retry import (
    CREATE_RETRY_STATUSES,
    RETRY_STATUSES,
    RetryRule,
    backoff_delay,
    next_wait,
    retry_after,
)
from layer_webhooks.rest._transport import HTTPRequest, HTTPResponse
from layer_webhooks.rest._urls import api_path, app_uuid, canonical_app_uuid, segment, user_segment

APP = "7c1c7ac2-5c2f-11e5-9d70-feff819cdc9f"
TOKEN = "tok-9f8e7d6c5b4a"
WHERE = f"GET /apps/{APP}/webhooks"
CREATE = RetryRule(statuses=CREATE_RETRY_STATUSES, connection_errors=False)


# --- ids to URL segments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_id", [APP, f"layer:///apps/{APP}", f"layer:///apps/staging/{APP}", f" {APP}/", f"layer:///apps/{APP}/"]
)
def test_every_form_of_app_id_gives_its_uuid(app_id: str) -> None:
    assert app_uuid(app_id) == APP


def test_an_app_segment_is_escaped_and_kept_as_given() -> None:
    assert app_uuid("my app") == "my%20app"
    assert app_uuid(APP.upper()) == APP.upper()


@pytest.mark.parametrize(
    "app_id", ["", "  ", None, 7, "layer:///", "layer:///apps/", "layer:///messages/x", "a/b", "layer:///apps"]
)
def test_an_app_id_that_is_not_one_is_refused(app_id: Any) -> None:
    with pytest.raises(ConfigurationError, match="expected an app id"):
        app_uuid(app_id)


def test_canonical_app_uuid_is_a_real_uuid_in_canonical_form() -> None:
    assert canonical_app_uuid(f"layer:///apps/staging/{APP.upper()}") == APP
    assert canonical_app_uuid("1" * 32) == "11111111-1111-1111-1111-111111111111"
    for bad in ("my-app", "", "layer:///apps/", None):
        with pytest.raises(ConfigurationError, match="not a Layer app id"):
            canonical_app_uuid(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("layer_id", "expected"),
    [
        ("abc", "abc"),
        (f"layer:///apps/{APP}/webhooks/abc", "abc"),
        ("layer:///apps/staging/x/webhooks/a b", "a%20b"),
        ("layer:///messages/m1/", "m1"),
        ("layer:///conversations/c1", "c1"),
        ("a/b", "a%2Fb"),
        ("../x?y#z", "..%2Fx%3Fy%23z"),
    ],
)
def test_a_layer_id_becomes_its_last_segment_escaped(layer_id: str, expected: str) -> None:
    assert segment(layer_id) == expected


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [
        ("frodo", "frodo"),
        ("layer:///identities/frodo", "frodo"),
        ("layer:///identities/a b/c?d", "a%20b%2Fc%3Fd"),
        ("bilbo@shire.test", "bilbo%40shire.test"),
    ],
)
def test_a_user_id_loses_its_identity_prefix_and_is_escaped(user_id: str, expected: str) -> None:
    assert user_segment(user_id) == expected


@pytest.mark.parametrize("bad", ["", None, 3])
def test_an_empty_id_is_refused(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="Layer id"):
        segment(bad)
    with pytest.raises(ConfigurationError, match="user id"):
        user_segment(bad)


def test_api_path() -> None:
    assert api_path(APP, "/webhooks/w/activate") == f"/apps/{APP}/webhooks/w/activate"


# --- the retry decision -----------------------------------------------------------------------


def test_backoff_doubles() -> None:
    assert [backoff_delay(0.5, n) for n in range(1, 5)] == [0.5, 1.0, 2.0, 4.0]
    assert [backoff_delay(0.0, n) for n in (1, 2)] == [0.0, 0.0]


def test_waits_back_off_until_the_attempts_are_spent() -> None:
    rule = RetryRule()
    assert [next_wait(rule, attempt, 0.0, 503) for attempt in range(1, 5)] == [0.5, 1.0, 2.0, None]
    assert [next_wait(RetryRule(attempts=1), 1, 0.0, status) for status in (None, 429, 503)] == [None] * 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 406, 409, 422, 429, 500, 501, 502, 503, 504, 505])
def test_which_statuses_are_retried(status: int) -> None:
    retried = next_wait(RetryRule(), 1, 0.0, status) is not None
    assert retried == (status in {429, 500, 502, 503, 504})
    assert (next_wait(CREATE, 1, 0.0, status) is not None) == (status in {429, 503})


def test_the_status_sets() -> None:
    assert frozenset({429, 503}) == CREATE_RETRY_STATUSES < RETRY_STATUSES == frozenset({429, 500, 502, 503, 504})


def test_connection_errors_are_retried_except_on_a_create() -> None:
    assert next_wait(RetryRule(), 2, 0.0, None) == 1.0
    assert next_wait(CREATE, 1, 0.0, None) is None


def test_retry_after_replaces_the_backoff() -> None:
    rule = RetryRule()
    assert next_wait(rule, 1, 0.0, 429, retry_after=3.0) == 3.0
    assert next_wait(rule, 3, 0.0, 503, retry_after=0.0) == 0.0
    assert next_wait(rule, 1, 0.0, None, retry_after=9.0) == 0.5  # a connection error has no header
    assert next_wait(rule, 1, 0.0, 404, retry_after=1.0) is None


def test_no_try_starts_later_than_max_retry_seconds_after_the_first() -> None:
    rule = RetryRule(max_retry_seconds=30.0)
    assert next_wait(rule, 1, 0.0, 429, retry_after=100.0) is None
    assert next_wait(rule, 1, 0.0, 429, retry_after=30.0) == 30.0
    assert next_wait(rule, 2, 29.0, 503) == 1.0
    assert next_wait(rule, 2, 29.5, 503) is None
    assert next_wait(rule, 1, 29.5, 503) == 0.5
    assert next_wait(rule, 1, 29.6, 503) is None


def test_a_request_loop_driven_by_a_clock() -> None:
    """The client's loop, written out over a fake clock: each try takes 2 s and answers 503."""
    clock = Clock(100.0)
    rule = RetryRule(attempts=10, max_retry_seconds=12.0, backoff=1.0)
    started, waits = clock(), []
    for attempt in range(1, rule.attempts + 1):
        clock.advance(2.0)  # the request itself
        wait = next_wait(rule, attempt, clock() - started, 503)
        if wait is None:
            break
        waits.append(wait)
        clock.advance(wait)
    # Tries start at 100, 103 and 107; after the third (at 109) a 4 s wait would start a fourth
    # at 113, past 100 + 12: give up.
    assert waits == [1.0, 2.0]
    assert clock() - started == 9.0


# --- Retry-After ------------------------------------------------------------------------------

NOW = 1_700_000_000.0


@pytest.mark.parametrize(("value", "seconds"), [("120", 120.0), (" 7 ", 7.0), ("0", 0.0)])
def test_retry_after_in_seconds(value: str, seconds: float) -> None:
    assert retry_after(value, NOW) == seconds


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "Fri, 99 Foo 2023 99:99:99 GMT"])
def test_an_unreadable_retry_after_is_none(value: str | None) -> None:
    assert retry_after(value, NOW) is None


def test_retry_after_as_an_http_date_is_measured_from_the_injected_clock() -> None:
    clock = Clock(NOW)
    date = email.utils.formatdate(NOW + 6, usegmt=True)
    assert retry_after(date, clock()) == 6.0
    clock.advance(4)
    assert retry_after(date, clock()) == 2.0
    clock.advance(10)
    assert retry_after(date, clock()) == 0.0  # a date in the past: try now


@pytest.mark.parametrize(
    ("date", "seconds"),
    [
        ("Thu, 01 Jan 1970 00:01:00 GMT", 40.0),
        ("Thursday, 01-Jan-70 00:01:00 GMT", 40.0),  # RFC 850
        ("Thu Jan  1 00:01:00 1970", 40.0),  # asctime, no zone: UTC
        ("Thu, 01 Jan 1970 00:01:00 -0000", 40.0),
        ("Thu, 01 Jan 1970 01:01:00 +0100", 40.0),
    ],
)
def test_every_http_date_form(date: str, seconds: float) -> None:
    assert retry_after(date, 20.0) == seconds


# --- reading Layer's answers ------------------------------------------------------------------


def answer(status: int, content: bytes = b"", reason: str = "", **headers: str) -> HTTPResponse:
    return HTTPResponse(status, reason, {k.replace("_", "-"): v for k, v in headers.items()}, content)


def test_a_successful_answer_is_its_json_or_none() -> None:
    assert read_json(WHERE, answer(200, b'[{"id": "w"}]')) == [{"id": "w"}]
    assert read_json(WHERE, answer(204)) is None
    assert read_json(WHERE, answer(200, '{"name": "Frödo"}'.encode("utf-16"))) == {"name": "Frödo"}


def test_a_successful_answer_that_is_not_json() -> None:
    with pytest.raises(LayerAPIError, match="not JSON") as info:
        read_json(WHERE, answer(200, b"<html>captive portal</html>"))
    assert (info.value.status, info.value.request) == (200, WHERE)


def test_layer_error_body_becomes_a_typed_error() -> None:
    body = (
        b'{"code": 104, "id": "missing_property", "message": "The target_url property cannot be omitted.",'
        b' "url": "https://developer.layer.com/docs", "data": {"property": "target_url"}}'
    )
    error = read_error(f"POST /apps/{APP}/webhooks", answer(422, body, "Unprocessable Entity"), TOKEN)
    assert (error.status, error.status_code, error.code, error.id) == (422, 422, 104, "missing_property")
    assert error.message == "The target_url property cannot be omitted."
    assert error.data == {"property": "target_url"}
    assert str(error) == (
        f"Layer API error 422 on POST /apps/{APP}/webhooks (missing_property): "
        "The target_url property cannot be omitted."
    )


def test_an_error_that_is_not_layers_body() -> None:
    html = answer(502, b"<html>Bad gateway</html>" + b" " * 500, "Bad Gateway", content_type="text/html")
    error = read_error(WHERE, html, TOKEN)
    assert (error.status, error.code, error.id, error.data) == (502, None, None, {})
    assert error.message.startswith("<html>Bad gateway</html>")
    assert len(error.message) == 200
    assert read_error(WHERE, answer(503, b"", "Service Unavailable"), TOKEN).message == "Service Unavailable"
    assert read_error(WHERE, answer(500, b'["a", "list"]'), TOKEN).message == '["a", "list"]'
    assert read_error(WHERE, answer(500), TOKEN).message == ""


def test_an_error_text_is_decoded_with_its_charset() -> None:
    latin = answer(503, "déjà vu".encode("latin-1"), content_type='text/plain; charset="ISO-8859-1"')
    assert read_error(WHERE, latin, TOKEN).message == "déjà vu"
    unknown = answer(503, "déjà".encode(), content_type="text/plain; charset=klingon")
    assert read_error(WHERE, unknown, TOKEN).message == "déjà"
    broken = answer(503, b"\xff\xfe ok", content_type="text/plain")
    assert read_error(WHERE, broken, TOKEN).message.endswith(" ok")


def test_fields_of_the_wrong_type_are_dropped() -> None:
    error = read_error(WHERE, answer(400, b'{"code": "104", "id": "", "message": 5, "data": [1]}'), TOKEN)
    assert (error.code, error.id, error.message, error.data) == (None, None, "5", {})


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "check the API token"),
        (403, "check that the API token belongs to this app"),
        (406, "the Accept header was refused"),
    ],
)
def test_a_hint_is_added(status: int, hint: str) -> None:
    assert read_error(WHERE, answer(status, b'{"message": "no"}'), TOKEN).message == f"no ({hint})"
    assert read_error(WHERE, answer(status), TOKEN).message == hint
    assert hint in str(read_error(WHERE, answer(status), TOKEN))


def test_the_token_is_redacted_from_an_error_body_that_echoes_it() -> None:
    body = f'{{"id": "bad_{TOKEN}", "message": "Invalid token {TOKEN}, {TOKEN}"}}'.encode()
    error = read_error(WHERE, answer(401, body), TOKEN)
    shown = [str(error), repr(error), error.message, str(error.id), str(vars(error))]
    for text in shown:
        assert TOKEN not in text
    assert error.id == "bad_<token>"
    assert error.message == "Invalid token <token>, <token> (check the API token)"
    text_body = read_error(WHERE, answer(502, f"proxy saw Bearer {TOKEN}".encode()), TOKEN)
    assert text_body.message == "proxy saw Bearer <token>"


def test_redact() -> None:
    assert redact(f"{TOKEN}{TOKEN}", TOKEN) == "<token><token>"
    assert redact("nothing here", TOKEN) == "nothing here"
    assert redact("never empty", "") == "never empty"


def test_unreachable() -> None:
    error = unreachable(WHERE, f"ConnectionError: https://x.test/?t={TOKEN} refused", TOKEN)
    assert (error.status, error.status_code) == (0, 503)
    assert error.message == "ConnectionError: https://x.test/?t=<token> refused"
    assert str(error).startswith(f"Layer API unreachable on {WHERE}: ConnectionError")


def test_the_transport_values() -> None:
    assert [HTTPResponse(status).ok for status in (200, 204, 399, 400, 503)] == [True, True, True, False, False]
    assert HTTPResponse(204).headers == {}
    request = HTTPRequest("GET", "https://x.test/", {"Accept": "a"})
    assert (request.body, request.timeout) == (None, 10.0)
