"""Delivery signatures: lowercase hex HMAC-SHA1 of the raw body (layer-protocol.md §1)."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from ..errors import ConfigurationError, InvalidSignature

_SHA1_HEX_LEN = 40


def secret_keys(secrets: str | Sequence[str]) -> tuple[bytes, ...]:
    """Validate one secret, or several while one is being rotated, and return them as keys."""
    items = (secrets,) if isinstance(secrets, str) else tuple(secrets)
    if not items:
        raise ConfigurationError("at least one webhook secret is required")
    for item in items:
        if not isinstance(item, str) or not item:
            raise ConfigurationError("a webhook secret must be a non-empty string")
    return tuple(item.encode("utf-8") for item in items)


def sign(body: bytes | str, secret: str) -> str:
    """Return the ``layer-webhook-signature`` Layer sends for ``body``: hex HMAC-SHA1.

    A ``str`` body is encoded as UTF-8 first. Sign the exact bytes that go on the wire.
    """
    (key,) = secret_keys(secret)
    data = body.encode("utf-8") if isinstance(body, str) else body
    return hmac.new(key, data, "sha1").hexdigest()


def check(body: bytes, signature: str | None, keys: tuple[bytes, ...]) -> None:
    """Raise :class:`InvalidSignature` unless ``signature`` matches ``body`` under one key."""
    if not signature:
        raise InvalidSignature("missing layer-webhook-signature header")
    signature = signature.strip()
    try:
        # Parsing first turns any non-hex or non-ASCII header into a clean 403: compare_digest
        # itself raises TypeError on non-ASCII str, which would become a 500.
        expected = bytes.fromhex(signature) if len(signature) == _SHA1_HEX_LEN else b""
    except ValueError:
        expected = b""
    if not expected:
        raise InvalidSignature("malformed layer-webhook-signature header")
    for key in keys:
        if hmac.compare_digest(hmac.digest(key, body, "sha1"), expected):
            return
    raise InvalidSignature("layer-webhook-signature does not match the body")


def verify_signature(body: bytes, signature: str | None, secrets: str | Sequence[str]) -> None:
    """Check a delivery's signature over its raw ``body``, in constant time.

    ``secrets`` is the webhook secret, or a sequence of secrets while one is being rotated
    (any of them may match).

    :raises InvalidSignature: when ``signature`` is missing, malformed, or matches no secret.
    :raises ConfigurationError: when a secret is empty.
    """
    check(body, signature, secret_keys(secrets))
