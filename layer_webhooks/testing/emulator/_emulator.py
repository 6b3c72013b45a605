"""``LayerEmulator``: a stand-in for Layer's hosted service over real HTTP (layer-protocol.md).

Like stripe-mock or moto: a werkzeug server in a thread on loopback serves the Webhooks REST API
and the Platform API pieces; a background worker sends the verification challenges and the
delivery retries; the test drives events with :meth:`LayerEmulator.publish` or the scenario
helpers. Needs werkzeug (the ``wsgi`` extra).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ..._layer import DELIVERY_DEADLINE
from ...errors import ConfigurationError
from ...rest._urls import canonical_app_uuid
from .._deliveries import Delivery
from .._layer_objects import DEFAULT_APP_ID
from ._rest_app import RestApp
from ._scenarios import ScenarioHelpers
from ._server import Server
from ._state import APIRequest, EmulatorState
from ._worker import NOT_RUNNING

__all__ = ["LayerEmulator"]

log = logging.getLogger("layer_webhooks.testing")

T = TypeVar("T")


class LayerEmulator(ScenarioHelpers):
    """Layer's hosted service, emulated over real HTTP on loopback::

        with LayerEmulator(token="t", retry_scale=0.001) as layer:
            client = LayerClient("t", layer.app_id, base_url=layer.base_url)
            ...
            layer.wait_idle()                # verifications and retries are done
            assert layer.deliveries[0].delivered

    ``base_url`` stands in for ``https://api.layer.com``: the Webhooks REST API is under
    ``/apps/<app_id>/webhooks`` and the Platform API under ``/apps/<app_id>/...``; both want
    ``Authorization: Bearer <token>`` and Layer's ``Accept`` header.

    ``retry_scale`` multiplies Layer's retry schedule (10, 30, 120, 300, 1200 s) so that tests
    can run it in milliseconds; ``timeout`` is the deadline of each verification and delivery
    (Layer's was 1 s). ``legacy_fields`` names webhook fields ``event_types`` and
    ``target_config``, as older servers did. ``port=0`` picks a free port.

    The emulator calls loopback targets only; ``http://`` targets are accepted there, with a
    warning (Layer required https).
    """

    def __init__(
        self,
        token: str = "test-token",
        app_id: str = DEFAULT_APP_ID,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        retry_scale: float = 1.0,
        timeout: float = DELIVERY_DEADLINE,
        legacy_fields: bool = False,
    ) -> None:
        if not isinstance(token, str) or not token:
            raise ConfigurationError("token must be a non-empty string")
        if not retry_scale >= 0:
            raise ConfigurationError("retry_scale must be >= 0")
        if not timeout > 0:
            raise ConfigurationError("timeout must be > 0 seconds")
        #: The bearer token the API wants.
        self.token = token
        #: The app's UUID (the last segment of ``app_id``).
        self.app_id = canonical_app_uuid(app_id)
        #: The factor of Layer's retry delays.
        self.retry_scale = float(retry_scale)
        #: The deadline, in seconds, of each verification and delivery attempt.
        self.timeout = float(timeout)
        #: Whether webhooks show ``event_types`` and ``target_config``.
        self.legacy_fields = legacy_fields
        self._address = (host, port)
        self._state = EmulatorState(
            token, self.app_id, retry_scale=self.retry_scale, timeout=self.timeout, legacy_fields=legacy_fields
        )
        self._server: Server | None = None
        self._closed = False

    def __repr__(self) -> str:
        # The token is deliberately left out.
        where = self.base_url if self._server is not None else "not running"
        return f"LayerEmulator(app_id={self.app_id!r}, {where})"

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError(NOT_RUNNING)
        return self._server.base_url

    def start(self) -> LayerEmulator:
        """Start the server and the background worker; returns self."""
        if self._closed:
            raise RuntimeError("a closed emulator cannot be started again")
        if self._server is not None:
            return self
        self._server = Server(RestApp(self._state), *self._address)
        self._state.start(self._server.base_url)
        log.info("Layer emulator for app %s on %s", self.app_id, self.base_url)
        return self

    def close(self) -> None:
        """Stop the worker (pending retries are dropped) and the server. Idempotent."""
        self._closed = True
        self._state.close(self.timeout + 1.0)
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def __enter__(self) -> LayerEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no verification or delivery retry is waiting or running.

        With ``retry_scale=1`` a retry can wait 20 minutes: scale the schedule down in tests.

        :raises TimeoutError: when background work remains after ``timeout`` seconds.
        """
        self._state.wait_idle(timeout)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01) -> T:
        """Call ``predicate`` every ``interval`` seconds until it returns a true value; return it.

        :raises TimeoutError: when it is still false after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout:g} s")
            time.sleep(interval)

    # -- the Webhooks REST API, also callable from Python -------------------------------

    def create_webhook(
        self,
        target_url: str,
        events: Iterable[str],
        secret: str,
        *,
        config: Mapping[str, Any] | None = None,
        version: str = "1.0",
    ) -> dict[str, Any]:
        """Register a webhook as ``POST /webhooks`` does: it is ``unverified`` until the challenge
        succeeds in the background (see :meth:`wait_idle`).

        :raises LayerAPIError: 422 for an invalid field, as the REST API answers.
        """
        body: dict[str, Any] = {"version": version, "target_url": target_url, "events": list(events), "secret": secret}
        if config is not None:
            body["config"] = dict(config)
        return self._state.webhooks.create(body)

    def list_webhooks(self) -> list[dict[str, Any]]:
        """Every webhook, as ``GET /webhooks`` shows them."""
        return self._state.webhooks.show_all()

    def get_webhook(self, webhook_id: str) -> dict[str, Any]:
        """One webhook (``webhook_id`` is its UUID or its ``layer:///`` id).

        :raises LayerAPIError: 404 when unknown.
        """
        return self._state.webhooks.show(webhook_id)

    def activate_webhook(self, webhook_id: str) -> dict[str, Any]:
        """Make a webhook ``unverified`` and send the challenge again, as ``POST .../activate``."""
        return self._state.webhooks.activate(webhook_id)

    def deactivate_webhook(self, webhook_id: str) -> dict[str, Any]:
        """Make a webhook ``inactive``, as ``POST .../deactivate``; its pending retries are abandoned."""
        return self._state.webhooks.deactivate(webhook_id)

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook, as ``DELETE /webhooks/<id>``; its pending retries are abandoned."""
        self._state.webhooks.delete(webhook_id)

    # -- delivery (layer-protocol.md §1) -------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery so far, oldest first, each with its attempts."""
        return self._state.publisher.deliveries()

    def publish(self, payload: Mapping[str, Any]) -> list[Delivery]:
        """Deliver ``payload`` to every ``active`` webhook subscribed to its ``event.type``.

        Each gets the webhook's registered ``config`` in place of any ``config`` in ``payload``,
        compact JSON and Layer's headers, signed with its secret. Returns once each first
        attempt is done; failed ones are retried in the background (see :attr:`deliveries`).

        :raises ValueError: when ``payload`` has no ``event.type``.
        """
        return self._state.publisher.publish(payload)

    # -- fault injection and the request log ---------------------------------------------

    def fail_next(self, n: int = 1, status: int = 503, retry_after: int | str | None = None) -> None:
        """Answer the next ``n`` API requests with ``status`` and Layer's error body for it
        (429 ``rate_limit_exceeded``, 503 ``service_unavailable``, ...), before any other check;
        with a ``Retry-After`` header when ``retry_after`` (seconds, or an HTTP date) is given.
        Calls add up."""
        self._state.fail_next(n, status, retry_after)

    @property
    def api_requests(self) -> list[APIRequest]:
        """Every request the API answered, oldest first (without the bearer token)."""
        return self._state.api_requests()
