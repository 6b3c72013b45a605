from __future__ import annotations

import inspect
from pathlib import Path

import layer_webhooks


def test_all_is_sorted_and_complete() -> None:
    names = layer_webhooks.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(layer_webhooks, name), name
    public = {
        name
        for name, value in vars(layer_webhooks).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name not in {"annotations"}
    }
    assert public == set(names)


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
    core = [p for p in root.rglob("*.py") if p.relative_to(root).parts[0] not in ("adapters", "testing")]
    assert len(core) > 10
    source = "\n".join(p.read_text() for p in core)
    for name in forbidden:
        assert f"import {name}" not in source and f"from {name}" not in source, name


def test_importing_the_package_loads_no_optional_dependency() -> None:
    import subprocess
    import sys

    code = (
        "import sys, layer_webhooks; "
        "bad = {'werkzeug', 'starlette', 'huey', 'redis'} & set(sys.modules); "
        "print(sorted(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
