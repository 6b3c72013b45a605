"""The sdist carries what the docs tell its readers to run (pyproject.toml's sdist include)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_sdist_includes_what_the_docs_say_to_run() -> None:
    pyproject = ROOT / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("pyproject.toml is not in this tree")
    text = pyproject.read_text(encoding="utf-8")
    section = text[text.index("[tool.hatch.build.targets.sdist]") :]
    listed = section[section.index("include = [") : section.index("]\n", section.index("include = ["))]
    include = set(re.findall(r'"([^"]+)"', listed))
    needed = {"tox.ini", "toxfile.py", "benchmarks", "examples", "docs", "mkdocs.yml", "CHANGELOG.md", "LICENSE"}
    assert needed - include == set()
    assert 'license-files = ["LICENSE"]' in text
    urls = text[text.index("[project.urls]") :]
    assert all(f"\n{name} = " in urls for name in ("Source", "Documentation", "Changelog"))
