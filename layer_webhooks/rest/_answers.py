"""Reading Layer's answers: JSON results, error bodies into :class:`LayerAPIError`, and the
redaction of the API token from anything shown. Pure: values in, values out.

Layer's error body is ``{"code": int, "id": str, "message": str, "url": str, "data": {...}?}``
(layer-protocol.md §4); an answer that is not one (a proxy's HTML page) still becomes an error
with its status and the start of its text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import LayerAPIError
from ._transport import HTTPResponse

__all__ = ["HINTS", "read_error", "read_json", "redact", "unreachable"]

#: What to check, added to the message of these statuses.
HINTS: Mapping[int, str] = {
    401: "check the API token",
    403: "check that the API token belongs to this app",
    406: "the Accept header was refused",
}
_TEXT_LIMIT = 200


def redact(text: str, token: str) -> str:
    """``text`` with every occurrence of ``token`` replaced by ``<token>``.

    >>> redact("Invalid token t0k", "t0k")
    'Invalid token <token>'
    """
    return text.replace(token, "<token>") if token else text


def read_json(where: str, response: HTTPResponse) -> Any:
    """The decoded JSON of a successful answer; None for an empty body.

    :raises LayerAPIError: when the body is not JSON (a captive portal, a proxy).
    """
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        raise LayerAPIError(response.status, message="the answer is not JSON", request=where) from None


def _text(response: HTTPResponse) -> str:
    charset = "utf-8"
    for parameter in response.headers.get("content-type", "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        return response.content.decode(charset, errors="replace")[:_TEXT_LIMIT]
    except LookupError:  # an unknown charset
        return response.content.decode("utf-8", errors="replace")[:_TEXT_LIMIT]


def read_error(where: str, response: HTTPResponse, token: str) -> LayerAPIError:
    """The :class:`LayerAPIError` of an error answer to request ``where`` (``"GET /apps/..."``).

    ``code``, ``id``, ``message`` and ``data`` come from Layer's error body when it is one;
    otherwise the message is the start of the body's text, or the reason phrase. A hint is
    added for 401, 403 and 406. ``token`` is redacted from everything taken from the answer,
    for a server that echoes it.
    """
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, Mapping):
        body = {"message": _text(response)}
    message = redact(str(body.get("message") or response.reason or ""), token)
    hint = HINTS.get(response.status)
    if hint:
        message = f"{message} ({hint})" if message else hint
    code, data = body.get("code"), body.get("data")
    return LayerAPIError(
        response.status,
        code=code if isinstance(code, int) else None,
        id=redact(str(body["id"]), token) if body.get("id") else None,
        message=message,
        data=data if isinstance(data, Mapping) else None,
        request=where,
    )


def unreachable(where: str, detail: str, token: str) -> LayerAPIError:
    """The :class:`LayerAPIError` (``status`` 0) of request ``where`` that got no answer."""
    return LayerAPIError(0, message=redact(detail, token), request=where)
