"""Reading Layer's answers: JSON results, error bodies into :class:`LayerAPIError`, and the
redaction of the API token from anything shown. Pure: values in, values out.

Layer's error body is ``{"code": int, "id": str, "message": str, "url": str, "data": {...}?}``
(layer-protocol.md §4); an answer that is not one (a proxy's HTML page) still becomes an error
with its status and the start of its text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

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

#: A token at least this long is replaced wherever it occurs: a run of this many token
#: characters does not occur in a message by chance. A shorter one only where it stands as a token.
SUBSTRING_MIN = 8
_REDACTED = "<token>"
# Where a short token stands as a token: the value of an Authorization header ("Bearer t"), or
# one whole component of a URL (a path segment, a query value, userinfo).
_AUTHORIZATION = r"(?i:(?<![\w-])(?:authorization\s*[:=]\s*(?:bearer\s+)?|bearer\s+))"
_URL = re.compile(r"(?:\b[A-Za-z][A-Za-z0-9+.-]*://|(?<![\w.~-])/)[^\s'\"<>()\[\]{}]*")
_URL_DELIMITERS = "/?#&=@:;"


def redact(text: str, token: str) -> str:
    """``text`` with the API token ``token`` replaced by ``<token>``, as a token.

    A token of :data:`SUBSTRING_MIN` characters or more is replaced wherever it occurs; a
    shorter one (a test's ``"t"``) only as the value of an ``Authorization`` header and as a
    whole component of a URL, so that a one-letter token cannot garble a message.

    >>> redact("Invalid token t0k-4f9e8d7c", "t0k-4f9e8d7c")
    'Invalid token <token>'
    >>> redact("ConnectionError: GET https://x.test/?t=t with Bearer t", "t")
    'ConnectionError: GET https://x.test/?t=<token> with Bearer <token>'
    """
    if not token:
        return text
    if len(token) >= SUBSTRING_MIN:
        return text.replace(token, _REDACTED)
    forms = "|".join(re.escape(form) for form in dict.fromkeys((token, quote(token, safe=""), quote(token))))
    text = re.sub(f"({_AUTHORIZATION})(?:{forms})(?![\\w.~+/=-])", rf"\g<1>{_REDACTED}", text)
    component = re.compile(f"(?<=[/=@:#])(?:{forms})(?=[{re.escape(_URL_DELIMITERS)}]|$)")
    return _URL.sub(lambda url: component.sub(_REDACTED, url.group()), text)


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
