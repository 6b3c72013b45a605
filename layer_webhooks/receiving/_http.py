"""The neutral request and response that adapters convert to and from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .._layer import EVENT_TYPE_HEADER, REQUEST_ID_HEADER, SIGNATURE_HEADER
from .._slots import slot_setters

#: Headers as a mapping or as ``(name, value)`` pairs; names in any case.
HeadersInput = Mapping[str, str] | Iterable[tuple[str, str]]

#: Every header the receiver reads (lowercase): an adapter need convert no other.
HEADERS_READ = ("content-length", "content-type", EVENT_TYPE_HEADER, REQUEST_ID_HEADER, SIGNATURE_HEADER)


@dataclass(frozen=True, slots=True, init=False)
class Request:
    """An HTTP request as the core sees it.

    ``query`` is the raw query string (without ``?``), ``headers`` a mapping whose names are
    lowercased here (so lookups are case-insensitive; the first of repeated headers wins), and
    ``body`` the raw bytes, exactly as received: the signature is computed over them.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    def __init__(
        self,
        method: str,
        path: str,
        query: str = "",
        headers: HeadersInput = (),
        body: bytes = b"",
    ) -> None:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        lowered: dict[str, str] = {}
        for name, value in pairs:
            lowered.setdefault(name.lower(), value)
        _fill(self, method.upper(), path, query, lowered, body)


_METHOD, _PATH, _QUERY, _HEADERS, _BODY = slot_setters(Request, "method", "path", "query", "headers", "body")


def _fill(request: Request, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Request:
    _METHOD(request, method)
    _PATH(request, path)
    _QUERY(request, query)
    _HEADERS(request, headers)
    _BODY(request, body)
    return request


def lowered_request(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Request:
    """A :class:`Request` from an adapter that has lowercased ``headers`` (first value of each
    name kept) and uppercased ``method`` itself: nothing to convert again."""
    return _fill(object.__new__(Request), method, path, query, headers, body)


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response from the core: ``status``, ``headers`` as pairs, ``body`` bytes."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @classmethod
    def text(cls, status: int, text: str, *extra: tuple[str, str]) -> Response:
        """A ``text/plain; charset=utf-8`` response that browsers will not sniff as HTML."""
        body = text.encode("utf-8")
        headers = (
            ("Content-Type", "text/plain; charset=utf-8"),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Length", str(len(body))),
            *extra,
        )
        return cls(status, headers, body)
