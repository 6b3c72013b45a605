"""``layer-webhooks serve``, ``worker`` and ``emulator``: real servers and huey's consumer, stopped by signals."""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from support.commands import MEMORY, SECRET, import_file, spawn, write_module, write_tasks
from support.redis_server import free_port

from layer_webhooks.cli import _emulator, _serve, main
from layer_webhooks.cli._common import CommandError
from layer_webhooks.testing import compact, layer_headers, make_event

pytest.importorskip("werkzeug")

http = requests.Session()
http.trust_env = False  # loopback only: no proxy from the environment


def deliver(url: str, text: str) -> requests.Response:
    body = compact(make_event("message.sent", text=text))
    return http.post(url, data=body, headers=layer_headers(body, SECRET), timeout=5)


def until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.mark.slow
def test_serve_runs_the_jobs_in_process_and_stops_on_sigterm(tmp_path: Path) -> None:
    name = write_module(tmp_path, MEMORY, "memory")
    running = spawn("serve", f"{name}:services", "--port", "0", cwd=tmp_path)
    try:
        line = running.line_with("serving 1 hook(s) on http://127.0.0.1:")
        url = line.split(" on ", 1)[1].split(": ", 1)[0]
        running.line_with("Ctrl-C to stop")
        assert deliver(f"{url}/hook", "hello from the test").status_code == 200
        assert running.line_with("ran Webhook Example:").endswith("hello from the test")
    finally:
        assert running.stop(signal.SIGTERM) == 0
    assert not any("Traceback" in line for line in running.rest())


@pytest.mark.slow
def test_worker_runs_a_sqlite_queue_and_stops_gracefully(tmp_path: Path) -> None:
    pytest.importorskip("huey")
    name = write_tasks(tmp_path)
    (tmp_path / "fix").touch()  # the handler succeeds
    tasks = import_file(tmp_path, name)
    tasks.queue.enqueue("Webhook Example", {"n": 1}, job_id="worked")
    tasks.queue.close()
    running = spawn("worker", f"{name}:services", "-w", "1", cwd=tmp_path)
    try:
        running.line_with("SIGTERM stops gracefully")
        until(lambda: (tmp_path / "ran.txt").exists() and "worked" in (tmp_path / "ran.txt").read_text())
    finally:
        assert running.stop(signal.SIGTERM) == 0
    assert any("Received SIGTERM" in line for line in running.rest()), running.lines
    assert tasks.queue.pending() == []


def test_serve_in_process_with_a_huey_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    pytest.importorskip("huey")
    monkeypatch.chdir(tmp_path)
    name = write_tasks(tmp_path)
    (tmp_path / "fix").touch()
    port, stop = free_port(), threading.Event()
    args = argparse.Namespace(target=f"{name}:receiver", host="127.0.0.1", port=port, workers=1, no_worker=False)
    thread = threading.Thread(target=_serve.run_serve, args=(args, stop))
    thread.start()
    try:
        until(lambda: "Ctrl-C to stop" in capsys.readouterr().out or _answers(port))
        assert deliver(f"http://127.0.0.1:{port}/hook", "hi").status_code == 200
        until(lambda: (tmp_path / "ran.txt").exists())
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def _answers(port: int) -> bool:
    try:
        return http.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 404
    except requests.ConnectionError:
        return False


def test_what_serve_and_worker_refuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    memory = write_module(tmp_path, MEMORY, "memory")
    (tmp_path / "empty.py").write_text("from layer_webhooks import WebhooksServices\nservices = WebhooksServices()\n")
    assert main(["serve", "empty:services"]) == 1
    assert "has no receivers: call services.listen(...)" in capsys.readouterr().err
    assert main(["serve", "layer_webhooks:Hook"]) == 1
    assert "expected WebhooksServices, a Receiver or a list" in capsys.readouterr().err
    assert main(["worker", f"{memory}:services"]) == 1
    assert "uses a MemoryQueue, which lives in one process" in capsys.readouterr().err
    receivers = import_file(tmp_path, memory).services.receivers
    (tmp_path / "default.py").write_text(
        "from layer_webhooks import Hook, WebhooksServices\nservices = WebhooksServices()\n"
        "services.listen('s', [Hook('A', '/a', ['message.sent'])])\n"
    )
    stop = threading.Event()
    stop.set()
    args = argparse.Namespace(target="default:services", host="127.0.0.1", port=0, workers=1, no_worker=False)
    assert _serve.run_serve(args, stop) == 0
    assert "run here: the services' own thread" in capsys.readouterr().out
    assert _serve.receivers_of("x", receivers) == receivers
    with pytest.raises(CommandError, match="cannot run the jobs of object here"):
        _serve.start_worker(object(), 1)


def test_emulator_in_process(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYER_BEARER_TOKEN", "env token")
    monkeypatch.setenv("LAYER_APP_ID", "6f7c0c36-8a9c-4d3e-9c55-1b0a3c4d5e6f")
    stop = threading.Event()
    stop.set()  # says where it is, then stops at once
    args = argparse.Namespace(host="127.0.0.1", port=0, token=None, app_id=None, retry_scale=1.0, json=False)
    assert _emulator.run(args, stop) == 0
    out = capsys.readouterr().out
    assert "  token     env token" in out
    assert "  app id    6f7c0c36-8a9c-4d3e-9c55-1b0a3c4d5e6f" in out
    args.json = True
    assert _emulator.run(args, stop) == 0
    assert json.loads(capsys.readouterr().out)["token"] == "env token"


def test_worker_needs_a_huey_queue(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("huey")
    assert main(["worker", "layer_webhooks:Hook"]) == 1
    assert "expected a HueyQueue, services using one, or huey" in capsys.readouterr().err
