"""An adapter imported without its extra raises an ImportError that names the extra to install.

Each case runs in a fresh interpreter with the dependency blocked (``sys.modules[name] = None``,
which makes importing it fail as if it were not installed); in a tox env that lacks the extra
(``wsgi`` has no starlette, ``asgi`` no werkzeug, ...) the import is also tried here, for real.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys

import pytest

from layer_webhooks import LayerWebhooksError, MissingExtra

CASES = [
    ("import layer_webhooks.adapters.wsgi", "werkzeug", "wsgi"),
    ("import layer_webhooks.adapters.asgi", "starlette", "asgi"),
    ("import layer_webhooks.adapters.huey", "huey", "huey"),
    ("import layer_webhooks.adapters.redis", "redis", "redis"),
    ("from layer_webhooks.testing import LayerEmulator", "werkzeug", "wsgi"),
    ("import layer_webhooks.testing.emulator", "werkzeug", "wsgi"),
]

PROBE = """
import sys
sys.modules[{blocked!r}] = None
try:
    {statement}
except ImportError as exc:
    from layer_webhooks import MissingExtra
    print(type(exc).__name__, isinstance(exc, ModuleNotFoundError), isinstance(exc, MissingExtra), exc.name)
    print(exc)
    sys.exit(0)
sys.exit(3)
"""


@pytest.mark.parametrize(("statement", "blocked", "extra"), CASES)
def test_the_import_error_names_the_extra(statement: str, blocked: str, extra: str) -> None:
    code = PROBE.format(blocked=blocked, statement=statement)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    kind, message = result.stdout.splitlines()
    assert kind == f"MissingExtra True True {blocked}"
    assert f"pip install 'layer-webhooks[{extra}]'" in message
    assert repr(blocked) in message


def test_the_testing_kit_without_the_emulator_needs_no_extra() -> None:
    code = "import sys; sys.modules['werkzeug'] = None; from layer_webhooks.testing import make_event, signed_request"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_sqlite_needs_no_extra() -> None:
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in ("werkzeug", "starlette", "huey", "redis"))
    code = f"import sys; {blocked}; from layer_webhooks.adapters.sqlite import SqliteStore; SqliteStore(':memory:')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("module", "dependency", "extra"),
    [("layer_webhooks.adapters.wsgi", "werkzeug", "wsgi"), ("layer_webhooks.adapters.asgi", "starlette", "asgi"),
     ("layer_webhooks.adapters.huey", "huey", "huey"), ("layer_webhooks.adapters.redis", "redis", "redis")],
)  # fmt: skip
def test_in_an_env_without_the_extra(module: str, dependency: str, extra: str) -> None:
    if importlib.util.find_spec(dependency) is not None:
        pytest.skip(f"{dependency} is installed in this env (the subprocess cases cover it)")
    with pytest.raises(MissingExtra, match=rf"pip install 'layer-webhooks\[{extra}\]'") as info:
        importlib.import_module(module)
    assert isinstance(info.value, ModuleNotFoundError)
    assert isinstance(info.value, LayerWebhooksError)
    assert info.value.extra == extra


@pytest.mark.parametrize(("statement", "blocked", "extra"), CASES)
def test_the_import_error_in_this_process(
    monkeypatch: pytest.MonkeyPatch, statement: str, blocked: str, extra: str
) -> None:
    # The module whose import meets the guard is imported afresh (and put back afterwards).
    module = "layer_webhooks.testing.emulator" if "testing" in statement else statement.split()[1]
    for name in [name for name in sys.modules if name == blocked or name.startswith(f"{blocked}.")] or [blocked]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, module, raising=False)
    parent, _, child = module.rpartition(".")
    monkeypatch.delattr(importlib.import_module(parent), child, raising=False)  # `from . import child` looks here first
    with pytest.raises(MissingExtra, match=rf"pip install 'layer-webhooks\[{extra}\]'") as info:
        exec(statement, {})
    assert info.value.name == blocked
    assert info.value.extra == extra
