"""The Layer emulator: Layer's hosted service over real HTTP, for tests (needs werkzeug).

::

    from layer_webhooks.testing import LayerEmulator

    with LayerEmulator(token="t", retry_scale=0.001) as layer:
        layer.create_webhook("http://127.0.0.1:8000/hook", ["message.sent"], "my secret")
        layer.wait_idle()

The parts: ``_emulator.py`` (:class:`LayerEmulator`, the facade and its lifecycle) and
``_scenarios.py`` (its Platform API and scenario methods) over ``_state.py``
(:class:`EmulatorState`: everything behind one lock, and the :class:`APIRequest` log), which
holds ``_webhook_registry.py`` (webhooks and their verification; one webhook in
``_webhook.py``), ``_publisher.py`` (deliveries and retries), ``_chat_state.py``
(conversations, messages, identities) and ``_worker.py`` (the background thread).
``_rest_app.py`` serves that state as a WSGI app on ``_server.py``; ``_outgoing.py`` makes
the calls to targets; ``_layer_errors.py`` builds Layer's error bodies.
"""

from __future__ import annotations

from ...errors import MissingExtra

try:
    import werkzeug  # noqa: F401 -- first: the emulator is served by werkzeug
except ImportError as exc:
    raise MissingExtra("layer_webhooks.testing's LayerEmulator", "wsgi", exc.name) from exc

from ._emulator import LayerEmulator
from ._state import APIRequest

__all__ = ["APIRequest", "LayerEmulator"]
