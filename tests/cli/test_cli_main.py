"""The command line as a whole: ``--help`` and ``--version``, exit codes, one-line errors, and
the two ways to start it (``python -m layer_webhooks``, the ``layer-webhooks`` script)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pytest
from support.commands import cli

import layer_webhooks
from layer_webhooks.cli import build_parser, main
from layer_webhooks.cli._common import CommandError, load, need, table

COMMANDS = ["demo", "serve", "worker", "send", "verify", "webhooks", "jobs", "emulator", "dashboard"]
SUBCOMMANDS = [["webhooks", a] for a in ("list", "register", "activate", "deactivate", "delete")] + [
    ["jobs", a] for a in ("pending", "dead", "replay", "discard")
]


def test_the_top_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"    {command} " in out


@pytest.mark.parametrize("words", [[c] for c in COMMANDS] + SUBCOMMANDS, ids=" ".join)
def test_every_command_has_help(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*words, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: layer-webhooks {' '.join(words)}")


def test_help_names_the_extra_each_command_needs() -> None:
    (group,) = [action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)]
    commands = group.choices
    needs = {
        "demo": "wsgi and huey",
        "serve": "wsgi extra",
        "worker": "huey extra",
        "emulator": "wsgi extra",
        "dashboard": "wsgi and asgi",
        "send": "no extra",
        "verify": "no extra",
        "webhooks": "no extra",
        "jobs": "huey extra",
    }
    for name, words in needs.items():
        assert words in " ".join(commands[name].description.split()), name


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"layer-webhooks {layer_webhooks.__version__}"


def test_a_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["send", "http://127.0.0.1:1/hook", "--event", "message.sent"]) == 2  # no secret anywhere
    err = capsys.readouterr().err
    assert (
        err == "layer-webhooks send: error: the webhook secret is missing: pass --secret or set LAYER_WEBHOOK_SECRET\n"
    )


def test_a_bad_module_object_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["jobs", "dead", "no_colon_here"]) == 2
    assert "expected MODULE:OBJECT" in capsys.readouterr().err
    assert main(["jobs", "dead", "no_such_module_xyz:queue"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("layer-webhooks jobs dead: error: cannot import 'no_such_module_xyz'")
    assert err.count("\n") == 1
    (tmp_path / "needs_an_extra.py").write_text("import huey_not_installed\n")
    (tmp_path / "needs_redis.py").write_text("raise ModuleNotFoundError('no redis here', name='redis')\n")
    monkeypatch.chdir(tmp_path)
    assert main(["jobs", "dead", "needs_an_extra:queue"]) == 1
    assert "No module named 'huey_not_installed'\n" in capsys.readouterr().err
    assert main(["jobs", "dead", "needs_redis:queue"]) == 1
    assert capsys.readouterr().err.endswith("no redis here: python3 -m pip install 'layer-webhooks[redis]'\n")
    assert main(["jobs", "dead", "layer_webhooks:nothing"]) == 1
    assert "has no attribute 'nothing'" in capsys.readouterr().err
    assert main(["jobs", "dead", "layer_webhooks:Hook"]) == 1
    assert "expected a queue with pending()" in capsys.readouterr().err


def test_a_missing_extra_is_named() -> None:
    with pytest.raises(CommandError, match=r"`layer-webhooks serve` needs werkzeug_missing.*'layer-webhooks\[all\]'"):
        need("werkzeug_missing", "serve")
    assert load("layer_webhooks:Hook") is layer_webhooks.Hook
    assert table(("A", "B"), []) == "(none)"
    assert table(("A", "B"), [("x", "long value")]) == "A  B\nx  long value"


@pytest.mark.slow
def test_python_dash_m_and_the_console_script(tmp_path: Path) -> None:
    result = cli("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, f"layer-webhooks {layer_webhooks.__version__}")
    result = cli("verify", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    script = shutil.which("layer-webhooks", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("no layer-webhooks script beside this Python (the package is not installed here)")
    import subprocess

    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == f"layer-webhooks {layer_webhooks.__version__}"


def test_starting_the_command_line_imports_no_optional_dependency(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys; from layer_webhooks.cli import build_parser; build_parser(); "
        "bad = {'werkzeug', 'starlette', 'huey', 'redis', 'requests'} & set(sys.modules); "
        "print(sorted(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
