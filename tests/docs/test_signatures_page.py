"""The signatures docs/testing.md gives for the kit are the code's (names, order, defaults)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from layer_webhooks import testing

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


@pytest.mark.parametrize("name", ["layer_headers", "signed_request", "compact"])
def test_the_documented_signature_is_the_code_s(name: str) -> None:
    if not PAGE.exists():
        pytest.skip("docs/ is not in this tree")
    page = PAGE.read_text(encoding="utf-8")
    block = page[page.index("<!-- sample: not run (signatures, not code) -->") :]
    text = re.sub(r"\s+", " ", block[: block.index("```", block.index("```python") + 3)])
    documented = re.search(rf"\b{name}\((.*?)\) ->", text)
    assert documented, f"docs/testing.md gives no signature for {name}"
    written = [p.strip().split("=")[0] for p in documented.group(1).split(",") if p.strip() and p.strip() != "*"]
    assert written == list(inspect.signature(getattr(testing, name)).parameters)
