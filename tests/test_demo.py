"""The README's first command runs examples/demo.py; the quickstart runs the core alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: str) -> subprocess.CompletedProcess[str]:
    if not (EXAMPLES / script).exists():
        pytest.skip(f"examples/{script} is not in this tree (an sdist without examples)")
    return subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=120)


def test_quickstart() -> None:
    result = run("quickstart.py")
    assert result.returncode == 0, result.stderr
    assert "challenge answered: 200 b'hello'" in result.stdout
    assert "delivery answered: 200" in result.stdout
    assert "forged delivery answered: 403" in result.stdout
    assert "alice said 'Hello, Bob'" in result.stdout
    assert "jobs run: 1" in result.stdout


@pytest.mark.slow
def test_demo_end_to_end_on_embedded_defaults() -> None:
    pytest.importorskip("huey")
    pytest.importorskip("werkzeug")
    result = run("demo.py")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.count("(status active)") == 2
    assert "job 'New Message': alice wrote 'Lunch at noon?'" in out
    assert "job 'Unread': still unread after 3 s by Carol Jones" in out
    assert "answered [200]" in out
    assert "Traceback" not in result.stderr
