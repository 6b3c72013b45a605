"""The one emulator fixture: a running :class:`LayerEmulator` with the tests' token and a fast
retry schedule, and the Accept headers its two APIs want.

::

    from support.emulator import TOKEN, emulator_fixture, running_emulator

    layer = emulator_fixture()                      # the `layer` fixture of this test module
    slow_layer = emulator_fixture(retry_scale=1.0, name="slow_layer")

    def test_something() -> None:
        with running_emulator(retry_scale=0.05) as layer:
            ...

Importable without werkzeug: the emulator is imported when a fixture or helper first runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from layer_webhooks._layer import PLATFORM_ACCEPT, WEBHOOKS_ACCEPT

if TYPE_CHECKING:
    from layer_webhooks.testing import LayerEmulator

__all__ = ["PLATFORM", "RETRY_SCALE", "TOKEN", "WEBHOOKS", "emulator_fixture", "running_emulator"]

#: The bearer token of the tests' emulators.
TOKEN = "emulator token"
#: Layer's retry schedule (1660 s in all) times this: 1.66 s.
RETRY_SCALE = 0.001
#: The ``Accept`` header of the Webhooks REST API, and of the Platform API.
WEBHOOKS = WEBHOOKS_ACCEPT
PLATFORM = PLATFORM_ACCEPT


@contextmanager
def running_emulator(
    *, token: str = TOKEN, retry_scale: float = RETRY_SCALE, **options: Any
) -> Iterator[LayerEmulator]:
    """A started :class:`LayerEmulator`, closed on exit; ``options`` are its other keywords
    (``app_id``, ``timeout``, ``legacy_fields``, ...)."""
    from layer_webhooks.testing import LayerEmulator

    with LayerEmulator(token=token, retry_scale=retry_scale, **options) as layer:
        yield layer


def emulator_fixture(*, name: str = "layer", **options: Any) -> Callable[[], Iterator[LayerEmulator]]:
    """A function-scoped fixture called ``name`` that yields :func:`running_emulator` with ``options``.

    Assign it to a module-level name in a test module (``layer = emulator_fixture()``).
    """

    def layer() -> Iterator[LayerEmulator]:
        with running_emulator(**options) as emulator:
            yield emulator

    return pytest.fixture(name=name)(layer)
