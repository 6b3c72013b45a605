"""Every public name appears in the API reference (docs/reference/*.md), and every page of the
site is in mkdocs.yml's nav. ``tox -e docs`` builds the site strictly, which checks that each
``:::`` directive and each ``[name][target]`` link resolves; this test checks that none is missing.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from layer_webhooks.errors import MissingExtra

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: The modules whose ``__all__`` the reference documents: the package, the adapters, the test
#: kit, and the parts' packages.
MODULES = [
    "layer_webhooks",
    "layer_webhooks.errors",
    "layer_webhooks.config",
    "layer_webhooks.receiving",
    "layer_webhooks.store",
    "layer_webhooks.jobs",
    "layer_webhooks.receipts",
    "layer_webhooks.adapters.wsgi",
    "layer_webhooks.adapters.asgi",
    "layer_webhooks.adapters.huey",
    "layer_webhooks.adapters.redis",
    "layer_webhooks.adapters.sqlite",
    "layer_webhooks.testing",
    "layer_webhooks.cli",
    "layer_webhooks.dashboard",
]


def reference() -> str:
    if not DOCS.is_dir():
        pytest.skip("docs/ is not in this tree")
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((DOCS / "reference").glob("*.md")))


def documented(text: str) -> set[str]:
    """Every ``module.name`` rendered (``::: x.y``) or linked (``[`y`][x.y]``) in ``text``."""
    rendered = re.findall(r"^::: ([\w.]+)$", text, flags=re.M)
    linked = re.findall(r"\]\[([\w.]+)\]", text)
    return set(rendered) | set(linked)


def resolve(ident: str) -> tuple[str, int] | None:
    """``(name, id(object))`` for ``module.name``, or None when the module cannot be imported here."""
    module, _, name = ident.rpartition(".")
    try:
        return name, id(getattr(importlib.import_module(module), name))
    except (ImportError, AttributeError, MissingExtra):
        return None


@pytest.mark.parametrize("module", MODULES)
def test_every_public_name_is_in_the_reference(module: str) -> None:
    try:
        imported = importlib.import_module(module)
    except ImportError as exc:  # an adapter whose extra is not installed in this env
        pytest.skip(f"{module} needs its extra: {exc}")
    text = reference()
    # A name exported twice (the package re-exports its parts' names) is rendered once and linked elsewhere.
    objects = {resolve(ident) for ident in documented(text)}
    missing = []
    for n in imported.__all__:
        try:
            if (n, id(getattr(imported, n))) not in objects:
                missing.append(n)
        except MissingExtra:  # a lazy name whose extra this env lacks (the emulator without werkzeug)
            continue
    assert missing == [], f"add ::: {module}.<name> to a page under docs/reference/ for {missing}"


def test_the_reference_links_each_re_exported_name_to_where_it_is_rendered() -> None:
    text = reference()
    rendered = set(re.findall(r"^::: ([\w.]+)$", text, flags=re.M))
    linked = set(re.findall(r"\]\[([\w.]+)\]", text))
    assert linked - rendered == set()


def test_every_page_is_in_the_nav() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    in_nav = set(re.findall(r":\s+([\w/.-]+\.md)$", config, flags=re.M))
    assert pages - in_nav == set()
    assert in_nav - pages == set()
