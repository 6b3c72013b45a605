"""The REST client's one I/O seam, ``Transport.handle_request(request) -> response`` (httpx's
shape), and its implementation over :mod:`requests`.

This is the only module that imports ``requests``, and only when a :class:`RequestsTransport`
is made (when a :class:`~layer_webhooks.LayerClient` is), so that ``import layer_webhooks``
never pays for it. Everything the client decides (URLs, retries, reading answers) is in the
pure modules beside this one and sees only :class:`HTTPRequest` and :class:`HTTPResponse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import requests

__all__ = ["HTTPRequest", "HTTPResponse", "RequestsTransport", "Transport", "TransportError"]


@dataclass(frozen=True, slots=True)
class HTTPRequest:
    """One request to send: ``body`` already encoded (None: no body), ``timeout`` in seconds."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class HTTPResponse:
    """One answer: ``headers`` with lowercase names, ``content`` the raw body."""

    status: int
    reason: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def ok(self) -> bool:
        """True for an answer below 400."""
        return self.status < 400


class TransportError(Exception):
    """No answer came: connection refused or reset, DNS, TLS, or the timeout passed.

    The message says what happened (``"ConnectionError: ..."``). The client turns it into a
    :class:`~layer_webhooks.LayerAPIError` with ``status`` 0; it never reaches a caller.
    """


class Transport(Protocol):
    """What the client needs from HTTP."""

    def handle_request(self, request: HTTPRequest) -> HTTPResponse:
        """Send ``request`` once and return the answer, whatever its status.

        :raises TransportError: when no answer came.
        """
        ...

    def close(self) -> None:
        """Release what the transport holds (connections); it is not used afterwards."""
        ...


class RequestsTransport:
    """:class:`Transport` over a :class:`requests.Session`: ``session`` if given (left open by
    :meth:`close`), otherwise one of its own (closed by :meth:`close`)."""

    def __init__(self, session: requests.Session | None = None) -> None:
        import requests  # here, not at the top: see the module's docstring

        self._owns_session = session is None
        self.session = requests.Session() if session is None else session

    def handle_request(self, request: HTTPRequest) -> HTTPResponse:
        """See :meth:`Transport.handle_request`."""
        import requests

        try:
            response = self.session.request(
                request.method, request.url, headers=dict(request.headers), data=request.body, timeout=request.timeout
            )
        except requests.RequestException as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
        headers = {name.lower(): value for name, value in response.headers.items()}
        return HTTPResponse(response.status_code, response.reason or "", headers, response.content)

    def close(self) -> None:
        """Close the session if this transport made it."""
        if self._owns_session:
            self.session.close()
