"""What Layer puts on the wire for a delivery: the compact body and its headers (layer-protocol.md §1)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from .._layer import (
    EVENT_TYPE_HEADER,
    REQUEST_ID_HEADER,
    SIGNATURE_HEADER,
    USER_AGENT,
    WEBHOOK_ID_HEADER,
    WEBHOOKS_MEDIA_TYPE,
    media_type,
)
from .._layer import webhook_id as full_webhook_id
from ..receiving._http import Request
from ..receiving._signing import sign
from ..rest._urls import canonical_app_uuid
from ._layer_objects import DEFAULT_APP_ID


def compact(payload: Mapping[str, Any]) -> bytes:
    """``payload`` as Layer serialised it: compact JSON, UTF-8, no ``\\u`` escapes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _event_field(body: bytes, field: str) -> str | None:
    try:
        event = json.loads(body).get("event")
        value = event.get(field) if isinstance(event, dict) else None
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) and value else None


def layer_headers(
    body: bytes,
    secret: str,
    *,
    event_type: str | None = None,
    request_id: str | None = None,
    webhook_id: str | None = None,
    app_id: str = DEFAULT_APP_ID,
    version: str | None = None,
) -> dict[str, str]:
    """The headers Layer sends with ``body``, signed with ``secret``.

    >>> sorted(layer_headers(b'{"event":{"type":"message.sent"}}', "s"))  # doctest: +NORMALIZE_WHITESPACE
    ['Content-Type', 'User-Agent', 'layer-webhook-event-type', 'layer-webhook-id',
     'layer-webhook-request-id', 'layer-webhook-signature']

    ``event_type`` defaults to the body's ``event.type``; ``request_id`` to its ``event.id`` (as
    in Layer's recorded deliveries) or a fresh UUID; ``webhook_id`` to a fresh
    ``layer:///apps/<app>/webhooks/<uuid>``; ``version`` (of the content type) to ``"2.0"`` for
    PascalCase event types and ``"1.0"`` otherwise.

    :raises ValueError: when ``event_type`` is not given and the body has no ``event.type``.
    """
    event_type = event_type or _event_field(body, "type")
    if event_type is None:
        raise ValueError("the body has no event.type: pass event_type=")
    if version is None:
        version = "2.0" if event_type[:1].isupper() else "1.0"
    if webhook_id is None:
        webhook_id = full_webhook_id(canonical_app_uuid(app_id), str(uuid.uuid4()))
    return {
        "Content-Type": media_type(WEBHOOKS_MEDIA_TYPE, version),
        "User-Agent": USER_AGENT,
        EVENT_TYPE_HEADER: event_type,
        WEBHOOK_ID_HEADER: webhook_id,
        REQUEST_ID_HEADER: request_id or _event_field(body, "id") or str(uuid.uuid4()),
        SIGNATURE_HEADER: sign(body, secret),
    }


def signed_request(
    payload: Mapping[str, Any] | bytes,
    secret: str,
    *,
    path: str = "/hook",
    query: str = "",
    headers: Mapping[str, str] | None = None,
    event_type: str | None = None,
    request_id: str | None = None,
    webhook_id: str | None = None,
    app_id: str = DEFAULT_APP_ID,
    version: str | None = None,
) -> Request:
    """A delivery of ``payload`` as the core's :class:`~layer_webhooks.Request`, ready for
    :meth:`Receiver.handle <layer_webhooks.Receiver.handle>`::

        response = receiver.handle(signed_request(make_event("message.sent"), "my secret"))
        assert response.status == 200

    A mapping is serialised as Layer does (:func:`compact`); bytes are sent as given. The
    other options are those of :func:`layer_headers`; ``headers`` are applied last, replacing
    any of the same name in any case (to send a wrong signature, say).
    """
    body = payload if isinstance(payload, bytes) else compact(payload)
    all_headers = layer_headers(
        body,
        secret,
        event_type=event_type,
        request_id=request_id,
        webhook_id=webhook_id,
        app_id=app_id,
        version=version,
    )
    for name, value in (headers or {}).items():
        for existing in [key for key in all_headers if key.lower() == name.lower()]:
            del all_headers[existing]
        all_headers[name] = value
    return Request("POST", path, query, all_headers, body)
