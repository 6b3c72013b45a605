"""Layer's ids as URL path segments (layer-protocol.md §4-5): pure, values in and values out.

An app id comes as a bare UUID, ``layer:///apps/<uuid>`` or ``layer:///apps/staging/<uuid>``;
webhook, conversation and message ids as bare UUIDs or full ``layer:///...`` ids; user ids with
or without ``layer:///identities/``. Every segment is URL-escaped, so that an id can never
reach another path.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from .._layer import IDENTITY_PREFIX, LAYER_ID_PREFIX
from ..errors import ConfigurationError, ConfigurationTypeError

__all__ = ["api_path", "app_uuid", "base_url", "canonical_app_uuid", "ref_segment", "segment", "user_segment"]


def app_uuid(app_id: str) -> str:
    """The app's path segment, URL-escaped: the last segment of ``app_id``, as given.

    >>> app_uuid("layer:///apps/staging/7c1c7ac2-5c2f-11e5-9d70-feff819cdc9f")
    '7c1c7ac2-5c2f-11e5-9d70-feff819cdc9f'

    Any non-empty segment is accepted (what Layer makes of it is Layer's answer); see
    :func:`canonical_app_uuid` for one that must be a UUID.

    :raises ConfigurationError: for an empty id, or a ``layer:///`` id that is not an app's.
    """
    value = app_id.strip() if isinstance(app_id, str) else ""
    if value.startswith(LAYER_ID_PREFIX):
        parts = value.removeprefix(LAYER_ID_PREFIX).strip("/").split("/")
        value = parts[-1] if len(parts) > 1 and parts[0] == "apps" else ""
    value = value.strip("/")
    if not value or "/" in value:
        raise ConfigurationError(f"expected an app id (a UUID or layer:///apps/<uuid>), got {app_id!r}")
    return quote(value, safe="")


def canonical_app_uuid(app_id: str) -> str:
    """The app's UUID in its canonical form (lowercase, hyphenated), from any form of app id.

    Stricter than :func:`app_uuid`, for code that builds Layer's ids itself (the testing kit,
    the emulator): the last segment must be a UUID.

    >>> canonical_app_uuid("layer:///apps/" + "A" * 32)
    'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'

    :raises ConfigurationError: when the last segment is not a UUID.
    """
    try:
        return str(uuid.UUID(app_uuid(app_id)))
    except (ValueError, ConfigurationError):
        raise ConfigurationError(f"not a Layer app id: {app_id!r}") from None


def segment(layer_id: str) -> str:
    """The last segment of a ``layer:///...`` id (a bare id as it is), URL-escaped.

    >>> segment("layer:///apps/7c1c/webhooks/ab12"), segment("a/b")
    ('ab12', 'a%2Fb')

    :raises ConfigurationError: for an empty or non-string id.
    """
    if not isinstance(layer_id, str) or not layer_id:
        raise ConfigurationError(f"expected a Layer id, got {layer_id!r}")
    if layer_id.startswith(LAYER_ID_PREFIX):
        layer_id = layer_id.rstrip("/").rpartition("/")[2]
    return quote(layer_id, safe="")


def ref_segment(ref: str | Mapping[str, Any], prefix: str) -> str:
    """The path segment of an object of kind ``prefix`` (e.g. ``layer:///conversations/``),
    from its id, its UUID, or a mapping with its ``id`` (a payload's ``conversation``).

    >>> ref_segment({"id": "layer:///conversations/c1", "url": "..."}, "layer:///conversations/")
    'c1'

    :raises ConfigurationError: for an empty id, or a Layer id of another kind (a message
        given for its conversation).
    """
    value = ref.get("id") if isinstance(ref, Mapping) else ref
    kind = prefix.removeprefix(LAYER_ID_PREFIX).rstrip("/").removesuffix("s")
    if isinstance(value, str) and value.startswith(LAYER_ID_PREFIX) and not value.startswith(prefix):
        raise ConfigurationError(f"expected a {kind} id ({prefix}<uuid>), got {value!r}")
    if not isinstance(value, str) or not value.removeprefix(prefix):
        given = f"an object with 'id' {value!r}" if isinstance(ref, Mapping) else repr(ref)
        raise ConfigurationError(f"expected a {kind} id, or an object with its 'id', got {given}")
    return segment(value)


def user_segment(user_id: str) -> str:
    """A user id, URL-escaped once (slashes included); an identity id ``layer:///identities/<id>``
    gives its user id, decoded first (v2+ identity ids are ``encodeURIComponent``-ed).

    >>> user_segment("layer:///identities/a b/c"), user_segment("layer:///identities/alice%40example.com")
    ('a%20b%2Fc', 'alice%40example.com')

    :raises ConfigurationError: for an empty or non-string id.
    """
    if not isinstance(user_id, str) or not user_id:
        raise ConfigurationError(f"expected a user id, got {user_id!r}")
    if user_id.startswith(IDENTITY_PREFIX):
        user_id = unquote(user_id[len(IDENTITY_PREFIX) :])
    return quote(user_id, safe="")


def base_url(url: object, field: str = "base_url") -> str:
    """The root of Layer's REST APIs (an emulator's in tests), without its trailing ``/``.

    >>> base_url("https://api.layer.com/")
    'https://api.layer.com'

    :raises ConfigurationError: for anything but an ``http(s)://host[...]`` URL, naming ``field``.
    """
    if not isinstance(url, str):
        raise ConfigurationTypeError(field, "an http(s) URL such as 'https://api.layer.com'", url)
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        shown = "a URL with credentials" if "@" in url else repr(url)  # never echo a password
        raise ConfigurationError(
            f"{field}: expected an http(s) URL such as 'https://api.layer.com' (scheme and host, no query), got {shown}"
        )
    return url.strip().rstrip("/")


def api_path(app: str, path: str) -> str:
    """The path of ``path`` under app segment ``app`` (from :func:`app_uuid`).

    >>> api_path("7c1c", "/webhooks")
    '/apps/7c1c/webhooks'
    """
    return f"/apps/{app}{path}"
