"""Every ```python block of the docs runs: a sample that stops working fails the suite.

How a page's blocks run (docs/contributing.md, "Samples that run"):

- in order, in one namespace (a later block uses an earlier one's names), in a temporary
  working directory that is on ``sys.path``; a block whose first line is ``# name.py`` is also
  saved there as that file, so that a later block can ``import name``;
- after a hidden ``<!-- sample: setup ... -->`` comment's Python code, if the page has one: it
  defines what the page assumes the reader has (a token, an emulator's URL...); it gets
  ``fixture`` (pytest's ``request.getfixturevalue``: ``fixture("redis_server")``), ``setenv`` and
  ``cleanups`` (a list of callables run at the end);
- then each top-level ``test_*`` function the page defined is called, with the page's own
  ``@pytest.fixture`` functions of the same names as its arguments;
- a block right after ``<!-- sample: not run (the reason) -->`` is shown, not run: only where
  it needs what a test cannot have (Layer itself, a public URL) or shows a shape, not code;
- an extra that is not installed (huey, starlette, ...) skips the page, saying which.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^```python\n(.*?)^```", flags=re.S | re.M)
NOT_RUN = re.compile(r"<!-- sample: not run \((.+?)\) -->\n$")
SETUP = re.compile(r"<!-- sample: setup\n(.*?)-->", flags=re.S)
MODULE_FILE = re.compile(r"\A# (\w+)\.py\n")
EXTRAS = {"huey", "redis", "starlette", "werkzeug", "flask", "fastapi", "django", "aiohttp", "httpx", "uvicorn"}


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md")) if DOCS.is_dir() else []


def samples(page: Path) -> list[tuple[int, str, str | None]]:
    """``(line, code, reason it is not run or None)`` for each ```python block of ``page``."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()]
        not_run = NOT_RUN.search(before)
        found.append((before.count("\n") + 2, match.group(1), not_run.group(1) if not_run else None))
    return found


def test_there_are_samples_and_few_are_not_run() -> None:
    if not pages():
        pytest.skip("docs/ is not in this tree")
    every = [s for p in pages() for s in samples(p)]
    assert len(every) >= 20
    assert sum(1 for *_, reason in every if reason) <= len(every) // 3


def test_a_failing_sample_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    page = tmp_path / "broken.md"
    page.write_text("```python\nfrom layer_webhooks import Hook\nHook('no events')\n```\n", encoding="utf-8")
    with pytest.raises(Exception, match="Hook"):
        run_page(page, tmp_path, monkeypatch, request)


@pytest.mark.parametrize("page", [p for p in pages() if samples(p)], ids=lambda p: str(p.relative_to(DOCS)))
def test_the_page_samples_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    try:
        run_page(page, tmp_path, monkeypatch, request)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in EXTRAS:
            raise
        pytest.skip(f"{page.name} needs {exc.name}, not installed in this env")


def page_fixture(namespace: dict[str, Any], name: str, cleanups: list[Any]) -> Any:
    """The value of the page's own ``@pytest.fixture`` ``name`` (its teardown added to ``cleanups``)."""
    made = namespace[name].__wrapped__()
    if not inspect.isgenerator(made):
        return made
    cleanups.append(lambda: next(made, None))
    return next(made)


def run_page(page: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    monkeypatch.chdir(workdir)
    monkeypatch.syspath_prepend(str(workdir))
    cleanups: list[Any] = []
    namespace: dict[str, Any] = {
        "__name__": f"docs_sample_{page.stem}",
        "fixture": request.getfixturevalue,
        "setenv": monkeypatch.setenv,
        "cleanups": cleanups,
    }
    written: list[str] = []
    text = page.read_text(encoding="utf-8")
    try:
        for setup in SETUP.findall(text):
            exec(compile(setup, f"{page}:setup", "exec"), namespace)
        for line, code, reason in samples(page):
            module = MODULE_FILE.match(code)
            if module:
                (workdir / f"{module.group(1)}.py").write_text(code, encoding="utf-8")
                written.append(module.group(1))
            if reason is None:
                exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)
        for name, value in list(namespace.items()):
            if name.startswith("test_") and callable(value):
                value(*(page_fixture(namespace, arg, cleanups) for arg in inspect.signature(value).parameters))
    finally:
        for close in reversed(cleanups):
            close()
        for name in written:
            sys.modules.pop(name, None)
