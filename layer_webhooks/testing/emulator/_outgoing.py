"""The emulator's outgoing HTTP: one call as Layer made it, to loopback targets only
(layer-protocol.md §1-2: no redirects, a 2xx within the deadline)."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

_MAX_ANSWER_BYTES = 65_536


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (``localhost`` or a loopback address)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Answer:
    """What a target answered: ``status`` (None: no HTTP answer), the first bytes of ``body``,
    ``latency`` in seconds, and ``error`` unless it answered within the deadline."""

    status: int | None
    body: bytes
    latency: float
    error: str | None


def call(
    method: str,
    url: str,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> Answer:
    """Send one request as Layer did: no redirects, no proxies, ``timeout`` seconds in all.

    Only loopback targets are contacted: the emulator never reaches beyond this machine.
    """
    if not is_loopback(url):
        return Answer(None, b"", 0.0, "not sent: the emulator only calls loopback addresses")
    started = time.monotonic()
    try:
        with requests.Session() as session:
            session.trust_env = False
            response = session.request(method, url, headers=headers, data=data, timeout=timeout, allow_redirects=False)
            body = response.content[:_MAX_ANSWER_BYTES]
    except requests.Timeout:
        return Answer(None, b"", time.monotonic() - started, f"no answer within {timeout:g} s")
    except requests.RequestException as exc:
        return Answer(None, b"", time.monotonic() - started, f"could not connect ({type(exc).__name__})")
    latency = time.monotonic() - started
    if latency > timeout:
        return Answer(response.status_code, body, latency, f"answered after the {timeout:g} s deadline")
    return Answer(response.status_code, body, latency, None)
