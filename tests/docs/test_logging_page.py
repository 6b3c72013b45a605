"""docs/logging.md names every logger the package creates (``getLogger("layer_webhooks...")``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_logger_of_the_package_is_on_the_logging_page() -> None:
    page = ROOT / "docs" / "logging.md"
    if not page.exists():
        pytest.skip("docs/ is not in this tree")
    made = {
        name
        for path in (ROOT / "layer_webhooks").rglob("*.py")
        for name in re.findall(r'^\w+ = logging\.getLogger\("(layer_webhooks\.[\w.]+)"\)', path.read_text(), re.M)
    }
    assert len(made) >= 7
    sections = set(re.findall(r"^## `(layer_webhooks\.[\w.]+)`", page.read_text(encoding="utf-8"), re.M))
    assert made - sections == set()
