"""Test your Layer webhook code: realistic payloads, signed requests, and an emulator of Layer.

::

    from layer_webhooks.testing import make_event, signed_request

    response = receiver.handle(signed_request(make_event("message.sent"), "my secret"))
    assert response.status == 200

:class:`LayerEmulator` stands in for Layer's hosted service over real HTTP (Webhooks REST API,
verification, signed deliveries with retries, Platform API)::

    from layer_webhooks.testing import LayerEmulator

    with LayerEmulator(token="t", retry_scale=0.001) as layer:
        layer.create_webhook("http://127.0.0.1:8000/hook", ["message.sent"], "my secret")
        layer.wait_idle()
        layer.send_message(layer.create_conversation(["alice", "bob"]), "alice", "hi")

The kit needs only the core; the emulator needs werkzeug (``pip install 'layer-webhooks[wsgi]'``)
and is imported on first use, so that ``make_event`` works without it. See docs/testing.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._deliveries import Attempt, Delivery
from ._payloads import EVENT_TYPES, make_event
from ._signing import compact, layer_headers, signed_request

if TYPE_CHECKING:
    from .emulator import APIRequest, LayerEmulator

__all__ = [
    "APIRequest",
    "Attempt",
    "Delivery",
    "EVENT_TYPES",
    "LayerEmulator",
    "compact",
    "layer_headers",
    "make_event",
    "signed_request",
]

_LAZY = ("APIRequest", "LayerEmulator")


def __getattr__(name: str) -> Any:
    # The emulator imports werkzeug: only on first use, so that the kit works without it.
    if name in _LAZY:
        from . import emulator

        return getattr(emulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
