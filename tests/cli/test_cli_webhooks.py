"""``layer-webhooks webhooks`` against ``layer-webhooks emulator`` started as a subprocess."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.commands import Running, cli, spawn

from layer_webhooks import Hook, MemoryQueue, Receiver
from layer_webhooks.cli import main

pytest.importorskip("werkzeug")
from support.emulator import running_emulator
from support.wsgi_server import Served

from layer_webhooks.adapters.wsgi import WebhookMiddleware

SECRET = "hooks secret"
HOOKS_TOML = """
[[hooks]]
name = "New Message"
path = "/new-message"
events = ["message.sent"]

[[hooks]]
name = "Unread"
path = "/unread"
events = ["message.sent", "message.read"]
receipts = { delay = "10 minutes", reportForStatus = ["sent"] }
"""
HOOKS = [
    Hook("New Message", "/new-message", ["message.sent"]),
    Hook("Unread", "/unread", ["message.sent", "message.read"]),
]


@pytest.fixture
def service() -> Iterator[str]:
    """A service that answers both hooks' challenges."""
    receiver = Receiver(SECRET, HOOKS, MemoryQueue())
    with Served(WebhookMiddleware(None, receiver)) as server:
        yield server.url


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[tuple[Running, dict[str, str]]]:
    running = spawn("emulator", "--json", "--token", "cli token", "--retry-scale", "0.001", cwd=tmp_path)
    try:
        settings = json.loads(running.line_with(lambda line: line.startswith("{")))
        yield (
            running,
            {
                "LAYER_BASE_URL": settings["base_url"],
                "LAYER_BEARER_TOKEN": settings["token"],
                "LAYER_APP_ID": settings["app_id"],
            },
        )
    finally:
        assert running.stop(signal.SIGINT) == 0  # Ctrl-C


@pytest.mark.slow
def test_webhooks_against_the_emulator_command(
    tmp_path: Path, emulator: tuple[Running, dict[str, str]], service: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, settings = emulator
    assert settings["LAYER_BEARER_TOKEN"] == "cli token"
    (tmp_path / "hooks.toml").write_text(HOOKS_TOML)

    def run(*args: str) -> str:
        result = cli("webhooks", *args, cwd=tmp_path, extra_env={**settings, "LAYER_WEBHOOK_SECRET": SECRET})
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def run_here(*args: str) -> str:
        with pytest.MonkeyPatch.context() as env:
            for name, value in {**settings, "LAYER_WEBHOOK_SECRET": SECRET}.items():
                env.setenv(name, value)
            assert main(["webhooks", *args]) == 0
        return capsys.readouterr().out

    capsys.readouterr()
    plan = run("register", "hooks.toml", "--url", service, "--dry-run").splitlines()
    assert plan[0] == "Plan (dry run: nothing was changed):"
    assert plan[1].split() == ["HOOK", "ACTION", "WEBHOOK", "STATUS", "TARGET", "EVENTS"]
    assert plan[2].split()[:4] == ["New", "Message", "create", "-"]
    assert json.loads(run_here("list", "--json")) == []  # the dry run wrote nothing
    done = run("register", "hooks.toml", "--url", service, "--wait")
    assert done.count("(status active)") == 2
    webhooks = json.loads(run_here("list", "--json"))
    assert sorted((w["config"]["name"], w["status"]) for w in webhooks) == [
        ("New Message", "active"),
        ("Unread", "active"),
    ]
    assert all("secret" not in w for w in webhooks)
    uuid = webhooks[0]["id"].rsplit("/", 1)[-1]
    assert run_here("deactivate", uuid) == f"deactivated {uuid}: status inactive\n"
    assert run_here("delete", uuid) == f"deleted {uuid}\n"
    assert len(json.loads(run_here("list", "--json"))) == 1
    missing = cli("webhooks", "delete", uuid, cwd=tmp_path, extra_env=settings)
    assert missing.returncode == 1
    assert missing.stderr.startswith("layer-webhooks webhooks delete: error: Layer API error 404")
    assert "cli token" not in missing.stderr


def test_register_from_json_in_process(tmp_path: Path, service: str, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    node_form = [{"name": "New Message", "path": "/new-message", "events": ["message.sent"]}]
    (tmp_path / "hooks.json").write_text(json.dumps({"hooks": node_form}))
    with running_emulator() as layer:
        monkeypatch.setenv("LAYER_BEARER_TOKEN", layer.token)
        monkeypatch.setenv("LAYER_APP_ID", layer.app_id)
        common = ["--base-url", layer.base_url]
        path = str(tmp_path / "hooks.json")
        assert (
            main(["webhooks", "register", path, "--url", service, "--secret", SECRET, "--dry-run", "--json", *common])
            == 0
        )
        plan = json.loads(capsys.readouterr().out)
        assert [a["action"] for a in plan["actions"]] == ["create"]
        assert main(["webhooks", "register", path, "--url", service, "--secret", SECRET, "--wait", *common]) == 0
        assert "done: create" in capsys.readouterr().out
        (tmp_path / "more.json").write_text(json.dumps([{**node_form[0], "events": ["message.sent", "message.read"]}]))
        more = str(tmp_path / "more.json")
        assert main(["webhooks", "register", more, "--url", service, "--secret", SECRET, *common]) == 1
        assert "out of sync (--sync re-creates them): New Message" in capsys.readouterr().out
        assert (
            main(["webhooks", "register", more, "--url", service, "--secret", SECRET, "--sync", "--json", *common]) == 0
        )
        report = json.loads(capsys.readouterr().out)
        assert [s["op"] for s in report["steps"]] == ["create", "delete"]
        (webhook,) = layer.list_webhooks()
        assert main(["webhooks", "deactivate", webhook["id"], "--json", *common]) == 0
        assert json.loads(capsys.readouterr().out)["status"] == "inactive"
        uuid = webhook["id"].rsplit("/", 1)[-1]
        assert main(["webhooks", "list", *common]) == 0
        table = capsys.readouterr().out
        assert table.splitlines()[0].split() == ["ID", "STATUS", "NAME", "TARGET", "EVENTS", "REASON"]
        assert f"{uuid}  inactive  New Message" in table
        assert main(["webhooks", "activate", uuid, *common]) == 0
        assert capsys.readouterr().out.startswith(f"activated {uuid}: status ")
        assert main(["webhooks", "delete", webhook["id"], "--json", *common]) == 0
        assert json.loads(capsys.readouterr().out)["deleted"] is True
        assert main(["webhooks", "list", *common]) == 0
        assert capsys.readouterr().out == "(none)\n"
        (tmp_path / "hooks.toml").write_text(HOOKS_TOML)
        toml = str(tmp_path / "hooks.toml")
        # --wait: the challenges fail (nothing listens there), and the command waits to see it.
        unheard = ["webhooks", "register", toml, "--url", "http://127.0.0.1:9", "--secret", SECRET, "--wait"]
        assert main([*unheard, *common]) == 1
        assert "error: " in capsys.readouterr().out


def test_files_and_settings_that_cannot_work(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.delenv("LAYER_BEARER_TOKEN", raising=False)
    assert main(["webhooks", "list", "--app-id", "x"]) == 2
    assert "the bearer token is missing: pass --token or set LAYER_BEARER_TOKEN" in capsys.readouterr().err
    cases = {
        "bad.json": ("{", "is not JSON"),
        "bad.toml": ("[[hooks", "is not TOML"),
        "scalar.json": ("3", "expected a list of hooks"),
        "invalid.json": ('[{"name": "x"}]', "hook field 'path': is required"),
    }
    for name, (text, error) in cases.items():
        (tmp_path / name).write_text(text)
        args = ["webhooks", "register", str(tmp_path / name), "--url", "http://x", "--secret", "s", "--token", "t"]
        assert main([*args, "--app-id", "a"]) == 1, name
        assert error in capsys.readouterr().err, name
    assert main(["webhooks", "register", str(tmp_path / "none.json"), "--url", "http://x", "--secret", "s"]) == 1
    assert "cannot read" in capsys.readouterr().err
