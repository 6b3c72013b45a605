"""Each test the migration page names for a Node fault exists: the page's links cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_the_migration_page_names_exists() -> None:
    page = ROOT / "docs" / "migrating.md"
    if not page.exists():
        pytest.skip("docs/ is not in this tree")
    named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", page.read_text(encoding="utf-8"))
    assert len(named) >= 12
    for path, test in named:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^(async )?def {test}\(", source, re.M), f"{path}::{test} is gone"
