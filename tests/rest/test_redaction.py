"""The API token is redacted as a token (the Authorization value, a URL's components), never by
replacing its characters wherever they occur: a one-letter token leaves messages intact."""

from __future__ import annotations

import logging

import pytest
from support.redis_server import free_port

from layer_webhooks import LayerAPIError, LayerClient
from layer_webhooks.rest._answers import SUBSTRING_MIN, read_error, redact, unreachable
from layer_webhooks.rest._transport import HTTPResponse

APP = "7c1c7ac2-5c2f-11e5-9d70-feff819cdc9f"
WHERE = f"GET /apps/{APP}/webhooks"
REFUSED = (
    "ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: "
    f"/apps/{APP}/webhooks (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at "
    "0x7f3a>: Failed to establish a new connection: [Errno 111] Connection refused'))"
)


@pytest.mark.parametrize("token", ["t", "a", "e", "7", "c", "to", "tok", "Bearer"])
def test_a_short_token_leaves_a_message_intact(token: str) -> None:
    assert redact(REFUSED, token) == REFUSED
    assert unreachable(WHERE, REFUSED, token).message == REFUSED
    text = "Invalid request: the events property cannot be omitted (see https://developer.layer.com/docs)"
    assert redact(text, token) == text
    answer = HTTPResponse(422, "Unprocessable", {}, b'{"id": "missing_property", "message": "%s"}' % text.encode())
    error = read_error(WHERE, answer, token)
    assert (error.id, error.message) == ("missing_property", text)


@pytest.mark.parametrize("token", ["t", "a1", "tok"])
def test_a_short_token_is_still_redacted_where_it_stands_as_a_token(token: str) -> None:
    assert redact(f"proxy saw Authorization: Bearer {token}", token) == "proxy saw Authorization: Bearer <token>"
    assert redact(f"authorization={token}; next", token) == "authorization=<token>; next"
    assert redact(f"GET https://x.test/a/{token}/b?k={token}&t=1#{token}", token) == (
        "GET https://x.test/a/<token>/b?k=<token>&t=1#<token>"
    )
    assert redact(f"https://user:{token}@x.test/", token) == "https://user:<token>@x.test/"
    assert redact(f"with url: /apps/{token}?x=1 refused", token) == "with url: /apps/<token>?x=1 refused"


def test_a_short_token_with_url_characters_is_redacted_in_its_encoded_form() -> None:
    assert redact("https://x.test/?token=a%2Fb c", "a/b") == "https://x.test/?token=<token> c"


def test_a_long_token_is_redacted_wherever_it_occurs() -> None:
    token = "t" * SUBSTRING_MIN
    assert redact(f"x{token}y {token}{token}", token) == "x<token>y <token><token>"
    assert redact(f"x{token[:-1]}y", token) == f"x{token[:-1]}y"


def test_a_one_letter_token_in_the_client_leaves_a_connection_error_readable(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="layer_webhooks")
    client = LayerClient("t", APP, base_url=f"http://127.0.0.1:{free_port()}", timeout=2, sleep=lambda s: None)
    with pytest.raises(LayerAPIError) as info:
        client.webhooks.list()
    error = info.value
    assert error.status == 0
    assert error.message.startswith("ConnectionError: HTTPConnectionPool(host='127.0.0.1'")
    for text in (str(error), error.message, caplog.text):
        assert "<token>" not in text
        assert "Connec<" not in text
    assert "retry" in caplog.text
