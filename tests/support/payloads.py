"""Fixture payloads, signed requests, and the recorded deliveries (skipped where absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from layer_webhooks import Request, sign
from layer_webhooks.testing import compact

__all__ = [
    "CONTENT_TYPE",
    "FIXTURES",
    "RECORDED",
    "SECRET",
    "compact",
    "fixture_names",
    "load_fixture",
    "recorded",
    "signed",
]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECORDED = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "recorded"
SECRET = "test secret"
CONTENT_TYPE = "application/vnd.layer.webhooks+json; version=1.0"


def fixture_names() -> list[str]:
    """Every event type with a payload under tests/fixtures (file stem)."""
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())  # type: ignore[no-any-return]


def signed(
    body: bytes | dict[str, Any],
    *,
    path: str = "/hook",
    secret: str = SECRET,
    content_type: str = CONTENT_TYPE,
    signature: str | None = None,
    method: str = "POST",
) -> Request:
    """A POST as Layer sends it, signed with ``secret`` unless ``signature`` is given."""
    raw = compact(body) if isinstance(body, dict) else body
    headers = {"Content-Type": content_type, "Layer-Webhook-Signature": signature or sign(raw, secret)}
    if isinstance(body, dict):
        headers["Layer-Webhook-Event-Type"] = body["event"]["type"]
    return Request(method, path, "", headers, raw)


def recorded(name: str) -> dict[str, Any]:
    """A recorded real delivery from ../shared, or skip (they are third-party, never committed)."""
    path = RECORDED / f"{name}.json"
    if not path.exists():
        pytest.skip(f"recorded delivery {name} absent: ../shared/fixtures/recorded is not beside this checkout")
    return json.loads(path.read_text())  # type: ignore[no-any-return]
