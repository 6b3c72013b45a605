"""Real servers: every example started as its docstring says, driven over loopback sockets.

gunicorn (sync workers) serves the bare WSGI example, uvicorn the FastAPI and Starlette ones,
flask's and Django's development servers theirs. Against each, the Layer emulator registers a
webhook (the verification challenge must pass) and delivers signed events; the example's
worker thread prints each job it runs to the server's output, which is how the test sees
what was queued in the other process. The gunicorn and uvicorn ones are also sent 5 MiB bodies.
"""

from __future__ import annotations

import ast
import os
import shlex
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from support.emulator import running_emulator
from support.processes import terminate

from layer_webhooks.testing import compact, layer_headers, make_event

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 1024 * 1024  # the examples' receiver keeps the default max_body_bytes
WAIT = 20.0

#: example -> (modules it needs, its hook's path on the server, served by gunicorn or uvicorn)
EXAMPLES: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "wsgi_app": (("gunicorn",), "/webhook-example", True),
    "fastapi_app": (("fastapi", "uvicorn"), "/webhook-example", True),
    "starlette_app": (("starlette", "uvicorn"), "/layer/webhook-example", True),
    "flask_app": (("flask",), "/webhook-example", False),
    "django_app": (("django",), "/webhook-example", False),
}
PRODUCTION = [name for name, (_, _, production) in EXAMPLES.items() if production]

http = requests.Session()
http.trust_env = False  # loopback only: no proxy from the environment


@dataclass
class Server:
    example: str
    url: str
    hook_url: str
    secret: str
    output: Path
    process: subprocess.Popen[bytes]

    def wait_for_output(self, text: str, timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.output.read_text(errors="replace")
            if text in seen:
                return seen
            assert self.process.poll() is None, f"server exited:\n{seen}"
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in the server output within {timeout} s:\n{seen}")


def documented_command(example: str) -> tuple[dict[str, str], list[str]]:
    """The environment and argv of the command in the example's docstring (``VAR=x cmd ...``)."""
    doc = ast.get_docstring(ast.parse((ROOT / "examples" / f"{example}.py").read_text())) or ""
    (line,) = [line.strip() for line in doc.splitlines() if line.strip().startswith("LAYER_WEBHOOK_SECRET=")]
    words = shlex.split(line)
    env = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"server exited:\n{output.read_text(errors='replace')}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listening on {port} after {WAIT} s:\n{output.read_text(errors='replace')}")


@pytest.fixture(scope="module", params=list(EXAMPLES))
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    example: str = request.param
    modules, hook_path, _ = EXAMPLES[example]
    for module in modules:
        pytest.importorskip(module)
    env, words = documented_command(example)
    port = free_port()
    words = [word.replace("8000", str(port)) for word in words]
    program = words.pop(0)
    argv = [sys.executable, *words] if program == "python" else [sys.executable, "-m", program, *words]
    home = tmp_path_factory.mktemp(example)  # gunicorn keeps its control socket under $HOME
    output = home / "output.log"
    with output.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **env, "HOME": str(home), "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_listening(port, process, output)
        url = f"http://127.0.0.1:{port}"
        yield Server(example, url, url + hook_path, env["LAYER_WEBHOOK_SECRET"], output, process)
    finally:
        terminate(process)


def deliver(server: Server, payload: dict[str, Any], secret: str | None = None) -> requests.Response:
    body = compact(payload)
    return http.post(server.hook_url, data=body, headers=layer_headers(body, secret or server.secret), timeout=10)


# -- every example, as documented ---------------------------------------------------------------


def test_answers_the_challenge_and_queues_a_signed_delivery(server: Server) -> None:
    challenge = http.get(server.hook_url, params={"verification_challenge": "c-1"}, timeout=10)
    assert (challenge.status_code, challenge.text) == (200, "c-1")
    text = f"hello {uuid.uuid4()}"
    assert deliver(server, make_event("message.sent", sender="alice", text=text)).status_code == 200
    server.wait_for_output(f"Webhook Example: alice said {text!r}")


def test_refuses_a_wrong_signature(server: Server) -> None:
    text = f"forged {uuid.uuid4()}"
    assert deliver(server, make_event("message.sent", sender="mallory", text=text), "not the secret").status_code == 403
    marker = f"after {uuid.uuid4()}"
    deliver(server, make_event("message.sent", sender="alice", text=marker))
    assert text not in server.wait_for_output(marker)


def test_other_paths_reach_the_app_with_their_body_unread(server: Server) -> None:
    body = os.urandom(2 * LIMIT)  # over the receiver's limit: only the app reads it
    reply = http.post(server.url + "/", data=body, timeout=10)
    assert reply.status_code == 200
    assert reply.text.startswith("Hello from ")
    assert reply.text.endswith(f"POST /, {len(body)} bytes\n")


def test_the_emulator_registers_a_webhook_and_its_deliveries_are_queued(server: Server) -> None:
    pytest.importorskip("werkzeug")  # the emulator runs on werkzeug's server
    with running_emulator(token="t0ken", retry_scale=0.001) as layer:
        api = f"{layer.base_url}/apps/{layer.app_id}/webhooks"
        headers = {"Authorization": "Bearer t0ken", "Accept": "application/vnd.layer.webhooks+json; version=1.0"}

        def register(secret: str) -> str:
            body = {
                "version": "1.0",
                "target_url": server.hook_url,
                "events": ["message.sent"],
                "secret": secret,
                "config": {"name": "Webhook Example"},
            }
            created = http.post(api, json=body, headers=headers, timeout=10)
            assert created.status_code == 201, created.text
            assert created.json()["status"] == "unverified"
            return str(created.json()["id"]).rsplit("/", 1)[-1]

        good, forged = register(server.secret), register("a secret the server does not know")
        layer.wait_idle(WAIT)
        for webhook in (good, forged):  # the challenge does not involve the secret: both pass
            assert http.get(f"{api}/{webhook}", headers=headers, timeout=10).json()["status"] == "active"

        conversation = layer.create_conversation(["alice", "bob"])
        bot_text, texts = f"bot {uuid.uuid4()}", [f"message {n} {uuid.uuid4()}" for n in range(3)]
        layer.send_message(conversation, {"name": "Echo bot"}, bot_text)
        for text in texts:
            layer.send_message(conversation, "alice", text)

        first_statuses = {(d.webhook_id.rsplit("/", 1)[-1], d.attempts[0].status) for d in layer.deliveries}
        assert first_statuses == {(good, 200), (forged, 403)}
        # Each server process runs its own jobs: with several, the order of their lines varies.
        seen = [server.wait_for_output(f"Webhook Example: alice said {text!r}") for text in texts][-1]
        assert bot_text not in seen  # a service sender's message is answered 200, never queued


# -- 5 MiB bodies, on the production servers ----------------------------------------------------


@pytest.mark.parametrize("server", PRODUCTION, indirect=True)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_5_mib_body_is_refused_before_it_is_all_sent(server: Server, chunked: bool) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    path = server.hook_url.removeprefix(server.url)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {5 * 1024 * 1024}"
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    piece = b"x" * 65536
    with socket.create_connection((host, int(port)), timeout=WAIT) as sock:
        sock.sendall(head.encode())
        # A little more than the limit, then silence: the server must answer without the rest.
        for _ in range(LIMIT // len(piece) + 2):
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 413 ")


@pytest.mark.parametrize("server", PRODUCTION, indirect=True)
def test_a_client_sending_5_mib_sees_413_or_a_closed_connection(server: Server) -> None:
    try:
        status = http.post(server.hook_url, data=b"x" * (5 * 1024 * 1024), timeout=WAIT).status_code
    except requests.ConnectionError:
        status = None
    assert status in (413, None)
    assert http.get(server.hook_url, params={"verification_challenge": "still up"}, timeout=10).text == "still up"


# -- a body cut short of its Content-Length -------------------------------------------------------


def test_a_body_cut_short_then_half_closed_is_never_acknowledged_nor_queued(server: Server) -> None:
    # Signed over the bytes that arrive: only the Content-Length says that the body is cut.
    text = f"cut short {uuid.uuid4()}"
    body = compact(make_event("message.sent", sender="alice", text=text))
    headers = layer_headers(body, server.secret)
    host, port = server.url.removeprefix("http://").split(":")
    path = server.hook_url.removeprefix(server.url)
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body) + 100}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((host, int(port)), timeout=WAIT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        sock.shutdown(socket.SHUT_WR)  # the half-close: the rest never comes
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    # gunicorn and werkzeug answer 400 (the core checks the length); uvicorn closes the
    # connection when the client half-closes, before the app could answer.
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    marker = f"after {uuid.uuid4()}"
    assert deliver(server, make_event("message.sent", sender="alice", text=marker)).status_code == 200
    assert text not in server.wait_for_output(marker)
