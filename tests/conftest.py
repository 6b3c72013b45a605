"""Fixtures shared by every part's tests; helpers live in the ``support`` package."""

from __future__ import annotations

import os

# The `redis_server` fixture: a real redis-server on a free loopback port (support/redis_server.py).
pytest_plugins = ["support.redis_server"]

try:
    from hypothesis import settings
except ImportError:  # pragma: no cover - every tox env installs hypothesis
    pass
else:
    # tox sets HYPOTHESIS_PROFILE=ci: the same examples on every run, so that the gate is never
    # a coin toss and a failure it shows is the one a developer reproduces. Runs outside tox
    # draw new examples each time (docs/contributing.md).
    settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
