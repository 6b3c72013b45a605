"""The README's "Use" snippet, run as written: the first signed delivery prints its message, with
nothing else called. Through werkzeug's test client (Flask's), and through a real server
started the way the README says (``flask --app app run``, in a subprocess)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from support.processes import terminate
from support.redis_server import free_port

import layer_webhooks
from layer_webhooks.testing import compact, layer_headers, make_event

README = Path(__file__).resolve().parents[1] / "README.md"
WAIT = 10.0
TEXT = "Hello from the README"


def use_section() -> str:
    if not README.exists():
        pytest.skip("README.md is not in this tree")
    text = README.read_text(encoding="utf-8")
    return text[text.index("## Use\n") : text.index("\n## ", text.index("## Use\n") + 1)]


def snippet() -> str:
    [code] = re.findall(r"```python\n(.*?)```", use_section(), flags=re.S)
    return str(code)


def delivery() -> tuple[bytes, dict[str, str]]:
    """A signed ``message.sent`` for the snippet's hook, as Layer sends it."""
    secret = re.findall(r'services\.listen\("([^"]+)"', snippet())[0]
    body = compact(make_event("message.sent", text=TEXT, config={"name": "Webhook Example"}))
    return body, layer_headers(body, secret)


def test_the_readme_says_what_to_install_and_how_to_start() -> None:
    section = use_section()
    assert "python3 -m pip install flask" in section
    assert "flask --app app run" in section
    assert "app.py" in section
    assert "from flask import Flask" in snippet()


def test_the_readme_snippet_prints_on_the_first_delivery(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("flask")
    namespace: dict[str, Any] = {"__name__": "readme_app"}
    exec(compile(snippet(), str(README), "exec"), namespace)
    body, headers = delivery()
    answer = namespace["app"].test_client().post("/new-message", data=body, headers=headers)
    assert answer.status_code == 200
    deadline = time.monotonic() + WAIT
    seen = ""
    while TEXT not in seen and time.monotonic() < deadline:
        seen += capsys.readouterr().out
        time.sleep(0.01)
    assert f"{TEXT}\n" in seen
    namespace["services"].runner.stop()


class Lines:
    """The lines a subprocess writes to a pipe, read by a thread (so that a wait is bounded)."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def join(self) -> None:
        """Wait (bounded) for the reader to meet the end of the stream."""
        self._thread.join(WAIT)

    def wait_for(self, text: str, timeout: float = WAIT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: any(text in line for line in self.lines), timeout)


@contextlib.contextmanager
def flask_app(directory: Path, port: int) -> Iterator[tuple[Lines, Lines]]:
    (directory / "app.py").write_text(snippet(), encoding="utf-8")
    [command] = re.findall(r"`(flask --app app run)`", use_section())
    # A terminal is line-buffered; a pipe is not, unless told. The app imports the library this test does.
    library = str(Path(layer_webhooks.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [library, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
    process = subprocess.Popen(
        [sys.executable, "-m", *command.split(), "--port", str(port)],
        cwd=directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    out, err = Lines(process.stdout), Lines(process.stderr)
    try:
        yield out, err
    finally:
        terminate(process)
        for lines, stream in ((out, process.stdout), (err, process.stderr)):
            lines.join()
            stream.close()


@pytest.mark.slow
def test_the_readme_app_on_a_real_server_prints_on_the_first_delivery(tmp_path: Path) -> None:
    pytest.importorskip("flask")
    import requests

    port = free_port()
    with flask_app(tmp_path, port) as (out, err):
        assert err.wait_for("Running on"), "".join(err.lines)
        assert any("jobs are kept in this process's memory" in line for line in err.lines), "".join(err.lines)
        body, headers = delivery()
        with requests.Session() as session:
            session.trust_env = False
            answer = session.post(f"http://127.0.0.1:{port}/new-message", data=body, headers=headers, timeout=5)
        assert answer.status_code == 200, answer.text
        assert out.wait_for(TEXT), "".join(out.lines + err.lines)
