"""The README's first command, ``layer-webhooks demo``, end to end; the quickstart runs the core alone."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.commands import cli

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
def test_demo_end_to_end_on_embedded_defaults(tmp_path: Path) -> None:
    pytest.importorskip("huey")
    pytest.importorskip("werkzeug")
    started = time.monotonic()
    result = cli("demo", cwd=tmp_path, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 30
    out = result.stdout
    # The challenges: both webhooks verified, then active.
    assert "Layer -> GET /new-message?verification_challenge=...: answered 200 OK, the body is the challenge" in out
    assert "Layer -> GET /unread?verification_challenge=...: answered 200 OK, the body is the challenge" in out
    assert out.count("(status active)") == 2
    # The deliveries, each with its answer.
    assert out.count("Layer -> POST /new-message message.sent (signed): answered 200 OK") == 3
    for event in ("message.delivered", "message.read", "message.deleted"):
        assert f"Layer -> POST /unread {event} (signed): answered 200 OK" in out
    # The jobs.
    assert "job 'New Message' ran: Alice wrote 'Lunch at noon?'" in out
    assert "job 'receipts:event:Unread' ran: noted message.read of 'Lunch at noon?' by Bob" in out
    assert "job 'receipts:event:Unread' ran: forgot 'Oops, wrong chat', deleted: it will not be reported" in out
    # The bot's reply, skipped by the guard: no listen job for it.
    assert "job 'New Message' ran: ? wrote" not in out
    assert "skipped by the guard against bot loops: 1 ('Table booked for three.')" in out
    # The receipts report, and only that one.
    assert "job 'Unread' ran: Carol has not read 'Lunch at noon?' after 3 s" in out
    assert "receipts reports: 1" in out
    assert "the service answered: 12 x 200 OK" in out
    assert "Read next:" in out
    assert "docs/cli.md" in out
    assert "Traceback" not in result.stderr
