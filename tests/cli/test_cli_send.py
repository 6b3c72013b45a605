"""``layer-webhooks send``: signed deliveries against a real server, the answers counted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.commands import cli

from layer_webhooks import Hook, MemoryQueue, Receiver
from layer_webhooks.cli import main
from layer_webhooks.testing import make_event

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

pytest.importorskip("werkzeug")
from support.wsgi_server import Served

from layer_webhooks.adapters.wsgi import WebhookMiddleware

SECRET = "send secret"


@pytest.fixture
def served() -> Iterator[tuple[str, MemoryQueue]]:
    queue = MemoryQueue()
    receiver = Receiver(SECRET, [Hook("Webhook Example", "/hook", ["message.sent", "message.read"])], queue)
    with Served(WebhookMiddleware(None, receiver)) as server:
        yield f"{server.url}/hook", queue


@pytest.mark.slow
def test_send_200_against_a_real_server(tmp_path: Path, served: tuple[str, MemoryQueue]) -> None:
    url, queue = served
    result = cli("send", url, "--secret", SECRET, "--event", "message.sent", "--count", "200", "--concurrency", "4",
                 cwd=tmp_path, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"sent 200 deliveries to {url} in ")
    assert lines[1] == "answers: 200 x 200"
    assert lines[2] == "delivered (2xx): 200 of 200, in 200 attempts"
    assert lines[3].startswith("latency per attempt: p50 ")
    assert len({job.id for job in queue.pending()}) == 200  # each a new event


class FailFirst:
    """Answers 503 to the first attempt of each delivery (by request id), then lets it through."""

    def __init__(self, app: object) -> None:
        self.app, self.seen = app, set[str]()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request_id = environ.get("HTTP_LAYER_WEBHOOK_REQUEST_ID", "")
        if request_id not in self.seen:
            self.seen.add(request_id)
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        return self.app(environ, start_response)  # type: ignore[operator, no-any-return]


def test_retries_on_layers_schedule_unless_told_not_to(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queue = MemoryQueue()
    receiver = Receiver(SECRET, [Hook("Webhook Example", "/hook", ["message.sent"])], queue)
    with Served(FailFirst(WebhookMiddleware(None, receiver))) as server:
        args = ["send", f"{server.url}/hook", "--secret", SECRET, "--event", "message.sent", "--count", "3"]
        assert main([*args, "--retry-scale", "0.001", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["answers"] == {"200": 3, "503": 3}
        assert (summary["delivered"], summary["attempts"], summary["failed"]) == (3, 6, 0)
        assert main([*args, "--no-retry", "--rate", "100"]) == 1
        out = capsys.readouterr().out
        assert "answers: 503 x 3" in out
        assert "delivered (2xx): 0 of 3, in 3 attempts" in out
    assert len(queue.pending()) == 3


def test_a_payload_file_and_no_answer(tmp_path: Path, served: tuple[str, MemoryQueue],
                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    url, queue = served
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps(make_event("message.read", event_id="fixed")))
    assert main(["send", url, "--secret", SECRET, "--file", str(payload)]) == 0
    assert main(["send", url, "--secret", SECRET, "--file", str(payload), "--count", "2", "--concurrency", "2"]) == 0
    assert len(queue.pending()) == 3  # the copies are new events
    capsys.readouterr()
    closed = url.rsplit(":", 1)[0] + ":9/hook"  # the discard port: nothing listens
    assert main(["send", closed, "--secret", SECRET, "--event", "message.sent", "--no-retry", "--timeout", "2"]) == 1
    assert "no answer: ConnectionError x 1" in capsys.readouterr().out


def test_what_cannot_be_sent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "http://127.0.0.1:9/hook"
    assert main(["send", url, "--secret", "s", "--event", "message.nope"]) == 2
    assert "unknown event type 'message.nope'" in capsys.readouterr().err
    assert main(["send", "ftp://x/hook", "--secret", "s", "--event", "message.sent"]) == 2
    assert main(["send", url, "--secret", "s", "--event", "message.sent", "--count", "0"]) == 2
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["send", url, "--secret", "s", "--file", str(tmp_path / "bad.json")]) == 1
    assert "is not JSON" in capsys.readouterr().err
    (tmp_path / "no-type.json").write_text('{"event": {}}')
    assert main(["send", url, "--secret", "s", "--file", str(tmp_path / "no-type.json")]) == 1
    assert "has no event.type" in capsys.readouterr().err
    assert main(["send", url, "--secret", "s", "--file", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_the_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    from layer_webhooks.cli._common import Progress

    progress = Progress(4)
    for _ in range(4):
        progress.step()
    progress.done()
    assert capsys.readouterr().err.endswith(f"\r[{'#' * 30}] 4/4\n")
