from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import layer_webhooks


def test_all_is_sorted_and_complete() -> None:
    names = layer_webhooks.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(layer_webhooks, name), name
    typing_names = {"annotations", "TYPE_CHECKING", "Any"}
    public = {
        name
        for name, value in vars(layer_webhooks).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name not in typing_names
    }
    lazy = set(layer_webhooks._LAZY)  # imported on first use, through the module's __getattr__
    assert not public & lazy
    assert public | lazy == set(names)


def test_every_public_name_has_a_docstring() -> None:
    for name in layer_webhooks.__all__:
        value = getattr(layer_webhooks, name)
        is_alias = hasattr(value, "__origin__") or hasattr(value, "__args__")  # Handler, Duration
        if (inspect.isclass(value) or inspect.isfunction(value)) and not is_alias:
            assert inspect.getdoc(value), name


def test_typed_package() -> None:
    assert (Path(layer_webhooks.__file__).parent / "py.typed").exists()


def test_the_core_never_imports_a_framework_or_a_queue() -> None:
    forbidden = {"werkzeug", "starlette", "huey", "redis", "flask", "django", "fastapi"}
    root = Path(layer_webhooks.__file__).parent
    # The edges: adapters, the test kit, the command line (each command imports what it runs) and
    # the dashboard (a Starlette app); tests/cli checks that the command line imports none at start.
    edges = ("adapters", "testing", "cli", "dashboard")
    core = [p for p in root.rglob("*.py") if p.relative_to(root).parts[0] not in edges]
    assert len(core) > 10
    source = "\n".join(p.read_text() for p in core)
    for name in forbidden:
        assert f"import {name}" not in source and f"from {name}" not in source, name


def test_importing_the_package_loads_no_optional_dependency() -> None:
    import subprocess
    import sys

    code = (
        "import sys, layer_webhooks; "
        "bad = {'werkzeug', 'starlette', 'huey', 'redis', 'requests'} & set(sys.modules); "
        "print(sorted(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_requests_is_imported_only_when_a_client_is_made() -> None:
    import subprocess
    import sys

    code = "\n".join(
        [
            "import sys",
            "import layer_webhooks, layer_webhooks.registration._apply, layer_webhooks.rest._client",
            "from layer_webhooks import LayerClient, WebhooksServices",
            "services = WebhooksServices('token', 'app')",
            "assert 'requests' not in sys.modules, 'imported before a client was made'",
            "assert services.client is services.client",
            "assert isinstance(services.client, LayerClient)",
            "assert 'requests' in sys.modules",
        ]
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_lazy_name_is_the_module_s_own() -> None:
    from layer_webhooks.rest._client import LayerClient

    assert layer_webhooks.LayerClient is LayerClient
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        layer_webhooks.NoSuchName  # noqa: B018


def test_layer_s_constants_have_one_home() -> None:
    """No module but ``_layer.py`` spells out Layer's headers, media types or id prefixes."""
    import tokenize

    from layer_webhooks import _layer

    values = {
        value
        for name, value in vars(_layer).items()
        if name.isupper() and isinstance(value, str) and value.startswith(("layer", "application/vnd"))
    }
    assert len(values) >= 10
    root = Path(layer_webhooks.__file__).parent
    copies = []
    for path in root.rglob("*.py"):
        if path.name == "_layer.py":
            continue
        with path.open("rb") as source:
            for token in tokenize.tokenize(source.readline):
                if token.type == tokenize.STRING and token.string.strip("\"'") in values:
                    copies.append(f"{path.relative_to(root)}:{token.start[0]}: {token.string}")
    assert copies == []
